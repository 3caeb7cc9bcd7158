"""People answering a deployment's checklist: tick or fail a manual item, or waive it.

Every answer records who, when and the note; a pre-deployment answer resumes the
deployment's gate, a post-deployment answer updates its verification.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from catalog.models import ChecklistPhase, CheckMode
from deployments.engine.actions import locked, settle_gates
from deployments.engine.checklist import refresh_verification
from deployments.models import ChecklistItem
from deployments.states import ChecklistState, DeploymentState
from live import announce
from portal.masking import people_text
from portal.refusals import ActionRefused, forbidden

ANSWERS = {"passed": ChecklistState.PASSED, "failed": ChecklistState.FAILED}
# Post-deployment items are verified after a success; pre-deployment ones while pending.
ANSWERABLE_IN: dict[str, set[DeploymentState]] = {
    ChecklistPhase.PRE: {DeploymentState.PENDING},
    ChecklistPhase.POST: {DeploymentState.SUCCEEDED, DeploymentState.RUNNING},
}


def open_for_answers(phase: str, state: str) -> bool:
    """Whether a deployment in `state` takes answers to its items of `phase` (pages ask
    this to show only the forms the engine would accept)."""
    return state in ANSWERABLE_IN.get(phase, ())


def answer_item(actor: User, item_id: int, answer: str, note: str = "") -> ChecklistItem:
    """Tick (`passed`) or fail (`failed`) a manual checklist item, with an optional note
    (stored masked: `people_text`)."""
    if answer not in ANSWERS:
        raise ActionRefused(f"{answer!r} is not an answer; use passed or failed.")
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.mode != CheckMode.MANUAL:
            raise ActionRefused(
                f"“{item.text}” is checked by the portal itself; it cannot be answered by hand."
            )
        if not roles.can_answer_checklist(actor, item):
            raise forbidden(
                f"{actor.get_username()} may not answer “{item.text}”; "
                f"a {item.deployment.environment.approver_group} or an admin may."
            )
        return _record(
            actor, item, ANSWERS[answer], people_text(note.strip()), AuditAction.CHECKLIST_ANSWERED
        )


def waive_item(actor: User, item_id: int, reason: str) -> ChecklistItem:
    """Let a gate pass unanswered, or past a failed check: a lead or admin, with a
    written reason (stored masked). A failed check keeps its evidence; the waiver is kept
    beside it."""
    reason = people_text(" ".join(reason.split()))
    with transaction.atomic():
        item = _locked_item(item_id)
        if not roles.can_waive_checklist(actor, item):
            raise forbidden(f"{actor.get_username()} may not waive items; a lead or admin may.")
        if not reason:
            raise ActionRefused(f"Say why “{item.text}” may be waived; the reason is kept.")
        return _record(actor, item, ChecklistState.WAIVED, reason, AuditAction.CHECKLIST_WAIVED)


def waivable(item: ChecklistItem) -> bool:
    """Open items may be waived, and so may a failed pre-deployment check (a person's
    "failed" stands: it ended the deployment)."""
    if item.state == ChecklistState.PENDING:
        return True
    return (
        item.state == ChecklistState.FAILED
        and item.mode == CheckMode.AUTOMATIC
        and item.phase == ChecklistPhase.PRE
    )


def _record(
    actor: User,
    item: ChecklistItem,
    state: ChecklistState,
    note: str,
    action: AuditAction,
) -> ChecklistItem:
    deployment = item.deployment
    open_to_this = waivable(item) if state == ChecklistState.WAIVED else _is_open(item)
    if not open_to_this:
        who = item.answered_by or "the portal"
        raise ActionRefused(
            f"“{item.text}” was {item.get_state_display().lower()} already by {who} "
            f"at {item.answered_at:%H:%M:%S}; reload the page to see it."
        )
    if not open_for_answers(item.phase, deployment.state):
        raise ActionRefused(
            f"“{item.text}” cannot be answered now: deployment #{deployment.pk} is "
            f"{deployment.get_state_display().lower()}."
        )
    if state == ChecklistState.WAIVED:
        item.waiver_reason = note  # what a check found stays in `evidence`
    else:
        item.evidence = note
    item.state = state
    item.answered_by, item.answered_at = actor, timezone.now()
    item.save(update_fields=["state", "evidence", "waiver_reason", "answered_by", "answered_at"])
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    trail.record(
        action,
        actor=actor,
        deployment=deployment,
        item=item.text,
        phase=item.phase,
        state=state,
        note=note,
    )
    if item.phase == ChecklistPhase.PRE:
        settle_gates(deployment)
    else:
        refresh_verification(deployment)
    return item


def _is_open(item: ChecklistItem) -> bool:
    return item.state == ChecklistState.PENDING


def _locked_item(item_id: int) -> ChecklistItem:
    """The item, with its deployment row-locked first (as every action locks it)."""
    deployment_id = (
        ChecklistItem.objects.filter(pk=item_id).values_list("deployment_id", flat=True).first()
    )
    if deployment_id is None:
        raise ActionRefused(f"There is no checklist item #{item_id}.")
    deployment = locked(deployment_id)
    item = (
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("answered_by")
        .get(pk=item_id)
    )
    item.deployment = deployment
    return item
