"""What the front door exports for Prometheus, and the tags that move it: request counts
by namespace/service/status, memory per container, `-leaky`, `-erroring`, `-expiring`."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl

import httpx
import pytest
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.kubesim.helpers import deployment_manifest, rollout_done, wait_for

DEV = "vizora-dev"
PROD = "vizora-prod"
MIB = 1024**2
WEB_LIMIT = 512 * MIB  # examples/kubesim-vizora.yaml: limits.memory 512Mi
ERROR_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR GET /api/v1/status answered 500: "
    r"internal server error$"
)
SERIES = re.compile(r"^(\w+)\{(.*)\} (\S+)$")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """The demo clusters as configured (production over TLS) at speed 200: a cluster
    minute passes in 0.3 s."""
    workdir = tmp_path_factory.mktemp("metrics")
    with KubeSim(VIZORA_CONFIG, speed=200, tls=None, workdir=workdir) as running:
        yield running


def apps_api(sim, cluster: str) -> client.AppsV1Api:
    configuration = client.Configuration()
    configuration.host = sim.api_url(cluster)
    return client.AppsV1Api(client.ApiClient(configuration))


def core_api(sim, cluster: str) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = sim.api_url(cluster)
    return client.CoreV1Api(client.ApiClient(configuration))


def door(sim, path: str, host: str | None = None, cluster: str = "development"):
    headers = {"Host": host} if host else {}
    verify = ssl.create_default_context(cafile=str(sim.ca_file)) if sim.ca_file else True
    return httpx.get(sim.front_door_url(cluster) + path, headers=headers, verify=verify, timeout=5)


def scrape(sim, cluster: str = "development") -> dict[tuple[str, frozenset], float]:
    """The front door's /metrics as {(name, labels): value}."""
    response = door(sim, "/metrics", cluster=cluster)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = {}
    for line in response.text.splitlines():
        match = SERIES.match(line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match[2]))
            found[(match[1], labels)] = float(match[3])
    return found


def sample(metrics: dict, name: str, **labels: str) -> float | None:
    return metrics.get((name, frozenset(labels.items())))


def create(sim, manifest: dict, cluster: str = "development", namespace: str = DEV) -> str:
    apps = apps_api(sim, cluster)
    name = manifest["metadata"]["name"]
    apps.create_namespaced_deployment(namespace, manifest)
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, namespace)))
    return name


def pods_of(sim, app: str, cluster: str = "development", namespace: str = DEV) -> list:
    return core_api(sim, cluster).list_namespaced_pod(namespace, label_selector=f"app={app}").items


def with_memory_limit(manifest: dict, limit: str) -> dict:
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"memory": limit}, "requests": {"memory": limit}}
    return manifest


def with_readiness_probe(manifest: dict) -> dict:
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {
        "httpGet": {"path": "/health/ready", "port": 3000},
        "periodSeconds": 5,
    }
    return manifest


# --- http_requests_total -------------------------------------------------------------------


def test_requests_are_counted_by_namespace_service_and_status(sim):
    for _ in range(3):
        assert door(sim, "/health", "realtime.dev.vizora.com").status_code == 200
    assert door(sim, "/health", "nowhere.example.com").status_code == 404
    assert door(sim, f"/_svc/{DEV}/no-such-deployment/").status_code == 503
    metrics = scrape(sim)
    counted = "http_requests_total"
    assert sample(metrics, counted, namespace=DEV, service="vizora-realtime", status="200") == 3
    assert sample(metrics, counted, namespace="", service="none", status="404") == 1
    assert sample(metrics, counted, namespace=DEV, service="no-such-deployment", status="503") == 1
    staging = scrape(sim, "staging")  # each cluster's front door counts its own
    assert not any(name == counted and ("namespace", DEV) in labels for name, labels in staging)


def test_metrics_of_a_routed_host_are_the_apps_own_path(sim):
    response = door(sim, "/metrics", "app.dev.vizora.com")
    assert response.status_code == 200
    assert response.json()["service"] == "vizora-web"  # the app answered, not the front door


def test_tls_front_door_serves_metrics_to_a_scraper_that_dials_its_ip(sim):
    assert sim.front_door_url("production").startswith("https://127.0.0.1:")
    door(sim, "/health", "api.vizora.com", "production")
    metrics = scrape(sim, "production")
    counted = sample(
        metrics, "http_requests_total", namespace=PROD, service="vizora-middleware", status="200"
    )
    assert counted >= 1


# --- memory ---------------------------------------------------------------------------------


def test_memory_series_per_running_container_with_its_limit(sim):
    metrics = scrape(sim)
    pods = pods_of(sim, "vizora-web")
    assert len(pods) == 3
    for pod in pods:
        labels = {"namespace": DEV, "pod": pod.metadata.name, "container": "web"}
        assert sample(metrics, "container_spec_memory_limit_bytes", **labels) == WEB_LIMIT
        usage = sample(metrics, "container_memory_usage_bytes", **labels)
        assert 0.35 * WEB_LIMIT < usage < 0.45 * WEB_LIMIT, usage


def test_container_without_a_limit_reports_limit_zero_and_a_steady_100mi(sim):
    create(sim, deployment_manifest("mem-unlimited", "example/app:1.0.0", 1))
    (pod,) = pods_of(sim, "mem-unlimited")
    labels = {"namespace": DEV, "pod": pod.metadata.name, "container": "app"}
    metrics = scrape(sim)
    assert sample(metrics, "container_spec_memory_limit_bytes", **labels) == 0
    assert 95 * MIB < sample(metrics, "container_memory_usage_bytes", **labels) < 105 * MIB


