"""What the portal last left running in a lane, and what one may roll back to, read
from the lane's own history (never from the cluster, which may have been changed by hand)."""

import itertools
from typing import NamedTuple

from django.db.models import Q

from deployments.models import Deployment, Lane, Release
from deployments.states import FINAL_DEPLOYMENT_STATES, DeploymentState, StepKind
from environments.models import Environment, Service

Images = dict[str, dict[str, str]]  # workload → container → image

# Deployments that ended without touching the cluster (rejected, superseded, failed
# gates) are skipped; this many recent ones are looked at before giving up.
HISTORY_WINDOW = 50


def release_images(service: Service, image: str) -> Images:
    """The pod-template images a deployment of `image` writes: every listed container."""
    return {
        workload["deployment"]: {container: image for container in workload["containers"]}
        for workload in service.workloads
    }


class Applied(NamedTuple):
    deployment: Deployment  # the ended deployment that wrote them last
    images: Images


def last_applied(lane_id: int | None, *, exclude: int | None = None) -> Applied | None:
    """The images the portal last wrote into the lane's workloads, and by which
    deployment; None when no ended deployment there changed the cluster. `exclude`
    leaves out one deployment (the one asking)."""
    if lane_id is None:
        return None
    recent = (
        Deployment.objects.filter(lane_id=lane_id, state__in=FINAL_DEPLOYMENT_STATES)
        .exclude(pk=exclude)
        .select_related("release", "service")
        .prefetch_related("steps")
        .order_by("-finished_at")[:HISTORY_WINDOW]
    )
    for deployment in recent:
        images = applied_by(deployment)
        if images is not None:
            return Applied(deployment, images)
    return None


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


def rollback_targets(
    service: Service, environment: Environment, limit: int | None = None
) -> list[Release]:
    """Releases that succeeded earlier in this environment and are older than the one
    running now, newest success first: the only releases a rollback may go to. (Going
    to a newer release is a promotion.) One query, however long the lane's history."""
    lane = Lane.objects.filter(service=service, environment=environment).first()
    if lane is None:
        return []
    successes = _succeeded(lane.pk)
    running = running_release(lane)
    if running is not None:
        successes = successes.filter(
            Q(release__created_at__lt=running.created_at)
            | Q(release__created_at=running.created_at, release_id__lt=running.pk)
        )
    ids = _distinct_release_ids(successes.values_list("release_id", flat=True), limit)
    releases = Release.objects.in_bulk(ids)
    return [releases[pk] for pk in ids]


def _distinct_release_ids(release_ids, limit: int | None, batch: int = 500) -> list[int]:
    """The first `limit` distinct ids, reading the lane's successes newest first in
    batches (the lane index): a few rows for the service page, all only when asked."""
    found: dict[int, None] = {}
    for start in itertools.count(0, batch):
        chunk = list(release_ids[start : start + batch])
        for release_id in chunk:
            found.setdefault(release_id)
            if limit is not None and len(found) >= limit:
                return list(found)
        if len(chunk) < batch:
            return list(found)
    return list(found)


def running_release(lane: Lane) -> Release | None:
    """The release the portal last left running in the lane: the one whose image it
    last wrote, else (it restored images of no release) the last that succeeded."""
    applied = last_applied(lane.pk)
    if applied is not None:
        images = {image for containers in applied.images.values() for image in containers.values()}
        if len(images) == 1:
            match = Release.objects.filter(service_id=lane.service_id, image=images.pop()).first()
            if match is not None:
                return match
    last = _succeeded(lane.pk).select_related("release").first()
    return last.release if last else None


def running_release_in(service: Service, environment: Environment) -> Release | None:
    lane = Lane.objects.filter(service=service, environment=environment).first()
    return running_release(lane) if lane is not None else None


def runs_now(release: Release, environment: Environment) -> bool:
    """Whether the portal last left exactly this release running in that environment."""
    return running_release_in(release.service, environment) == release


def _succeeded(lane_id: int):
    return Deployment.objects.filter(lane_id=lane_id, state=DeploymentState.SUCCEEDED).order_by(
        "-finished_at"
    )
