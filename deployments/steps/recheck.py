"""The recheck step: the automatic pre-deployment checks once more, as the lane is
claimed, since approval may have come hours after they passed (a backup may have
failed since, a certificate expired). Nothing has changed in the cluster yet, so a
failure ends the deployment without a rollback.

Waived items stay waived: a lead decided them.
"""

from catalog.models import ChecklistPhase
from deployments.checks.running import as_record, checked_items, run_check
from deployments.states import ChecklistState
from deployments.steps import StepContext, StepOutcome


def run(ctx: StepContext) -> StepOutcome:
    records = []
    items = checked_items(ctx.deployment, ChecklistPhase.PRE).filter(state=ChecklistState.PASSED)
    for item in items:
        ctx.check()
        result = run_check(ctx.deployment, item)
        ctx.emit(f"{item.text}: {'passed' if result.passed else 'FAILED'}. {result.evidence}")
        records.append(as_record(item, result))
        if not result.passed:
            reason = f"Pre-deployment check failed when the lane was claimed: {item.text}: "
            return StepOutcome(False, reason + result.evidence, {"checks": records})
    if not records:
        ctx.emit("No automatic pre-deployment check to repeat (each was waived).")
    return StepOutcome(True, "", {"checks": records})
