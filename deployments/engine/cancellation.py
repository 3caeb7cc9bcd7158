"""Ending a deployment someone asked to stop (engine/actions.py `cancel` records the ask),
and a running promotion that a manual rollback preempts.

A deployment that is not running ends at once; a running one at its next look (the
ask sends one at once): between two steps, or a step between two of its looks. It
ends at once when the cluster is untouched, else by rolling back first: the rollback
step re-applies what ran before without waiting for the rollout it interrupts. A
migration's look deletes its Job first (steps/migrate.py).
"""

from django.utils import timezone

from deployments.engine.outcomes import needs_rollback, plan_rollback
from deployments.engine.transitions import finish, move_open_steps, move_step
from deployments.models import Deployment, Step
from deployments.states import StepKind, StepState


def end_cancelled(deployment: Deployment) -> None:
    """End the (row-locked) deployment `cancelled`, naming who asked."""
    who = deployment.cancel_requested_by
    finish(deployment, "cancel", f"Cancelled by {_name(deployment)}.", actor=who)


def stop_at_safe_point(deployment: Deployment) -> Step | None:
    """Between two steps of a deployment asked to stop: end it (None) when there is
    nothing to undo, else cancel what is left and return the rollback step to run."""
    if not needs_rollback(deployment):
        end_cancelled(deployment)
        return None
    # The cluster may run the new release: cancelling now means rolling back.
    move_open_steps(deployment, "cancel", sources=[StepState.PENDING])
    # The cause alone: the rollback's ending adds where it went, in the past tense.
    reason = f"Cancelled by {_name(deployment)} after the rollout began."
    plan_rollback(deployment, reason)
    return deployment.steps.get(kind=StepKind.ROLLBACK, state=StepState.PENDING)


def stop_between_looks(deployment: Deployment, step: Step) -> Step | None:
    """A step between two looks of a deployment asked to stop: end it `cancelled` (it
    holds nothing in the cluster that a rollback does not undo), then as between steps."""
    move_step(
        deployment,
        step,
        "stop",
        fenced=True,
        reason=f"Stopped: {cancelled_by(deployment)}",
        finished_at=timezone.now(),
        next_look_at=None,
    )
    return stop_at_safe_point(deployment)


def cancelled_by(deployment: Deployment) -> str:
    return f"cancelled by {_name(deployment)}."


def abort_for_rollback(deployment: Deployment, rollback: Deployment) -> None:
    """End a running promotion that a manual rollback preempts, at its next look and
    without touching the cluster again: the rollback's own rollout takes the workloads
    to its release (one rollout, not a rollback of this one and then another)."""
    reason = (
        f"Aborted for rollback #{rollback.pk}: it takes the workloads to "
        f"{rollback.release.version}."
    )
    move_open_steps(
        deployment,
        "cancel",
        sources=[StepState.PENDING, StepState.RUNNING],
        reason=reason,
        lease_owner="",
        next_look_at=None,
    )
    finish(deployment, "abort_for_rollback", reason, superseded_by=rollback, steps_open=False)


def _name(deployment: Deployment) -> str:
    who = deployment.cancel_requested_by
    return who.get_username() if who else "the system"
