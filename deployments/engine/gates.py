"""Gates: steps that wait for people (checklist answers, approvals) without a worker.

A gate is evaluated whenever the deployment is claimed; it passes, waits (the
deployment parks with a reason saying for what), or stops the deployment.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from django.conf import settings
from django.utils import timezone

from catalog.models import ChecklistPhase, CheckMode
from deployments.checks.registry import FILLED_KINDS
from deployments.engine.check_requests import UNDECIDED, checks_due, request_pre_checks
from deployments.engine.transitions import finish, move_step
from deployments.models import Deployment, Step
from deployments.notifications.outbox import notify
from deployments.states import (
    GATE_STEP_KINDS,
    ChecklistState,
    Decision,
    NotificationEvent,
    StepKind,
    StepState,
)
from live import announce
from portal.masking import mask_secrets


class GateVerdict(Enum):
    """What a gate says now; never stored (the gate step's state is)."""

    PASSED = "passed"
    WAITING = "waiting"  # for people: the deployment parks
    STOPPED = "stopped"  # the deployment ends (failed or rejected)


@dataclass(frozen=True)
class GateResult:
    verdict: GateVerdict
    reason: str = ""
    ending: str = ""  # for STOPPED: the deployment's transition, "fail" or "reject"


PASSED = GateResult(GateVerdict.PASSED)


# A gate's reason quotes what people wrote (a rejection comment, a note) and what checks
# found; it becomes the step's and the deployment's reason, so it is masked here, once.
def waiting(reason: str) -> GateResult:
    return GateResult(GateVerdict.WAITING, mask_secrets(reason))


def stopped(ending: str, reason: str) -> GateResult:
    return GateResult(GateVerdict.STOPPED, mask_secrets(reason), ending)


def pass_gates(deployment: Deployment, steps: list[Step]) -> bool:
    """Evaluate the gate steps in order under the deployment's row lock; True when all
    passed. A waiting gate parks the deployment; a stopped one ends it."""
    for step in steps:
        if step.kind not in GATE_STEP_KINDS or step.state == StepState.SUCCEEDED:
            continue
        result = evaluate_gate(step.kind, deployment)
        if result.verdict == GateVerdict.PASSED:
            _end_gate(deployment, step, "pass_gate", "")
            continue
        if result.verdict == GateVerdict.STOPPED:
            _end_gate(deployment, step, "fail_gate", result.reason)
            finish(deployment, result.ending, result.reason)
            return False
        _park(deployment, step, result.reason)
        return False
    return True


def evaluate_gate(kind: str, deployment: Deployment) -> GateResult:
    return GATES[kind](deployment)


def pre_checks_gate(deployment: Deployment) -> GateResult:
    """The pre-deployment items: a person's "failed" stops the deployment; a check
    that failed holds it (fix and check again, or a lead waives it with a reason);
    checks not yet decided are asked for; manual items wait for people."""
    items = list(deployment.checklist.filter(phase=ChecklistPhase.PRE))
    refused = [i.text for i in items if i.state == ChecklistState.FAILED and not _checked(i)]
    if refused:
        return stopped("fail", f"Pre-deployment check failed: {', '.join(refused)}.")
    undecided = [i for i in items if _checked(i) and i.state in UNDECIDED]
    if undecided:
        _ask_for_checks(deployment)
    if failing := [i for i in undecided if i.state == ChecklistState.FAILED]:
        return waiting(_failing_reason(failing))
    if running := [i.text for i in undecided if not i.evidence]:
        return waiting(f"Running the pre-deployment checks: {', '.join(running)}.")
    if undecided:
        return waiting(" ".join(i.evidence for i in undecided))
    open_items = [item.text for item in items if item.state == ChecklistState.PENDING]
    if open_items:
        return waiting(f"Waiting for the pre-deployment checklist: {', '.join(open_items)}.")
    return PASSED


def _checked(item) -> bool:
    """Decided by a check of deployments/checks/ (not by a person, not from a step)."""
    return item.mode == CheckMode.AUTOMATIC and item.check_kind not in FILLED_KINDS


def _ask_for_checks(deployment: Deployment) -> None:
    gate = deployment.steps.get(kind=StepKind.PRE_CHECKS)
    if checks_due(gate):
        request_pre_checks(deployment, gate)


def _failing_reason(failing) -> str:
    found = " ".join(f"{item.text}: {item.evidence}" for item in failing)
    every = f"{settings.PORTAL_PRECHECK_RETRY_SECONDS:.0f} s"
    return (
        f"Pre-deployment check failed. {found} Fix it and press Check again (the portal "
        f"also checks again every {every}), or a lead may waive it with a reason."
    )


def approval_gate(deployment: Deployment) -> GateResult:
    approvals = list(deployment.approvals.select_related("user"))
    rejection = next((a for a in approvals if a.decision == Decision.REJECT), None)
    if rejection:
        comment = f": {rejection.comment}" if rejection.comment else "."
        who = rejection.user.get_username()
        return stopped("reject", f"Rejected by {who}{comment}")
    approved = sum(1 for a in approvals if a.decision == Decision.APPROVE)
    required = deployment.environment.required_approvals
    if approved >= required:
        return PASSED
    missing = required - approved
    group = deployment.environment.approver_group
    plural = "s" if missing > 1 else ""
    return waiting(f"Waiting for {missing} approval{plural} from a {group}.")


GATES: dict[str, Callable[[Deployment], GateResult]] = {
    StepKind.PRE_CHECKS: pre_checks_gate,
    StepKind.APPROVAL: approval_gate,
}


def _end_gate(deployment: Deployment, step: Step, transition: str, reason: str) -> None:
    now = timezone.now()
    started = step.started_at or now
    move_step(deployment, step, transition, reason=reason, finished_at=now, started_at=started)


def _park(deployment: Deployment, step: Step, reason: str) -> None:
    """Wait for people: no worker holds anything while the deployment is parked."""
    if step.state != StepState.WAITING:
        move_step(deployment, step, "park", started_at=timezone.now(), reason=reason)
    elif step.reason != reason:  # still waiting, now for something else: say what
        Step.objects.filter(pk=step.pk).update(reason=reason)
        announce.deployment_changed(deployment.pk, deployment.lane_id)
    if deployment.reason != reason:
        Deployment.objects.filter(pk=deployment.pk).update(reason=reason)
        deployment.reason = reason
        announce.deployment_changed(deployment.pk, deployment.lane_id)
    if step.kind == StepKind.APPROVAL:
        notify(deployment, NotificationEvent.AWAITING_APPROVAL)
