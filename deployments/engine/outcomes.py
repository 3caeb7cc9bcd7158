"""Recording what a step did, and what that means for its deployment."""

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit import trail
from audit.actions import AuditAction
from deployments.engine import reasons
from deployments.engine.checklist import answer_step_items
from deployments.engine.checks_run import apply_step_checks
from deployments.engine.enqueue import advance_after_commit
from deployments.engine.lane import lock_lane_of
from deployments.engine.transitions import finish, move_open_steps, move_step
from deployments.models import Deployment, Step
from deployments.states import (
    GATE_STEP_KINDS,
    StepKind,
    StepState,
    Trigger,
)
from deployments.steps import StepOutcome
from live import announce
from portal.masking import mask_json, mask_secrets

log = logging.getLogger(__name__)


def record_outcome(deployment_id: int, step_id: int, attempt: int, outcome: StepOutcome) -> bool:
    """Write a step's outcome if this attempt still owns it; False when fenced off.

    The filter on `attempt` is the fence: a worker whose lease was taken away (the
    reaper re-queued its step, another worker claimed it) updates zero rows and
    its late result is dropped.
    """
    outcome = StepOutcome(
        outcome.ok, mask_secrets(outcome.reason), mask_json(outcome.result), outcome.stopped
    )
    with transaction.atomic(), trail.batched():
        lock_lane_of(deployment_id)  # lane before deployment, as every claim does
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("environment")
            .get(pk=deployment_id)
        )
        step = _end_step(deployment, step_id, attempt, outcome)
        if step is None:
            log.warning(
                "step %s attempt %s was taken away; its outcome is dropped", step_id, attempt
            )
            return False
        kind = step.kind
        if not outcome.stopped:  # a stopped step answers nothing; the next claim ends it
            answer_step_items(deployment, kind, outcome.ok, outcome.reason or _passed(kind))
            apply_step_checks(deployment, kind, outcome.result)
        if not outcome.ok and not outcome.stopped:
            handle_failure(deployment, step, outcome.reason)
        if not deployment.is_final and not _conclude_if_done(deployment):
            advance_after_commit(deployment_id)
    return True


def _end_step(
    deployment: Deployment, step_id: int, attempt: int, outcome: StepOutcome
) -> Step | None:
    """The step, ended by this outcome; None when this attempt no longer owns it."""
    step = Step.objects.get(pk=step_id)
    if step.state != StepState.RUNNING or step.attempt != attempt:
        return None
    ended = move_step(
        deployment,
        step,
        _ending(outcome),
        fenced=True,
        reason=outcome.reason,
        result=outcome.result,
        finished_at=timezone.now(),
        lease_owner="",
        next_look_at=None,
    )
    return step if ended else None


def _ending(outcome: StepOutcome) -> str:
    """The step's transition for this outcome."""
    if outcome.stopped:
        return "stop"
    return "succeed" if outcome.ok else "fail"


def _conclude_if_done(deployment: Deployment) -> bool:
    """End the deployment now when no step is left, saving a round trip through the broker."""
    if deployment.cancel_requested:
        return False  # the next claim ends it as cancelled
    steps = list(deployment.steps.order_by("position"))
    if any(step.state in (StepState.PENDING, StepState.RUNNING) for step in steps):
        return False
    conclude(deployment, [s for s in steps if s.kind not in GATE_STEP_KINDS])
    return True


def handle_failure(deployment: Deployment, step: Step, reason: str) -> None:
    """After a failed step: roll back when the cluster was changed and rolling back is
    wanted, else end the deployment failed. Called under the deployment's row lock."""
    if step.kind == StepKind.ROLLBACK:
        finish(deployment, "fail_rollback", reasons.rollback_failed(deployment, reason))
        return
    move_open_steps(deployment, "skip", sources=[StepState.PENDING])
    if needs_rollback(deployment) and _rolls_back_on_failure(deployment):
        plan_rollback(deployment, reason)
    else:
        finish(deployment, "fail", reason)


def _rolls_back_on_failure(deployment: Deployment) -> bool:
    """A promotion follows the environment's auto-rollback setting; a manual rollback
    that fails always restores what ran before it, so the cluster is never left on a
    release nobody chose because the way back failed."""
    return deployment.trigger == Trigger.ROLLBACK or deployment.environment.auto_rollback


def needs_rollback(deployment: Deployment) -> bool:
    """The cluster may run something new: a rollout began (its result says it applied)."""
    return bool(deployment.previous_images) and any(
        step.result.get("applied") for step in deployment.steps.filter(kind=StepKind.ROLLOUT)
    )


def plan_rollback(deployment: Deployment, reason: str) -> None:
    """Append the rollback step; the deployment keeps its lane and the original reason."""
    position = (deployment.steps.aggregate(last=Max("position"))["last"] or 0) + 1
    Step.objects.create(deployment=deployment, kind=StepKind.ROLLBACK, position=position)
    Deployment.objects.filter(pk=deployment.pk).update(reason=reason)
    deployment.reason = reason
    announce.deployment_changed(deployment.pk, deployment.lane_id)  # its page shows the new step
    # Notified when it ends (rolled back, or the rollback failed too), not now.
    trail.record(AuditAction.DEPLOYMENT_ROLLING_BACK, deployment=deployment, reason=reason)


def conclude(deployment: Deployment, steps: list[Step]) -> None:
    """Every step has ended: the deployment's final state follows from them."""
    rollback = next((s for s in reversed(steps) if s.kind == StepKind.ROLLBACK), None)
    if rollback is not None and rollback.state == StepState.SUCCEEDED:
        finish(deployment, "roll_back", reasons.rolled_back(deployment), steps_open=False)
    elif any(step.state == StepState.FAILED for step in steps):
        failed = next(s for s in steps if s.state == StepState.FAILED)
        reason = deployment.reason or failed.reason
        finish(deployment, "fail", reason, steps_open=False)
    else:
        finish(deployment, "succeed", "", steps_open=False)


def _passed(kind: str) -> str:
    return f"{StepKind(kind).label}: succeeded."
