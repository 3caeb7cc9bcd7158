"""Ending a deployment someone asked to stop (engine/actions.py `cancel` records the ask).

A deployment that is not running ends at once; a running one at its next safe point,
between two steps: at once when the cluster is untouched, else by rolling back first.
"""

from django.utils import timezone

from deployments.engine.outcomes import needs_rollback, plan_rollback
from deployments.engine.transitions import finish
from deployments.live import announce
from deployments.models import Deployment, Step
from deployments.states import DeploymentState, StepKind, StepState


def end_cancelled(deployment: Deployment) -> None:
    """End the (row-locked) deployment `cancelled`, naming who asked."""
    who = deployment.cancel_requested_by
    finish(deployment, DeploymentState.CANCELLED, f"Cancelled by {_name(deployment)}.", actor=who)


def stop_at_safe_point(deployment: Deployment) -> Step | None:
    """Between two steps of a deployment asked to stop: end it (None) when there is
    nothing to undo, else cancel what is left and return the rollback step to run."""
    if not needs_rollback(deployment):
        end_cancelled(deployment)
        return None
    # The cluster may run the new release: cancelling now means rolling back.
    deployment.steps.filter(state=StepState.PENDING).update(
        state=StepState.CANCELLED, finished_at=timezone.now()
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    reason = f"Cancelled by {_name(deployment)} after the rollout began; rolled back."
    plan_rollback(deployment, reason)
    return deployment.steps.get(kind=StepKind.ROLLBACK, state=StepState.PENDING)


def _name(deployment: Deployment) -> str:
    who = deployment.cancel_requested_by
    return who.get_username() if who else "the system"
