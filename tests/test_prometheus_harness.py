"""The real Prometheus scrapes kubesim's front doors and evaluates the seed's alert rules:
an `-erroring` release raises the error rate it computes and fires HighErrorRate, a
`-leaky` one raises the memory ratio of HighMemoryUsage."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import yaml
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.harness.prometheus import (
    ALERT_RULES,
    PrometheusServer,
    kubesim_targets,
    requires_prometheus,
    rules_for_tests,
)
from tests.harness.waiting import wait_for
from tests.kubesim.helpers import rollout_done

ERROR_RATE = 'rate(http_requests_total{status=~"5.."}[30s])'
MEMORY_RATIO = "container_memory_usage_bytes / container_spec_memory_limit_bytes"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """The demo clusters, production over TLS, at speed 200."""
    workdir = tmp_path_factory.mktemp("kubesim")
    with KubeSim(VIZORA_CONFIG, speed=200, tls=None, workdir=workdir) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(sim, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    rules = rules_for_tests(ALERT_RULES, for_="2s", interval="1s", directory=workdir)
    with PrometheusServer(kubesim_targets(sim), rules, workdir) as server:
        wait_for(server.targets_up, timeout=10)
        yield server


def release(sim, cluster: str, deployment: str, image: str) -> None:
    """Patch a Deployment's image through the kube API and wait for its rollout."""
    configuration = client.Configuration()
    configuration.host = sim.api_url(cluster)
    apps = client.AppsV1Api(client.ApiClient(configuration))
    namespace = sim.cluster(cluster).namespace
    container = deployment.removeprefix("vizora-")
    body = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    apps.patch_namespaced_deployment(deployment, namespace, body)
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(deployment, namespace)))


@contextmanager
def steady_traffic(url: str, host: str, seconds: float = 25.0):
    """About 20 requests a second for a page of `host`, until the block ends (or `seconds`)."""
    stop = threading.Event()

    def drive():
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=2) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                http.get(f"{url}/api/v1/status", headers={"Host": host})
                stop.wait(0.05)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        yield
    finally:
        stop.set()
        driver.join(timeout=5)


def series_above(prometheus, expr: str, threshold: float, **labels: str) -> list[dict]:
    return [
        s
        for s in prometheus.query(expr)
        if float(s["value"][1]) > threshold
        and all(s["metric"].get(k) == v for k, v in labels.items())
    ]


def firing(prometheus, name: str, **labels: str) -> list[dict]:
    return [
        a
        for a in prometheus.alerts()
        if a["labels"]["alertname"] == name
        and a["state"] == "firing"
        and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


def test_rules_for_tests_keep_the_seed_expressions_with_short_waits(tmp_path):
    copy = rules_for_tests(ALERT_RULES, for_="2s", interval="1s", directory=tmp_path)
    seed, fast = (yaml.safe_load(p.read_text())["groups"][0] for p in (ALERT_RULES, copy))
    assert (seed["interval"], fast["interval"]) == ("1m", "1s")
    names = ["HighErrorRate", "DeviceOffline", "HighMemoryUsage"]
    assert [r["alert"] for r in fast["rules"]] == names
    assert [r["expr"] for r in fast["rules"]] == [r["expr"] for r in seed["rules"]]
    assert {r["for"] for r in seed["rules"]} == {"5m"}
    assert {r["for"] for r in fast["rules"]} == {"2s"}
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    for path in (ALERT_RULES, copy):
        command = [promtool, "check", "rules", str(path)]
        checked = subprocess.run(command, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "SUCCESS: 3 rules found" in checked.stdout


@requires_prometheus
@pytest.mark.slow
def test_prometheus_scrapes_every_front_door_including_tls_production(prometheus):
    up = {s["metric"]["cluster"]: s["value"][1] for s in prometheus.query("up")}
    assert up == {"development": "1", "staging": "1", "production": "1"}
    limits = prometheus.query('container_spec_memory_limit_bytes{cluster="production"}')
    assert {s["metric"]["namespace"] for s in limits} == {"vizora-prod"}
    assert {s["value"][1] for s in limits if s["metric"]["container"] == "web"} == {"536870912"}


@requires_prometheus
@pytest.mark.slow
def test_erroring_release_raises_the_error_rate_and_fires_high_error_rate(sim, prometheus):
    release(sim, "development", "vizora-web", "ghcr.io/your-org/vizora-web:2.0.0-erroring")
    labels = {"namespace": "vizora-dev", "service": "vizora-web", "cluster": "development"}
    with steady_traffic(sim.front_door_url("development"), "app.dev.vizora.com"):
        (rate,) = wait_for(lambda: series_above(prometheus, ERROR_RATE, 0.05, **labels), 15)
        assert rate["metric"]["status"] == "500"
        (alert,) = wait_for(lambda: firing(prometheus, "HighErrorRate", **labels), 15)
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "High error rate detected"
    assert alert["annotations"]["description"].startswith("Error rate is ")
    assert not firing(prometheus, "HighErrorRate", service="vizora-middleware")


@requires_prometheus
@pytest.mark.slow
def test_leaky_release_passes_the_high_memory_usage_ratio(sim, prometheus):
    release(sim, "staging", "vizora-realtime", "ghcr.io/your-org/vizora-realtime:2.0.0-leaky")
    labels = {"namespace": "vizora-staging", "container": "realtime", "cluster": "staging"}
    leaking = wait_for(lambda: series_above(prometheus, MEMORY_RATIO, 0.9, **labels), 15)
    assert {s["metric"]["pod"].startswith("vizora-realtime-") for s in leaking} == {True}
    steady = {"namespace": "vizora-staging", "container": "web"}
    assert not series_above(prometheus, MEMORY_RATIO, 0.9, **steady)
