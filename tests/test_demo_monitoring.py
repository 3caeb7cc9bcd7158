"""`make run`'s monitoring (demo/monitoring.py): the Prometheus it configures,
the traffic it drives through the front doors, and the line it prints without Prometheus."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import threading

import httpx
import pytest
import yaml

from demo import monitoring as demo_monitoring
from demo.monitoring import DemoFrontDoor, demo_front_doors, demo_jobs
from kubesim.testing import VIZORA_CONFIG, KubeSim
from kubesim.tls import generate
from tests.harness.prometheus import requires_prometheus
from tests.harness.server import REPO, free_port
from tests.harness.waiting import wait_for

SERVICES = {"vizora-middleware", "vizora-realtime", "vizora-web"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """The demo clusters, production over TLS as configured."""
    workdir = tmp_path_factory.mktemp("kubesim")
    with KubeSim(VIZORA_CONFIG, speed=50, tls=None, workdir=workdir) as running:
        yield running


def sim_config(sim, directory) -> os.PathLike:
    """The demo's kubesim config with the ports this kubesim really listens on."""
    config = copy.deepcopy(sim.config)
    for spec in config["clusters"]:
        spec["front_door"]["port"] = sim.cluster(spec["name"]).front_door_port
    path = directory / "kubesim-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def requests_served(sim, cluster: str) -> dict[str, int]:
    """{service: requests answered 200} from a front door's /metrics."""
    verify = demo_monitoring.tls_context(sim.ca_file)
    text = httpx.get(sim.front_door_url(cluster) + "/metrics", verify=verify, timeout=5).text
    served = {}
    for line in text.splitlines():
        if line.startswith("http_requests_total{") and 'status="200"' in line:
            service = line.split('service="', 1)[1].split('"', 1)[0]
            served[service] = int(line.rsplit(" ", 1)[1])
    return served


def test_demo_front_doors_are_the_three_clusters_production_over_tls():
    doors = {door.cluster: door for door in demo_front_doors()}
    assert doors["development"].url == "http://127.0.0.1:7101"
    assert doors["staging"].url == "http://127.0.0.1:7102"
    assert doors["production"].url == "https://127.0.0.1:7103"
    assert doors["production"].hosts == ("api.vizora.com", "app.vizora.com", "realtime.vizora.com")


def test_demo_prometheus_config_passes_promtool_with_the_kubesim_ca(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    ca_file = generate(tmp_path / "kubesim", ["api.vizora.com"]).ca_cert
    jobs = demo_jobs(demo_front_doors(), ca_file)
    config = demo_monitoring.prometheus_config(jobs, demo_monitoring.ALERT_RULES)
    production = next(j for j in config["scrape_configs"] if j["job_name"] == "kubesim-production")
    assert production["scheme"] == "https"
    assert production["tls_config"] == {"ca_file": str(ca_file)}
    assert production["static_configs"] == [
        {"targets": ["127.0.0.1:7103"], "labels": {"cluster": "production"}}
    ]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout


def test_traffic_reaches_every_demo_host_tls_included(sim):
    doors = [
        DemoFrontDoor(name, cluster.front_door_url, tuple(cluster.hosts))
        for name, cluster in sim.clusters.items()
    ]
    stop = threading.Event()
    driver = threading.Thread(
        target=demo_monitoring.drive_traffic, args=(doors, sim.ca_file, stop, 0.1)
    )
    driver.start()
    try:
        for cluster in ("development", "staging", "production"):
            wait_for(lambda c=cluster: set(requests_served(sim, c)) >= SERVICES, timeout=10)
    finally:
        stop.set()
        driver.join(timeout=10)
    assert not driver.is_alive()


def status_line(path: str) -> str:
    command = [sys.executable, "-m", "demo.monitoring", "--status"]
    env = dict(os.environ, PATH=path)
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO).stdout


def test_status_says_how_to_install_prometheus_when_it_is_missing(tmp_path):
    assert status_line(str(tmp_path)).strip() == (
        "Prometheus not found: the monitoring checks (error rates, memory, alerts) will fail "
        "with evidence saying so; install it with `apt-get install prometheus`."
    )


@requires_prometheus
@pytest.mark.slow
def test_monitoring_runs_prometheus_on_the_demo_front_doors_and_stops_it(sim, tmp_path):
    binary_dir = os.path.dirname(demo_monitoring.prometheus_binary())
    assert status_line(binary_dir).startswith("Prometheus: http://127.0.0.1:7090 ")
    address = f"127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "demo.monitoring",
        "--kubesim-config", str(sim_config(sim, tmp_path)), "--ca-file", str(sim.ca_file),
        "--data-dir", str(tmp_path / "prometheus"), "--address", address,
    ]  # fmt: skip
    log = tmp_path / "monitoring.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    try:

        def all_up():
            try:
                response = httpx.get(f"http://{address}/api/v1/query?query=up", timeout=2)
            except httpx.TransportError:
                return None
            if response.status_code != 200:  # starting: "Service Unavailable" in plain text
                return None
            results = response.json()["data"]["result"]
            return len(results) == 3 and all(r["value"][1] == "1" for r in results) and results

        up = wait_for(all_up, timeout=30)
        assert {r["metric"]["cluster"] for r in up} == {"development", "staging", "production"}
        rules = httpx.get(f"http://{address}/api/v1/rules", timeout=2).json()["data"]["groups"]
        assert [r["name"] for r in rules[0]["rules"]] == [
            "HighErrorRate",
            "DeviceOffline",
            "HighMemoryUsage",
        ]
        assert rules[0]["rules"][0]["duration"] == 300  # the seed's `for: 5m`, kept
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{address}/-/ready", timeout=2)
