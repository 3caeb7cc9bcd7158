"""pod_logs_clean: no log line of the release's new pods matches `pattern`.

params: {pattern: regex, since: duration text (optional)}

The new pods are the pods of the service's workloads (each Deployment's matchLabels,
in the environment's namespace) whose listed containers run the release's image as
written in the pod spec. Each such container's log is read from the later of two
moments: when the deployment's rollout step started, and `since` ago (so `since`
can only narrow the window to the recent past); with neither, the whole log. A
container that restarted has its previous run read too, where a crash is told.
Matches are shown masked (portal.masking) and cut to MAX_LINE characters.
"""

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from catalog.catalog_file.values import parse_duration
from deployments.checks import CheckResult, failed, passed
from deployments.checks.cluster import check_client, cluster_failure
from deployments.checks.evidence import utc
from deployments.states import StepKind
from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import ClusterClient
from integrations.kube.jobs import pod_log
from portal.masking import mask_secrets

MAX_MATCHES, MAX_LINE = 3, 200  # matches shown in evidence; characters shown of each
SHOWN_PODS = 5
LOG_LIMIT_BYTES = 2_000_000  # of one container's log: a flood of output is not read whole


@dataclass(frozen=True)
class NewPod:
    name: str
    containers: list[str]
    restarted: list[str]  # the containers whose previous run is in the log too


@dataclass
class Reading:
    lines: int = 0
    matches: int = 0
    first: list[str] = field(default_factory=list)  # "pod: line", masked and cut
    unread: list[str] = field(default_factory=list)  # pods the time budget did not reach


def check(deployment, params: dict) -> CheckResult:
    try:
        pattern = re.compile(params["pattern"])
        start = window_start(deployment, params.get("since"))
    except (re.error, ValueError) as error:
        return failed(f"Cannot check the logs: {error}.")
    environment = deployment.environment
    try:
        with check_client(environment) as kube:
            pods, others = release_pods(kube, deployment)
            if not pods:
                return failed(_no_release_pods(deployment, others))
            reading = _read(kube, environment.namespace, pods, pattern, start)
    except ClusterError as error:
        return cluster_failure(
            error, f"Cannot read the logs of {deployment.service.name}'s pods: {error}."
        )
    return _judge(pattern, pods, start, reading)


def window_start(deployment, since: str | None) -> datetime | None:
    """The later of the rollout's start and `since` ago; None when neither is known."""
    moments = list(
        deployment.steps.filter(kind=StepKind.ROLLOUT, started_at__isnull=False).values_list(
            "started_at", flat=True
        )
    )
    if since:
        moments.append(timezone.now() - parse_duration(since))
    return max(moments, default=None)


def release_pods(kube: ClusterClient, deployment) -> tuple[list[NewPod], Counter]:
    """The pods running the release's image, and a count of the other images seen."""
    namespace, image = deployment.environment.namespace, deployment.release.image
    found: list[NewPod] = []
    others: Counter[str | None] = Counter()
    for workload in deployment.service.workloads:
        selector = kube.read_deployment(namespace, workload["deployment"]).spec.selector
        for pod in kube.list_pods(namespace, selector.match_labels or {}):
            # A pod the API server lists has its spec and its name.
            assert pod.spec is not None and pod.metadata and pod.metadata.name is not None
            listed = [c for c in pod.spec.containers if c.name in workload["containers"]]
            mine = [c.name for c in listed if c.image == image]
            if mine:
                found.append(NewPod(pod.metadata.name, mine, _restarted(pod, mine)))
            else:
                others.update({c.image for c in listed})  # pods per image
    return found, others


def _restarted(pod, containers: list[str]) -> list[str]:
    """Containers running again after a restart: their previous run is a log of its own.
    (One waiting in back-off shows its last run as its current log: read it once.)"""
    statuses = (pod.status.container_statuses if pod.status else None) or []
    return [
        s.name
        for s in statuses
        if s.name in containers and s.restart_count and s.state and s.state.running
    ]


def _read(kube: ClusterClient, namespace: str, pods, pattern, start) -> Reading:
    reading = Reading()
    deadline = time.monotonic() + settings.PORTAL_CHECK_TIMEOUT_SECONDS / 2
    options = {"limit_bytes": LOG_LIMIT_BYTES}
    if start is not None:  # the API takes seconds back from its own now
        options["since_seconds"] = max(1, math.ceil((timezone.now() - start).total_seconds()))
    for pod in pods:
        if time.monotonic() > deadline:
            reading.unread.append(pod.name)
            continue
        for container in pod.containers:
            runs = [False, True] if container in pod.restarted else [False]
            for previous in runs:
                log = pod_log(
                    kube, namespace, pod.name, container=container, previous=previous, **options
                )
                _scan(reading, pod.name, log, pattern)
    return reading


def _scan(reading: Reading, pod: str, lines: list[str], pattern: re.Pattern) -> None:
    reading.lines += len(lines)
    for line in lines:
        if pattern.search(line):
            reading.matches += 1
            if len(reading.first) < MAX_MATCHES:
                reading.first.append(f"{pod}: {_shown(line)}")


def _shown(line: str) -> str:
    masked = mask_secrets(line)  # before cutting: half a secret would escape the mask
    return masked if len(masked) <= MAX_LINE else masked[: MAX_LINE - 1] + "…"


def _judge(pattern, pods: list[NewPod], start, reading: Reading) -> CheckResult:
    where = f"the logs of {_pods(pods)} since {utc(start) if start else 'they started'}"
    read = f"{reading.lines} {_plural(reading.lines, 'line')} read"
    if reading.matches:
        first = "; ".join(reading.first)
        count = f"{reading.matches} {_plural(reading.matches, 'line')}"
        headline = f"{count} of the new pods' logs matched {pattern.pattern}: {reading.first[0]}"
        return failed(
            f"{count} matching {pattern.pattern} in {where} ({read}); first: {first}.", headline
        )
    if reading.unread:
        return failed(
            f"No line matching {pattern.pattern} in {where} ({read}), but the time ran out "
            f"before the logs of {', '.join(reading.unread)} were read."
        )
    return passed(f"No line matching {pattern.pattern} in {where} ({read}).")


def _pods(pods: list[NewPod]) -> str:
    names = ", ".join(pod.name for pod in pods[:SHOWN_PODS])
    if len(pods) > SHOWN_PODS:
        names += f", … {len(pods) - SHOWN_PODS} more"
    return f"{len(pods)} {_plural(len(pods), 'pod')} ({names})"


def _no_release_pods(deployment, others: Counter) -> str:
    workloads = ", ".join(deployment.service.workload_names)
    seen = "; ".join(f"{count} on {image}" for image, count in others.most_common())
    return (
        f"No pod of {workloads} in {deployment.environment.namespace} runs the release's "
        f"image {deployment.release.image} (pods found: {seen or 'none'})."
    )


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
