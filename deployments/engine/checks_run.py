"""Running the automatic checklist checks and recording what they found.

Pre-deployment checks run in a task of their own when the pre-deployment gate asks
(at the request, again every PORTAL_PRECHECK_RETRY_SECONDS while one fails or waits,
and at once when CI reports or someone presses "Check again"); they never run under
a lock. They run once more, as the `recheck` step, when the lane is claimed.
Post-deployment checks run in the `post_checks` step (steps/post_checks.py).

A check's verdict reaches its item here only: under the deployment's row lock, and
only while the item is still the portal's to decide (a waived item stays waived).
"""

from django.db import transaction
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from catalog.models import ChecklistPhase
from deployments.checks.running import as_record, checked_items, run_check
from deployments.engine.actions import locked, settle_gates
from deployments.engine.check_requests import REQUESTED_AT, UNDECIDED
from deployments.engine.enqueue import advance_after_commit
from deployments.models import ChecklistItem, Deployment, Step
from deployments.states import ChecklistState, DeploymentState, StepKind
from live import announce
from portal.refusals import ActionRefused, forbidden

# -- pre-deployment: the task -------------------------------------------------------


def run_pre_checks(deployment_id: int) -> None:
    """The task's body: check every undecided automatic pre-deployment item, record
    the results and let the gate decide again."""
    deployment = (
        Deployment.objects.select_related("release", "service", "environment__cluster")
        .filter(pk=deployment_id, state=DeploymentState.PENDING)
        .first()
    )
    if deployment is None:
        return
    items = checked_items(deployment, ChecklistPhase.PRE).filter(state__in=UNDECIDED)
    records = [as_record(item, run_check(deployment, item)) for item in items]
    with transaction.atomic(), trail.batched():
        deployment = locked(deployment_id)
        if deployment.state != DeploymentState.PENDING:
            return
        apply_check_results(
            deployment, records, decidable=(ChecklistState.PENDING, ChecklistState.FAILED)
        )
        settle_gates(deployment)


def check_again(actor, deployment_id: int) -> None:
    """A person asks for the failing or waiting pre-deployment checks to run now (after
    fixing what they found); anyone who may deploy there may ask."""
    with transaction.atomic():
        deployment = locked(deployment_id)
        if not roles.can_deploy(actor, deployment.environment):
            raise forbidden(f"{actor.get_username()} may not deploy to {deployment.environment}.")
        undecided = checked_items(deployment, ChecklistPhase.PRE).filter(state__in=UNDECIDED)
        if deployment.state != DeploymentState.PENDING or not undecided.exists():
            raise ActionRefused(
                f"Deployment #{deployment.pk} has no pre-deployment check to run again "
                f"(it is {deployment.get_state_display().lower()})."
            )
        trail.record(AuditAction.CHECKLIST_CHECK_AGAIN, actor=actor, deployment=deployment)
    check_again_soon(deployment_id)


def check_again_soon(deployment_id: int) -> None:
    """Forget the last ask, so the gate asks for a round of checks at its next look
    (now: the deployment is advanced after commit)."""
    with transaction.atomic():
        steps = Step.objects.select_for_update().filter(
            deployment_id=deployment_id, kind=StepKind.PRE_CHECKS
        )
        for step in steps:
            if REQUESTED_AT in step.result:
                result = {k: v for k, v in step.result.items() if k != REQUESTED_AT}
                Step.objects.filter(pk=step.pk).update(result=result)
        advance_after_commit(deployment_id)


# -- recording ----------------------------------------------------------------------

# What each checks step may decide: the recheck repeats passed items, the post checks
# answer the post-deployment ones.
STEP_DECIDES: dict[str, tuple[str, ...]] = {
    StepKind.RECHECK: (ChecklistState.PASSED,),
    StepKind.POST_CHECKS: (ChecklistState.PENDING,),
}


def apply_step_checks(deployment: Deployment, kind: str, result: dict) -> None:
    """The verdicts a checks step returned, onto their items (under the row lock)."""
    if kind in STEP_DECIDES:
        apply_check_results(deployment, result.get("checks", []), STEP_DECIDES[kind])


def apply_check_results(
    deployment: Deployment, records: list[dict], decidable=(ChecklistState.PENDING,)
) -> None:
    """Write each result on its item if the item is still in a `decidable` state;
    audited when the verdict changes. Called under the deployment's row lock."""
    items = {
        item.pk: item
        for item in deployment.checklist.filter(
            pk__in=[r["item"] for r in records], state__in=decidable
        )
    }
    for record in records:
        item = items.get(record["item"])
        if item is not None:
            _write(deployment, item, record)


def _write(deployment: Deployment, item: ChecklistItem, record: dict) -> None:
    if record["passed"]:
        state = ChecklistState.PASSED
    elif record["waits"]:
        state = ChecklistState.PENDING
    else:
        state = ChecklistState.FAILED
    changed = state != item.state or not item.answered_at
    item.state, item.evidence = state, record["evidence"]
    item.answered_at = timezone.now() if state != ChecklistState.PENDING else None
    item.answered_by = None
    item.save(update_fields=["state", "evidence", "answered_at", "answered_by"])
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    if changed:  # a check that finds the same again is not news
        trail.record(
            AuditAction.CHECKLIST_CHECKED,
            deployment=deployment,
            item=item.text,
            phase=item.phase,
            state=state,
            note=record["evidence"],
        )
