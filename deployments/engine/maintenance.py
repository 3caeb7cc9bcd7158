"""The beat jobs that keep deployments moving when messages or workers are lost.

reap_stale_steps: a step in a look whose heartbeat stopped (worker killed, machine
gone) is re-queued, up to PORTAL_STEP_MAX_ATTEMPTS, then failed with the reason;
a running step past its hard deadline (in a look or between looks) is failed.
sweep: a deployment with no step running is advanced again (lost `advance`
messages, Redis restarts, a lane freed while its follower's message was lost), and
a step between looks whose next look is overdue by PORTAL_LOOK_GRACE_SECONDS is
sent once more; its due time moves to now, so it is not sent again before it is
overdue again (one re-send per lost message, never a flood).

Neither waits long for a row another worker holds locked (MAINTENANCE_LOCK_WAIT): a
deployments worker frozen inside a transaction keeps its locks until PostgreSQL ends
its session (PORTAL_DB_IDLE_TRANSACTION_SECONDS), and meanwhile the maintenance
worker must go on observing, notifying and reaping everything else; the locked step
is taken back at a later run.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.errors import LockNotAvailable

from deployments.engine.enqueue import advance_after_commit
from deployments.engine.lane import lock_lane_of
from deployments.engine.outcomes import handle_failure
from deployments.engine.transitions import move_step
from deployments.events import emit
from deployments.models import Deployment, Step
from deployments.states import FINAL_DEPLOYMENT_STATES, StepState

log = logging.getLogger(__name__)


def reap_stale_steps(now=None) -> int:
    """Take back steps whose worker stopped heartbeating or that passed their deadline."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.PORTAL_LEASE_TTL_SECONDS)
    # Between looks no worker holds a step, so only its deadline can make it stale.
    in_look = ~Q(lease_owner="")
    candidates = Step.objects.filter(state=StepState.RUNNING).filter(
        (in_look & Q(heartbeat_at__lt=stale_before)) | Q(deadline_at__lt=now)
    )
    reaped = 0
    for step_id, deployment_id, attempt in candidates.values_list("pk", "deployment_id", "attempt"):
        with _at_a_later_run_if_locked(f"reaping step {step_id}"):
            reaped += _reap(deployment_id, step_id, attempt, now, stale_before)
    return reaped


# How long a maintenance job waits for a row another worker holds locked.
MAINTENANCE_LOCK_WAIT = "2s"


@contextmanager
def _at_a_later_run_if_locked(what: str) -> Iterator[None]:
    """One transaction that waits at most MAINTENANCE_LOCK_WAIT for a row another worker
    holds locked; when the wait runs out it is rolled back and `what` is logged, and the
    next run tries again. (SQLite has one writer and no row locks.)"""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{MAINTENANCE_LOCK_WAIT}'")
            yield
    except OperationalError as error:
        if not isinstance(error.__cause__, LockNotAvailable):
            raise
        log.warning("%s: a worker holds its rows locked; tried again at the next run", what)


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
        elif step.is_between_looks or (step.heartbeat_at and step.heartbeat_at >= stale_before):
            return 0  # a heartbeat arrived after we selected it, or its look ended
        elif step.lost_leases + 1 >= settings.PORTAL_STEP_MAX_ATTEMPTS:
            reason = (
                f"{step.get_kind_display()} lost its worker {step.lost_leases + 1} times "
                f"(no heartbeat for {settings.PORTAL_LEASE_TTL_SECONDS}s); giving up."
            )
            _fail(deployment, step, reason)
        else:
            _requeue(deployment, step)
        advance_after_commit(deployment_id)
    return 1


def _requeue(deployment: Deployment, step: Step) -> None:
    # Its progress stays: the next look goes on from the last one recorded.
    lost, worker = step.lost_leases + 1, step.lease_owner or "?"
    move_step(
        deployment,
        step,
        "requeue",
        fenced=True,
        audit_detail={"attempt": lost},
        lease_owner="",
        due_at=timezone.now(),
        lost_leases=lost,
    )
    message = (
        f"{step.get_kind_display()}: worker {worker} stopped heartbeating; "
        f"the step is re-queued (attempt {lost} of {settings.PORTAL_STEP_MAX_ATTEMPTS})."
    )
    emit(deployment.pk, step.pk, message)


def _fail(deployment: Deployment, step: Step, reason: str) -> None:
    now = timezone.now()
    move_step(
        deployment, step, "reap", fenced=True, reason=reason, finished_at=now, lease_owner="",
        next_look_at=None,
    )  # fmt: skip
    emit(deployment.pk, step.pk, reason)
    handle_failure(deployment, step, reason)


def _seconds(step: Step) -> str:
    return (
        f"{(step.deadline_at - step.started_at).total_seconds():.0f}s"
        if step.started_at and step.deadline_at
        else "?"
    )


def sweep(now=None) -> int:
    """Re-advance every unfinished deployment with no step running, and every one
    whose step between looks is overdue; the number of messages sent."""
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
    return count + resend_overdue_looks(now)


def resend_overdue_looks(now=None) -> int:
    """Send the look of each step between looks that is overdue by the grace (its
    countdown message was lost), once: its due time becomes now, under the same
    condition, so two sweepers at once send it once."""
    now = now or timezone.now()
    overdue_before = now - timedelta(seconds=settings.PORTAL_LOOK_GRACE_SECONDS)
    between_looks = Step.objects.filter(state=StepState.RUNNING, lease_owner="")
    overdue = between_looks.filter(next_look_at__lt=overdue_before)
    count = 0
    for step_id, deployment_id, due in overdue.values_list("pk", "deployment_id", "next_look_at"):
        with _at_a_later_run_if_locked(f"sending the overdue look of step {step_id}"):
            if between_looks.filter(pk=step_id, next_look_at=due).update(next_look_at=now):
                advance_after_commit(deployment_id)
                count += 1
    return count
