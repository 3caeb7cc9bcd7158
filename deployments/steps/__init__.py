"""Steps a worker runs, one bounded LOOK at a time. Each is idempotent: a retry
re-applies and re-attaches.

A step function takes a StepContext and does one look (a read of the rollout, of the
Job, one smoke round, one round of checks: about two seconds of work at most); it
returns the step's StepOutcome, or Wait(seconds, progress) to be looked at again
later. It never sleeps and never writes the step's state itself: the engine records
the outcome or the wait (with the progress as the step's result), fenced by the
attempt, frees the worker and schedules the next look. The next look gets the saved
progress back as `ctx.step.result`.
"""

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from deployments.checks.running import checks_deadline
from deployments.events import emit_lines
from deployments.models import Deployment, Step
from deployments.states import StepKind, StepState
from portal.log_gaps import deployment_gaps, store_or_count_gap

# Margin beyond the environment's rollout timeout before the reaper calls a step hung.
DEADLINE_MARGIN = timedelta(seconds=60)


class StepStopped(Exception):
    """The step must stop now: its lease was taken away or its deadline passed."""


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended. `stopped` means it stopped because it was asked to (a cancel):
    the step ends `cancelled`, not `failed`."""

    ok: bool
    reason: str = ""
    result: dict = field(default_factory=dict)
    stopped: bool = False


@dataclass(frozen=True)
class Wait:
    """Not done yet: look again in `seconds`; `progress` becomes the step's result."""

    seconds: float
    progress: dict = field(default_factory=dict)


@dataclass
class StepContext:
    deployment: Deployment
    step: Step
    attempt: int
    lost: threading.Event
    # Why this look must stop the step instead of going on ("" when nothing asks):
    # set when a cancel was requested; a step with something to undo in the cluster
    # (a migration Job) does it in this look and returns a stopped outcome.
    stop_requested: str = ""

    def emit(self, text: str) -> None:
        """Store a line of output; a database outage loses the line, never the step.

        A lost line leaves a notice of the gap before the next line stored (log_gaps)."""
        lines = str(text).split("\n")
        store_or_count_gap(
            deployment_gaps,
            self.deployment.pk,
            lines,
            lambda batch: emit_lines(self.deployment.pk, self.step.pk, batch),
        )

    def check(self) -> None:
        """Raise StepStopped when this worker no longer owns the step or ran out of time."""
        if self.lost.is_set():
            raise StepStopped("the step was taken over by another worker")
        if self.step.deadline_at and timezone.now() > self.step.deadline_at:
            raise StepStopped(f"the step passed its deadline ({self.step.deadline_at:%H:%M:%S})")

    def save_result(self, **values) -> bool:
        """Merge values into the step's result, fenced; False if the step was taken away."""
        result = {**self.step.result, **values}
        updated = Step.objects.filter(
            pk=self.step.pk, attempt=self.attempt, state=StepState.RUNNING
        ).update(result=result)
        if updated:
            self.step.result = result
        return bool(updated)


def deadline_for(kind: str, deployment: Deployment) -> timedelta:
    """A hard limit per step kind from its first look, after which the reaper fails it."""
    # A step that talks to the cluster API may also wait out one outage of it (its
    # rollout or Job timeout does not count that time, see ClusterClient.clock).
    outage = timedelta(seconds=settings.PORTAL_CLUSTER_RETRY_SECONDS)
    if kind in (StepKind.ROLLOUT, StepKind.ROLLBACK):
        return deployment.environment.rollout_timeout + outage + DEADLINE_MARGIN
    if kind == StepKind.MIGRATE:
        migration = timedelta(seconds=settings.PORTAL_MIGRATION_TIMEOUT_SECONDS)
        return migration + outage + DEADLINE_MARGIN
    if kind == StepKind.SMOKE:
        checks = max(1, len(deployment.service.smoke_checks))
        timeout = settings.PORTAL_SMOKE_TIMEOUT_SECONDS
        per_check = (
            settings.PORTAL_SMOKE_ATTEMPTS * (timeout + settings.PORTAL_SMOKE_RETRY_SECONDS)
            + deployment.environment.smoke_consecutive * timeout
        )
        return timedelta(seconds=checks * per_check) + DEADLINE_MARGIN
    if kind in (StepKind.RECHECK, StepKind.POST_CHECKS):
        return checks_deadline(kind, deployment) + DEADLINE_MARGIN
    return timedelta(minutes=10)
