"""Pod lifecycles: scheduling, start-up, readiness, crash loops, pull errors, Job exits."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field

from ..behaviour import Mode, PodView, job_fails, job_log, pod_mode, service_log, view_at
from ..errors import bad_request
from ..objects import parse_image, timestamp
from ..resources import lookup

PODS = lookup("", "pods")
KUBELET = "kubelet"


@dataclass
class PodSim:
    born: int
    mode: Mode
    is_job: bool
    fails: bool
    node: str
    ip: str
    stage: str = ""
    stamps: dict[str, str] = field(default_factory=dict)


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
            born = self.controller.ticks
            if self.controller.bootstrapping:
                born -= 10_000
            self.sims[uid] = PodSim(
                born=born,
                mode=pod_mode(containers),
                is_job=spec.get("restartPolicy", "Always") != "Always",
                fails=job_fails(containers),
                node=spec.get("nodeName") or next(self._nodes),
                ip=f"10.244.{n // 250}.{n % 250 + 2}",
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

    def advance(self, pod: dict) -> None:
        sim = self._sim(pod)
        ticks = self.controller.ticks
        if self.is_terminating(pod):
            return  # kubesim/deletion.py removes it when its grace period is over
        view = view_at(ticks - sim.born, sim.mode, sim.is_job, sim.fails, self.controller.timing)
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
        now = timestamp()
        containers = pod.get("spec", {}).get("containers", [])
        if view.stage == "creating":
            sim.stamps["scheduled"] = now
            meta = pod["metadata"]
            message = f"Successfully assigned {meta['namespace']}/{meta['name']} to {sim.node}"
            self._event(pod, "Normal", "Scheduled", message, component="default-scheduler")
        if view.running and not sim.stage.startswith(("started", "ready", "run-")):
            sim.stamps["started"] = now
            for container in containers:
                self._start_events(pod, container, first=view.restarts == 0)
        if view.waiting == "CrashLoopBackOff":
            sim.stamps["finished"] = now
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
        if view.terminated:
            sim.stamps["finished"] = now

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
            _container_status(c, sim, view) for c in pod.get("spec", {}).get("containers", [])
        ]
        return status

    def read_log(self, pod: dict, query: dict) -> str:
        """The text of `GET pods/NAME/log`: what the container printed so far."""
        container = _pick_container(pod, query.get("container"))
        sim = self._sim(pod)
        view = view_at(
            self.controller.ticks - sim.born,
            sim.mode,
            sim.is_job,
            sim.fails,
            self.controller.timing,
        )
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
        else:
            lines = service_log(container, name, sim.mode is Mode.CRASHLOOP and not view.running)
            if sim.mode is Mode.CRASHLOOP and view.running:
                lines = (
                    lines[:-2]
                    if query.get("previous") not in ("true", "True")
                    else service_log(container, name, True)
                )
        return "".join(line + "\n" for line in _tail(lines, query.get("tailLines")))


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


def _container_status(container: dict, sim: PodSim, view: PodView) -> dict:
    image = parse_image(container.get("image", ""))
    digest = image.digest or "sha256:" + (
        "%064x" % (abs(hash(container.get("image", ""))) % (1 << 255))
    )
    started = view.running or bool(view.terminated)
    status = {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": f"{image.repository}@{digest}" if started else "",
        "ready": view.ready,
        "restartCount": view.restarts,
        "started": view.running,
        "state": _state(view, sim),
        "lastState": {},
    }
    if started:
        status["containerID"] = "containerd://" + f"{abs(hash((sim.ip, view.restarts))):064x}"[:64]
    if view.crashed_before:
        status["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": sim.stamps.get("started", ""),
                "finishedAt": sim.stamps.get("finished", timestamp()),
                "containerID": status.get("containerID", ""),
            }
        }
    return status


def _state(view: PodView, sim: PodSim) -> dict:
    if view.running:
        return {"running": {"startedAt": sim.stamps.get("started", timestamp())}}
    if view.terminated:
        return {
            "terminated": {
                "exitCode": view.exit_code,
                "reason": view.terminated,
                "startedAt": sim.stamps.get("started", ""),
                "finishedAt": sim.stamps.get("finished", timestamp()),
            }
        }
    waiting = {"reason": view.waiting}
    if view.waiting == "CrashLoopBackOff":
        waiting["message"] = "back-off restarting failed container"
    if view.waiting in ("ErrImagePull", "ImagePullBackOff"):
        waiting["message"] = "Back-off pulling image"
    return {"waiting": waiting}
