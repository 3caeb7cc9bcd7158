"""`make run`'s monitoring: a real Prometheus scraping the demo's front doors with the
seed's alert rules, and a little steady traffic at every demo host so its graphs and
the portal's error-rate and memory checks mean something.

    python -m demo.monitoring            # run (Procfile: monitoring)
    python -m demo.monitoring --status   # the one line bin/demo prints

Prometheus (Debian's package, found on the PATH) listens on 127.0.0.1:7090, keeps its
data under var/prometheus and loads monitoring/alerts.yml as it is (`for: 5m`). The
front doors come from the kubesim config (127.0.0.1:7101-7103); production's is TLS,
verified with the CA kubesim writes beside the kubeconfig. Without the binary, only
the traffic runs. Plain Python, no Django: it runs beside the portal, not in it.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from kubesim.config import load_config

REPO = Path(__file__).resolve().parent.parent
KUBESIM_CONFIG = REPO / "examples" / "kubesim-vizora.yaml"
CA_FILE = REPO / "var" / "kubesim" / "kubesim-ca.crt"
DATA_DIR = REPO / "var" / "prometheus"
ALERT_RULES = REPO / "monitoring" / "alerts.yml"
PROMETHEUS_ADDRESS = "127.0.0.1:7090"
NOT_FOUND = (
    "Prometheus not found: the monitoring checks (error rates, memory, alerts) will fail "
    "with evidence saying so; install it with `apt-get install prometheus`."
)
PAGES = ("/", "/health")  # a page (where -broken and -erroring fail) and the health path


@dataclass(frozen=True)
class Target:
    """A front door to scrape: its URL, the labels its series get, the CA to trust."""

    url: str
    labels: dict[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    server_name: str = ""


@dataclass(frozen=True)
class DemoFrontDoor:
    cluster: str
    url: str
    hosts: tuple[str, ...]

    @property
    def tls(self) -> bool:
        return self.url.startswith("https:")


def demo_front_doors(config_path: Path = KUBESIM_CONFIG) -> list[DemoFrontDoor]:
    config = load_config(config_path)
    return [
        DemoFrontDoor(
            spec.name,
            f"{'https' if spec.front_door.tls else 'http'}://{config.host}:{spec.front_door.port}",
            tuple(sorted(spec.front_door.hosts)),
        )
        for spec in config.clusters
    ]


# --- the Prometheus configuration ------------------------------------------------------------


def scrape_job(name: str, target: Target) -> dict:
    """A scrape job for one target; https is verified with the target's CA."""
    scheme, _, address = target.url.partition("://")
    job = {
        "job_name": name,
        "scheme": scheme,
        "static_configs": [{"targets": [address.rstrip("/")], "labels": dict(target.labels)}],
    }
    if scheme == "https":
        tls = {"ca_file": str(target.ca_file)} if target.ca_file else {}
        if target.server_name:
            tls["server_name"] = target.server_name
        job["tls_config"] = tls
    return job


def prometheus_config(
    jobs: dict[str, Target],
    rules_file: Path | None,
    scrape_interval: str = "5s",
    evaluation_interval: str = "15s",
) -> dict:
    """A whole prometheus.yml: one job per named target, and the rules file."""
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "scrape_configs": [scrape_job(name, target) for name, target in jobs.items()],
    }
    if rules_file is not None:
        config["rule_files"] = [str(rules_file)]
    return config


def demo_jobs(doors: list[DemoFrontDoor], ca_file: Path) -> dict[str, Target]:
    return {
        f"kubesim-{door.cluster}": Target(
            door.url, {"cluster": door.cluster}, ca_file if door.tls else None
        )
        for door in doors
    }


# --- Prometheus --------------------------------------------------------------------------------


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def status_line() -> str:
    if prometheus_binary() is None:
        return NOT_FOUND
    return (
        f"Prometheus: http://{PROMETHEUS_ADDRESS} (the demo front doors, "
        "monitoring/alerts.yml; data in var/prometheus)"
    )


def start_prometheus(config: dict, data_dir: Path, address: str) -> subprocess.Popen:
    """Prometheus in this process group, so a stop of the group stops it too."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = data_dir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [
        prometheus_binary(),
        f"--config.file={config_file}",
        f"--web.listen-address={address}",
        f"--storage.tsdb.path={data_dir / 'data'}",
        "--log.level=warn",
    ]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- traffic -----------------------------------------------------------------------------------


def tls_context(ca_file: Path) -> ssl.SSLContext | bool:
    """Trust kubesim's CA (re-read each time: kubesim makes a new one at every start)."""
    if not ca_file.exists():
        return True
    return ssl.create_default_context(cafile=str(ca_file))


def visit(http: httpx.Client, door: DemoFrontDoor, host: str, path: str) -> int | None:
    """One request for `host` through its front door (Host header and TLS server name of
    the host, as a browser resolved to the front door would send); the status or None."""
    extensions = {"sni_hostname": host} if door.tls else {}
    try:
        response = http.get(door.url + path, headers={"Host": host}, extensions=extensions)
    except httpx.HTTPError:
        return None
    return response.status_code


def drive_traffic(
    doors: list[DemoFrontDoor], ca_file: Path, stop: threading.Event, pause: float = 0.25
) -> None:
    """Every `pause` seconds, a page and a health request per host (about four pages a
    second per host: enough that a release failing a third of them crosses the seed's
    0.05 errors/s over [5m] within seconds), until `stop` is set; a connection that
    fails is made afresh."""
    while not stop.is_set():
        with httpx.Client(verify=tls_context(ca_file), timeout=2) as http:
            while not stop.is_set():
                statuses = [
                    visit(http, door, host, path)
                    for door in doors
                    for host in door.hosts
                    for path in PAGES
                ]
                stop.wait(pause)
                if None in statuses:
                    break  # kubesim (re)starting, or a new CA: reconnect with it


def wait_for_front_doors(doors: list[DemoFrontDoor], ca_file: Path, timeout: float) -> bool:
    """Until every front door answers /metrics (production's verified with the CA)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with httpx.Client(verify=tls_context(ca_file), timeout=2) as http:
            try:
                if all(http.get(d.url + "/metrics").status_code == 200 for d in doors):
                    return True
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    return False


# --- the process -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    doors = demo_front_doors(args.kubesim_config)
    stop = threading.Event()
    traffic = threading.Thread(target=drive_traffic, args=(doors, args.ca_file, stop), daemon=True)
    prometheus = None
    try:
        if not wait_for_front_doors(doors, args.ca_file, timeout=120):
            print("monitoring: the kubesim front doors did not answer within 120 s", flush=True)
        traffic.start()
        if prometheus_binary() is not None:
            config = prometheus_config(demo_jobs(doors, args.ca_file), args.rules)
            prometheus = start_prometheus(config, args.data_dir, args.address)
            prometheus.wait()
            print(f"monitoring: prometheus exited with {prometheus.returncode}", flush=True)
        stop.wait()  # keep the traffic going: the supervisor stops all when one ends
    finally:
        stop.set()
        stop_process(prometheus)


def _stop_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo.monitoring")
    parser.add_argument("--status", action="store_true", help="print what will run and exit")
    parser.add_argument("--kubesim-config", type=Path, default=KUBESIM_CONFIG)
    parser.add_argument("--ca-file", type=Path, default=CA_FILE)
    parser.add_argument("--rules", type=Path, default=ALERT_RULES)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--address", default=PROMETHEUS_ADDRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.status:
        print(status_line())
        return
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run(args)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
