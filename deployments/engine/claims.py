"""Claiming work: what should happen next to a deployment, decided under its row lock.

Gates (engine/gates.py) and a requested stop (engine/cancellation.py) are settled
here on the way; what is left is handing the next runnable step to one worker.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit import trail
from deployments.engine import cancellation, lane
from deployments.engine.gates import pass_gates
from deployments.engine.outcomes import conclude
from deployments.engine.transitions import move_step
from deployments.models import Deployment, Step
from deployments.states import GATE_STEP_KINDS, DeploymentState, StepKind, StepState
from deployments.steps import deadline_for
from live import announce

# A message may arrive a little before the due time it was sent for (clocks of two
# hosts); any earlier, it is a duplicate of the scheduled look and is dropped, so a
# re-sent message never starts a second chain of looks.
EARLY_LOOK = timedelta(seconds=0.2)
# Over this, the page says how long a look waited for a worker after it was due.
SHOWN_WORKER_WAIT = timedelta(seconds=2)


@dataclass(frozen=True)
class Claim:
    """A look at a step handed to one worker; `attempt` fences every write it makes.

    `stop_requested` says why the look must stop the step instead (a cancel): only a
    step with something to undo in the cluster (a migration Job) is claimed so.
    `deployment` and `step` are the rows as the claim read and wrote them (the look
    needs not read them again); None when a caller built the claim by hand."""

    deployment_id: int
    step_id: int
    kind: str
    attempt: int
    worker: str
    stop_requested: str = ""
    deployment: Deployment | None = field(default=None, compare=False, repr=False)
    step: Step | None = field(default=None, compare=False, repr=False)


def claim_next_step(deployment_id: int, worker: str) -> Claim | None:
    """Move the deployment as far as it can go without running anything, then claim
    the next look of a runnable step for `worker`; None when it parks, waits (between
    looks, not yet due) or has ended."""
    with transaction.atomic(), trail.batched():
        lane.lock_lane_of(deployment_id)
        deployment = (
            lane.with_rollback_waiting(Deployment.objects.select_for_update(of=("self",)))
            .select_related("environment__cluster", "release", "service")
            .get(pk=deployment_id)
        )
        if deployment.is_final:
            return None
        if deployment.cancel_requested and deployment.state != DeploymentState.RUNNING:
            cancellation.end_cancelled(deployment)
            return None
        steps = list(deployment.steps.order_by("position"))
        if deployment.state == DeploymentState.PENDING:
            if not pass_gates(deployment, steps) or not lane.join_lane(deployment):
                return None
        elif deployment.state == DeploymentState.QUEUED and not lane.try_start(deployment):
            return None
        return _claim_runnable_step(deployment, steps, worker)


def _claim_runnable_step(deployment: Deployment, steps: list[Step], worker: str) -> Claim | None:
    work = [step for step in steps if step.kind not in GATE_STEP_KINDS]
    current = next((s for s in work if s.state == StepState.RUNNING), None)
    if current is not None and not current.is_between_looks:
        return None  # a worker is in a look; the reaper takes it back if that worker died
    rollback = lane.preempting_rollback(deployment)
    if rollback is not None and not _rolling_back(work):
        cancellation.abort_for_rollback(deployment, rollback)
        return None
    if current is not None:
        return _next_look(deployment, current, worker)
    step = next((s for s in work if s.state == StepState.PENDING), None)
    if step is None:
        conclude(deployment, work)
        return None
    if deployment.cancel_requested and step.kind != StepKind.ROLLBACK:
        step = cancellation.stop_at_safe_point(deployment)
        if step is None:
            return None
    return _claim(deployment, step, worker)


def _next_look(deployment: Deployment, step: Step, worker: str) -> Claim | None:
    """The next look of a step between looks: when due, or at once to stop it."""
    if deployment.cancel_requested and step.kind != StepKind.ROLLBACK:
        if step.kind == StepKind.MIGRATE:  # its Job must go: the look deletes it
            return _claim(deployment, step, worker, cancellation.cancelled_by(deployment))
        rollback = cancellation.stop_between_looks(deployment, step)
        return None if rollback is None else _claim(deployment, rollback, worker)
    if step.next_look_at and step.next_look_at > timezone.now() + EARLY_LOOK:
        return None  # early: a duplicate of the look already scheduled
    return _claim(deployment, step, worker)


def _rolling_back(work: list[Step]) -> bool:
    """The deployment is already on its way back (its own rollback step): let it end."""
    open_states = (StepState.PENDING, StepState.RUNNING)
    return any(s.kind == StepKind.ROLLBACK and s.state in open_states for s in work)


def _claim(deployment: Deployment, step: Step, worker: str, stop_requested: str = "") -> Claim:
    now = timezone.now()
    due = min(now, step.due_at or _became_due(deployment, step, now))
    longest = _longest_shown_wait(step.worker_wait, now - due)
    shown_wait_changed = longest != step.worker_wait
    lease = {
        "attempt": step.attempt + 1,
        "lease_owner": worker,
        "heartbeat_at": now,
        # The hard deadline counts from the step's first look, not from each look.
        "deadline_at": step.deadline_at or now + deadline_for(step.kind, deployment),
        "started_at": step.started_at or now,
        "next_look_at": None,
        "due_at": due,
        "taken_at": now,
        "worker_wait": longest,
    }
    attempt = lease["attempt"]
    if step.state == StepState.PENDING:  # its first look (or first since a lost lease)
        detail = {"attempt": attempt, "worker": worker}
        move_step(deployment, step, "claim", audit_detail=detail, **lease)
    else:  # a later look changes no state, only who holds the step
        Step.objects.filter(pk=step.pk, state=StepState.RUNNING).update(**lease)
        for name, value in lease.items():
            setattr(step, name, value)
        if shown_wait_changed:  # not every look: pages would churn
            announce.deployment_changed(deployment.pk, deployment.lane_id)
    return Claim(
        deployment.pk, step.pk, step.kind, attempt, worker, stop_requested, deployment, step
    )


def _longest_shown_wait(longest, waited):
    """The longest wait for a worker worth showing (over SHOWN_WORKER_WAIT), or None."""
    if waited > SHOWN_WORKER_WAIT and (longest is None or waited > longest):
        return waited
    return longest


def _became_due(deployment: Deployment, step: Step, now):
    """When a step's first look became due: when the step before it ended, or when the
    deployment took its lane, whichever is later."""
    ended = (
        deployment.steps.exclude(pk=step.pk)
        .filter(position__lt=step.position, finished_at__isnull=False)
        .aggregate(last=Max("finished_at"))["last"]
    )
    moments = [m for m in (ended, deployment.started_at) if m is not None]
    return max(moments) if moments else now
