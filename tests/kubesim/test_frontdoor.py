"""The front door: Host and path routing to Ready pods, health, metrics, TLS."""

from __future__ import annotations

import ssl

import httpx
import pytest
from kubernetes import client

from kubesim.testing import KubeSim
from tests.kubesim.helpers import NAMESPACE, deployment_manifest, rollout_done, wait_for


def get(kubesim, path: str, host: str | None = None, cluster: str = "production") -> httpx.Response:
    headers = {"Host": host} if host else {}
    return httpx.get(kubesim.front_door_url(cluster) + path, headers=headers, timeout=5)


def test_health_by_host_reports_version_and_pod(kubesim):
    response = get(kubesim, "/health", host="api.vizora.com")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "vizora-middleware"
    assert body["version"] == "1.0.0"
    assert body["image"] == "ghcr.io/your-org/vizora-middleware:1.0.0"
    assert body["pod"].startswith("vizora-middleware-")
    assert response.headers["x-served-by"] == body["pod"]


def test_hosts_route_to_their_own_cluster(kubesim):
    assert (
        get(kubesim, "/health", "app.staging.vizora.com", "staging").json()["cluster"] == "staging"
    )
    assert (
        get(kubesim, "/health", "realtime.dev.vizora.com", "development").json()["service"]
        == "vizora-realtime"
    )
    assert get(kubesim, "/health", "unknown.example.com").status_code == 404


def test_requests_are_spread_over_ready_pods(kubesim):
    pods = {get(kubesim, "/", host="app.vizora.com").json()["pod"] for _ in range(6)}
    assert len(pods) == 3


def test_root_answers_html_to_browsers(kubesim):
    response = httpx.get(
        kubesim.front_door_url("production") + "/",
        headers={"Host": "app.vizora.com", "Accept": "text/html"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "vizora-web 1.0.0" in response.text


def test_unhealthy_version_answers_500(kubesim, api_client):
    apps = client.AppsV1Api(api_client)
    manifest = deployment_manifest("door-sick", "example/app:3.0.0-unhealthy", 1)
    apps.create_namespaced_deployment(NAMESPACE, manifest)
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("door-sick", NAMESPACE)))
    response = get(kubesim, f"/_svc/{NAMESPACE}/door-sick/health")
    assert response.status_code == 500
    assert response.json()["version"] == "3.0.0-unhealthy"


def test_no_ready_pods_is_503(kubesim, api_client):
    apps = client.AppsV1Api(api_client)
    manifest = deployment_manifest("door-down", "example/app:3.0.0-pullerror", 1)
    apps.create_namespaced_deployment(NAMESPACE, manifest)
    response = get(kubesim, f"/_svc/{NAMESPACE}/door-down/health")
    assert response.status_code == 503
    assert response.json()["error"] == "no ready pods"


def test_metrics_count_what_was_served(kubesim):
    for _ in range(3):
        get(kubesim, "/health", host="realtime.vizora.com")
    metrics = get(kubesim, "/metrics").text
    assert "# TYPE http_requests_total counter" in metrics
    series = 'http_requests_total{namespace="vizora-prod",service="vizora-realtime",status="200"}'
    line = next(m for m in metrics.splitlines() if m.startswith(series + " "))
    assert int(line.rsplit(" ", 1)[1]) >= 3


@pytest.fixture(scope="module")
def tls_kubesim(tmp_path_factory):
    config = {
        "clusters": [
            {
                "name": "production",
                "namespace": NAMESPACE,
                "front_door": {"hosts": {"app.vizora.com": "web"}},
                "objects": [deployment_manifest("web", "example/web:4.2.0", 1)],
            }
        ]
    }
    with KubeSim(config, speed=10, tls=True, workdir=tmp_path_factory.mktemp("tls")) as sim:
        yield sim


def test_tls_front_door_is_trusted_with_the_generated_ca(tls_kubesim):
    assert tls_kubesim.ca_file is not None
    assert tls_kubesim.ca_file.parent == tls_kubesim.kubeconfig.parent
    url = tls_kubesim.front_door_url("production")
    assert url.startswith("https://")
    context = ssl.create_default_context(cafile=str(tls_kubesim.ca_file))
    response = httpx.get(
        url + "/health", headers={"Host": "app.vizora.com"}, verify=context, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["version"] == "4.2.0"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=5)  # not trusted without the CA
