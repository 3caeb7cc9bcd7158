"""Cheap fingerprints of what a live page shows, to tell whether it changed.

The hub compares them on every wake-up (a publish, or its poll): a few queries for all
the deployments or lanes it watches, whatever their history. A deployment's print is
split by what it drives: new `lines`, the `status` and `steps` partials, and the
per-user sections (`changed`). A lane's print is built from parts (`LANE_PARTS`): other
features add theirs with `lane_fingerprint_part` (e.g. what a cluster runs).
"""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

from django.db.models import Count, Max

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
LANE_PARTS: list[LanePart] = []


def lane_fingerprint_part(part: LanePart) -> LanePart:
    """Register a part of every lane's print: `part(lane_ids) -> {lane_id: hashable}`.

    A lane whose part changes is pushed as `changed` to the pages that show it (found by
    the hub's poll; announce it too with `announce.lane_changed` to push it at once).
    """
    LANE_PARTS.append(part)
    return part


def lane_fingerprints(lane_ids: Iterable[int]) -> dict[int, tuple]:
    """The print of each lane that exists: every registered part, in a fixed order."""
    ids = list(lane_ids)
    if not ids:
        return {}
    parts = [part(ids) for part in LANE_PARTS]
    existing = Lane.objects.filter(pk__in=ids).values_list("pk", flat=True)
    return {lane_id: tuple(part.get(lane_id) for part in parts) for lane_id in existing}


@lane_fingerprint_part
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


@lane_fingerprint_part
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
