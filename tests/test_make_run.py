"""`make run` on a clean checkout: no DATABASE_URL or REDIS_URL, the Vizora dashboard
with demo users, and a clean stop on Ctrl-C."""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from demo.builds import is_mounted
from tests.harness.server import free_port
from tests.harness.signals import answering_ctrl_c
from tests.harness.worker import REPO

pytestmark = pytest.mark.slow

NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "var", "staticfiles", "__pycache__", ".pytest_cache", ".ruff_cache"
)


@pytest.fixture
def demo_ports():
    """`make run` listens on the demo's fixed ports (kubesim 7001-7003, Slack 7600, …): the
    tests that run it (here and test_demo_stop.py) take turns, across xdist workers."""
    with (Path(tempfile.gettempdir()) / "portal-demo-ports.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def checkout(tmp_path, demo_ports):
    """A copy of the working tree without any local state, sharing the built .venv."""
    target = tmp_path / "portal"
    shutil.copytree(REPO, target, ignore=NOT_COPIED)
    (target / ".venv").symlink_to(REPO / ".venv")
    # The shared .venv is already built (CI runs `make venv` first): keep make from
    # rebuilding it because the copied requirements look newer than its marker.
    built = (REPO / ".venv" / "bin" / ".installed").stat().st_mtime
    for name in ("requirements.txt", "requirements-dev.txt"):
        os.utime(target / name, (built - 1, built - 1))
    return target


def clean_environment(port: int) -> dict:
    drop = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env["PORTAL_PORT"] = str(port)
    env.pop("PORTAL_BASE_URL", None)
    return env


def wait_for_page(url: str, process: subprocess.Popen, output, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited early:\n{output.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{output.read_text()}")


def wait_for_output(output, pattern: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, output.read_text(errors="replace"), re.M):
            return
        time.sleep(0.5)
    raise AssertionError(f"{pattern!r} not printed within {timeout}s:\n{output.read_text()}")


def sign_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={"username": username, "password": password},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/"
    return client


def test_make_run_serves_the_vizora_dashboard_and_stops_cleanly(checkout, tmp_path):
    port = free_port()
    output = tmp_path / "make-run.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            answering_ctrl_c(["make", "run"]), cwd=checkout, env=clean_environment(port),
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_page(f"{base}/health/ready", process, output)
        printed = output.read_text()
        users = dict(re.findall(r"^\s+engineer\s+(\w+)\s+password: (\S+)$", printed, re.M))
        assert users, f"no demo engineer printed:\n{printed}"
        assert re.search(r"^\s+lead\s+\w+\s+password: \S+$", printed, re.M)
        assert re.search(r"^\s+admin\s+\w+\s+password: \S+$", printed, re.M)
        monitoring = r"^Prometheus(: http://127\.0\.0\.1:7090 | not found: )"
        assert re.search(monitoring, printed, re.M), printed
        # make run's Slack: a receiver on loopback that SLACK_WEBHOOK_URL points at.
        assert re.search(r"^Slack: http://127\.0\.0\.1:7600/ shows what", printed, re.M), printed
        wait_for_page("http://127.0.0.1:7600/", process, output, timeout=30)
        if shutil.which("prometheus"):  # make run's Prometheus scrapes the demo front doors
            wait_for_page("http://127.0.0.1:7090/-/ready", process, output, timeout=60)
        (username, password), *_ = users.items()
        with closing(sign_in(base, username, password)) as client:
            page = client.get("/").text
        for name in ["middleware", "realtime", "web", "development", "staging", "production"]:
            assert name in page
        assert (checkout / "var" / "portal.sqlite3").exists()
        # One worker per kind, and the beat's observer runs on the maintenance one.
        for kind in ("deployments", "maintenance", "builds"):
            wait_for_output(output, rf"worker-{kind}\.1 .*{kind}@\S+ ready\.$")
        observed = r"worker-maintenance\.1 .*Task deployments\.tasks\.observe_clusters\["
        wait_for_output(output, observed)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        exit_code = process.wait(timeout=30)
    # make dies of the SIGINT it shares with the supervisor, as in a terminal after Ctrl-C.
    assert exit_code in (0, 130, -signal.SIGINT), output.read_text()[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)
    leftover = subprocess.run(["pgrep", "-f", str(checkout)], capture_output=True, text=True)
    assert leftover.stdout == "", f"processes left running: {leftover.stdout}"
    # The demo's Docker engine (when it could run) leaves no mount behind its data root.
    assert not is_mounted(checkout / "var" / "docker" / "data")
