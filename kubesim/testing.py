"""Start kubesim as a subprocess for tests (no pytest dependency).

from kubesim.testing import KubeSim, VIZORA_CONFIG

with KubeSim(VIZORA_CONFIG, speed=10, workdir=tmp_path) as sim:
    production = sim.cluster("production")
    production.api_url, production.front_door_url, production.context
    sim.kubeconfig          # Path: one context per cluster, named after it
    sim.restart()           # same ports, fresh state

Front doors are plain HTTP unless asked: `tls=True` serves every one over TLS,
`tls=None` as the config says (the demo's production front door), and then
`sim.ca_file` is the CA to trust.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
VIZORA_CONFIG = REPO_ROOT / "examples" / "kubesim-vizora.yaml"


class KubeSimError(RuntimeError):
    pass


@dataclass(frozen=True)
class ClusterEndpoints:
    name: str
    context: str
    namespace: str
    api_url: str
    api_port: int
    front_door_url: str
    front_door_port: int
    hosts: dict[str, str]


class KubeSim:
    """A kubesim process serving every cluster of `config` on free 127.0.0.1 ports."""

    def __init__(
        self,
        config: str | Path | dict,
        *,
        speed: float = 10.0,
        workdir: str | Path | None = None,
        tls: bool | None = False,
        startup_timeout: float = 20.0,
        python: str = sys.executable,
    ):
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kubesim-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self._load(config)
        self.speed = speed
        self.tls = tls
        self.startup_timeout = startup_timeout
        self.python = python
        self.kubeconfig = self.workdir / "kubeconfig"
        self.ports_file = self.workdir / "kubesim-ports.json"
        self.log_file = self.workdir / "kubesim.log"
        self.ca_file: Path | None = None
        self.clusters: dict[str, ClusterEndpoints] = {}
        self._process: subprocess.Popen | None = None
        self._pinned = False

    @staticmethod
    def _load(config: str | Path | dict) -> dict:
        if isinstance(config, dict):
            return json.loads(json.dumps(config))
        with open(config, encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> KubeSim:
        """Launch the process and wait until every cluster listens; ports are known after this."""
        if self._process is not None:
            raise KubeSimError("kubesim is already running")
        config_path = self.workdir / "kubesim-config.yaml"
        config_path.write_text(yaml.safe_dump(self._config_to_serve()), encoding="utf-8")
        self.ports_file.unlink(missing_ok=True)
        command = [
            self.python,
            "-m",
            "kubesim",
            "--config",
            str(config_path),
            "--speed",
            str(self.speed),
            "--write-kubeconfig",
            str(self.kubeconfig),
            "--write-ports",
            str(self.ports_file),
            "--quiet",
        ]
        if not self._pinned:
            command.append("--ephemeral-ports")
        if self.tls:
            command.append("--tls")
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
            )
        self._wait_until_ready()
        return self

    def _config_to_serve(self) -> dict:
        """The config, with `tls: true` dropped when plain HTTP front doors were asked for."""
        if self.tls is not False:
            return self.config
        config = copy.deepcopy(self.config)
        for spec in config["clusters"]:
            (spec.get("front_door") or {}).pop("tls", None)
        return config

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self.ports_file.exists():
            if self._process.poll() is not None:
                raise KubeSimError(f"kubesim exited with {self._process.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise KubeSimError(
                    f"kubesim did not start within {self.startup_timeout}s: {self.log()}"
                )
            time.sleep(0.02)
        report = json.loads(self.ports_file.read_text(encoding="utf-8"))
        self.ca_file = Path(report["ca_file"]) if report.get("ca_file") else None
        self.clusters = {
            name: ClusterEndpoints(
                name=name,
                context=info["context"],
                namespace=info["namespace"],
                api_url=info["api_url"],
                api_port=info["api_port"],
                front_door_url=info["front_door_url"],
                front_door_port=info["front_door_port"],
                hosts=info["hosts"],
            )
            for name, info in report["clusters"].items()
        }
        for cluster in self.clusters.values():
            with urllib.request.urlopen(f"{cluster.api_url}/version", timeout=5) as response:
                response.read()

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 5 s) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would; `restart()` brings it back."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def restart(self) -> None:
        """Stop and start again on the same ports; the clusters come back in their initial state."""
        self.stop()
        for spec in self.config["clusters"]:
            endpoints = self.clusters[spec["name"]]
            spec["api_port"] = endpoints.api_port
            spec.setdefault("front_door", {})["port"] = endpoints.front_door_port
        self._pinned = True
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KubeSim:
        return self.start() if self._process is None else self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- where things are ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cluster(self, name: str) -> ClusterEndpoints:
        return self.clusters[name]

    def api_url(self, name: str) -> str:
        return self.clusters[name].api_url

    def front_door_url(self, name: str) -> str:
        return self.clusters[name].front_door_url

    def context(self, name: str) -> str:
        return self.clusters[name].context

    def kubectl_args(self, name: str, cache_dir: str | Path | None = None) -> list[str]:
        """Arguments that point kubectl at one cluster with a private discovery cache."""
        cache = Path(cache_dir) if cache_dir else self.workdir / "kubectl-cache"
        return [
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context(name),
            "--cache-dir",
            str(cache),
        ]

    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


def start_kubesim(config: str | Path | dict = VIZORA_CONFIG, **options) -> KubeSim:
    """Start kubesim and return the running handle; call `.close()` (or use `with`) when done."""
    return KubeSim(config, **options).start()
