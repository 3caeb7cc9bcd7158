"""Run every configured cluster in one process, on one event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from .cluster import Cluster
from .config import Config
from .outputs import write_kubeconfig, write_ports
from .timing import Timing
from .tls import SniCertificates, TlsFiles, generate


class Simulator:
    def __init__(
        self,
        config: Config,
        kubeconfig_path: Path | None = None,
        ports_path: Path | None = None,
        tls_dir: Path | None = None,
    ):
        self.config = config
        self.timing = Timing(speed=config.speed)
        self.clusters = [Cluster(spec, self.timing) for spec in config.clusters]
        self.kubeconfig_path = kubeconfig_path
        self.ports_path = ports_path
        self.tls_dir = (
            tls_dir
            or (kubeconfig_path or ports_path or Path(tempfile.mkdtemp(prefix="kubesim-"))).parent
        )
        self.tls: TlsFiles | None = None

    def _generate_tls(self) -> None:
        if any(c.spec.front_door.tls for c in self.clusters):
            hosts = sorted({h for c in self.clusters for h in c.spec.front_door.hosts})
            self.tls = generate(self.tls_dir, hosts)

    def _ssl_context(self, cluster: Cluster):
        """The cluster's front-door context: one CA for all, SNI choosing per host."""
        if not cluster.spec.front_door.tls:
            return None
        return SniCertificates(self.tls, cluster.front_door.serves_expiring).server_context()

    async def start(self) -> None:
        self._generate_tls()
        for cluster in self.clusters:
            cluster.load()
            await cluster.start(self.config.host, self._ssl_context(cluster))
        self._write_outputs()

    def report(self) -> dict:
        host = self.config.host
        clusters = {}
        for cluster in self.clusters:
            scheme = "https" if cluster.spec.front_door.tls else "http"
            clusters[cluster.name] = {
                "name": cluster.name,
                "context": cluster.name,
                "namespace": cluster.spec.namespace,
                "api_port": cluster.api_port,
                "api_url": f"http://{host}:{cluster.api_port}",
                "front_door_port": cluster.front_door_port,
                "front_door_url": f"{scheme}://{host}:{cluster.front_door_port}",
                "hosts": {h: f"{ns}/{d}" for h, (ns, d) in cluster.spec.front_door.hosts.items()},
            }
        return {
            "pid": os.getpid(),
            "speed": self.timing.speed,
            "kubeconfig": str(self.kubeconfig_path) if self.kubeconfig_path else None,
            "ca_file": str(self.tls.ca_cert) if self.tls else None,
            "clusters": clusters,
        }

    def _write_outputs(self) -> None:
        report = self.report()
        if self.kubeconfig_path:
            write_kubeconfig(self.kubeconfig_path, list(report["clusters"].values()))
        if self.ports_path:
            write_ports(self.ports_path, report)

    async def stop(self) -> None:
        for cluster in self.clusters:
            await cluster.stop()


async def serve(simulator: Simulator, quiet: bool = False) -> None:
    """Start every cluster, print where they listen, and run until SIGINT/SIGTERM."""
    await simulator.start()
    if not quiet:
        for cluster in simulator.report()["clusters"].values():
            print(
                f"kubesim: cluster {cluster['name']}: API {cluster['api_url']}, "
                f"front door {cluster['front_door_url']}",
                flush=True,
            )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await simulator.stop()


def run(config: Config, speed: float | None, ephemeral: bool, tls: bool, **paths) -> None:
    if speed is not None:
        config.speed = speed
    if ephemeral or tls:
        config.clusters = [
            replace(
                c,
                api_port=0 if ephemeral else c.api_port,
                front_door=replace(
                    c.front_door,
                    port=0 if ephemeral else c.front_door.port,
                    tls=c.front_door.tls or tls,
                ),
            )
            for c in config.clusters
        ]
    quiet = paths.pop("quiet", False)
    simulator = Simulator(config, **paths)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    try:
        with runner:
            runner.run(serve(simulator, quiet))
    except OSError as error:
        print(f"kubesim: {error}", file=sys.stderr)
        raise SystemExit(1) from None
