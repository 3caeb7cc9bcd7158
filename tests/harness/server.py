"""Run the portal under uvicorn in a subprocess, as production does, on a free port."""

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


# Ports handed out by free_port: below Linux's ephemeral range (32768-60999), where the
# kernel puts every bind to port 0 (kubesim's servers, clients' sockets), so a port
# chosen here and bound a moment later cannot meanwhile be taken by one of those; each
# xdist worker has a block of its own, and a process never hands out a port twice.
PORT_BLOCK = 2000
FIRST_PORT = 20000
_handed_out: set[int] = set()


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST_PORT + (int(worker) if worker.isdigit() else 0) % 6 * PORT_BLOCK
    candidates = [port for port in range(start, start + PORT_BLOCK) if port not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {start}-{start + PORT_BLOCK - 1}")


class PortalServer:
    def __init__(self, env: dict, log_path: Path, processes: int = 1):
        self.port = free_port()
        self.processes = processes  # uvicorn --workers, as portal.serve runs production
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "PortalServer":
        command = [
            sys.executable, "-m", "uvicorn", "portal.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
            # As the Dockerfile: the portal, not uvicorn, decides whom proxy headers
            # come from (PORTAL_TRUSTED_PROXY); uvicorn would trust any local client.
            "--no-proxy-headers",
            # Open streams must not hold a stop (or a restart) for long.
            "--timeout-graceful-shutdown", "2",
        ]  # fmt: skip
        if self.processes > 1:
            command += ["--workers", str(self.processes)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_listening(timeout)
        return self

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.log_path.read_text()}")
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn not listening after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
