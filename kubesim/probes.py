"""Readiness and liveness probes, run by a simulated kubelet against a simulated app.

A probe runs when its container starts and then every `periodSeconds`; runs before
`initialDelaySeconds` are skipped. `successThreshold` successes in a row make a
container Ready, `failureThreshold` failures in a row make it unready (readiness) or
get it killed and restarted (liveness). What the app answers depends only on its
image tag and on whether it listens yet, so every outcome is a function of time:
failing until the app listens, then the same answer for ever. `exec` and `grpc`
probes succeed once the app listens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .behaviour import Mode, http_status

APP_PORT = 3000  # where a simulated app listens when its container declares no port


@dataclass(frozen=True)
class Probe:
    kind: str  # Readiness / Liveness
    action: str  # http / tcp / exec
    path: str
    port: int | str  # as the probe names it
    served: bool  # the app listens on that port
    delay: float
    period: float
    success_threshold: int
    failure_threshold: int

    def times(self, until: float):
        """The moments (cluster seconds since the container started) it runs, up to `until`."""
        first = math.ceil(self.delay / self.period - 1e-9)
        k = first
        while k * self.period <= until:
            yield k * self.period
            k += 1

    def first_time(self, at_least: float) -> float:
        k = math.ceil(max(at_least, self.delay) / self.period - 1e-9)
        return k * self.period


def probe_of(container: dict, kind: str) -> Probe | None:
    """The container's `readinessProbe` / `livenessProbe` (kind Readiness / Liveness)."""
    spec = container.get(f"{kind[0].lower()}{kind[1:]}Probe")
    if not spec:
        return None
    action, path, wanted = "exec", "", APP_PORT
    if "httpGet" in spec:
        action, path = "http", spec["httpGet"].get("path", "/")
        wanted = spec["httpGet"].get("port")
    elif "tcpSocket" in spec:
        action, wanted = "tcp", spec["tcpSocket"].get("port")
    port = _port(container, wanted)
    return Probe(
        kind,
        action,
        path,
        port if port is not None else wanted,
        port is not None,
        float(spec.get("initialDelaySeconds", 0)),
        float(spec.get("periodSeconds", 10)) or 10.0,
        int(spec.get("successThreshold", 1)),
        int(spec.get("failureThreshold", 3)),
    )


def _port(container: dict, wanted) -> int | None:
    """The port number a probe dials, if the app listens there (its declared ports)."""
    ports = container.get("ports") or [{"containerPort": APP_PORT}]
    for port in ports:
        if wanted in (port.get("containerPort"), port.get("name")):
            return port.get("containerPort")
    return None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""  # what the kubelet says after "Readiness probe failed: "


def outcome(probe: Probe, mode: Mode, listening: bool, ip: str) -> Outcome:
    """What one run of the probe gives."""
    address = f"{ip}:{probe.port}"
    if probe.action == "exec":
        return Outcome(listening, "" if listening else "command failed: connection refused")
    refused = f"dial tcp {address}: connect: connection refused"
    if not probe.served or not listening:
        if probe.action == "http":
            return Outcome(False, f'Get "http://{address}{probe.path}": {refused}')
        return Outcome(False, refused)
    if probe.action == "tcp":
        return Outcome(True)
    status = http_status(mode, probe.path)
    if status >= 400:
        return Outcome(False, f"HTTP probe failed with statuscode: {status}")
    return Outcome(True)


@dataclass(frozen=True)
class Verdict:
    """A probe's course over one container run: failures before it holds, and when."""

    probe: Probe
    settled: Outcome  # the answer once the app listens
    first_pass: float | None  # Readiness: Ready from then on; None: never
    kill_at: float | None  # Liveness: the container is killed then; None: never
    failing: Outcome  # the answer before the app listens

    def failures(self, until: float, listen_at: float) -> int:
        """Failed runs up to `until` (a liveness probe stops at the kill)."""
        # In closed form: this runs every tick for pods that ran for hours.
        probe = self.probe
        last = until if self.kill_at is None else min(until, self.kill_at)
        last_index = math.floor(last / probe.period + 1e-9)
        if self.settled.ok:  # only the runs before the app listened failed
            last_index = min(last_index, math.ceil(listen_at / probe.period - 1e-9) - 1)
        first_index = math.ceil(probe.delay / probe.period - 1e-9)
        return max(0, last_index - first_index + 1)

    def message_at(self, t: float, listen_at: float) -> str:
        return (self.failing if t < listen_at else self.settled).message


def verdict(probe: Probe, mode: Mode, listen_at: float, ip: str) -> Verdict:
    settled = outcome(probe, mode, True, ip)
    failing = outcome(probe, mode, False, ip)
    first_pass = kill_at = None
    if settled.ok:
        ok_from = probe.first_time(listen_at)
        first_pass = ok_from + (probe.success_threshold - 1) * probe.period
    if probe.kind == "Liveness":
        times = probe.times(math.inf)
        for count, t in enumerate(times, start=1):
            if settled.ok and t >= listen_at:
                break
            if count == probe.failure_threshold:
                kill_at = t
                break
    return Verdict(probe, settled, first_pass, kill_at, failing)


@dataclass(frozen=True)
class ContainerChecks:
    name: str
    readiness: Verdict | None
    liveness: Verdict | None


@dataclass(frozen=True)
class PodChecks:
    """The probes of a pod's containers; a container without a readiness probe is
    Ready once it runs."""

    containers: tuple[ContainerChecks, ...]
    listen_at: float  # cluster seconds after a container starts, its app listens

    def run_length(self, exit_seconds: float) -> float:
        """How long a container runs before a liveness probe gets it killed (and it exits)."""
        kills = [
            c.liveness.kill_at
            for c in self.containers
            if c.liveness and c.liveness.kill_at is not None
        ]
        return min(kills) + exit_seconds if kills else math.inf

    def ready(self, run_age: float) -> bool:
        return all(
            c.readiness is None
            or (c.readiness.first_pass is not None and run_age >= c.readiness.first_pass)
            for c in self.containers
        )


def pod_checks(containers: list[dict], mode: Mode, listen_at: float, ip: str) -> PodChecks:
    checks = []
    for container in containers:
        found = {}
        for kind in ("Readiness", "Liveness"):
            probe = probe_of(container, kind)
            found[kind] = verdict(probe, mode, listen_at, ip) if probe else None
        checks.append(ContainerChecks(container["name"], found["Readiness"], found["Liveness"]))
    return PodChecks(tuple(checks), listen_at)
