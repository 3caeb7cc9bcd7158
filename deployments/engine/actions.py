"""What people do to a deployment after requesting it: approve, reject, cancel."""

from django.db import IntegrityError, transaction

from deployments import audit
from deployments.engine.enqueue import advance_after_commit
from deployments.models import Approval, Deployment
from deployments.states import FINAL_STEP_STATES, Decision, DeploymentState, StepKind
from portal import roles


class ActionRefused(PermissionError):
    """The action is not allowed for this person or in this state; the message says why."""


def decide(deployment_id: int, user, decision: str, comment: str = "") -> Approval:
    """Record one person's approval or rejection and let the engine re-evaluate the gate."""
    if decision not in Decision.values:
        raise ActionRefused(f"{decision!r} is not a decision; use approve or reject.")
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if not _waits_for_approval(deployment):
            raise ActionRefused(
                f"Deployment #{deployment.pk} is not waiting for approval "
                f"({deployment.get_state_display().lower()})."
            )
        if deployment.requested_by_id == user.pk:
            raise ActionRefused("Nobody approves their own deployment; ask another lead.")
        if not roles.can_approve(user, deployment):
            raise ActionRefused(
                f"{user.get_username()} may not approve deployments to "
                f"{deployment.environment.name} "
                f"(approvers: {deployment.environment.approver_group})."
            )
        try:
            with transaction.atomic():
                approval = Approval.objects.create(
                    deployment=deployment, user=user, decision=decision, comment=comment
                )
        except IntegrityError:
            raise ActionRefused(
                f"{user.get_username()} has already decided on this deployment."
            ) from None
        action = "approved" if decision == Decision.APPROVE else "rejected"
        audit.record(f"deployment.{action}", actor=user, deployment=deployment, comment=comment)
        advance_after_commit(deployment.pk)
    return approval


def cancel(deployment_id: int, user=None) -> Deployment:
    """Ask a deployment to stop: pending or queued ones end at once, a running one at
    its next safe point (between steps). `user` None means an operator at the CLI."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.is_final:
            raise ActionRefused(
                f"Deployment #{deployment.pk} already ended "
                f"({deployment.get_state_display().lower()})."
            )
        if user is not None and not roles.can_cancel(user, deployment):
            raise ActionRefused(
                f"{user.get_username()} may not cancel deployment #{deployment.pk}."
            )
        Deployment.objects.filter(pk=deployment.pk).update(
            cancel_requested=True, cancel_requested_by=user
        )
        audit.record("deployment.cancel_requested", actor=user, deployment=deployment)
        advance_after_commit(deployment.pk)
    deployment.refresh_from_db()
    return deployment


def resume(deployment_id: int) -> None:
    """Re-evaluate a parked deployment (an answer or a setting changed)."""
    with transaction.atomic():
        advance_after_commit(deployment_id)


def _waits_for_approval(deployment: Deployment) -> bool:
    return (
        deployment.state == DeploymentState.PENDING
        and deployment.steps.filter(kind=StepKind.APPROVAL)
        .exclude(state__in=FINAL_STEP_STATES)
        .exists()
    )


def _locked(deployment_id: int) -> Deployment:
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("environment")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None:
        raise ActionRefused(f"There is no deployment #{deployment_id}.")
    return deployment
