"""Fail fast on the unmistakable: a new pod of a rollout that waiting will not cure.

Shopify's krane (`lib/krane/kubernetes_resource/pod.rb`, `Container#doom_reason`)
fails a deploy the moment a container of a new pod shows one of these, instead of
waiting out the timeout:

- waiting in `CrashLoopBackOff`: it started, died and was restarted more than once;
- `ErrImagePull` / `ImagePullBackOff` whose pull error says the image is not found
  (the registry has no such tag or digest: it was never pushed);
- `CreateContainerConfigError` (a Secret, ConfigMap or key its env names is missing),
  unless the kubelet says it "failed to sync … cache" (transient, kubernetes#74755);
- terminated with `ContainerCannotRun` (a bad entrypoint), unless the exit code is
  128, which krane saw come from node trouble that went away. Judged before the crash
  loop rule (krane judges it after), so its runtime message names the cause even once
  the container backs off; a 128 that loops is a crash loop all the same.

Everything else (a readiness probe failing, a slow start, pods unschedulable) waits for
the rollout timeout and the progress deadline, which stay the backstop.

`doom_of_pod` is the rule table, a pure function of a V1Pod; `see_new_pods` lists
the rollout's new pods and adds what the rule needs from elsewhere (the pull error
from the pod's events, the crashed container's last log lines), and says whether a
new pod is in doubt (it died, or waits for something other than its start: it may be
doomed any moment, so the rollout is looked at again soon). `new_pods_may_be_doomed`
says, from the Deployment alone, whether the pods need reading at all.
"""

import contextlib
import enum
import re
from dataclasses import dataclass, field, replace

from kubernetes import client

from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import REVISION, ClusterClient
from integrations.kube.jobs import pod_log
from portal.masking import mask_secrets

LOG_LINES = 5  # lines of the crashed container's log kept with the doom
DETAIL_CHARS = 160  # a log line or kubelet message in the headline is cut to this

# Containerd says `…: not found`, Docker `manifest for … not found: manifest unknown`.
IMAGE_NOT_FOUND = re.compile(r"not found", re.IGNORECASE)
# kubelet: `failed to sync secret cache: timed out waiting for the condition` (#75260).
TRANSIENT_CONFIG_ERROR = re.compile(r"failed to sync .*? cache")
NODE_TROUBLE_EXIT_CODE = 128  # ContainerCannotRun with this code came and went (krane)
PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")
STARTING_REASONS = ("ContainerCreating", "PodInitializing")  # waiting, and nothing wrong
FIELD_PATH_CONTAINER = re.compile(r"\{(.+)\}$")
# A log line that reads like the cause of a crash, and a stack frame printed under one.
ERROR_LINE = re.compile(
    r"\b(error|exception|fatal|panic|traceback|refused|denied|cannot|unable)\b|^\w*Error:",
    re.IGNORECASE,
)
STACK_FRAME = re.compile(r"^\s+(at |File \")|^\s*goroutine \d+")


class DoomKind(enum.StrEnum):
    CRASH_LOOP = "crash_loop"
    IMAGE_NOT_FOUND = "image_not_found"
    CONFIG_ERROR = "config_error"
    CANNOT_RUN = "cannot_run"


