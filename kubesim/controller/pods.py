"""Pod lifecycles: scheduling, start-up, readiness, crash loops, pull errors, Job exits."""

from __future__ import annotations

import copy
import itertools
import math
from collections import deque
from dataclasses import dataclass, field

from ..behaviour import (
    Mode,
    PodView,
    job_fails,
    job_log,
    pod_mode,
    service_log,
    start_delay,
    view_at,
)
from ..errors import bad_request
from ..logs import run_shown
from ..memory import oom_after
from ..objects import parse_image, timestamp
from ..probes import PodChecks, pod_checks
from ..references import missing
from ..resources import lookup

PODS = lookup("", "pods")
KUBELET = "kubelet"


BOOTSTRAP_AGE = 3600.0  # cluster seconds: workloads configured at start-up run since then
PRINTED_LINES_KEPT = 1000  # lines an app prints while serving, per container run


@dataclass
class PodSim:
    born: float  # cluster seconds (Controller.now)
    mode: Mode
    is_job: bool
    fails: bool
    node: str
    ip: str
    stage: str = ""
    run_index: int = -1  # the newest container seen running
    dead_index: int = -1  # the newest container seen dead
    checks: PodChecks | None = None
    probe_failures: dict[tuple, int] = field(default_factory=dict)  # (run, container, kind)
    stamps: dict[str, str] = field(default_factory=dict)
    runs: dict[int, tuple[str, str]] = field(default_factory=dict)  # container → (start, end)
    oom_after: float = math.inf  # cluster seconds a container runs before it is OOM-killed
    served: int = 0  # requests off its health paths the front door sent this pod
    printed: dict[tuple[int, str], deque[str]] = field(default_factory=dict)  # (run, container)


