"""The Prometheus client and selectors against a real Prometheus: its own errors come
through, and label values and workload names are matched exactly, never as patterns."""

import pytest

from deployments.checks.prometheus import (
    Prometheus,
    PrometheusError,
    pod_selector,
    service_selector,
    string_literal,
)


def test_a_query_prometheus_cannot_parse_fails_with_its_own_error(prometheus):
    client = Prometheus(prometheus.url, timeout=5)

    with pytest.raises(PrometheusError) as error:
        client.query("rate(http_requests_total[5m]")

    assert str(error.value).startswith(
        f"Prometheus at {prometheus.url} answered an error (bad_data): "
        'invalid parameter "query": 1:'
    ), error.value
    assert "parse error" in str(error.value)


def test_label_values_with_quotes_and_backslashes_match_exactly(exporter, prometheus, namespace):
    awkward = 'say "hi" \\d+ bye'
    exporter.gauge("portal_probe", 1, namespace=namespace, note=awkward)
    exporter.gauge("portal_probe", 2, namespace=namespace, note="say hi")
    prometheus.wait_for_value(f'count(portal_probe{{namespace="{namespace}"}})', 2)
    client = Prometheus(prometheus.url, timeout=5)

    found = client.query(f"portal_probe{{note={string_literal(awkward)}}}")

    assert [series.labels["note"] for series in found] == [awkward]


def test_workload_names_select_their_series_and_pods_only(
    exporter, prometheus, rolled_out, namespace
):
    deployment = rolled_out(prometheus.url)
    deployment.service.workloads = [{"deployment": "vizora.web", "containers": ["web"]}]
    for service in ("vizora.web", "vizoraXweb", "vizora.web-canary"):
        exporter.gauge("portal_probe", 1, namespace=namespace, service=service)
    for pod in ("vizora.web-7d4b9c8f6-x2k9p", "vizora.web-canary-5f6d7c8b9-abcde", "vizora.web"):
        exporter.gauge("portal_pod_probe", 1, namespace=namespace, pod=pod)
    exporter.gauge("portal_probe", 1, namespace=f"{namespace}-prod", service="vizora.web")
    prometheus.wait_for_value('count({__name__=~"portal_probe|portal_pod_probe"})', 7)
    client = Prometheus(prometheus.url, timeout=5)
    environment, service = deployment.environment, deployment.service

    by_service = client.query(f"portal_probe{{{service_selector(environment, service)}}}")
    by_pod = client.query(f"portal_pod_probe{{{pod_selector(environment, service)}}}")

    assert [(s.labels["namespace"], s.labels["service"]) for s in by_service] == [
        (namespace, "vizora.web")
    ]
    assert [s.labels["pod"] for s in by_pod] == ["vizora.web-7d4b9c8f6-x2k9p"]
