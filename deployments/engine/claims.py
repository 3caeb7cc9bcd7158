"""Claiming work: what should happen next to a deployment, decided under its row lock.

Gates (engine/gates.py) and a requested stop (engine/cancellation.py) are settled
here on the way; what is left is handing the next runnable step to one worker.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deployments import audit
from deployments.engine import cancellation, lane
from deployments.engine.gates import pass_gates
from deployments.engine.outcomes import conclude
from deployments.live import announce
from deployments.models import Deployment, Step
from deployments.states import GATE_STEP_KINDS, DeploymentState, StepKind, StepState
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
            cancellation.end_cancelled(deployment)
            return None
        steps = list(deployment.steps.order_by("position"))
        if deployment.state == DeploymentState.PENDING:
            if not pass_gates(deployment, steps) or not lane.join_lane(deployment):
                return None
        elif deployment.state == DeploymentState.QUEUED and not lane.try_start(deployment):
            return None
        return _claim_runnable_step(deployment, steps, worker)


def _claim_runnable_step(deployment: Deployment, steps: list[Step], worker: str) -> Claim | None:
    work = [step for step in steps if step.kind not in GATE_STEP_KINDS]
    if any(step.state == StepState.RUNNING for step in work):
        return None  # a worker holds it; the reaper takes it back if that worker died
    step = next((s for s in work if s.state == StepState.PENDING), None)
    if step is None:
        conclude(deployment, work)
        return None
    if deployment.cancel_requested and step.kind != StepKind.ROLLBACK:
        step = cancellation.stop_at_safe_point(deployment)
        if step is None:
            return None
    return _claim(deployment, step, worker)


def _claim(deployment: Deployment, step: Step, worker: str) -> Claim:
    now = timezone.now()
    attempt = step.attempt + 1
    Step.objects.filter(pk=step.pk).update(
        state=StepState.RUNNING,
        attempt=attempt,
        lease_owner=worker,
        heartbeat_at=now,
        deadline_at=now + deadline_for(step.kind, deployment),
        started_at=step.started_at or now,
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    audit.record(
        "step.claimed", deployment=deployment, step=step.kind, attempt=attempt, worker=worker
    )
    return Claim(deployment.pk, step.pk, step.kind, attempt, worker)