class PodSimulator:
    def __init__(self, controller):
        self.controller = controller
        self.sims: dict[str, PodSim] = {}
        self._ips = itertools.count(2)
        self._nodes = itertools.cycle([f"{controller.cluster}-node-{i}" for i in (1, 2, 3)])

    def _sim(self, pod: dict) -> PodSim:
        uid = pod["metadata"]["uid"]
        if uid not in self.sims:
            spec = pod.get("spec", {})
            containers = spec.get("containers", [])
            n = next(self._ips)
            born = self.controller.now
            if self.controller.bootstrapping:
                born -= BOOTSTRAP_AGE
            mode, ip = pod_mode(containers), f"10.244.{n // 250}.{n % 250 + 2}"
            is_job = spec.get("restartPolicy", "Always") != "Always"
            listen_at = self.controller.timing.listen_seconds
            self.sims[uid] = PodSim(
                born=born,
                mode=mode,
                is_job=is_job,
                fails=job_fails(containers),
                node=spec.get("nodeName") or next(self._nodes),
                ip=ip,
                oom_after=math.inf if is_job else oom_after(containers),
                # Probes matter for a container that runs: not a Job's, a crash loop's
                # (it exits before any probe) or one whose image cannot be pulled.
                checks=None
                if is_job or mode in (Mode.CRASHLOOP, Mode.PULLERROR, Mode.CANNOTRUN)
                else pod_checks(containers, mode, listen_at, ip),
            )
        return self.sims[uid]

    def sim_of(self, pod: dict) -> PodSim | None:
        return self.sims.get(pod["metadata"]["uid"])

    def advance_all(self) -> None:
        for pod in self.controller.store.list(PODS):
            self.advance(pod)
        live = {p["metadata"]["uid"] for p in self.controller.store.list(PODS)}
        for uid in [uid for uid in self.sims if uid not in live]:
            del self.sims[uid]

    def view(self, pod: dict, sim: PodSim) -> PodView:
        timing = self.controller.timing
        age = self.controller.now - sim.born
        view = view_at(age, sim.mode, sim.is_job, sim.fails, timing, sim.checks, sim.oom_after)
        started = sim.run_index >= 0 or sim.dead_index >= 0
        if started or view.stage in ("pending", "creating") or sim.mode is Mode.PULLERROR:
            return view
        held = missing(self.controller.store, pod)  # checked before the first start only
        if held is None:
            return view
        # Held at the start line: the container starts once the reference resolves.
        sim.born = self.controller.now - start_delay(sim.mode, sim.is_job, timing)
        message = held.message if held.waiting == "CreateContainerConfigError" else ""
        return PodView(
            f"held-{held.message}", scheduled=True, waiting=held.waiting, message=message
        )

    def advance(self, pod: dict) -> None:
        sim = self._sim(pod)
        if self.is_terminating(pod):
            return  # kubesim/deletion.py removes it when its grace period is over
        view = self.view(pod, sim)
        if sim.checks is not None and not self.controller.bootstrapping:
            self._probe_events(pod, sim, view)
        if view.stage != sim.stage:
            self._on_stage_change(pod, sim, view)
            sim.stage = view.stage
            updated = copy.deepcopy(pod)
            updated.setdefault("spec", {})["nodeName"] = sim.node
            updated["status"] = self._status(pod, sim, view)
            self.controller.objects.write(PODS, updated)

    def terminate(self, pod: dict) -> None:
        """Mark a pod Terminating for its grace period (kubesim/deletion.py)."""
        if not self.is_terminating(pod):
            self.controller.deletion.terminate_pod(pod)

    def is_terminating(self, pod: dict) -> bool:
        return bool(pod["metadata"].get("deletionTimestamp"))

    def _event(self, pod, kind, reason, message, container=None, component=KUBELET):
        path = f"spec.containers{{{container['name']}}}" if container else ""
        self.controller.recorder.record(pod, kind, reason, message, component, path)

    def _on_stage_change(self, pod: dict, sim: PodSim, view: PodView) -> None:
        """Events and timestamps for what changed, judged from state (a tick may cover
        several stages at high speeds)."""
        now = timestamp()
        containers = pod.get("spec", {}).get("containers", [])
        if view.scheduled and "scheduled" not in sim.stamps:
            sim.stamps["scheduled"] = now
            meta = pod["metadata"]
            message = f"Successfully assigned {meta['namespace']}/{meta['name']} to {sim.node}"
            self._event(pod, "Normal", "Scheduled", message, component="default-scheduler")
        if view.running and view.restarts != sim.run_index:
            sim.run_index = view.restarts
            sim.stamps["started"] = now
            for container in containers:
                self._start_events(pod, container, first=view.restarts == 0)
        if (view.terminated or view.waiting == "CrashLoopBackOff") and (
            view.restarts != sim.dead_index
        ):
            sim.dead_index = view.restarts
            sim.runs[view.restarts] = (sim.stamps.get("started", now), now)
            if view.last_reason == "ContainerCannotRun":
                self._cannot_run_events(pod, containers, view)
        if view.waiting == "CrashLoopBackOff":
            for container in containers:
                meta = pod["metadata"]
                message = (
                    f"Back-off restarting failed container {container['name']} in pod "
                    f"{meta['name']}_{meta['namespace']}({meta['uid']})"
                )
                self._event(pod, "Warning", "BackOff", message, container)
        if view.waiting in ("ErrImagePull", "ImagePullBackOff"):
            for container in containers:
                self._pull_error_events(pod, container, view.waiting)
        if view.stage.startswith("held-"):
            self._held_events(pod, view)

    def _cannot_run_events(self, pod: dict, containers: list[dict], view: PodView) -> None:
        """Docker created the container but could not start its process."""
        for container in containers:
            image = container.get("image", "")
            message = f'Container image "{image}" already present on machine'
            self._event(pod, "Normal", "Pulled", message, container)
            self._event(
                pod, "Normal", "Created", f"Created container {container['name']}", container
            )
            message = f'Error: failed to start container "{container["name"]}": {view.end_message}'
            self._event(pod, "Warning", "Failed", message, container)

    def _held_events(self, pod: dict, view: PodView) -> None:
        problem = view.stage.removeprefix("held-")
        if view.waiting == "ContainerCreating":
            self._event(pod, "Warning", "FailedMount", problem)
            return
        for container in pod.get("spec", {}).get("containers", []):
            image = container.get("image", "")
            message = f'Container image "{image}" already present on machine'
            self._event(pod, "Normal", "Pulled", message, container)
            self._event(pod, "Warning", "Failed", f"Error: {problem}", container)

    def _probe_events(self, pod: dict, sim: PodSim, view: PodView) -> None:
        """An `Unhealthy` event per failed probe run (counted), and `Killing` when a
        liveness probe failed `failureThreshold` times in a row."""
        listen_at = sim.checks.listen_at
        if view.running:
            run_age = view.run_age
        elif view.terminated or view.waiting == "CrashLoopBackOff":
            run_age = sim.checks.run_length(self.controller.timing.exit_seconds)  # all of it
        else:
            return
        if run_age == math.inf:
            return
        for checks in sim.checks.containers:
            container = {"name": checks.name}
            for found in (checks.readiness, checks.liveness):
                if found is None:
                    continue
                key = (view.restarts, checks.name, found.probe.kind)
                failures = found.failures(run_age, listen_at)
                message = f"{found.probe.kind} probe failed: "
                message += found.message_at(run_age, listen_at)
                for _ in range(failures - sim.probe_failures.get(key, 0)):
                    self._event(pod, "Warning", "Unhealthy", message, container)
                sim.probe_failures[key] = failures
                kill_at = found.kill_at
                killed = (view.restarts, checks.name, "killed")
                if kill_at is not None and run_age >= kill_at and killed not in sim.probe_failures:
                    sim.probe_failures[killed] = 1
                    message = f"Container {checks.name} failed liveness probe, will be restarted"
                    self._event(pod, "Normal", "Killing", message, container)

    def _start_events(self, pod: dict, container: dict, first: bool) -> None:
        image = container.get("image", "")
        if first:
            self._event(pod, "Normal", "Pulling", f'Pulling image "{image}"', container)
            self._event(
                pod,
                "Normal",
                "Pulled",
                f'Successfully pulled image "{image}" in 812ms (812ms including waiting). '
                "Image size: 52428800 bytes.",
                container,
            )
        else:
            self._event(
                pod,
                "Normal",
                "Pulled",
                f'Container image "{image}" already present on machine',
                container,
            )
        self._event(pod, "Normal", "Created", f"Created container {container['name']}", container)
        self._event(pod, "Normal", "Started", f"Started container {container['name']}", container)

    def _pull_error_events(self, pod: dict, container: dict, waiting: str) -> None:
        image = container.get("image", "")
        if waiting == "ErrImagePull":
            self._event(pod, "Normal", "Pulling", f'Pulling image "{image}"', container)
            reason = (
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull '
                f'and unpack image "{image}": failed to resolve reference "{image}": '
                f"{image}: not found"
            )
            self._event(pod, "Warning", "Failed", reason, container)
            self._event(pod, "Warning", "Failed", "Error: ErrImagePull", container)
        else:
            self._event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', container)
            self._event(pod, "Warning", "Failed", "Error: ImagePullBackOff", container)

    def _status(self, pod: dict, sim: PodSim, view: PodView) -> dict:
        created = pod["metadata"].get("creationTimestamp")
        status: dict = {"phase": view.phase, "qosClass": _qos(pod)}
        if not view.scheduled:
            status["conditions"] = [_condition("PodScheduled", "True", created)]
            return status
        ready = "True" if view.ready else "False"
        initialized = "True" if view.phase != "Pending" or view.waiting else "False"
        status["conditions"] = [
            _condition(
                "PodReadyToStartContainers",
                "True" if view.running or view.terminated else "False",
                created,
            ),
            _condition("Initialized", initialized, created),
            _condition("Ready", ready, created, "" if view.ready else "ContainersNotReady"),
            _condition(
                "ContainersReady", ready, created, "" if view.ready else "ContainersNotReady"
            ),
            _condition("PodScheduled", "True", created),
        ]
        status.update(
            hostIP="10.0.0.11",
            hostIPs=[{"ip": "10.0.0.11"}],
            podIP=sim.ip,
            podIPs=[{"ip": sim.ip}],
            startTime=sim.stamps.get("scheduled", created),
        )
        status["containerStatuses"] = [
            _container_status(c, pod, sim, view) for c in pod.get("spec", {}).get("containers", [])
        ]
        return status

    def run_age(self, pod: dict) -> float | None:
        """Cluster seconds the pod's current containers have run; None unless they run."""
        sim = self.sim_of(pod)
        if sim is None:
            return None
        view = self.view(pod, sim)
        return view.run_age if view.running else None

    def count_request(self, pod: dict) -> int:
        """Count one more request off its health paths served by the pod; the count."""
        sim = self._sim(pod)
        sim.served += 1
        return sim.served

    def print_line(self, pod: dict, container: str, line: str) -> None:
        """What the app in `container` prints while it runs (the newest lines kept)."""
        sim = self._sim(pod)
        run = run_shown(pod, container, previous=False)
        kept = sim.printed.setdefault((run, container), deque(maxlen=PRINTED_LINES_KEPT))
        kept.append(line)

    def read_log(self, pod: dict, query: dict) -> str:
        """The text of `GET pods/NAME/log`: what the container printed so far."""
        container = _pick_container(pod, query.get("container"))
        sim = self._sim(pod)
        view = self.view(pod, sim)
        name = pod["metadata"]["name"]
        if not (view.running or view.terminated or view.crashed_before):
            reason = (
                "trying and failing to pull image"
                if sim.mode is Mode.PULLERROR
                else "ContainerCreating"
            )
            raise bad_request(
                f'container "{container["name"]}" in pod "{name}" is waiting to start: {reason}'
            )
        if sim.is_job:
            lines = job_log(container, sim.fails, bool(view.terminated))
        elif sim.mode is Mode.CANNOTRUN:
            lines = []  # its process never started: nothing was printed
        else:
            lines = service_log(container, name, sim.mode is Mode.CRASHLOOP and not view.running)
            if sim.mode is Mode.CRASHLOOP and view.running:
                lines = (
                    lines[:-2]
                    if query.get("previous") not in ("true", "True")
                    else service_log(container, name, True)
                )
            lines = [*lines, *self._printed(pod, sim, container["name"], query)]
        return "".join(line + "\n" for line in _tail(lines, query.get("tailLines")))

    def _printed(self, pod: dict, sim: PodSim, container: str, query: dict) -> list[str]:
        previous = query.get("previous") in ("true", "True")
        return list(sim.printed.get((run_shown(pod, container, previous), container), ()))