@dataclass(frozen=True)
class Doom:
    """Why a rollout cannot succeed: which container of which new pod, and the evidence.

    `reason` is the kubelet's word (CrashLoopBackOff, ErrImagePull, …); `message` its
    message (masked); `log` the last lines of the container that crashed (masked);
    `probe` what its liveness probe last said when the kubelet killed it for that.
    """

    kind: DoomKind
    pod: str
    container: str
    reason: str
    image: str = ""
    exit_code: int | None = None
    message: str = ""
    log: tuple[str, ...] = field(default=())
    probe: str = ""

    def headline(self) -> str:
        """One short line for the deployment's reason, e.g. "Container middleware crashed
        repeatedly (exit 1): Error: connect ECONNREFUSED 10.96.0.15:5432" (the log's most
        telling line, see `_telling_line`)."""
        who = f"Container {self.container}"
        if self.kind is DoomKind.CRASH_LOOP:
            # Killed by its liveness probe, its log's last line is all is well: say why.
            last = _cut(self.probe) or _telling_line(self.log) or _cut(self.message)
            return f"{who} crashed repeatedly (exit {self.exit_code})" + (
                f": {last}" if last else ""
            )
        if self.kind is DoomKind.IMAGE_NOT_FOUND:
            return f"{who} cannot start: the image {self.image} was never pushed or does not exist"
        if self.kind is DoomKind.CONFIG_ERROR:
            return f"{who} cannot start: {_cut(self.message)}"
        # A runtime's message says what is wrong at its end ("…executable file not found").
        return f"{who} could not run (exit {self.exit_code}): {_cut(self.message, tail=True)}"

    def lines(self) -> list[str]:
        """What the log says about it: the pod, the kubelet's reason and message, the log."""
        said = f": {self.message}" if self.message else ""
        probe = [f"pod {self.pod} container {self.container} killed: {self.probe}"]
        return [
            f"failing fast: pod {self.pod} container {self.container}: {self.reason}{said}",
            *(probe if self.probe else ()),
            *(f"log of {self.pod} (previous run): {line}" for line in self.log),
        ]

    def as_result(self) -> dict:
        """The doom as JSON for a step's result."""
        return {
            "kind": self.kind.value, "pod": self.pod, "container": self.container,
            "reason": self.reason, "exit_code": self.exit_code, "headline": self.headline(),
        }  # fmt: skip


@dataclass(frozen=True)
class NewPods:
    """What a look at a rollout's new pods found: the first doomed one, and whether any
    is in doubt (`pod_in_doubt`)."""

    doom: Doom | None = None
    in_doubt: bool = False


def new_pods_may_be_doomed(deployment: client.V1Deployment) -> bool:
    """Whether the Deployment's status leaves room for a doomed new pod: a new pod exists
    (`updatedReplicas`) and some pod is not available (`unavailableReplicas`). A doomed
    pod is never available, so otherwise its pods need not be read."""
    status = deployment.status or client.V1DeploymentStatus()
    return bool(status.updated_replicas) and bool(status.unavailable_replicas)


def find_doomed_pod(
    kube: ClusterClient, namespace: str, workload: str,
    deployment: client.V1Deployment | None = None, log_lines: int = LOG_LINES,
) -> Doom | None:  # fmt: skip
    """The first doomed container among the new pods of a Deployment's rollout, or None
    (see `see_new_pods`)."""
    return see_new_pods(kube, namespace, workload, deployment, log_lines).doom


def see_new_pods(
    kube: ClusterClient, namespace: str, workload: str,
    deployment: client.V1Deployment | None = None, log_lines: int = LOG_LINES,
    template_hashes: dict[str, str] | None = None,
) -> NewPods:  # fmt: skip
    """The first doomed container among the new pods of a Deployment's rollout, and
    whether a new pod is in doubt.

    Only pods of the ReplicaSet of the Deployment's current revision count: old pods
    crashing are what the rollout replaces. While the controller has not yet observed
    the newest spec, which pods are new is not known yet: nothing found. Pass
    `deployment` when it was just read, and `template_hashes` (kept by the caller from
    look to look) to remember which ReplicaSet a revision made instead of listing the
    ReplicaSets each time. Raises ClusterError when the pods cannot be listed; the
    events and the log that only add detail are read on a best-effort basis.
    """
    if deployment is None:
        deployment = kube.read_deployment(namespace, workload)
    status = deployment.status or client.V1DeploymentStatus()
    if (deployment.metadata.generation or 0) > (status.observed_generation or 0):
        return NewPods()
    template_hash = _template_hash(kube, namespace, workload, deployment, template_hashes)
    if template_hash is None:
        return NewPods()
    pods = _pods_of(kube, namespace, f"{workload}-{template_hash}", template_hash)
    for pod in pods:
        pull_errors = {}
        if _pulls_backing_off(pod):
            pull_errors = _pull_errors(_events_of(kube, namespace, pod.metadata.name))
        if (doom := doom_of_pod(pod, pull_errors)) is not None:
            return NewPods(_with_evidence(kube, namespace, doom, log_lines), True)
    return NewPods(None, any(pod_in_doubt(pod) for pod in pods))


