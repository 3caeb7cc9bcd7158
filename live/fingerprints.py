"""Cheap fingerprints of what a live page shows, to tell whether it changed.

The hub compares them on every wake-up (a publish, or its poll): a few queries for all
the deployments or lanes it watches, whatever their history. A deployment's print is
split by what it drives: new `lines`, the `status` and `steps` partials, and the
per-user sections (`changed`). A lane's print is built from the parts `lane_parts` names
(the environment's lock, the lane's deployments, what its cluster runs).
"""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import NamedTuple

from django.db.models import Count, Max, OuterRef, Subquery

from catalog.models import ObservedWorkloads
from deployments.models import Approval, ChecklistItem, Deployment, Lane, Step
from deployments.states import FINAL_DEPLOYMENT_STATES


class DeploymentPrint(NamedTuple):
    last_seq: int  # of the last stored log line (0: none yet)
    state: str
    status: tuple  # what the #status partial shows
    steps: tuple  # what the #steps partial shows
    sections: tuple  # what the per-user sections (checklist, approvals, controls…) depend on

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_DEPLOYMENT_STATES


def deployment_fingerprints(deployment_ids: Iterable[int]) -> dict[int, DeploymentPrint]:
    """The print of each deployment that exists, in four queries whatever their number."""
    ids = list(deployment_ids)
    if not ids:
        return {}
    steps, checklist, approvals = defaultdict(list), defaultdict(list), {}
    for row in (
        Step.objects.filter(deployment_id__in=ids)
        .order_by("position")
        .values_list(
            "deployment_id",
            "pk",
            "state",
            "lost_leases",
            "reason",
            "started_at",
            "finished_at",
            "worker_wait",
        )
    ):
        steps[row[0]].append(row[1:])
    for row in (
        ChecklistItem.objects.filter(deployment_id__in=ids)
        .order_by("position")
        .values_list("deployment_id", "pk", "state", "answered_at", "answered_by_id", "evidence")
    ):
        checklist[row[0]].append(row[1:])
    for deployment_id, count, last in (
        Approval.objects.filter(deployment_id__in=ids)
        .values("deployment_id")
        .annotate(count=Count("pk"), last=Max("pk"))
        .values_list("deployment_id", "count", "last")
    ):
        approvals[deployment_id] = (count, last)
    prints = {}
    for row in Deployment.objects.filter(pk__in=ids).values(
        "pk", "state", "reason", "next_log_seq", "cancel_requested", "verification",
        "break_glass_reviewed_at", "superseded_by_id", "started_at", "finished_at",
    ):  # fmt: skip
        pk = row["pk"]
        prints[pk] = DeploymentPrint(
            last_seq=row["next_log_seq"] - 1,
            state=row["state"],
            status=(row["state"], row["reason"]),
            steps=tuple(steps[pk]),
            sections=(
                row["state"], row["cancel_requested"], row["verification"],
                row["break_glass_reviewed_at"], row["superseded_by_id"], row["started_at"],
                row["finished_at"], tuple(checklist[pk]), approvals.get(pk),
            ),
        )  # fmt: skip
    return prints


LanePart = Callable[[list[int]], dict[int, Hashable]]


def lane_fingerprints(lane_ids: Iterable[int]) -> dict[int, tuple]:
    """The print of each lane that exists: every registered part, in a fixed order."""
    ids = list(lane_ids)
    if not ids:
        return {}
    parts = [part(ids) for part in lane_parts()]
    existing = Lane.objects.filter(pk__in=ids).values_list("pk", flat=True)
    return {lane_id: tuple(part.get(lane_id) for part in parts) for lane_id in existing}


def lane_environment(lane_ids: list[int]) -> dict[int, Hashable]:
    """The environment's lock (and freeze windows, which a sync may change)."""
    return {
        row[0]: row[1:]
        for row in Lane.objects.filter(pk__in=lane_ids).values_list(
            "pk",
            "environment__locked",
            "environment__lock_reason",
            "environment__locked_by_id",
            "environment__locked_at",
        )
    }


def lane_deployments(lane_ids: list[int]) -> dict[int, Hashable]:
    """How many deployments the lane has, and the prints of those in flight and of the
    latest one that ended (what runs there, and its open verification)."""
    totals = {
        lane_id: (count, last)
        for lane_id, count, last in Deployment.objects.filter(lane_id__in=lane_ids)
        .order_by()
        .values("lane_id")
        .annotate(count=Count("pk"), last=Max("pk"))
        .values_list("lane_id", "count", "last")
    }
    shown = list(
        Deployment.objects.filter(lane_id__in=lane_ids)
        .active()
        .order_by()
        .values_list("pk", "lane_id")
    )
    shown += [
        (last_final, lane_id)
        for lane_id, last_final in Deployment.objects.filter(
            lane_id__in=lane_ids, state__in=FINAL_DEPLOYMENT_STATES
        )
        .order_by()
        .values("lane_id")
        .annotate(last_final=Max("pk"))
        .values_list("lane_id", "last_final")
    ]
    prints = deployment_fingerprints(pk for pk, _ in shown)
    by_lane = defaultdict(list)
    for pk, lane_id in sorted(shown):
        if pk in prints:
            by_lane[lane_id].append((pk, prints[pk][1:]))  # not its log: a cell shows none
    return {lane_id: (totals.get(lane_id), tuple(by_lane[lane_id])) for lane_id in lane_ids}


def lane_observation(lane_ids: list[int]) -> dict[int, Hashable]:
    """The hub's print of what a lane's cluster runs: when the observation last changed
    (what runs, or whether the cluster answers). Without Redis the hub's poll finds an
    observation this way; with Redis `observing` announces it at once."""
    observed = ObservedWorkloads.objects.filter(
        service=OuterRef("service_id"), environment=OuterRef("environment_id")
    )
    ended = Deployment.objects.filter(lane=OuterRef("pk"), finished_at__isnull=False)
    lanes = Lane.objects.filter(pk__in=lane_ids).annotate(
        observed_changed_at=Subquery(observed.values("changed_at")[:1]),
        observed_at=Subquery(observed.values("observed_at")[:1]),
        last_ended_at=Subquery(ended.order_by("-finished_at").values("finished_at")[:1]),
    )
    # Whether the last read came after the lane's last deployment ended: a cell says
    # "checking" until then, so the first read after an end changes what it shows even
    # when what runs did not change.
    return {
        lane.pk: (lane.observed_changed_at, _read_since(lane.observed_at, lane.last_ended_at))
        for lane in lanes
    }


def _read_since(observed_at: datetime | None, ended_at: datetime | None) -> bool:
    return observed_at is not None and (ended_at is None or observed_at >= ended_at)


def lane_parts() -> tuple[LanePart, ...]:
    """The parts of every lane's print, in a fixed order, named here rather than
    registered by importing the modules that define them. A lane whose part changes is
    pushed as `changed` to the pages that show it (found by the hub's poll; announce it
    too with `announce.lane_changed` to push it at once)."""
    return (lane_environment, lane_deployments, lane_observation)
