"""Ctrl-C stops `make run` cleanly: the portal first, then what it talks to, each with
SIGTERM and time to finish (no SIGKILL), open live pages closed by the server, and
nothing in the output a newcomer cannot act on."""

# ruff: noqa: F811 (the fixture imported from tests/test_make_run is a parameter here)

import os
import re
import signal
import subprocess
import threading
from contextlib import closing

import httpx
import pytest

from tests.harness.server import free_port
from tests.harness.signals import answering_ctrl_c
from tests.test_make_run import (  # noqa: F401 (fixture)
    checkout,
    clean_environment,
    demo_ports,
    sign_in,
    wait_for_output,
    wait_for_page,
)

pytestmark = pytest.mark.slow

PORTAL_PROCESSES = ["web", "worker-deployments", "worker-maintenance", "worker-builds", "beat"]
NOT_FOR_NEWCOMERS = [
    "Traceback",
    "CurrentThreadExecutor already quit",
    "ASGI 'lifespan' protocol appears unsupported",
    "SIGKILL",
    "timeout graceful shutdown exceeded",
    "SecurityWarning",  # Celery's, as root: the demo runs as root for its Docker engine
    "containerd config version",  # the demo's Docker engine's own configuration
    "Sending due task",  # beat's INFO, every few seconds: beat runs at WARNING
    "stopped (rc=-",  # a child ended by the supervisor's signal reads "stopped (SIGTERM)"
    "Not Found: /favicon.ico",
    "must consume synchronous iterators",  # a stream handing ASGI a sync iterator
]


def follow_live_lanes(client: httpx.Client, stopped: threading.Event) -> threading.Thread:
    """The dashboard's live stream, held open as a browser tab would."""
    lanes = re.search(r'data-live-lanes="([^"]+)"', client.get("/").text)
    assert lanes, "the dashboard offers no live stream"
    url = lanes[1].replace("&amp;", "&")

    def read() -> None:
        with client.stream("GET", url, timeout=None) as response:
            for _ in response.iter_raw():
                pass
        stopped.set()  # the server ended the response: not a broken connection

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def test_ctrl_c_stops_every_demo_process_in_order_without_sigkill_or_tracebacks(checkout, tmp_path):
    port = free_port()
    output = tmp_path / "make-run.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            answering_ctrl_c(["make", "run"]), cwd=checkout, env=clean_environment(port),
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    stream_ended = threading.Event()
    try:
        wait_for_page(f"{base}/health/ready", process, output)
        for kind in ("deployments", "maintenance", "builds"):
            wait_for_output(output, rf"worker-{kind}\.1 .*{kind}@\S+ ready\.$")
        client = sign_in(base, "erin", "erin-engineer-demo")
        with closing(client):
            # What a browser asks for with the first page (the warnings' causes, under ASGI).
            assert client.get("/static/css/portal.css").status_code == 200
            assert client.get("/favicon.ico", follow_redirects=True).status_code == 200
            reader = follow_live_lanes(client, stream_ended)
            # Beat is up and sending: the maintenance worker got its observer (beat is quiet).
            observed = r"worker-maintenance\.1 .*Task deployments\.tasks\.observe_clusters\["
            wait_for_output(output, observed)
            os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
            process.wait(timeout=90)
            reader.join(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    printed = output.read_text(errors="replace")
    assert stream_ended.is_set(), "the live stream was cut instead of ended by the server"
    for text in NOT_FOR_NEWCOMERS:
        assert text not in printed, f"{text!r} printed:\n{printed[-6000:]}"
    stops = re.findall(r"^\S+ system\s+\| (\S+)\.1 stopped", printed, re.M)
    assert set(PORTAL_PROCESSES) <= set(stops), printed[-3000:]
    assert "kubesim" in stops and stops.index("kubesim") > max(
        stops.index(name) for name in PORTAL_PROCESSES
    ), f"kubesim stopped before the portal's processes: {stops}"
    leftover = subprocess.run(["pgrep", "-f", str(checkout)], capture_output=True, text=True)
    assert leftover.stdout == "", f"processes left running: {leftover.stdout}"
