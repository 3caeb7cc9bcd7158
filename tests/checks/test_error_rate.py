"""error_rate against a real Prometheus scraping request counters the test sets."""

import re

import pytest

from deployments.checks import error_rate
from deployments.checks.evidence import utc
from tests.harness.server import free_port

PARAMS = {"max": 0.05, "rate_window": "3s"}
CLOCK = r"\d\d:\d\d:\d\d UTC"


@pytest.fixture
def web_series(namespace):
    """The labels of vizora-web's request counters in the test's namespace."""
    return {"namespace": namespace, "service": "vizora-web"}


def web_errors(namespace: str) -> str:
    selector = f'status=~"5..", namespace="{namespace}", service="vizora-web"'
    return f"sum(rate(http_requests_total{{{selector}}}[3s]))"


def asked(namespace: str, rate_window: str = "3s") -> str:
    return re.escape(
        f"Error rate of vizora-web in {namespace} "
        f'(sum of rate(http_requests_total{{status=~"5.."}}[{rate_window}]))'
    )


def soak_of(deployment) -> str:
    start = deployment.steps.get(kind="rollout").finished_at
    return f"between {re.escape(utc(start))} and {CLOCK}"


def test_error_rate_above_threshold_fails_with_its_peak(
    exporter, prometheus, rolled_out, namespace, web_series
):
    exporter.count("http_requests_total", 10, status="200", **web_series)
    exporter.count("http_requests_total", 0.5, status="500", **web_series)
    prometheus.wait_for_value(web_errors(namespace), 0.5)
    deployment = rolled_out(prometheus.url)

    result = error_rate.check(deployment, PARAMS)

    assert not result.passed
    assert re.fullmatch(
        f"{asked(namespace)} peaked at {about('0.5')}/s at {CLOCK}, {soak_of(deployment)}; "
        "at most 0.05/s allowed.",
        result.evidence,
    ), result.evidence
    assert re.fullmatch(
        f"Error rate peaked at {about('0.5')}/s \\(at most 0.05/s allowed\\) during the soak",
        result.headline,
    ), result.headline


def about(value: str) -> str:
    """A regex for a rate Prometheus computes as `value` give or take its scrape timing
    (0.01 may come out 0.00999): three significant digits within 1%."""
    target = float(value)
    shown = {f"{target * (1 + step / 1000):.3g}" for step in range(-10, 11)}
    return "(?:" + "|".join(re.escape(text) for text in sorted(shown)) + ")"


def test_error_rate_under_threshold_passes_whatever_other_services_do(
    exporter, prometheus, rolled_out, namespace, web_series
):
    exporter.count("http_requests_total", 10, status="200", **web_series)
    exporter.count("http_requests_total", 0.01, status="503", **web_series)
    elsewhere = ({"service": "vizora-api"}, {"service": "vizora-web-v2"}, {"namespace": "x"})
    for other in elsewhere:
        exporter.count("http_requests_total", 5, status="500", **{**web_series, **other})
    prometheus.wait_for_value(web_errors(namespace), 0.01)
    deployment = rolled_out(prometheus.url)

    result = error_rate.check(deployment, PARAMS)

    assert result.passed, result.evidence
    assert re.fullmatch(
        f"{asked(namespace)} peaked at {about('0.01')}/s at {CLOCK}, {soak_of(deployment)}; "
        "at most 0.05/s allowed.",
        result.evidence,
    ), result.evidence


def test_error_rate_with_traffic_and_no_5xx_series_passes_at_zero(
    exporter, prometheus, rolled_out, namespace, web_series
):
    exporter.count("http_requests_total", 10, status="200", **web_series)
    exporter.count("http_requests_total", 1, status="404", **web_series)
    prometheus.wait_for_series(f'http_requests_total{{namespace="{namespace}"}}')
    deployment = rolled_out(prometheus.url)

    result = error_rate.check(deployment, {})

    assert result.passed, result.evidence
    assert re.fullmatch(
        f"{asked(namespace, '5m')} was 0/s: no 5xx responses recorded {soak_of(deployment)}; "
        "at most 0.05/s allowed.",
        result.evidence,
    ), result.evidence


def test_error_rate_without_request_series_for_the_service_waits_for_data(
    exporter, prometheus, rolled_out, namespace, web_series
):
    api_series = {**web_series, "service": "vizora-api"}
    exporter.count("http_requests_total", 10, status="200", **api_series)
    prometheus.wait_for_series(f'http_requests_total{{namespace="{namespace}"}}')

    result = error_rate.check(rolled_out(prometheus.url), PARAMS)

    assert (result.passed, result.waits) == (False, True)  # decided at the soak's end
    assert result.evidence == (
        f"Prometheus at {prometheus.url} has no http_requests_total series for vizora-web "
        f"in {namespace}: is the front door scraped?"
    )


def test_error_rate_fails_when_no_prometheus_answers(rolled_out, namespace):
    url = f"http://127.0.0.1:{free_port()}"

    result = error_rate.check(rolled_out(url), PARAMS)

    assert not result.passed
    assert result.evidence == (
        f"Could not check the error rate of vizora-web in {namespace}: "
        f"No Prometheus answers at {url} (connection refused); "
        "start it, or install it with `apt-get install prometheus`"
    )


def test_error_rate_fails_when_the_environment_has_no_prometheus(rolled_out, namespace):
    result = error_rate.check(rolled_out(""), PARAMS)

    assert not result.passed
    assert result.evidence == (
        f"Could not check the error rate of vizora-web in {namespace}: "
        "development has no Prometheus configured: set monitoring.prometheus in the catalog"
    )


def test_error_rate_refuses_a_rate_window_that_is_no_duration(rolled_out, namespace):
    result = error_rate.check(rolled_out("http://127.0.0.1:9"), {"rate_window": "5 minutes"})

    assert not result.passed
    assert result.evidence.startswith(
        f"Could not check the error rate of vizora-web in {namespace}: "
        "param rate_window: bad duration '5 minutes'"
    )
