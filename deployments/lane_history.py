"""What the portal last left running in a lane, and what one may roll back to, read
from the lane's own history (never from the cluster, which may have been changed by hand)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Exists, Max, OuterRef, Q, Subquery

from catalog.models import Environment, Service
from deployments.models import Deployment, Lane, Step
from deployments.states import FINAL_DEPLOYMENT_STATES, DeploymentState, StepKind, Trigger
from releases.models import Release
from releases.order import is_older, newest_first

Images = dict[str, dict[str, str]]  # workload → container → image


def release_images(service: Service, image: str) -> Images:
    """The pod-template images a deployment of `image` writes: every listed container."""
    return {
        workload["deployment"]: {container: image for container in workload["containers"]}
        for workload in service.workloads
    }


class Applied(NamedTuple):
    deployment: Deployment  # the ended deployment that wrote them last
    images: Images


def wrote_cluster() -> Exists:
    """Whether the deployment OuterRef("pk") wrote the workloads' templates: its rollout
    began applying. Deployments that ended without touching the cluster (rejected,
    superseded, failed gates) say nothing about what runs."""
    return Exists(
        Step.objects.filter(deployment=OuterRef("pk"), kind=StepKind.ROLLOUT, result__applied=True)
    )


def _ended_writers():
    return Deployment.objects.filter(state__in=FINAL_DEPLOYMENT_STATES).filter(wrote_cluster())


def last_applied_id() -> Subquery:
    """The newest ended deployment that wrote the cluster in the lane OuterRef("pk"):
    `last_applied`'s rule for many lanes in one query."""
    newest = _ended_writers().filter(lane=OuterRef("pk")).order_by("-finished_at")
    return Subquery(newest.values("pk")[:1])


def last_applied(lane_id: int | None, *, exclude: int | None = None) -> Applied | None:
    """The images the portal last wrote into the lane's workloads, and by which
    deployment; None when no ended deployment there changed the cluster. `exclude`
    leaves out one deployment (the one asking)."""
    if lane_id is None:
        return None
    deployment = (
        _ended_writers()
        .filter(lane_id=lane_id)
        .exclude(pk=exclude)
        .select_related("release", "service")
        .prefetch_related("steps")
        .order_by("-finished_at")
        .first()
    )
    return None if deployment is None else applied_of(deployment)


def applied_in_lanes(lane_ids) -> dict[int, Applied]:
    """`last_applied` of many lanes in a fixed number of queries, keyed by lane id."""
    lanes = Lane.objects.filter(pk__in=lane_ids).annotate(applied_id=last_applied_id())
    by_deployment = {lane.applied_id: lane.pk for lane in lanes if lane.applied_id}
    found = (
        Deployment.objects.filter(pk__in=by_deployment)
        .select_related("release", "service")
        .prefetch_related("steps")
    )
    return {by_deployment[d.pk]: applied_of(d) for d in found}


def applied_of(writer: Deployment) -> Applied:
    """What a deployment known to have written the cluster (one of `_ended_writers`) left
    there."""
    images = applied_by(writer)
    assert images is not None  # its rollout applied
    return Applied(writer, images)


def drift_from(running: Images, applied: Applied) -> list[dict]:
    """Each container whose image differs from what the portal last wrote there (a
    release, or the images a rollback restored): the one notion of drift, used by the
    rollout before it changes anything and by the observer of what runs."""
    return [
        {"workload": workload, "container": container, "running": image, "deployed": wanted,
         "deployment": applied.deployment.pk}
        for workload, containers in running.items()
        for container, image in containers.items()
        if (wanted := applied.images.get(workload, {}).get(container)) and image != wanted
    ]  # fmt: skip


def applied_by(deployment: Deployment) -> Images | None:
    """What an ended deployment left in the workloads' templates, None if it wrote nothing.

    A rollback step that ran wrote the images recorded before the rollout back,
    whether or not their rollout then finished; otherwise the rollout wrote the release.
    """
    steps = list(deployment.steps.all())
    rollout = next((s for s in steps if s.kind == StepKind.ROLLOUT), None)
    if rollout is None or not rollout.result.get("applied"):
        return None
    rolled_back = any(s.kind == StepKind.ROLLBACK and s.attempt > 0 for s in steps)
    if rolled_back and deployment.previous_images:
        return deployment.previous_images
    return rollout.result.get("images") or release_images(
        deployment.service, deployment.release.image
    )


@dataclass(frozen=True)
class LaneRecord:
    """What the portal's history says of one lane."""

    applied: Applied | None  # what it last wrote into the cluster
    running: Release | None  # the release it last left running (`running_release`)
    succeeded: list[Release]  # every release that succeeded there, newest success first
    # The release a promotion running in the lane now is taking there (a rollback
    # preempts it: engine/lane.py), None when no promotion runs.
    in_flight: Release | None = None

    @property
    def rollback_targets(self) -> list[Release]:
        """Releases that succeeded earlier here and are older than the one running now
        (or than the one a running promotion is rolling out, so what ran before it is
        among them), newest first: the only releases a rollback may go to. (Going to a
        newer release is a promotion.)"""
        newest = next(iter(newest_first(r for r in (self.running, self.in_flight) if r)), None)
        return [
            r
            for r in self.succeeded
            if newest is None or (r != self.in_flight and is_older(r, newest))
        ]


