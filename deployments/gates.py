"""Gates: steps that wait for people (checklist answers, approvals) without a worker.

A gate is evaluated whenever the deployment is advanced; it passes, waits (the
deployment parks with a reason saying for what), or stops the deployment.
"""

from dataclasses import dataclass

from django.utils import timezone

from deployments.models import ChecklistItem, Deployment
from deployments.states import ChecklistState, Decision, StepKind
from environments.models import ChecklistPhase, CheckMode


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
    items = list(deployment.checklist.filter(phase=ChecklistPhase.PRE))
    for item in items:
        if item.mode == CheckMode.AUTOMATIC and item.state == ChecklistState.PENDING:
            run_automatic_check(item, deployment)
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


def run_automatic_check(item: ChecklistItem, deployment: Deployment) -> None:
    """Answer an automatic item whose check can be decided from what the portal knows.

    Checks that need the cluster or CI are answered by later steps; until then the
    item stays pending and the gate says it is waiting for it.
    """
    check = RELEASE_CHECKS.get(item.check_kind)
    if check is None:
        return
    passed, evidence = check(deployment)
    item.state = ChecklistState.PASSED if passed else ChecklistState.FAILED
    item.evidence, item.answered_at = evidence, timezone.now()
    item.save(update_fields=["state", "evidence", "answered_at"])


def _release_built(deployment: Deployment) -> tuple[bool, str]:
    release = deployment.release
    return release.is_deployable, f"Release {release.version} is {release.state}."


def _image_pushed(deployment: Deployment) -> tuple[bool, str]:
    image = deployment.release.image
    return "@sha256:" in image, f"Image pinned by digest: {image}"


RELEASE_CHECKS = {"release_built": _release_built, "image_pushed": _image_pushed}