def pod_in_doubt(pod: client.V1Pod) -> bool:
    """A pod that is not doomed yet but may be any moment: a container of it restarted,
    has ended, or waits for anything but its start (a pull error, a config error that
    may be transient). A pod still starting, or running, is not in doubt."""
    if pod.metadata.deletion_timestamp:
        return False
    status = pod.status or client.V1PodStatus()
    for container in [*(status.init_container_statuses or []), *(status.container_statuses or [])]:
        state = container.state or client.V1ContainerState()
        if container.restart_count or state.terminated:
            return True
        if state.waiting and state.waiting.reason not in STARTING_REASONS:
            return True
    return False


def _template_hash(
    kube: ClusterClient, namespace: str, workload: str, deployment: client.V1Deployment,
    known: dict[str, str] | None,
) -> str | None:  # fmt: skip
    """The current revision's pod-template-hash, from `known` when a look before found it."""
    revision = (deployment.metadata.annotations or {}).get(REVISION, "")
    key = f"{deployment.metadata.uid}/{revision}"
    if known is not None and key in known:
        return known[key]
    found = kube.new_pod_template_hash(namespace, workload, deployment)
    if known is not None and found is not None and revision:
        known[key] = found
    return found


def doom_of_pod(pod: client.V1Pod, pull_errors: dict[str, str] | None = None) -> Doom | None:
    """krane's rules over a pod's containers (init containers first); None if none is doomed.

    `pull_errors` maps a container to its last pull error, for a kubelet (before 1.32)
    whose `ImagePullBackOff` message is only `Back-off pulling image "…"`.
    """
    if pod.metadata.deletion_timestamp:
        return None  # on its way out: not what the rollout waits for
    spec = pod.spec or client.V1PodSpec(containers=[])
    images = {c.name: c.image for c in [*(spec.init_containers or []), *spec.containers]}
    status = pod.status or client.V1PodStatus()
    for container in [*(status.init_container_statuses or []), *(status.container_statuses or [])]:
        image = images.get(container.name) or container.image or ""
        pull_error = (pull_errors or {}).get(container.name, "")
        if (doom := _doom_of_container(container, image, pull_error)) is not None:
            return Doom(pod=pod.metadata.name, **doom)
    return None


def _doom_of_container(container: client.V1ContainerStatus, image: str, pull_error: str):
    state = container.state or client.V1ContainerState()
    last = (container.last_state or client.V1ContainerState()).terminated
    waiting, terminated = state.waiting, state.terminated
    said = {"container": container.name, "image": image}
    # Before the crash loop rule: a container that cannot run is restarted with back-off
    # too, and "could not run" with the runtime's message says more than "crashed".
    for ended in (terminated, last):
        if ended and ended.reason == "ContainerCannotRun":
            if ended.exit_code == NODE_TROUBLE_EXIT_CODE:
                break  # node trouble: left to the deadline, unless it loops (below)
            return {**said, "kind": DoomKind.CANNOT_RUN, "reason": ended.reason,
                    "exit_code": ended.exit_code,
                    "message": mask_secrets(ended.message or "")}  # fmt: skip
    if waiting and waiting.reason == "CrashLoopBackOff":
        code = last.exit_code if last else None
        message = mask_secrets(last.message or "") if last else ""
        return {**said, "kind": DoomKind.CRASH_LOOP, "reason": waiting.reason,
                "exit_code": code, "message": message}  # fmt: skip
    if waiting and waiting.reason in PULL_REASONS:
        error = waiting.message or ""
        if not IMAGE_NOT_FOUND.search(error):
            error = pull_error  # an older kubelet's back-off message names no cause
        if IMAGE_NOT_FOUND.search(error):
            return {**said, "kind": DoomKind.IMAGE_NOT_FOUND, "reason": waiting.reason,
                    "message": mask_secrets(error)}  # fmt: skip
        return None
    if waiting and waiting.reason == "CreateContainerConfigError":
        if TRANSIENT_CONFIG_ERROR.search(waiting.message or ""):
            return None
        return {**said, "kind": DoomKind.CONFIG_ERROR, "reason": waiting.reason,
                "message": mask_secrets(waiting.message or "")}  # fmt: skip
    return None


