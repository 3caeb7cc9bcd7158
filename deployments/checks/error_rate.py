"""error_rate: the seed's HighErrorRate expression for the service, over the soak window.

params: max (errors per second, default 0.05, the seed's threshold) and rate_window
(the `[5m]` of `rate(http_requests_total{status=~"5.."}[5m])`, default 5m). The rate
is summed over the service's workloads and its peak over the soak window must not
exceed max. A service with no request series at all is not decided yet (the first
scrape after a rollout may not have come): no traffic data is not a low error rate,
so the soak's last look fails it.
"""

from deployments.checks import CheckResult, failed, passed, waiting
from deployments.checks.evidence import clock
from deployments.checks.params import ParamError, duration_text, number_param
from deployments.checks.prometheus import (
    Prometheus,
    PrometheusError,
    number,
    peak,
    service_selector,
)
from deployments.checks.soak import soak_window

DEFAULT_MAX = 0.05
DEFAULT_RATE_WINDOW = "5m"


def check(deployment, params: dict) -> CheckResult:
    subject = _subject(deployment)
    try:
        limit = number_param(params, "max", DEFAULT_MAX)
        rate_window = duration_text(params, "rate_window", DEFAULT_RATE_WINDOW)
        prometheus = Prometheus.for_environment(deployment.environment)
        return _judge(prometheus, deployment, subject, limit, rate_window)
    except (ParamError, PrometheusError) as error:
        return failed(f"Could not check the error rate of {subject}: {error}")


def _subject(deployment) -> str:
    workloads = ", ".join(deployment.service.workload_names)
    return f"{workloads} in {deployment.environment.namespace}"


def _judge(prometheus, deployment, subject, limit: float, rate_window: str) -> CheckResult:
    selector = service_selector(deployment.environment, deployment.service)
    if not prometheus.query(f"count(http_requests_total{{{selector}}})"):
        return waiting(
            f"Prometheus at {prometheus.url} has no http_requests_total series for "
            f"{subject}: is the front door scraped?"
        )
    window = soak_window(deployment)
    expression = f'sum(rate(http_requests_total{{status=~"5..", {selector}}}[{rate_window}]))'
    top = peak(prometheus.query_range(expression, window.start, window.end, window.step_seconds))
    shown = f'sum of rate(http_requests_total{{status=~"5.."}}[{rate_window}])'
    asked = f"Error rate of {subject} ({shown})"
    allowed = f"at most {number(limit)}/s allowed"
    if top is None:
        return passed(f"{asked} was 0/s: no 5xx responses recorded {window}; {allowed}.")
    _, moment, value = top
    figure = f"{number(value, limit)}/s"
    found = f"{asked} peaked at {figure} at {clock(moment)}, {window}; {allowed}."
    if value <= limit:
        return passed(found)
    return failed(found, f"Error rate peaked at {figure} ({allowed}) during the soak")
