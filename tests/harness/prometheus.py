"""A real Prometheus (Debian's package) on a free loopback port, scraping what a test names.

    with KubeSim(VIZORA_CONFIG, speed=200, tls=None) as sim, PrometheusServer(
        kubesim_targets(sim), rules_for_tests(ALERT_RULES, directory=tmp_path), tmp_path
    ) as prometheus:
        prometheus.query('rate(http_requests_total{status=~"5.."}[30s])')

Every target is scraped every second (rules evaluated every second too), with its
labels (e.g. {cluster: production}); an https target is verified with its `ca_file`
(kubesim's CA: the front door's certificate holds 127.0.0.1 as an IP SAN).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import yaml

from demo.monitoring import Target, prometheus_config, stop_process
from tests.harness.server import REPO, free_port

ALERT_RULES = REPO / "monitoring" / "alerts.yml"
INSTALL_HINT = "apt-get install prometheus"


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


requires_prometheus = pytest.mark.skipif(
    prometheus_binary() is None,
    reason=f"the prometheus binary is not installed ({INSTALL_HINT})",
)


def rules_for_tests(
    source: Path = ALERT_RULES,
    for_: str = "2s",
    interval: str = "1s",
    directory: Path | None = None,
) -> Path:
    """A copy of a rules file whose groups evaluate every `interval` and whose rules
    fire after `for_` instead of the minutes production waits."""
    groups = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    for group in groups["groups"]:
        group["interval"] = interval
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_
    target = Path(directory or tempfile.mkdtemp(prefix="prometheus-rules-"))
    path = target / f"{Path(source).stem}-for-tests.yml"
    path.write_text(yaml.safe_dump(groups, sort_keys=False), encoding="utf-8")
    return path


def kubesim_targets(sim) -> list[dict]:
    """One target per front door of a running kubesim.testing.KubeSim, labelled by cluster."""
    return [
        {
            "url": cluster.front_door_url,
            "labels": {"cluster": name},
            "ca_file": sim.ca_file if cluster.front_door_url.startswith("https:") else None,
        }
        for name, cluster in sim.clusters.items()
    ]


def harness_config(targets: list[dict], rules_file: Path | None) -> dict:
    """prometheus.yml: every target ({url, labels?, ca_file?, server_name?}) and every
    rule group evaluated each second."""
    jobs = {
        f"target-{index}-{target.get('labels', {}).get('cluster', 'static')}": Target(**target)
        for index, target in enumerate(targets)
    }
    return prometheus_config(jobs, rules_file, scrape_interval="1s", evaluation_interval="1s")


class PrometheusServer:
    """`/usr/bin/prometheus` on 127.0.0.1:<free port> with its data under `workdir`."""

    def __init__(
        self,
        targets: list[dict],
        rules_file: Path | None,
        workdir: Path,
        startup_timeout: float = 30.0,
    ):
        self.targets = targets
        self.rules_file = rules_file
        self.workdir = Path(workdir)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.url = ""
        self.log_file = self.workdir / "prometheus.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrometheusServer:
        binary = prometheus_binary()
        if binary is None:
            pytest.skip(f"the prometheus binary is not installed ({INSTALL_HINT})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(harness_config(self.targets, self.rules_file)))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {self.startup_timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate (SIGTERM), wait up to 10 s, then kill."""
        process, self.process = self.process, None
        stop_process(process)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- the HTTP API ------------------------------------------------------------------------

    def api(self, path: str, **params) -> dict:
        """GET /api/v1/<path>; the `data` of a `success` envelope."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=5)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus answered {response.status_code}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query's vector: [{metric: {...}, value: [time, "string"]}]."""
        return self.api("query", query=expr)["result"]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def targets_up(self) -> bool:
        active = self.api("targets")["activeTargets"]
        return len(active) == len(self.targets) and all(t["health"] == "up" for t in active)

    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""
