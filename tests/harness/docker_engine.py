"""A real Docker engine and real registries for the build tests.

The engine: the one DOCKER_HOST names (`.ci/run` starts one and exports it), else the
portal's own socket /run/portal-docker/docker.sock if an engine answers there, else one
started here when dockerd is installed and we are root (so `make test` works on a fresh
machine). xdist workers share it: whoever takes the file lock first starts it, and it is
left running for the next run, like the PostgreSQL and Redis the tests use. When no
engine can run, `engine_or_reason` says why and the tests are skipped with that reason.

Registries are per test process: `docker-registry` on a port of `free_port`, storage in a
temporary folder, optionally read-only (its maintenance mode), which refuses every push.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import docker
import httpx
from docker.errors import DockerException

from tests.harness.http import LocalServer, QuietHandler
from tests.harness.server import free_port

RUN_DIR = Path("/run/portal-docker")
DEFAULT_SOCKET = RUN_DIR / "docker.sock"
DATA_ROOT = Path("/var/lib/portal-docker")
DOCKERD_FLAGS = ["--bridge=none", "--iptables=false", "--ip6tables=false"]


def engine_or_reason() -> tuple[str | None, str]:
    """(DOCKER_HOST of a live engine, "") or (None, why there is none)."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        problem = _ping(host)
        return (host, "") if problem is None else (None, f"DOCKER_HOST={host}: {problem}")
    default = f"unix://{DEFAULT_SOCKET}"
    if DEFAULT_SOCKET.exists() and _ping(default) is None:
        return default, ""
    if not shutil.which("dockerd"):
        return None, "dockerd is not installed (apt-get install docker.io) and DOCKER_HOST is unset"
    if os.geteuid() != 0:
        return None, "dockerd can only be started as root, and DOCKER_HOST is unset"
    return _start_engine()


def _start_engine() -> tuple[str | None, str]:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    host = f"unix://{DEFAULT_SOCKET}"
    with (RUN_DIR / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one starts it, the others wait
        if DEFAULT_SOCKET.exists() and _ping(host) is None:
            return host, ""
        log = (RUN_DIR / "dockerd.log").open("ab")
        subprocess.Popen(
            ["dockerd", *DOCKERD_FLAGS, "-H", host, "--data-root", str(DATA_ROOT),
             "--exec-root", str(RUN_DIR / "exec"), "--pidfile", str(RUN_DIR / "docker.pid")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        problem = "it did not answer"
        while time.monotonic() < deadline:
            problem = _ping(host)
            if problem is None:
                return host, ""
            time.sleep(0.2)
    return None, f"dockerd did not start ({problem}); see {RUN_DIR / 'dockerd.log'}"


def _ping(host: str) -> str | None:
    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except DockerException as error:
        return f"the engine does not answer ({error})"
    return None


class TokenService(LocalServer):
    """The bearer-token service of a registry with auth: a token for the right Basic
    credentials, 401 for anything else. It records the scopes it was asked for."""

    def __init__(self, username: str, password: str):
        expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.scopes: list[str] = []
        service = self

        class Handler(QuietHandler):
            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                service.scopes += query.get("scope", [])
                if self.headers.get("Authorization") != expected:
                    self.answer(401, b'{"details": "wrong credentials"}')
                    return
                self.answer(200, json.dumps({"token": "t0k", "access_token": "t0k"}).encode())

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/token"


class Registry:
    """`docker-registry serve` on 127.0.0.1:<free port>; read-only refuses every push.

    With `token_realm`, it uses distribution's "silly" auth: no request gets in without
    an Authorization header, and the 401 sends clients to `token_realm` for a bearer
    token (a TokenService), as registries with token auth (Docker Hub, GHCR) do."""

    def __init__(
        self, workdir: Path, read_only: bool = False, token_realm: str = "", htpasswd: str = ""
    ):
        self.workdir = workdir
        self.read_only = read_only
        self.token_realm = token_realm
        self.htpasswd = htpasswd  # `user:bcrypt-hash`: Basic auth
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Registry":
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n"
            f"  filesystem:\n    rootdirectory: {self.workdir / 'data'}\n"
            "  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"    readonly:\n      enabled: {'true' if self.read_only else 'false'}\n"
            f"http:\n  addr: {self.address}\n"
        )
        if self.token_realm:
            config.write_text(
                config.read_text()
                + f"auth:\n  silly:\n    realm: {self.token_realm}\n    service: test-registry\n"
            )
        if self.htpasswd:
            (self.workdir / "htpasswd").write_text(self.htpasswd + "\n")
            config.write_text(
                config.read_text() + f"auth:\n  htpasswd:\n    realm: test-registry\n"
                f"    path: {self.workdir / 'htpasswd'}\n"
            )
        log = (self.workdir / "registry.log").open("ab")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._wait_until_answering()
        return self

    def _wait_until_answering(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log_text()}")
            try:
                answer = httpx.get(f"http://{self.address}/v2/", timeout=1).status_code
                if answer == 200 or (answer == 401 and (self.token_realm or self.htpasswd)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer: {self.log_text()}")

    def log_text(self) -> str:
        path = self.workdir / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
