"""The README's "Against PostgreSQL and Redis" block, run as a script as a reader would
paste it: it must leave a portal that signs in and serves the dashboard and its static
files, with a Celery worker and beat running beside it."""

import os
import re
import signal
import subprocess
import time
import uuid
from contextlib import closing

import httpx
import pytest

from tests.harness.server import free_port
from tests.harness.worker import REPO
from tests.test_make_run import sign_in

pytestmark = pytest.mark.slow

SECTION = "### Against PostgreSQL and Redis"
POSTGRES = ["-h", "127.0.0.1", "-U", "postgres"]
# The variables the script sets itself, or that would point it elsewhere than written.
NOT_INHERITED = {
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG", "PORTAL_DEV",
    "ALLOWED_HOSTS", "PORTAL_BASE_URL", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
}  # fmt: skip


def readme_setup_block() -> str:
    section = (REPO / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```sh\n(.*?)^```", section, re.M | re.S)
    assert match, f"no ```sh block under {SECTION!r} in README.md"
    return match.group(1)


def with_own_resources(script: str, database: str, port: int, redis_url: str) -> str:
    """The block as written, but on this test's database, port and Redis database."""
    replacements = {
        "127.0.0.1:5432/portal\n": f"127.0.0.1:5432/{database}\n",
        "-U postgres portal\n": f"-U postgres {database}\n",
        "redis://127.0.0.1:6379/0": redis_url,
        "127.0.0.1:8000": f"127.0.0.1:{port}",
        "PORTAL_PORT=8000 ": f"PORTAL_PORT={port} ",
    }
    for old, new in replacements.items():
        assert old in script, f"the README block no longer contains {old!r}; update this test"
        script = script.replace(old, new)
    return "set -euo pipefail\n" + script


def script_environment(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    # Keep the shared checkout clean, and the worker off other test runs' queues.
    env["STATIC_ROOT"] = str(tmp_path / "staticfiles")
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    env["CELERY_QUEUE_PREFIX"] = f"readme-{uuid.uuid4().hex[:8]}"
    return env


@pytest.fixture
def database():
    name = f"portal_readme_{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["dropdb", *POSTGRES, "--if-exists", "--force", name], check=True)


def wait_for_text(path, pattern: str, timeout: float = 90) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text(errors="replace"), re.M)
        if match:
            return match
        time.sleep(0.5)
    raise AssertionError(f"{pattern!r} not in the output after {timeout}s:\n{path.read_text()}")


def wait_for_ready(base: str, output, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{base}/health/ready did not answer in {timeout}s:\n{output.read_text()}")


def stop_group(group: int) -> None:
    """SIGTERM everything the script started (its background jobs share its group)."""
    for signum, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if subprocess.run(["pgrep", "-g", str(group)], capture_output=True).returncode:
                return
            time.sleep(0.2)


def test_the_readme_postgresql_section_run_as_a_script_serves_the_dashboard(tmp_path, database):
    port = free_port()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    script = tmp_path / "setup.sh"
    script.write_text(with_own_resources(readme_setup_block(), database, port, redis_url))
    output = tmp_path / "setup.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", str(script)], cwd=REPO, env=script_environment(tmp_path), stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert process.wait(timeout=180) == 0, output.read_text()
        password = wait_for_text(output, r"^Sign in at \S+ as admin, password (\S+)$")[1]
        wait_for_ready(base, output)
        wait_for_text(output, r"deployments@\S+ ready\.")
        wait_for_text(output, r"maintenance@\S+ ready\.")
        # Beat runs at WARNING (quiet): it is up when the maintenance worker gets its observer.
        wait_for_text(output, r"Task deployments\.tasks\.observe_clusters\[")

        with closing(sign_in(base, "admin", password)) as client:
            page = client.get("/")
            assert page.status_code == 200, page.text[:2000]
            for name in ["middleware", "realtime", "web", "development", "staging", "production"]:
                assert name in page.text
            stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
            scripts = re.findall(r'src="(/static/[^"]+\.js)"', page.text)
            assert stylesheets and scripts, page.text[:2000]
            for asset in stylesheets + scripts:
                response = client.get(asset)
                assert response.status_code == 200, asset
                assert response.content
    finally:
        stop_group(process.pid)
    leftover = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    assert leftover.stdout == "", f"processes left running: {leftover.stdout}"
