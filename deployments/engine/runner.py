"""advance(): claim the next look of a step, run it outside any transaction, record
what it said: the step's outcome, or a Wait (the step stays running between looks,
the worker is freed and the next `advance` is sent with that countdown).

Any worker can resume any deployment: all state is in the database, and Celery
only carries "look at deployment N" messages. Nothing sleeps on a worker.
"""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone

from deployments.engine.claims import Claim, claim_next_step
from deployments.engine.looks import record_wait
from deployments.engine.outcomes import record_outcome
from deployments.models import Deployment, Step
from deployments.states import StepState
from deployments.steps import StepContext, StepOutcome, StepStopped, Wait
from deployments.steps.registry import runner_for

log = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def advance(deployment_id: int, worker: str | None = None) -> bool:
    """Take one look of a deployment's step; True when a look ran.

    The next `advance` is enqueued after what the look said commits (at once after an
    outcome, with the countdown of a Wait), so a deployment moves one look per
    message and every worker shares the load.
    """
    claim = claim_next_step(deployment_id, worker or worker_identity())
    if claim is None:
        return False
    answer = run_claimed(claim)
    if answer is not None:
        record_with_retries(claim, answer)
    return True


def record_with_retries(claim: Claim, answer: StepOutcome | Wait, attempts: int = 3) -> None:
    """Record an outcome or a wait through a dropped database connection (PostgreSQL
    restarted, a connection killed). If the database stays away, the step keeps its
    claim, its heartbeat has stopped, and the reaper re-runs it (steps are idempotent)."""
    for attempt in range(1, attempts + 1):
        try:
            if isinstance(answer, Wait):
                record_wait(claim.deployment_id, claim.step_id, claim.attempt, answer)
            else:
                record_outcome(claim.deployment_id, claim.step_id, claim.attempt, answer)
            return
        except (InterfaceError, OperationalError):
            connection.close()
            if attempt == attempts:
                raise
            time.sleep(attempt)


def run_claimed(claim: Claim) -> StepOutcome | Wait | None:
    """Run one look of the step with a heartbeat; None when it was taken away (write
    nothing)."""
    deployment, step = claim.deployment, claim.step
    if deployment is None or step is None:  # a claim made by hand: read what it names
        deployment = Deployment.objects.select_related(
            "release", "service", "environment__cluster"
        ).get(pk=claim.deployment_id)
        step = Step.objects.get(pk=claim.step_id)
    lost = threading.Event()
    context = StepContext(deployment, step, claim.attempt, lost, claim.stop_requested)
    with Heartbeat(claim, lost):
        try:
            return runner_for(claim.kind)(context)
        except StepStopped as stop:
            log.warning("step %s stopped: %s", claim.step_id, stop)
            if lost.is_set():
                return None
            return StepOutcome(False, f"{step.get_kind_display()} stopped: {stop}.", step.result)
        except Exception as exc:  # a bug or an unexpected answer must still end the step
            log.exception("step %s crashed", claim.step_id)
            reason = f"{step.get_kind_display()} crashed: {type(exc).__name__}: {exc}"
            return StepOutcome(False, reason, step.result)


class Heartbeat:
    """Refreshes the step's lease from a thread; sets `lost` when the fence says it is gone."""

    def __init__(self, claim: Claim, lost: threading.Event):
        self.claim = claim
        self.lost = lost
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{claim.step_id}", daemon=True
        )

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        interval = settings.PORTAL_HEARTBEAT_SECONDS
        last_beat = time.monotonic()
        try:
            while not self.stopped.wait(interval):
                try:
                    alive = self._refresh_lease()
                    last_beat = time.monotonic()
                except Exception as exc:  # a database blip: keep trying until the lease ends
                    log.warning("heartbeat of step %s failed: %s", self.claim.step_id, exc)
                    connection.close()
                    alive = time.monotonic() - last_beat < settings.PORTAL_LEASE_TTL_SECONDS
                if not alive:
                    self.lost.set()  # the step stops at its next check and writes nothing
                    return
        finally:
            connection.close()  # this thread's own connection

    def _refresh_lease(self) -> bool:
        close_old_connections()
        return bool(
            Step.objects.filter(
                pk=self.claim.step_id, attempt=self.claim.attempt, state=StepState.RUNNING
            ).update(heartbeat_at=timezone.now())
        )
