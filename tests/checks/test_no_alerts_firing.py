"""no_alerts_firing against a real Prometheus evaluating the seed's alert rules."""

import re

import pytest

from deployments.checks import no_alerts_firing
from tests.harness.server import free_port

MIB = 1024 * 1024
CLOCK = r"\d\d:\d\d:\d\d UTC"
SINCE = r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
POD = "vizora-web-7d4b9c8f6-x2k9p"


@pytest.fixture
def world(exporter, namespace):
    """Makes the seed's alerts fire for what names it: `errors("vizora-web")`,
    `memory_full("vizora-web-…")`, `quota_exceeded()` (namespace only)."""

    class World:
        def errors(self, service: str, in_namespace: str = namespace):
            labels = {"namespace": in_namespace, "service": service, "status": "500"}
            exporter.count("http_requests_total", 1, **labels)

        def memory_full(self, pod: str):
            labels = {"namespace": namespace, "pod": pod, "container": "web"}
            exporter.gauge("container_memory_usage_bytes", 500 * MIB, **labels)
            exporter.gauge("container_spec_memory_limit_bytes", 512 * MIB, **labels)

        def quota_exceeded(self, in_namespace: str = namespace):
            exporter.gauge("namespace_quota_used_ratio", 1.5, namespace=in_namespace)

    return World()


def where(prometheus, elsewhere: int) -> str:
    checked = re.escape(f"(Prometheus {prometheus.url}, checked ")
    return f"{checked}{CLOCK}; {elsewhere} firing elsewhere\\)"


def test_alerts_firing_for_the_service_fail_with_name_severity_summary_and_since(
    world, prometheus, rolled_out, namespace
):
    world.errors("vizora-web")
    world.memory_full(POD)
    world.errors("vizora-api")
    prometheus.wait_for_firing(3, {namespace})

    result = no_alerts_firing.check(rolled_out(prometheus.url), {})

    assert not result.passed
    assert re.fullmatch(
        f"2 alerts firing for web in development {where(prometheus, 1)}: "
        f"HighErrorRate \\(critical\\) on vizora-web {SINCE}: High error rate detected; "
        f"HighMemoryUsage \\(warning\\) on {POD}/web {SINCE}: High memory usage in {POD}",
        result.evidence,
    ), result.evidence


def test_alerts_for_other_services_and_namespaces_do_not_fail_the_service(
    world, prometheus, rolled_out, namespace
):
    world.errors("vizora-api")
    world.errors("vizora-web", in_namespace=f"{namespace}-prod")
    world.memory_full("vizora-web-worker-5f6d7c8b9-abcde")
    world.quota_exceeded(in_namespace=f"{namespace}-prod")
    prometheus.wait_for_firing(4, {namespace, f"{namespace}-prod"})

    result = no_alerts_firing.check(rolled_out(prometheus.url), {})

    assert result.passed, result.evidence
    assert re.fullmatch(
        f"No alert firing for web in development {where(prometheus, 4)}\\.", result.evidence
    ), result.evidence


def test_an_alert_naming_only_the_namespace_concerns_the_service(
    world, prometheus, rolled_out, namespace
):
    world.quota_exceeded()
    prometheus.wait_for_firing(1, {namespace})

    result = no_alerts_firing.check(rolled_out(prometheus.url), {})

    assert not result.passed
    assert re.fullmatch(
        f"1 alert firing for web in development {where(prometheus, 0)}: "
        f"NamespaceQuotaExceeded \\(warning\\) {SINCE}: Quota exceeded in {namespace}",
        result.evidence,
    ), result.evidence


def test_catalog_labels_narrow_the_alerts_that_count(world, prometheus, rolled_out, namespace):
    world.errors("vizora-web")
    world.memory_full(POD)
    prometheus.wait_for_firing(2, {namespace})
    params = {"labels": {"severity": "critical", "namespace": "{namespace}"}}

    result = no_alerts_firing.check(rolled_out(prometheus.url), params)

    assert not result.passed
    assert re.fullmatch(
        f"1 alert firing for web in development {where(prometheus, 1)}: "
        f"HighErrorRate \\(critical\\) on vizora-web {SINCE}: High error rate detected",
        result.evidence,
    ), result.evidence


def test_no_alerts_firing_fails_when_no_prometheus_answers(rolled_out):
    url = f"http://127.0.0.1:{free_port()}"

    result = no_alerts_firing.check(rolled_out(url), {})

    assert not result.passed
    assert result.evidence == (
        "Could not check the alerts for web in development: "
        f"No Prometheus answers at {url} (connection refused); "
        "start it, or install it with `apt-get install prometheus`"
    )


def test_no_alerts_firing_refuses_labels_that_are_no_map_of_text(rolled_out):
    result = no_alerts_firing.check(rolled_out("http://127.0.0.1:9"), {"labels": ["critical"]})

    assert not result.passed
    assert result.evidence == (
        "Could not check the alerts for web in development: "
        "param labels must map label names to text, not ['critical']"
    )
