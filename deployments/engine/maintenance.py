"""The beat jobs that keep deployments moving when messages or workers are lost.

reap_stale_steps: a running step whose heartbeat stopped (worker killed, machine
gone) is re-queued, up to PORTAL_STEP_MAX_ATTEMPTS, then failed with the reason;
a step past its hard deadline is failed. sweep: every deployment that has not
ended and that nobody is working on is advanced again (lost `advance` messages,
Redis restarts, a lane freed while its follower's message was lost).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments import audit
from deployments.engine.enqueue import advance_after_commit
from deployments.engine.lane import lock_lane_of
from deployments.engine.outcomes import handle_failure
from deployments.events import emit
from deployments.live import announce
from deployments.models import Deployment, Step
from deployments.states import FINAL_DEPLOYMENT_STATES, StepState

log = logging.getLogger(__name__)


def reap_stale_steps(now=None) -> int:
    """Take back steps whose worker stopped heartbeating or that passed their deadline."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.PORTAL_LEASE_TTL_SECONDS)
    candidates = Step.objects.filter(state=StepState.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(deadline_at__lt=now)
    )
    reaped = 0
    for step_id, deployment_id, attempt in candidates.values_list("pk", "deployment_id", "attempt"):
        reaped += _reap(deployment_id, step_id, attempt, now, stale_before)
    return reaped


def _reap(deployment_id: int, step_id: int, attempt: int, now, stale_before) -> int:
    with transaction.atomic():
        lock_lane_of(deployment_id)  # lane before deployment, as every claim does
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("environment")
            .get(pk=deployment_id)
        )
        step = Step.objects.filter(pk=step_id, attempt=attempt, state=StepState.RUNNING).first()
        if step is None:
            return 0  # it finished or was reaped while we looked
        if step.deadline_at and step.deadline_at < now:
            reason = (
                f"{step.get_kind_display()} passed its deadline of {_seconds(step)} "
                "and was stopped."
            )
            _fail(deployment, step, reason)
        elif step.heartbeat_at and step.heartbeat_at >= stale_before:
            return 0  # a heartbeat arrived after we selected it
        elif step.attempt >= settings.PORTAL_STEP_MAX_ATTEMPTS:
            reason = (
                f"{step.get_kind_display()} lost its worker {step.attempt} times "
                f"(no heartbeat for {settings.PORTAL_LEASE_TTL_SECONDS}s); giving up."
            )
            _fail(deployment, step, reason)
        else:
            _requeue(deployment, step)
        advance_after_commit(deployment_id)
    return 1


def _requeue(deployment: Deployment, step: Step) -> None:
    Step.objects.filter(pk=step.pk, attempt=step.attempt).update(
        state=StepState.PENDING, lease_owner=""
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    message = (
        f"{step.get_kind_display()}: worker {step.lease_owner or '?'} stopped heartbeating; "
        f"the step is re-queued (attempt {step.attempt} of {settings.PORTAL_STEP_MAX_ATTEMPTS})."
    )
    emit(deployment.pk, step.pk, message)
    audit.record("step.requeued", deployment=deployment, step=step.kind, attempt=step.attempt)


def _fail(deployment: Deployment, step: Step, reason: str) -> None:
    Step.objects.filter(pk=step.pk, attempt=step.attempt).update(
        state=StepState.FAILED, reason=reason, finished_at=timezone.now(), lease_owner=""
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    emit(deployment.pk, step.pk, reason)
    audit.record("step.reaped", deployment=deployment, step=step.kind, reason=reason)
    handle_failure(deployment, step, reason)


def _seconds(step: Step) -> str:
    return (
        f"{(step.deadline_at - step.started_at).total_seconds():.0f}s" if step.started_at else "?"
    )


def sweep() -> int:
    """Re-advance every unfinished deployment without a live running step."""
    idle = (
        Deployment.objects.exclude(state__in=FINAL_DEPLOYMENT_STATES)
        .exclude(steps__state=StepState.RUNNING)
        .values_list("pk", flat=True)
    )
    count = 0
    with transaction.atomic():
        for deployment_id in idle:
            advance_after_commit(deployment_id)
            count += 1
    return count
