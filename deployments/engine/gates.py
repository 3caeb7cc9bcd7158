"""Gates: steps that wait for people (checklist answers, approvals) without a worker.

A gate is evaluated whenever the deployment is advanced; it passes, waits (the
deployment parks with a reason saying for what), or stops the deployment.
"""

from dataclasses import dataclass

from deployments.models import Deployment
from deployments.states import ChecklistState, Decision, StepKind
from environments.models import ChecklistPhase


@dataclass(frozen=True)
class GateResult:
    verdict: str  # "passed" | "waiting" | "stopped"
    reason: str = ""
    final_state: str = ""  # for "stopped": failed or rejected


PASSED = GateResult("passed")


def waiting(reason: str) -> GateResult:
    return GateResult("waiting", reason)


def stopped(final_state: str, reason: str) -> GateResult:
    return GateResult("stopped", reason, final_state)


def evaluate_gate(kind: str, deployment: Deployment) -> GateResult:
    return GATES[kind](deployment)


def pre_checks_gate(deployment: Deployment) -> GateResult:
    # Automatic items the portal can decide itself are answered when the deployment
    # is recorded (engine/checklist.py); the rest wait for their checks.
    items = list(deployment.checklist.filter(phase=ChecklistPhase.PRE))
    failed = [item.text for item in items if item.state == ChecklistState.FAILED]
    if failed:
        return stopped("failed", f"Pre-deployment check failed: {', '.join(failed)}.")
    open_items = [item.text for item in items if item.state == ChecklistState.PENDING]
    if open_items:
        return waiting(f"Waiting for the pre-deployment checklist: {', '.join(open_items)}.")
    return PASSED


def approval_gate(deployment: Deployment) -> GateResult:
    approvals = list(deployment.approvals.select_related("user"))
    rejection = next((a for a in approvals if a.decision == Decision.REJECT), None)
    if rejection:
        comment = f": {rejection.comment}" if rejection.comment else "."
        return stopped("rejected", f"Rejected by {rejection.user.get_username()}{comment}")
    approved = sum(1 for a in approvals if a.decision == Decision.APPROVE)
    required = deployment.environment.required_approvals
    if approved >= required:
        return PASSED
    missing = required - approved
    group = deployment.environment.approver_group
    plural = "s" if missing > 1 else ""
    return waiting(f"Waiting for {missing} approval{plural} from a {group}.")


GATES = {StepKind.PRE_CHECKS: pre_checks_gate, StepKind.APPROVAL: approval_gate}