# Pages offer rollbacks among the releases of a lane's newest successes: a lane with
# years of history must not load every release that ever succeeded there. The service
# page offers three, and 30 successes nearly always hold three earlier releases; the
# rollback's confirmation and the engine read every success (`recent=None`).
RECENT_SUCCESSES = 30


def lane_records(lanes: list[Lane], recent: int | None = RECENT_SUCCESSES) -> dict[int, LaneRecord]:
    """The record of each lane, keyed by lane id, in five queries however many lanes
    and however long their history. `succeeded` holds the releases of the lane's
    `recent` newest successes (None: every success, for the engine's checks)."""
    applied = applied_in_lanes([lane.pk for lane in lanes])
    succeeded_ids = _succeeded_release_ids([lane.pk for lane in lanes], recent)
    images = {i for a in applied.values() for i in _single_image(a)}
    ids = {i for found in succeeded_ids.values() for i in found}
    services = {lane.service_id for lane in lanes}
    releases = list(
        Release.objects.filter(
            Q(pk__in=ids) | Q(service_id__in=services, image__in=images)
        ).select_related("created_by")
    )
    by_id = {release.pk: release for release in releases}
    by_image = {(r.service_id, r.image): r for r in releases}
    in_flight = _promotions_running([lane.pk for lane in lanes])
    records = {}
    for lane in lanes:
        succeeded = [by_id[i] for i in succeeded_ids.get(lane.pk, [])]
        running = next(
            (by_image[(lane.service_id, i)] for i in _single_image(applied.get(lane.pk))
             if (lane.service_id, i) in by_image),
            succeeded[0] if succeeded else None,
        )  # fmt: skip
        records[lane.pk] = LaneRecord(
            applied.get(lane.pk), running, succeeded, in_flight.get(lane.pk)
        )
    return records


def _promotions_running(lane_ids: list[int]) -> dict[int, Release]:
    """Per lane, the release of the promotion running there (one at most per lane)."""
    running = (
        Deployment.objects.filter(lane_id__in=lane_ids, state=DeploymentState.RUNNING)
        .exclude(trigger=Trigger.ROLLBACK)
        .select_related("release")
    )
    return {deployment.lane_id: deployment.release for deployment in running}


def _succeeded_release_ids(lane_ids: list[int], recent: int | None) -> dict[int, list[int]]:
    """Per lane, the releases that succeeded there, newest success first, each once."""
    if not lane_ids:
        return {}
    rows: Iterable[tuple]
    if recent is None:
        rows = (
            Deployment.objects.filter(lane_id__in=lane_ids, state=DeploymentState.SUCCEEDED)
            .values_list("lane_id", "release_id")
            .annotate(last=Max("finished_at"))
            .order_by("-last")
        )
    else:
        rows = _recent_successes(lane_ids, recent)
    found: dict[int, list[int]] = {}
    for lane_id, release_id, _ in rows:
        releases = found.setdefault(lane_id, [])
        if release_id not in releases:
            releases.append(release_id)
    return found


def _recent_successes(lane_ids: list[int], recent: int) -> list[tuple]:
    """The `recent` newest successes of each lane in one query: one index range
    (lane, finished_at) read per lane, glued with UNION ALL (a LIMIT inside a subquery
    in FROM works on PostgreSQL and SQLite alike; a window over the whole history
    would read every success)."""
    quote = connection.ops.quote_name
    table = quote(Deployment._meta.db_table)
    part = (
        f"SELECT * FROM (SELECT lane_id, release_id, finished_at FROM {table} "
        "WHERE lane_id = %s AND state = %s AND finished_at IS NOT NULL "
        "ORDER BY finished_at DESC LIMIT %s) AS lane_{n}"
    )
    sql = " UNION ALL ".join(part.format(n=n) for n in range(len(lane_ids)))
    params = [p for lane_id in lane_ids for p in (lane_id, DeploymentState.SUCCEEDED, recent)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return sorted(rows, key=lambda row: row[2], reverse=True)


def _single_image(applied: Applied | None) -> list[str]:
    """The one image the portal last wrote in every container, else nothing."""
    if applied is None:
        return []
    images = {image for containers in applied.images.values() for image in containers.values()}
    return list(images) if len(images) == 1 else []


def lane_record(service: Service, environment: Environment) -> LaneRecord:
    lane = Lane.objects.filter(service=service, environment=environment).first()
    return lane_records([lane], recent=None)[lane.pk] if lane else LaneRecord(None, None, [])


def rollback_targets(service: Service, environment: Environment) -> list[Release]:
    """See `LaneRecord.rollback_targets` (the engine checks a rollback with it)."""
    return lane_record(service, environment).rollback_targets


def running_release(lane: Lane) -> Release | None:
    """The release the portal last left running in the lane: the one whose image it
    last wrote, else (it restored images of no release) the last that succeeded."""
    return lane_records([lane])[lane.pk].running


def running_release_in(service: Service, environment: Environment) -> Release | None:
    lane = Lane.objects.filter(service=service, environment=environment).first()
    return running_release(lane) if lane is not None else None


def runs_now(release: Release, environment: Environment) -> bool:
    """Whether the portal last left exactly this release running in that environment."""
    return running_release_in(release.service, environment) == release
