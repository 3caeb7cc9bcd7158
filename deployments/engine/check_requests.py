"""When the pre-deployment gate asks for a round of automatic checks, and the ask
itself: the gate's side of the checks (`checks_run` runs them and lets the gates
decide again)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from deployments.engine.enqueue import pre_checks_after_commit
from deployments.models import Deployment, Step
from deployments.states import ChecklistState

REQUESTED_AT = "checks_requested_at"  # in the pre_checks gate step's result
# An item in these states is still the portal's to decide; passed and waived are not.
UNDECIDED = (ChecklistState.PENDING, ChecklistState.FAILED)


def checks_due(gate_step: Step) -> bool:
    """Whether the gate should ask for a round of checks now: never asked, or the last
    ask is older than the retry interval."""
    asked = gate_step.result.get(REQUESTED_AT)
    if not asked:
        return True
    retry = timedelta(seconds=settings.PORTAL_PRECHECK_RETRY_SECONDS)
    return timezone.now() - datetime.fromisoformat(asked) >= retry


def request_pre_checks(deployment: Deployment, gate_step: Step) -> None:
    """Note the ask on the gate step and enqueue the task once the caller commits."""
    result = {**gate_step.result, REQUESTED_AT: timezone.now().isoformat()}
    Step.objects.filter(pk=gate_step.pk).update(result=result)
    gate_step.result = result
    pre_checks_after_commit(deployment.pk)
