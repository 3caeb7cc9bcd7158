"""Why a rollout failed, in a person's words: pod phases, waiting reasons, restart
counts, the workload's recent events and the last log lines of a failing pod."""

from collections import Counter
from dataclasses import dataclass, field

from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import ClusterClient
from integrations.kube.jobs import pod_log

EVENTS_SHOWN = 10
LOG_LINES_SHOWN = 20


@dataclass
class Diagnosis:
    summary: str = ""  # one line for the deployment's reason, e.g. "3 pods in CrashLoopBackOff"
    lines: list[str] = field(default_factory=list)


def diagnose_workload(kube: ClusterClient, namespace: str, name: str, image: str) -> Diagnosis:
    """Describe the pods of a Deployment that run `image` (the new ones); never raises."""
    try:
        return _diagnose(kube, namespace, name, image)
    except ClusterError as error:
        return Diagnosis("", [f"diagnostics unavailable: {error}"])


def _diagnose(kube: ClusterClient, namespace: str, name: str, image: str) -> Diagnosis:
    deployment = kube.read_deployment(namespace, name)
    selector = ",".join(
        f"{k}={v}" for k, v in (deployment.spec.selector.match_labels or {}).items()
    )
    pods = kube.call(
        f"list pods of {name}", kube.core.list_namespaced_pod, namespace, label_selector=selector
    ).items
    new_pods = [p for p in pods if any(c.image == image for c in p.spec.containers)] or pods
    diagnosis = Diagnosis()
    problems = Counter()
    restarts = 0
    for pod in new_pods:
        state, pod_restarts = _pod_state(pod)
        restarts += pod_restarts
        problems[state] += 1
        diagnosis.lines.append(
            f"pod {pod.metadata.name}: {pod.status.phase}, {state}, restarts {pod_restarts}"
        )
    events = _events(kube, namespace, [name, *(p.metadata.name for p in new_pods)])
    diagnosis.summary = ", ".join(
        part for part in (_summary(problems, restarts), _probe_failures(events)) if part
    )
    diagnosis.lines += _event_lines(events)
    failing = next((p for p in new_pods if _pod_state(p)[0] != "Ready"), None)
    if failing is not None:
        diagnosis.lines += _last_log_lines(kube, namespace, failing)
    return diagnosis


def _pod_state(pod) -> tuple[str, int]:
    """The most telling state of a pod's containers: a waiting reason, or Ready / Not ready."""
    statuses = pod.status.container_statuses or []
    restarts = sum(s.restart_count or 0 for s in statuses)
    for status in statuses:
        if status.state and status.state.waiting and status.state.waiting.reason:
            waiting = status.state.waiting
            if waiting.reason in NAMES_THE_CAUSE and waiting.message:
                return f"{waiting.reason} ({waiting.message})", restarts
            return waiting.reason, restarts
        if status.state and status.state.terminated and status.state.terminated.reason:
            return status.state.terminated.reason, restarts
    if statuses and all(s.ready for s in statuses):
        return "Ready", restarts
    return "Not ready", restarts


# Waiting reasons whose message is the cause (`secret "vizora-secrets" not found`).
NAMES_THE_CAUSE = frozenset({"CreateContainerConfigError"})

# A pod that cannot pull its image alternates between these two; name both.
SAME_PROBLEM = {"ErrImagePull": "ErrImagePull/ImagePullBackOff",
                "ImagePullBackOff": "ErrImagePull/ImagePullBackOff"}  # fmt: skip


def _summary(problems: Counter, restarts: int) -> str:
    merged = Counter()
    for state, count in problems.items():
        merged[SAME_PROBLEM.get(state, state)] += count
    problems = merged
    parts = [
        f"{count} pod{'s' if count > 1 else ''} in {state}"
        for state, count in problems.most_common()
        if state != "Ready"
    ]
    if restarts:
        parts.append(f"{restarts} restarts")
    return ", ".join(parts)


def _events(kube: ClusterClient, namespace: str, names: list[str]) -> list:
    """The events about these objects, oldest first."""
    events = []
    for name in names:
        found = kube.call(
            f"list events of {name}", kube.core.list_namespaced_event, namespace,
            field_selector=f"involvedObject.name={name}",
        ).items  # fmt: skip
        events += found
    events.sort(
        key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp)
    )
    return events


def _event_lines(events: list) -> list[str]:
    return [
        f"event {e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
        + (f" (x{e.count})" if (e.count or 1) > 1 else "")
        for e in events[-EVENTS_SHOWN:]
    ]


def _probe_failures(events: list) -> str:
    """What the kubelet's probes last said, once per kind of probe: "Readiness probe
    failed: HTTP probe failed with statuscode: 500"."""
    newest = {}
    for event in events:
        if event.reason == "Unhealthy" and event.message:
            newest[event.message.split(" ", 1)[0]] = event.message
    return "; ".join(newest[kind] for kind in sorted(newest, reverse=True))


def _last_log_lines(kube: ClusterClient, namespace: str, pod) -> list[str]:
    name = pod.metadata.name
    crashed = any((s.restart_count or 0) > 0 for s in pod.status.container_statuses or [])
    lines = pod_log(kube, namespace, name, tail_lines=LOG_LINES_SHOWN, previous=crashed)
    if not lines:
        return [f"log of {name}: (empty: the container has not started)"]
    return [f"log of {name}{' (previous run)' if crashed else ''}: {line}" for line in lines]
