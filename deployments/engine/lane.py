"""The lane (service, environment): queueing, superseding and claiming, decided under
a `select_for_update` of the lane's row so concurrent decisions are serialised.

The partial unique constraint `one_running_deployment_per_lane` is the last line of
defence; with the lane lock held, no caller ever meets its IntegrityError.
"""

from django.utils import timezone

from deployments import audit
from deployments.engine.enqueue import advance_after_commit
from deployments.models import Deployment, Lane
from deployments.notifications.outbox import notify
from deployments.states import DeploymentState, NotificationEvent, Trigger


def lock_lane(deployment: Deployment) -> Lane:
    return Lane.objects.select_for_update().get(pk=deployment.lane_id)


def enter_queue(deployment: Deployment) -> None:
    """Move a deployment whose gates passed to `queued`, superseding what it replaces.

    A newer request supersedes older queued ones (and an older one whose gates
    passed late is superseded by the newer one already queued or running); a rollback
    supersedes the promotions queued before it, and no promotion supersedes a
    rollback: it queues behind it.
    """
    lock_lane(deployment)
    newer_running = _running_in_lane(deployment)
    if newer_running is not None and _replaces(newer_running, deployment):
        supersede(deployment, by=newer_running)  # never deploy an older request over a newer one
        return
    for other in _queued_in_lane(deployment):
        if _replaces(deployment, other):
            supersede(other, by=deployment)
        elif _replaces(other, deployment):
            supersede(deployment, by=other)
            return
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.QUEUED, queued_at=now, reason=""
    )
    deployment.state, deployment.queued_at, deployment.reason = DeploymentState.QUEUED, now, ""
    audit.record("deployment.queued", deployment=deployment)


def _replaces(newer: Deployment, older: Deployment) -> bool:
    """Whether `newer` supersedes `older` (both queued in one lane)."""
    if older.trigger == Trigger.ROLLBACK and newer.trigger != Trigger.ROLLBACK:
        return False  # a promotion asked for after a rollback waits behind it
    return newer.created_at > older.created_at


def _running_in_lane(deployment: Deployment) -> Deployment | None:
    return Deployment.objects.filter(
        lane_id=deployment.lane_id, state=DeploymentState.RUNNING
    ).first()


def _queued_in_lane(deployment: Deployment):
    return Deployment.objects.filter(
        lane_id=deployment.lane_id, state=DeploymentState.QUEUED
    ).exclude(pk=deployment.pk)


def supersede(deployment: Deployment, *, by: Deployment) -> None:
    from deployments.engine.transitions import finish

    finish(
        deployment,
        DeploymentState.SUPERSEDED,
        f"Superseded by #{by.pk} ({by.release.version}, {by.get_trigger_display().lower()}).",
        superseded_by=by,
    )


def try_start(deployment: Deployment) -> bool:
    """Take the lane for this queued deployment when nothing runs there and it is next."""
    lock_lane(deployment)
    lane_busy = Deployment.objects.filter(
        lane_id=deployment.lane_id, state=DeploymentState.RUNNING
    ).exists()
    next_up = next_in_lane(deployment.lane_id)
    if lane_busy or next_up is None or next_up.pk != deployment.pk:
        if not lane_busy and next_up is not None:
            advance_after_commit(next_up.pk)
        _set_waiting_reason(deployment, lane_busy)
        return False
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.RUNNING, started_at=now, reason=""
    )
    deployment.state, deployment.started_at, deployment.reason = DeploymentState.RUNNING, now, ""
    audit.record("deployment.started", deployment=deployment)
    notify(deployment, NotificationEvent.STARTED)
    return True


def next_in_lane(lane_id: int) -> Deployment | None:
    """Rollbacks go first; otherwise the oldest queued (normally the only one)."""
    queued = Deployment.objects.filter(lane_id=lane_id, state=DeploymentState.QUEUED)
    rollback = queued.filter(trigger=Trigger.ROLLBACK).order_by("queued_at").first()
    return rollback or queued.order_by("queued_at").first()


def start_next_in_lane(lane_id: int) -> None:
    """After a lane is freed, wake the deployment that should take it."""
    follower = next_in_lane(lane_id)
    if follower is not None:
        advance_after_commit(follower.pk)


def _set_waiting_reason(deployment: Deployment, lane_busy: bool) -> None:
    if not lane_busy:
        return
    running = Deployment.objects.filter(
        lane_id=deployment.lane_id, state=DeploymentState.RUNNING
    ).first()
    if running is None:
        return
    reason = f"Waiting for #{running.pk} ({running.release.version}) to finish in this lane."
    if deployment.reason != reason:
        Deployment.objects.filter(pk=deployment.pk).update(reason=reason)
        deployment.reason = reason
