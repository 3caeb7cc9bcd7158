"""What a cluster really runs, beside the portal's record: the read model of the
cells on the dashboard and the service page.

The observer (`integrations.kube.observed`) caches what each cluster runs; this module
compares that with what the portal last wrote there (`lane_history.last_applied`),
using the same notion of drift as the rollout (`lane_history.drift_from`), and says
what is off in words.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Environment, ObservedWorkloads, Service
from deployments.lane_history import Applied, drift_from, last_applied, release_images
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState
from releases.models import Release


class ClusterVerdict(models.TextChoices):
    """How what the cluster runs compares with the portal's record (word + symbol)."""

    MATCHES = "matches", "in sync"  # runs what the portal last deployed
    RUNS = "runs", "not by the portal"  # the portal never wrote here: nothing to compare with
    DRIFTED = "drifted", "drift"
    MISSING = "missing", "missing"
    UNREACHABLE = "unreachable", "unreachable"
    ROLLING_OUT = "rolling_out", "rolling out"
    CHECKING = "checking", "checking"  # read before the last deployment ended
    UNOBSERVED = "unobserved", "not observed"


# Verdicts someone on call must look at.
TROUBLE = frozenset({ClusterVerdict.DRIFTED, ClusterVerdict.MISSING, ClusterVerdict.UNREACHABLE})
# The cluster does not run what the portal deployed: deploying that again repairs it.
REPAIRABLE = frozenset({ClusterVerdict.DRIFTED, ClusterVerdict.MISSING})


@dataclass(frozen=True)
class ContainerView:
    name: str
    image: str
    label: str  # the release version the image belongs to, else the image's tag

    @property
    def short_image(self) -> str:
        return short_image(self.image)


@dataclass(frozen=True)
class WorkloadView:
    name: str
    found: bool
    containers: list[ContainerView] = field(default_factory=list)
    ready: int = 0
    desired: int = 0
    rolled_out: bool = True
    # Pods of the template's images: while a rollout stalls (a crash-looping release)
    # `ready` counts the old pods still serving, so the images above are not yet what
    # answers; None for an observation recorded before it was read.
    updated: int | None = None

    @property
    def all_ready(self) -> bool:
        return self.rolled_out and self.ready >= self.desired

    @property
    def replicas(self) -> str:
        """The replicas in words: "2/2 ready", or while rolling out "0/2 updated, 2
        ready" (the ready ones are then mostly the previous template's)."""
        if self.rolled_out or self.updated is None:
            return f"{self.ready}/{self.desired} ready"
        return f"{self.updated}/{self.desired} updated, {self.ready} ready"


