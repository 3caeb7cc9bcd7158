"""A real Prometheus (Debian's /usr/bin/prometheus) scraping a tiny exporter the test controls.

The exporter serves the Prometheus text format; a test sets counters by their rate
(`count("http_requests_total", 0.5, status="500", ...)`) and gauges by value. A counter
grows by exactly rate x interval per scrape, so rate() gives the rate the test set once
its window is full, and evidence can be asserted to the digit.

Prometheus sends its first scrape about 5 s after it starts (its discovery manager
batches target updates every 5 s, with no flag to shorten it), so tests share one
server and one exporter: `reset()` drops the last test's series (Prometheus marks them
stale at the next scrape) and each test uses a namespace of its own.
"""

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.harness.http import LocalServer, QuietHandler
from tests.harness.server import free_port
from tests.harness.waiting import wait_for

PROMETHEUS = "/usr/bin/prometheus"
SCRAPE_SECONDS = 1

# The seed's alert rules (tests/kubesim/manifests/31-prometheus-alerts.yaml) with
# windows of seconds instead of minutes, so an alert fires within a test.
FAST_SEED_RULES = """
groups:
  - name: vizora_alerts
    rules:
      - alert: HighErrorRate
        expr: rate(http_requests_total{status=~"5.."}[3s]) > 0.05
        for: 1s
        labels: {severity: critical}
        annotations:
          summary: "High error rate detected"
          description: "Error rate is {{ $value }} requests/sec"
      - alert: HighMemoryUsage
        expr: container_memory_usage_bytes / container_spec_memory_limit_bytes > 0.9
        for: 1s
        labels: {severity: warning}
        annotations:
          summary: "High memory usage in {{ $labels.pod }}"
"""


def labels_text(labels: dict[str, str]) -> str:
    escaped = (f'{k}="{v.replace("\\", "\\\\").replace('"', '\\"')}"' for k, v in labels.items())
    return "{" + ",".join(escaped) + "}"


class Exporter(LocalServer):
    """Serves /metrics: counters growing at a set rate, gauges at a set value."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scrapes = 0
        self.counters: dict[tuple, tuple[float, int]] = {}  # series -> (per second, from scrape)
        self.gauges: dict[tuple, float] = {}
        super().__init__(self._handler())

    def reset(self) -> None:
        with self.lock:
            self.counters.clear()
            self.gauges.clear()

    def count(self, name: str, per_second: float, **labels: str) -> None:
        """A counter from 0 now, growing by `per_second` a second (per scrape, that is)."""
        with self.lock:
            self.counters[(name, labels_text(labels))] = (per_second, self.scrapes)

    def gauge(self, name: str, value: float, **labels: str) -> None:
        with self.lock:
            self.gauges[(name, labels_text(labels))] = value

    def text(self) -> str:
        with self.lock:
            self.scrapes += 1
            lines = [
                f"{name}{labels} {per_second * SCRAPE_SECONDS * (self.scrapes - since):.6f}"
                for (name, labels), (per_second, since) in self.counters.items()
            ]
            lines += [f"{name}{labels} {value}" for (name, labels), value in self.gauges.items()]
        return "".join(line + "\n" for line in lines)

    def _handler(self):
        exporter = self

        class Handler(QuietHandler):
            def do_GET(self):
                self.answer(200, exporter.text().encode(), "text/plain; version=0.0.4")

        return Handler


class PrometheusServer:
    """/usr/bin/prometheus on a free 127.0.0.1 port, scraping `targets` every second."""

    def __init__(self, workdir: Path, targets: list[str], rules: str = FAST_SEED_RULES):
        self.workdir = workdir
        self.targets = targets
        self.rules = rules
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PrometheusServer":
        if not shutil.which(PROMETHEUS):
            pytest.skip(f"{PROMETHEUS} is not installed: apt-get install prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        command = [
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
        ]  # fmt: skip
        with (self.workdir / "prometheus.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_ready()
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _write_config(self) -> Path:
        rules = self.workdir / "rules.yml"
        rules.write_text(self.rules)
        config = self.workdir / "prometheus.yml"
        # YAML reads JSON: no YAML writer needed.
        settings = {
            "global": {
                "scrape_interval": f"{SCRAPE_SECONDS}s",
                "evaluation_interval": f"{SCRAPE_SECONDS}s",
            },
            "rule_files": [str(rules)],
            "scrape_configs": [
                {"job_name": "exporter", "static_configs": [{"targets": self.targets}]}
            ],
        }
        config.write_text(json.dumps(settings))
        return config

    def _wait_until_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "prometheus.log").read_text()
                raise AssertionError(f"prometheus exited {self.process.returncode}:\n{log}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"prometheus not ready at {self.url} within {timeout}s")

    def values(self, expression: str) -> list[float]:
        """The instant values of `expression` now."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}).json()
        return [float(item["value"][1]) for item in answer["data"]["result"]]

    def wait_for_value(self, expression: str, expected: float, timeout: float = 15.0) -> None:
        """Until `expression` has one value within 0.1 % of `expected`."""
        wait_for(
            lambda: any(abs(v - expected) <= expected * 1e-3 for v in self.values(expression)),
            timeout,
        )

    def wait_for_series(self, expression: str, timeout: float = 15.0) -> None:
        wait_for(lambda: self.values(expression), timeout)

    def firing(self) -> list[dict]:
        """The labels of every firing alert."""
        answer = httpx.get(f"{self.url}/api/v1/alerts").json()
        return [alert["labels"] for alert in answer["data"]["alerts"] if alert["state"] == "firing"]

    def wait_for_firing(self, count: int, namespaces: set[str], timeout: float = 15.0) -> None:
        """Until exactly `count` alerts fire, all in `namespaces` (the last test's are over)."""

        def settled():
            firing = self.firing()
            return len(firing) == count and all(a.get("namespace") in namespaces for a in firing)

        wait_for(settled, timeout)
