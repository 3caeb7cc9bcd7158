"""memory: the seed's HighMemoryUsage ratio for each container of the service's pods.

params: max (default 0.9, the seed's threshold). The pods are those the deployment
rolled out (not the ones it replaced, still running early in the window). The ratio is
container_memory_usage_bytes / container_spec_memory_limit_bytes per container; its
peak over the soak window must not exceed max. A container without a memory limit
(limit 0) fails: its ratio is unbounded, the seed's HighMemoryUsage (usage / 0 = +Inf
> 0.9) would fire on it, and a lead should see that rather than a pass that skipped it.
"""

from deployments.checks import CheckResult, failed, passed, waiting
from deployments.checks.evidence import clock
from deployments.checks.params import ParamError, number_param
from deployments.checks.prometheus import (
    Prometheus,
    PrometheusError,
    Series,
    number,
    peak,
    release_pod_selector,
    rolled_out_pods,
)
from deployments.checks.soak import soak_window

DEFAULT_MAX = 0.9
MIB = 1024 * 1024
RATIO = "container_memory_usage_bytes / container_spec_memory_limit_bytes"
# cAdvisor also reports the pod's own cgroup (container "") and the pause container.
REAL_CONTAINERS = 'container!="", container!="POD"'


def check(deployment, params: dict) -> CheckResult:
    workloads = ", ".join(deployment.service.workload_names)
    pods = "the new pods" if rolled_out_pods(deployment) else "the pods"
    subject = f"{pods} of {workloads} in {deployment.environment.namespace}"
    try:
        limit = number_param(params, "max", DEFAULT_MAX)
        prometheus = Prometheus.for_environment(deployment.environment)
        return _judge(prometheus, deployment, subject, limit)
    except (ParamError, PrometheusError) as error:
        return failed(f"Could not check the memory of {subject}: {error}")


def _judge(prometheus, deployment, subject, limit: float) -> CheckResult:
    selector = f"{release_pod_selector(deployment)}, {REAL_CONTAINERS}"
    window = soak_window(deployment)
    span = (window.start, window.end, window.step_seconds)
    limits = prometheus.query_range(f"container_spec_memory_limit_bytes{{{selector}}}", *span)
    usage = f"container_memory_usage_bytes{{{selector}}}"
    ratios = prometheus.query_range(
        f"{usage} / (container_spec_memory_limit_bytes{{{selector}}} > 0)", *span
    )
    unlimited = [one for one in limits if any(value == 0 for _, value in one.samples)]
    top = peak(ratios)
    if top is None and not unlimited:
        missing = "container_memory_usage_bytes" if limits else "container_spec_memory_limit_bytes"
        return waiting(  # not yet scraped, perhaps: the soak's last look fails it
            f"Prometheus at {prometheus.url} has no {missing} series for {subject} "
            f"{window}: are the pods' container metrics scraped?"
        )
    sentences = [_peak_sentence(subject, top, limits, limit, window)] if top else []
    sentences += [_unlimited_sentence(unlimited)] if unlimited else []
    over = top is not None and top[2] > limit
    if not (over or unlimited):
        return passed(" ".join(sentences))
    return failed(" ".join(sentences), _headline(top, limit) if over else _unlimited_headline())


def _headline(top, limit: float) -> str:
    series, _, ratio = top
    return (
        f"Memory of {_container(series.labels)} peaked at {number(ratio, limit)} of its limit "
        f"(at most {number(limit)} allowed) during the soak"
    )


def _unlimited_headline() -> str:
    return "A container has no memory limit (set resources.limits.memory)"


def _peak_sentence(subject, top, limits: list[Series], limit: float, window) -> str:
    series, moment, ratio = top
    limit_bytes = _limit_at(limits, series.labels, moment)
    used = f"{_mib(ratio * limit_bytes)} of {_mib(limit_bytes)}"
    return (
        f"Memory of {subject} ({RATIO}) peaked at {number(ratio, limit)} for "
        f"{_container(series.labels)} ({used}) at {clock(moment)}, {window}; "
        f"at most {number(limit)} allowed."
    )


def _unlimited_sentence(unlimited: list[Series]) -> str:
    names = ", ".join(sorted(_container(one.labels) for one in unlimited))
    return (
        f"No memory limit (container_spec_memory_limit_bytes 0) on {names}: the ratio is "
        "unbounded and the seed's HighMemoryUsage fires on it; set resources.limits.memory."
    )


def _limit_at(limits: list[Series], labels: dict, moment) -> float:
    """The limit of the container `labels` names at `moment` (both queries share a grid)."""
    for one in limits:
        if _container(one.labels) == _container(labels):
            return dict(one.samples).get(moment, one.samples[-1][1])
    return 0.0


def _container(labels: dict) -> str:
    """pod/container, as kubectl would name it."""
    return f"{labels.get('pod', '?')}/{labels.get('container', '?')}"


def _mib(value: float) -> str:
    return f"{value / MIB:,.0f} MiB"