def _tail(lines: list[str], tail: str | None) -> list[str]:
    try:
        count = int(tail) if tail not in (None, "") else -1
    except ValueError:
        raise bad_request(f"invalid tailLines: {tail!r}") from None
    return lines if count < 0 else lines[len(lines) - count :] if count else []


def _pick_container(pod: dict, wanted: str | None) -> dict:
    containers = pod.get("spec", {}).get("containers", [])
    name = pod["metadata"]["name"]
    if wanted:
        for container in containers:
            if container["name"] == wanted:
                return container
        raise bad_request(f"container {wanted} is not valid for pod {name}")
    if len(containers) != 1:
        names = " ".join(c["name"] for c in containers)
        raise bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{names}]"
        )
    return containers[0]


def _qos(pod: dict) -> str:
    containers = pod.get("spec", {}).get("containers", [])
    resources = [c.get("resources", {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    if all(r.get("limits") and r.get("requests") == r.get("limits") for r in resources):
        return "Guaranteed"
    return "Burstable"


def _condition(kind: str, status: str, when: str, reason: str = "") -> dict:
    condition = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": when}
    if reason:
        condition["reason"] = reason
    return condition


def _container_status(container: dict, pod: dict, sim: PodSim, view: PodView) -> dict:
    image = parse_image(container.get("image", ""))
    digest = image.digest or "sha256:" + (
        "%064x" % (abs(hash(container.get("image", ""))) % (1 << 255))
    )
    started = view.running or bool(view.terminated) or view.crashed_before
    status = {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": f"{image.repository}@{digest}" if started else "",
        "ready": view.ready,
        "restartCount": view.restarts,
        "started": view.running,
        "state": _state(view, sim, container, pod),
        "lastState": {},
    }
    if started:
        status["containerID"] = _container_id(sim, view.restarts)
    if view.crashed_before:
        previous = view.restarts - (0 if view.waiting else 1)
        started_at, finished_at = _run_of(sim, previous)
        status["lastState"] = {"terminated": _terminated(
            view.last_exit_code, view.last_reason, view.end_message, (started_at, finished_at),
            _container_id(sim, previous),
        )}  # fmt: skip
    return status


def _terminated(
    exit_code: int, reason: str, message: str, ran: tuple[str, str], container_id: str
) -> dict:
    """A containerStateTerminated; `message` only when the runtime gave one."""
    ended = {"exitCode": exit_code, "reason": reason, "startedAt": ran[0],
             "finishedAt": ran[1], "containerID": container_id}  # fmt: skip
    if message:
        ended["message"] = message
    return ended


def _run_of(sim: PodSim, index: int) -> tuple[str, str]:
    """When container `index` ran; a run a tick skipped over counts as the newest seen."""
    if index in sim.runs:
        return sim.runs[index]
    now = timestamp()
    return sim.stamps.get("started", now), now


def _container_id(sim: PodSim, index: int) -> str:
    return "containerd://" + f"{abs(hash((sim.ip, index))):064x}"[:64]


def go_duration(seconds: float) -> str:
    """A duration as Go prints it: 10s, 1m20s, 5m0s."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"


def _state(view: PodView, sim: PodSim, container: dict, pod: dict) -> dict:
    if view.running:
        return {"running": {"startedAt": sim.stamps.get("started", timestamp())}}
    if view.terminated:
        ran = _run_of(sim, view.restarts)
        container_id = _container_id(sim, view.restarts)
        return {
            "terminated": _terminated(
                view.exit_code, view.terminated, view.end_message, ran, container_id
            )
        }
    waiting = {"reason": view.waiting}
    if view.message:
        waiting["message"] = view.message
    meta = pod["metadata"]
    image = container.get("image", "")
    if view.waiting == "CrashLoopBackOff":
        waiting["message"] = (
            f"back-off {go_duration(view.backoff)} restarting failed "
            f"container={container['name']} pod={meta['name']}_{meta['namespace']}({meta['uid']})"
        )
    if view.waiting == "ErrImagePull":
        waiting["message"] = (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
            f'failed to resolve reference "{image}": {image}: not found'
        )
    if view.waiting == "ImagePullBackOff":
        waiting["message"] = f'Back-off pulling image "{image}"'
    return {"waiting": waiting}