@dataclass(frozen=True)
class ClusterView:
    """One cell's view of its cluster."""

    verdict: ClusterVerdict
    summary: str  # a few words: "runs 1.2.0", "unreachable"
    problem: str = ""  # a plain sentence when something is off, else ""
    workloads: list[WorkloadView] = field(default_factory=list)
    observed_at: datetime | None = None
    unreachable_since: datetime | None = None
    error: str = ""  # why the cluster cannot be read
    drift: list[dict] = field(default_factory=list)  # lane_history.drift_from's items
    deployed_by: Deployment | None = None  # the deployment whose images drift replaced

    @property
    def in_trouble(self) -> bool:
        return self.verdict in TROUBLE

    @property
    def outage_for(self) -> str:
        """How long the cluster has been unreachable, as of this render: "for 14 min"."""
        if self.unreachable_since is None:
            return ""
        minutes = int((timezone.now() - self.unreachable_since).total_seconds() // 60)
        if minutes < 1:
            return ""
        hours, minutes = divmod(minutes, 60)
        return f"for {hours} h {minutes} min" if hours else f"for {minutes} min"


def short_image(image: str) -> str:
    """`repo:tag@sha256:0123456789ab…`: the digest cut to 12 hex digits for the eye."""
    name, at, digest = image.partition("@")
    if not at:
        return image
    algorithm, _, value = digest.partition(":")
    return f"{name}@{algorithm}:{value[:12]}…"


def image_tag(image: str) -> str:
    name = image.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.partition(":")[2] or "latest"


class ReleaseLabels:
    """Names images by the release they belong to: exact image (with digest), or, for an
    image without a digest (a cluster's baseline), the release of that repo:tag."""

    def __init__(self, releases):
        self.exact = {(r.service_id, r.image): r.version for r in releases}
        self.by_name = {(r.service_id, r.image.partition("@")[0]): r.version for r in releases}

    @classmethod
    def for_images(cls, service_ids, images) -> "ReleaseLabels":
        """One query for every image the cells show."""
        images = set(images)
        if not images:
            return cls([])
        tags = {image_tag(image) for image in images}
        releases = Release.objects.filter(service_id__in=service_ids).filter(
            Q(image__in=images) | Q(version__in=tags)
        )
        return cls(releases.only("service_id", "image", "version"))

    def label(self, service_id: int, image: str) -> str:
        found = self.exact.get((service_id, image))
        if found is None and "@" not in image:
            found = self.by_name.get((service_id, image))
        return found or image_tag(image)


def images_of(observed: ObservedWorkloads | None, applied: Applied | None):
    """Every image a cell may name (for `ReleaseLabels.for_images`)."""
    for workload in (observed.workloads if observed else {}).values():
        yield from workload.get("images", {}).values()
    for containers in (applied.images if applied else {}).values():
        yield from containers.values()


def cluster_view(
    service: Service, environment: Environment, observed: ObservedWorkloads | None,
    applied: Applied | None, in_progress: Deployment | None, labels: ReleaseLabels,
    current: Deployment | None = None,
) -> ClusterView:  # fmt: skip
    """What the cell says of the cluster (see ClusterVerdict for the order of checks)."""
    if observed is None or (observed.observed_at is None and observed.reachable):
        every = f"{settings.PORTAL_OBSERVE_SECONDS:g}"
        return ClusterView(
            ClusterVerdict.UNOBSERVED, "not observed yet",
            f"Not read from the cluster yet (the portal reads it every {every} s).",
        )  # fmt: skip
    workloads = _workloads(service, observed, labels)
    facts: dict[str, Any] = {"workloads": workloads, "observed_at": observed.observed_at}
    if not observed.reachable:
        return _unreachable(environment, observed, workloads, facts)
    missing = [w for w in workloads if not w.found]
    if missing:
        return _missing(environment, missing, applied, labels, service, facts)
    runs = _runs(workloads)
    if in_progress is not None and in_progress.state == DeploymentState.RUNNING:
        return ClusterView(ClusterVerdict.ROLLING_OUT, f"runs {runs}, rolling out", **facts)
    if applied is None and current is not None:
        # A recorded success whose rollout wrote nothing the portal kept (a baseline,
        # whose cluster may name the release by tag alone): the version names agree, or
        # the cluster drifted from the release the portal says runs here.
        if current.release.version == runs:
            return ClusterView(ClusterVerdict.MATCHES, f"runs {runs}", **facts)
        applied = Applied(current, release_images(service, current.release.image))
    if applied is None:
        return ClusterView(ClusterVerdict.RUNS, f"runs {runs}", **facts)
    ended = applied.deployment.finished_at
    assert observed.observed_at is not None  # read and reachable (the unread returned above)
    if ended and observed.observed_at < ended:
        # Read before the portal's last deployment ended: the next read judges it. The
        # line names what the deployment put there; the detail says why it is not yet
        # confirmed and what the old read saw, in the past tense.
        read = timezone.localtime(observed.observed_at)
        every = f"{settings.PORTAL_OBSERVE_SECONDS:g}"
        return ClusterView(
            ClusterVerdict.CHECKING, f"confirming {applied.deployment.release.version}",
            f"#{applied.deployment.pk} ended at {timezone.localtime(ended):%H:%M:%S}; the "
            f"next read of the cluster (every {every} s) confirms what runs here. "
            f"Its last read, at {read:%H:%M:%S}, saw {runs}.",
            **facts,
        )  # fmt: skip
    drift = drift_from(_running_images(observed), applied)
    if not drift:
        return ClusterView(ClusterVerdict.MATCHES, f"runs {runs}", **facts)
    return _drifted(service, drift, applied, labels, runs, facts)


def _workloads(service, observed, labels) -> list[WorkloadView]:
    views = []
    for workload in service.workloads:
        name = workload["deployment"]
        seen = observed.workloads.get(name) or {"found": False}
        if not seen.get("found"):
            views.append(WorkloadView(name, False))
            continue
        images = seen.get("images", {})
        containers = [
            ContainerView(c, images[c], labels.label(service.pk, images[c]))
            for c in workload["containers"]
            if c in images
        ]
        ready, desired = seen.get("ready", 0), seen.get("desired", 0)
        rolled_out, updated = seen.get("rolled_out", True), seen.get("updated")
        views.append(WorkloadView(name, True, containers, ready, desired, rolled_out, updated))
    return views


def _running_images(observed: ObservedWorkloads) -> dict[str, dict[str, str]]:
    return {
        name: seen.get("images", {})
        for name, seen in observed.workloads.items()
        if seen.get("found")
    }


def _runs(workloads: list[WorkloadView]) -> str:
    labels = {c.label for w in workloads for c in w.containers}
    if len(labels) == 1:
        return labels.pop()
    return ", ".join(f"{c.name} {c.label}" for w in workloads for c in w.containers) or "nothing"


def _applied_label(applied: Applied, labels: ReleaseLabels, service: Service) -> str:
    names = {labels.label(service.pk, i) for c in applied.images.values() for i in c.values()}
    return names.pop() if len(names) == 1 else ", ".join(sorted(names))


def _drifted(service, drift, applied, labels, runs, facts) -> ClusterView:
    what = ", ".join(f"{item['container']}: {short_image(item['running'])}" for item in drift)
    deployed = _applied_label(applied, labels, service)
    problem = (
        f"Cluster runs {runs} ({what}), not {deployed} the portal deployed "
        f"(#{applied.deployment.pk}) — changed by hand or the cluster was rebuilt."
    )
    summary = f"runs {runs}, not {deployed}"
    return ClusterView(
        ClusterVerdict.DRIFTED, summary, problem, drift=drift, deployed_by=applied.deployment,
        **facts,
    )  # fmt: skip


def _missing(environment, missing, applied, labels, service, facts) -> ClusterView:
    names = ", ".join(w.name for w in missing)
    where = f"{environment.cluster.name}/{environment.namespace}"
    if applied is None:
        problem = f"No workload {names} in {where}: nothing runs there."
    else:
        deployed = _applied_label(applied, labels, service)
        problem = (
            f"Workload {names} is missing from {where}, where the portal deployed {deployed} "
            f"(#{applied.deployment.pk}) — deleted by hand or the cluster was rebuilt."
        )
    return ClusterView(ClusterVerdict.MISSING, f"{names} missing", problem, **facts)


def _unreachable(environment, observed, workloads, facts) -> ClusterView:
    since = observed.unreachable_since
    problem = f"Cluster {environment.cluster.name} unreachable since {moment(since)}"
    if observed.observed_at:
        problem += f"; last seen at {moment(observed.observed_at)} running {_runs(workloads)}"
    return ClusterView(
        ClusterVerdict.UNREACHABLE, f"since {timezone.localtime(since):%H:%M:%S}", f"{problem}.",
        unreachable_since=since, error=observed.error, **facts,
    )  # fmt: skip


def moment(when: datetime | None) -> str:
    """`1 Dec 03:12:40` in the portal's time zone (the pages' own format, with seconds)."""
    if when is None:
        return "an unknown time"
    local = timezone.localtime(when)
    return f"{local.day} {local:%b %H:%M:%S}"


def cluster_disagrees(service: Service, environment: Environment) -> bool:
    """Whether the last observation shows the cluster not running what the portal last
    deployed there (drift, a missing workload): deploying that release again is then a
    repair, not a no-op. An unreachable or not yet observed cluster says nothing."""
    lane = Lane.objects.filter(service=service, environment=environment).first()
    observed = ObservedWorkloads.objects.filter(service=service, environment=environment).first()
    if lane is None or observed is None:
        return False
    in_progress = lane.deployments.filter(state=DeploymentState.RUNNING).first()
    applied = last_applied(lane.pk)
    view = cluster_view(service, environment, observed, applied, in_progress, ReleaseLabels([]))
    return view.verdict in REPAIRABLE
