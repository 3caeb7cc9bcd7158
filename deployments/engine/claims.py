"""Claiming work: what should happen next to a deployment, decided under its row lock."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deployments import audit
from deployments.engine import lane
from deployments.engine.gates import evaluate_gate
from deployments.engine.outcomes import conclude, needs_rollback, plan_rollback
from deployments.engine.transitions import finish
from deployments.models import Deployment, Step
from deployments.notifications.outbox import notify
from deployments.states import (
    GATE_STEP_KINDS,
    DeploymentState,
    NotificationEvent,
    StepKind,
    StepState,
)
from deployments.steps import deadline_for


@dataclass(frozen=True)
class Claim:
    """A step handed to one worker; `attempt` fences every write it makes."""

    deployment_id: int
    step_id: int
    kind: str
    attempt: int
    worker: str


def claim_next_step(deployment_id: int, worker: str) -> Claim | None:
    """Move the deployment as far as it can go without running anything, then claim
    the next runnable step for `worker`; None when it parks, waits or has ended."""
    with transaction.atomic(), audit.batched():
        lane.lock_lane_of(deployment_id)
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("environment", "release")
            .get(pk=deployment_id)
        )
        if deployment.is_final:
            return None
        if deployment.cancel_requested and deployment.state != DeploymentState.RUNNING:
            _cancel(deployment)
            return None
        steps = list(deployment.steps.order_by("position"))
        if deployment.state == DeploymentState.PENDING:
            if not _pass_gates(deployment, steps) or not lane.join_lane(deployment):
                return None
        elif deployment.state == DeploymentState.QUEUED and not lane.try_start(deployment):
            return None
        return _claim_runnable_step(deployment, steps, worker)


def _pass_gates(deployment: Deployment, steps: list[Step]) -> bool:
    """Evaluate gate steps in order; True when all passed."""
    for step in steps:
        if step.kind not in GATE_STEP_KINDS or step.state == StepState.SUCCEEDED:
            continue
        result = evaluate_gate(step.kind, deployment)
        if result.verdict == "passed":
            _end_gate(deployment, step, StepState.SUCCEEDED, "")
            continue
        if result.verdict == "stopped":
            _end_gate(deployment, step, StepState.FAILED, result.reason)
            finish(deployment, result.final_state, result.reason)
            return False
        _park(deployment, step, result.reason)
        return False
    return True


def _end_gate(deployment: Deployment, step: Step, state: str, reason: str) -> None:
    now = timezone.now()
    step.state, step.reason, step.finished_at = state, reason, now
    step.started_at = step.started_at or now
    step.save(update_fields=["state", "reason", "finished_at", "started_at"])
    audit.record(f"step.{state}", deployment=deployment, step=step.kind, reason=reason)


def _park(deployment: Deployment, step: Step, reason: str) -> None:
    """Wait for people: no worker holds anything while the deployment is parked."""
    if step.state != StepState.WAITING:
        Step.objects.filter(pk=step.pk).update(
            state=StepState.WAITING, started_at=timezone.now(), reason=reason
        )
        audit.record("deployment.parked", deployment=deployment, step=step.kind, reason=reason)
    if deployment.reason != reason:
        Deployment.objects.filter(pk=deployment.pk).update(reason=reason)
        deployment.reason = reason
    if step.kind == StepKind.APPROVAL:
        notify(deployment, NotificationEvent.AWAITING_APPROVAL)


def _cancel(deployment: Deployment) -> None:
    who = deployment.cancel_requested_by
    name = who.get_username() if who else "the system"
    finish(deployment, DeploymentState.CANCELLED, f"Cancelled by {name}.", actor=who)


def _claim_runnable_step(deployment: Deployment, steps: list[Step], worker: str) -> Claim | None:
    work = [step for step in steps if step.kind not in GATE_STEP_KINDS]
    if any(step.state == StepState.RUNNING for step in work):
        return None  # a worker holds it; the reaper takes it back if that worker died
    step = next((s for s in work if s.state == StepState.PENDING), None)
    if step is None:
        conclude(deployment, work)
        return None
    if deployment.cancel_requested and step.kind != StepKind.ROLLBACK:
        if not needs_rollback(deployment):
            _cancel(deployment)  # a safe point: between two steps, nothing to undo
            return None
        # The cluster may run the new release: cancelling now means rolling back.
        step = _roll_back_for_cancel(deployment)
    return _claim(deployment, step, worker)


def _roll_back_for_cancel(deployment: Deployment) -> Step:
    who = deployment.cancel_requested_by
    name = who.get_username() if who else "the system"
    deployment.steps.filter(state=StepState.PENDING).update(
        state=StepState.CANCELLED, finished_at=timezone.now()
    )
    plan_rollback(deployment, f"Cancelled by {name} after the rollout began; rolled back.")
    return deployment.steps.get(kind=StepKind.ROLLBACK, state=StepState.PENDING)


def _claim(deployment: Deployment, step: Step, worker: str) -> Claim:
    now = timezone.now()
    attempt = step.attempt + 1
    Step.objects.filter(pk=step.pk).update(
        state=StepState.RUNNING, attempt=attempt, lease_owner=worker, heartbeat_at=now,
        deadline_at=now + deadline_for(step.kind, deployment), started_at=step.started_at or now,
    )  # fmt: skip
    audit.record(
        "step.claimed", deployment=deployment, step=step.kind, attempt=attempt, worker=worker
    )
    return Claim(deployment.pk, step.pk, step.kind, attempt, worker)