def _pods_of(kube: ClusterClient, namespace: str, replica_set: str, template_hash: str) -> list:
    """The pods the ReplicaSet `replica_set` controls, by name."""
    found = kube.call(
        f"list pods of {namespace}/{replica_set}", kube.core.list_namespaced_pod, namespace,
        label_selector=f"pod-template-hash={template_hash}",
    ).items  # fmt: skip
    owned = [
        pod for pod in found
        if any(o.name == replica_set for o in pod.metadata.owner_references or [])
    ]  # fmt: skip
    return sorted(owned, key=lambda pod: pod.metadata.name)


def _pulls_backing_off(pod: client.V1Pod) -> bool:
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    return any(
        s.state and s.state.waiting and s.state.waiting.reason == "ImagePullBackOff"
        for s in statuses
    )


def _events_of(kube: ClusterClient, namespace: str, pod: str) -> list:
    """A pod's events, oldest first; none when they cannot be read (they only add detail)."""
    try:
        events = kube.call(
            f"list events of pod {pod}", kube.core.list_namespaced_event, namespace,
            field_selector=f"involvedObject.name={pod}",
        ).items  # fmt: skip
    except ClusterError:
        return []
    return sorted(
        events, key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp)
    )


def _container_of(event) -> str:
    """The container an event is about (fieldPath `spec.containers{web}`), or ""."""
    found = FIELD_PATH_CONTAINER.search(event.involved_object.field_path or "")
    return found.group(1) if found else ""


def _pull_errors(events: list) -> dict[str, str]:
    """Each container's newest `Failed to pull image …` event message."""
    return {
        _container_of(event): event.message
        for event in events
        if event.reason == "Failed" and (event.message or "").startswith("Failed to pull image")
    }


def _liveness_failure(events: list, container: str) -> str:
    """What the liveness probe last said, when the kubelet killed `container` for it."""
    mine = [event for event in events if _container_of(event) == container]
    killed = "failed liveness probe"
    if not any(e.reason == "Killing" and killed in (e.message or "") for e in mine):
        return ""
    said = [
        e.message for e in mine
        if e.reason == "Unhealthy" and (e.message or "").startswith("Liveness probe failed")
    ]  # fmt: skip
    return said[-1] if said else ""


def _with_evidence(kube: ClusterClient, namespace: str, doom: Doom, lines: int) -> Doom:
    """A crash loop with the last lines of its container's previous run and, when its
    liveness probe got it killed, what the probe said (read once, when doomed)."""
    if doom.kind is not DoomKind.CRASH_LOOP:
        return doom
    probe = _liveness_failure(_events_of(kube, namespace, doom.pod), doom.container)
    log = []
    # A log we cannot read does not make the crash loop less certain.
    with contextlib.suppress(ClusterError):
        if lines > 0:
            log = pod_log(
                kube, namespace, doom.pod, container=doom.container, previous=True,
                tail_lines=lines,
            )  # fmt: skip
    masked = tuple(mask_secrets(line) for line in log if line.strip())
    return replace(doom, log=masked, probe=mask_secrets(probe))


def _telling_line(log: tuple[str, ...]) -> str:
    """The log line that best says why it crashed: the last one that reads like an error
    (not a stack frame under it, nor the "exited with code 1" that follows it), else
    the last line."""
    for line in reversed(log):
        if ERROR_LINE.search(line) and not STACK_FRAME.match(line):
            return _cut(line)
    return _cut(log[-1]) if log else ""


def _cut(text: str, tail: bool = False) -> str:
    """One line of at most DETAIL_CHARS: its beginning, or its end when `tail`."""
    text = " ".join(text.split())
    if len(text) <= DETAIL_CHARS:
        return text
    return "…" + text[1 - DETAIL_CHARS :] if tail else text[: DETAIL_CHARS - 1] + "…"