def test_a_container_that_does_not_run_has_no_memory_series(sim):
    apps = apps_api(sim, "development")
    apps.create_namespaced_deployment(
        DEV, deployment_manifest("mem-pullerror", "example/app:1.0.0-pullerror", 1)
    )
    (pod,) = wait_for(lambda: pods_of(sim, "mem-pullerror"))
    labels = {"namespace": DEV, "pod": pod.metadata.name, "container": "app"}
    assert sample(scrape(sim), "container_memory_usage_bytes", **labels) is None


def memory_ratio(sim, pod: str, container: str = "app") -> float:
    metrics = scrape(sim)
    labels = {"namespace": DEV, "pod": pod, "container": container}
    usage = sample(metrics, "container_memory_usage_bytes", **labels)
    limit = sample(metrics, "container_spec_memory_limit_bytes", **labels)
    return usage / limit if usage is not None and limit else 0.0


def test_leaky_container_passes_90_percent_of_its_limit_then_is_oom_killed(sim):
    manifest = deployment_manifest("mem-leaky", "example/app:2.0.0-leaky", 1)
    create(sim, with_memory_limit(manifest, "256Mi"))
    (pod,) = pods_of(sim, "mem-leaky")
    name = pod.metadata.name
    first = memory_ratio(sim, name)
    assert 0.35 < first < 0.9
    wait_for(lambda: memory_ratio(sim, name) > 0.9, timeout=15)  # 60 cluster seconds
    core = core_api(sim, "development")

    def restarted():
        status = core.read_namespaced_pod(name, DEV).status.container_statuses[0]
        return status if status.restart_count >= 1 and status.last_state.terminated else None

    status = wait_for(restarted, timeout=20)  # 600 cluster seconds
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.exit_code == 137
    wait_for(lambda: 0 < memory_ratio(sim, name) < 0.5, timeout=10)  # a fresh container


# --- -erroring and error lines in the log ---------------------------------------------------


def test_erroring_passes_its_probes_and_fails_every_third_request(sim):
    manifest = with_readiness_probe(deployment_manifest("err-app", "example/app:2.0.0-erroring", 1))
    create(sim, manifest)  # Ready: its readiness probe passes
    (pod,) = pods_of(sim, "err-app")
    assert pod.status.container_statuses[0].ready
    statuses = []
    for _ in range(6):
        statuses.append(door(sim, f"/_svc/{DEV}/err-app/api/v1/status").status_code)
        assert door(sim, f"/_svc/{DEV}/err-app/health").status_code == 200
    assert statuses == [200, 200, 500, 200, 200, 500]
    metrics = scrape(sim)
    errors = sample(metrics, "http_requests_total", namespace=DEV, service="err-app", status="500")
    assert errors == 2
    log = core_api(sim, "development").read_namespaced_pod_log(pod.metadata.name, DEV)
    errors_logged = [line for line in log.splitlines() if "ERROR" in line]
    assert len(errors_logged) == 2
    assert all(ERROR_LINE.match(line) for line in errors_logged), errors_logged
    assert "answered 200" not in log


def test_followed_log_streams_an_error_line_when_it_is_answered(sim):
    create(sim, deployment_manifest("err-follow", "example/app:2.0.0-broken", 1))
    (pod,) = pods_of(sim, "err-follow")
    url = f"{sim.api_url('development')}/api/v1/namespaces/{DEV}/pods/{pod.metadata.name}/log"
    with httpx.stream("GET", url, params={"follow": "true"}, timeout=10) as response:
        chunks = response.iter_text()
        assert "ready" in next(chunks)
        assert door(sim, f"/_svc/{DEV}/err-follow/api/v1/status").status_code == 500
        streamed = next(chunks)
    assert ERROR_LINE.match(streamed.strip()), streamed


# --- -expiring ------------------------------------------------------------------------------


def served_certificate_days(sim, server_name: str) -> float:
    """Days until the certificate the production front door shows for `server_name` expires."""
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    port = sim.cluster("production").front_door_port
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        not_after = ssl.cert_time_to_seconds(tls.getpeercert()["notAfter"])
    return (not_after - dt.datetime.now(dt.UTC).timestamp()) / 86400


def set_image(sim, deployment: str, image: str) -> None:
    apps = apps_api(sim, "production")
    container = deployment.removeprefix("vizora-")
    body = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    apps.patch_namespaced_deployment(deployment, PROD, body)
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(deployment, PROD)))


def test_expiring_release_gets_a_three_day_certificate_for_its_hosts_only(sim):
    assert served_certificate_days(sim, "realtime.vizora.com") > 29
    set_image(sim, "vizora-realtime", "ghcr.io/your-org/vizora-realtime:2.0.0-expiring")
    assert 2.9 < served_certificate_days(sim, "realtime.vizora.com") <= 3.0
    assert served_certificate_days(sim, "app.vizora.com") > 29
    assert served_certificate_days(sim, "api.vizora.com") > 29
    set_image(sim, "vizora-realtime", "ghcr.io/your-org/vizora-realtime:1.0.0")
    wait_for(lambda: len(pods_of(sim, "vizora-realtime", "production", PROD)) == 2)
    assert served_certificate_days(sim, "realtime.vizora.com") > 29
