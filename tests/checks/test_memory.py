"""memory against a real Prometheus scraping container memory gauges the test sets."""

import re

import pytest

from deployments.checks import memory
from deployments.checks.evidence import utc
from tests.harness.server import free_port

MIB = 1024 * 1024
CLOCK = r"\d\d:\d\d:\d\d UTC"
POD = "vizora-web-7d4b9c8f6-x2k9p"
OTHER_POD = "vizora-web-7d4b9c8f6-q8r5t"


@pytest.fixture
def containers(exporter, prometheus, namespace):
    """`containers((pod, name, usage_mib, limit_mib), ...)` exports the containers' gauges
    and waits until Prometheus has scraped them all."""

    def export(*containers: tuple[str, str, float, float]):
        for pod, name, usage_mib, limit_mib in containers:
            labels = {"namespace": namespace, "pod": pod, "container": name}
            exporter.gauge("container_memory_usage_bytes", usage_mib * MIB, **labels)
            exporter.gauge("container_spec_memory_limit_bytes", limit_mib * MIB, **labels)
        scraped = f'count(container_spec_memory_limit_bytes{{namespace="{namespace}"}})'
        prometheus.wait_for_value(scraped, len(containers))

    return export


def asked(namespace: str) -> str:
    return re.escape(
        f"Memory of the pods of vizora-web in {namespace} "
        "(container_memory_usage_bytes / container_spec_memory_limit_bytes)"
    )


def soak_of(deployment) -> str:
    start = deployment.steps.get(kind="rollout").finished_at
    return f"between {re.escape(utc(start))} and {CLOCK}"


def test_memory_above_threshold_fails_naming_the_pod_and_container(
    containers, prometheus, rolled_out, namespace
):
    containers((OTHER_POD, "web", 200, 512), (POD, "web", 470, 512))
    deployment = rolled_out(prometheus.url)

    result = memory.check(deployment, {"max": 0.9})

    assert not result.passed
    assert re.fullmatch(
        f"{asked(namespace)} peaked at 0.918 for {POD}/web \\(470 MiB of 512 MiB\\) at {CLOCK}, "
        f"{soak_of(deployment)}; at most 0.9 allowed.",
        result.evidence,
    ), result.evidence
    assert result.headline == (
        f"Memory of {POD}/web peaked at 0.918 of its limit (at most 0.9 allowed) during the soak"
    )


def test_memory_under_threshold_passes_ignoring_other_workloads_and_cadvisor_cgroups(
    containers, prometheus, rolled_out, namespace
):
    containers(
        (POD, "web", 200, 512),
        (POD, "POD", 1, 0),  # the pause container, never limited
        (POD, "", 201, 0),  # the pod's own cgroup
        ("vizora-web-worker-5f6d7c8b9-abcde", "worker", 500, 512),
    )
    deployment = rolled_out(prometheus.url)

    result = memory.check(deployment, {})

    assert result.passed, result.evidence
    assert re.fullmatch(
        f"{asked(namespace)} peaked at 0.391 for {POD}/web \\(200 MiB of 512 MiB\\) at {CLOCK}, "
        f"{soak_of(deployment)}; at most 0.9 allowed.",
        result.evidence,
    ), result.evidence


def test_memory_of_a_container_without_limit_fails(containers, prometheus, rolled_out, namespace):
    containers((POD, "web", 200, 512), (POD, "sidecar", 300, 0))

    result = memory.check(rolled_out(prometheus.url), {})

    assert not result.passed
    assert re.match(f"{asked(namespace)} peaked at 0.391 for {POD}/web ", result.evidence)
    assert result.evidence.endswith(
        f"No memory limit (container_spec_memory_limit_bytes 0) on {POD}/sidecar: the ratio "
        "is unbounded and the seed's HighMemoryUsage fires on it; set resources.limits.memory."
    )


def test_memory_without_series_for_the_service_pods_waits_for_data(
    containers, prometheus, rolled_out, namespace
):
    containers(("vizora-api-5f6d7c8b9-abcde", "api", 100, 512))
    deployment = rolled_out(prometheus.url)

    result = memory.check(deployment, {})

    assert (result.passed, result.waits) == (False, True)  # decided at the soak's end
    assert re.fullmatch(
        re.escape(
            f"Prometheus at {prometheus.url} has no container_spec_memory_limit_bytes series "
            f"for the pods of vizora-web in {namespace} "
        )
        + f"{soak_of(deployment)}: are the pods' container metrics scraped\\?",
        result.evidence,
    ), result.evidence


def test_memory_fails_when_no_prometheus_answers(rolled_out, namespace):
    url = f"http://127.0.0.1:{free_port()}"

    result = memory.check(rolled_out(url), {})

    assert not result.passed
    assert result.evidence == (
        f"Could not check the memory of the pods of vizora-web in {namespace}: "
        f"No Prometheus answers at {url} (connection refused); "
        "start it, or install it with `apt-get install prometheus`"
    )


def test_memory_looks_only_at_the_pods_the_deployment_rolled_out(
    containers, prometheus, rolled_out, namespace
):
    replaced = "vizora-web-5c6d7e8f9-oldpd"  # the release before, still running early on
    containers((replaced, "web", 500, 512), (POD, "web", 200, 512))
    deployment = rolled_out(prometheus.url)
    deployment.steps.filter(kind="rollout").update(result={"pods": {"vizora-web": POD[:-6]}})

    result = memory.check(deployment, {"max": 0.9})

    assert result.passed, result.evidence
    assert f"for {POD}/web (200 MiB of 512 MiB)" in result.evidence
    assert replaced not in result.evidence
