"""What people do to a deployment after requesting it: approve or reject, cancel,
review a break-glass. Each is atomic under the deployment's row lock and audited."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from deployments.engine.enqueue import advance_after_commit
from deployments.engine.gates import pass_gates
from deployments.engine.lane import join_lane, lock_lane_of
from deployments.models import Approval, Deployment
from deployments.states import Decision, DeploymentState, StepKind, StepState, Trigger
from live import announce
from portal.masking import people_text
from portal.refusals import ActionRefused, forbidden

DECISION_ACTIONS: dict[str, AuditAction] = {
    Decision.APPROVE: AuditAction.DEPLOYMENT_APPROVED,
    Decision.REJECT: AuditAction.DEPLOYMENT_REJECTED,
}


def decide(actor: User, deployment_id: int, decision: str, comment: str = "") -> Approval:
    """Record one person's approval or rejection and let the engine re-evaluate the gate.

    Only while the deployment asks for it (its pre-deployment items are done); one
    decision per person; a rejection needs a comment, which becomes the reason. The
    comment is stored masked (`people_text`).
    """
    if decision not in Decision.values:
        raise ActionRefused(f"{decision!r} is not a decision; use approve or reject.")
    comment = people_text(comment.strip())
    if decision == Decision.REJECT and not comment:
        raise ActionRefused("Say why you reject it: the requester reads your comment.")
    with transaction.atomic():
        deployment = locked(deployment_id)
        _check_may_decide(actor, deployment)
        try:
            with transaction.atomic():
                approval = Approval.objects.create(
                    deployment=deployment, user=actor, decision=decision, comment=comment
                )
        except IntegrityError:
            raise ActionRefused(
                f"{actor.get_username()} has already decided on #{deployment.pk}; "
                "one person counts once."
            ) from None
        announce.deployment_changed(deployment.pk, deployment.lane_id)
        action = DECISION_ACTIONS[decision]
        trail.record(action, actor=actor, deployment=deployment, comment=comment)
        settle_gates(deployment)
    return approval


def _check_may_decide(actor: User, deployment: Deployment) -> None:
    if not waits_for_approval(deployment):
        raise ActionRefused(
            f"Deployment #{deployment.pk} is not waiting for approval "
            f"({deployment.reason or deployment.get_state_display().lower()})."
        )
    if deployment.requested_by_id == actor.pk:
        raise forbidden("Nobody approves their own deployment; ask another lead.")
    if not roles.can_approve(actor, deployment):
        raise forbidden(
            f"{actor.get_username()} may not approve deployments to "
            f"{deployment.environment.name} (approvers: {deployment.environment.approver_group})."
        )


def cancel(actor: User | None, deployment_id: int) -> Deployment:
    """Ask a deployment to stop: pending or queued ones end at once, a running one at
    its next look, sent at once (engine/cancellation.py says what that undoes).
    `actor` None means an operator at the CLI."""
    with transaction.atomic():
        deployment = locked(deployment_id)
        if deployment.is_final:
            raise ActionRefused(
                f"Deployment #{deployment.pk} already ended "
                f"({deployment.get_state_display().lower()})."
            )
        if deployment.cancel_requested:
            raise ActionRefused(f"Deployment #{deployment.pk} is already being cancelled.")
        if actor is not None and not roles.can_cancel(actor, deployment):
            raise forbidden(
                f"{actor.get_username()} may not cancel deployment #{deployment.pk}; "
                "its requester, a lead or an admin may."
            )
        Deployment.objects.filter(pk=deployment.pk).update(
            cancel_requested=True, cancel_requested_by=actor
        )
        announce.deployment_changed(deployment.pk, deployment.lane_id)
        trail.record(AuditAction.DEPLOYMENT_CANCEL_REQUESTED, actor=actor, deployment=deployment)
        advance_after_commit(deployment.pk, urgent=True)
    deployment.refresh_from_db()
    return deployment


def review_break_glass(actor: User, deployment_id: int, note: str) -> Deployment:
    """Another lead or admin looks at a break-glass deployment afterwards and says so;
    the note is stored masked (`people_text`)."""
    note = people_text(note.strip())
    with transaction.atomic():
        deployment = locked(deployment_id)
        if deployment.trigger != Trigger.BREAK_GLASS:
            raise ActionRefused(f"Deployment #{deployment.pk} did not break glass.")
        if deployment.break_glass_reviewed_at is not None:
            raise ActionRefused(
                f"Deployment #{deployment.pk} was reviewed already by "
                f"{deployment.break_glass_reviewed_by} at "
                f"{deployment.break_glass_reviewed_at:%Y-%m-%d %H:%M}."
            )
        if not roles.can_review_break_glass(actor, deployment):
            raise forbidden(
                "A break-glass deployment is reviewed by another lead or admin, "
                "never by the person who broke the glass."
            )
        if not note:
            raise ActionRefused("Write what you checked (the review note is kept as history).")
        now = timezone.now()
        Deployment.objects.filter(pk=deployment.pk).update(
            break_glass_reviewed_by=actor,
            break_glass_reviewed_at=now,
            break_glass_review_note=note,
        )
        announce.deployment_changed(deployment.pk, deployment.lane_id)
        trail.record(
            AuditAction.DEPLOYMENT_BREAK_GLASS_REVIEWED,
            actor=actor,
            deployment=deployment,
            note=note,
        )
    deployment.refresh_from_db()
    return deployment


def resume(deployment_id: int) -> None:
    """Re-evaluate a parked deployment (an answer or a setting changed)."""
    with transaction.atomic():
        advance_after_commit(deployment_id)


def waits_for_approval(deployment: Deployment) -> bool:
    """The deployment is pending and its approval gate has been reached (asked)."""
    return (
        deployment.state == DeploymentState.PENDING
        and deployment.steps.filter(kind=StepKind.APPROVAL, state=StepState.WAITING).exists()
    )


def settle_gates(deployment: Deployment) -> None:
    """Re-evaluate a pending deployment's gates now, in the caller's transaction, so
    the page that answered shows at once what the answer changed (asked for approval,
    queued, rejected); a worker takes it on from there."""
    if deployment.state == DeploymentState.PENDING:
        steps = list(deployment.steps.order_by("position"))
        if pass_gates(deployment, steps):
            join_lane(deployment)
    advance_after_commit(deployment.pk)


def locked(deployment_id: int) -> Deployment:
    """The deployment, row-locked for the caller's transaction (its lane first, as the
    engine always locks them); refused when unknown."""
    lock_lane_of(deployment_id)
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("environment")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None:
        raise ActionRefused(f"There is no deployment #{deployment_id}.")
    return deployment
