"""Between two looks of a step: recording a Wait, and what asks a step to stop early.

A look that is not done returns Wait(seconds, progress). The step stays `running`
with no lease owner, its progress as its result and `next_look_at` set; the worker is
freed and the next `advance` goes out with that countdown. The due time is kept in
the database too, so the sweeper can re-send a look whose message was lost.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from deployments.engine.enqueue import advance_after_commit
from deployments.engine.lane import preempting_rollback, with_rollback_waiting
from deployments.models import Deployment, Step
from deployments.states import StepState
from deployments.steps import Wait
from portal.masking import mask_json

log = logging.getLogger(__name__)


def record_wait(deployment_id: int, step_id: int, attempt: int, wait: Wait) -> bool:
    """Park the step between looks if this attempt still owns it; False when fenced off.

    The next look is sent at once instead when someone asked the deployment to stop (a
    cancel, a rollback preempting it): stop means stop, not after the countdown.
    """
    with transaction.atomic():
        # The deployment's row lock orders this with a cancel: either the cancel came
        # first and is seen here, or its own claim comes after and finds the step idle.
        locked = Deployment.objects.select_for_update(of=("self",))
        deployment = with_rollback_waiting(locked).get(pk=deployment_id)
        seconds = 0.0 if stop_asked(deployment) else max(0.0, float(wait.seconds))
        due = timezone.now() + timedelta(seconds=seconds)
        updated = Step.objects.filter(pk=step_id, attempt=attempt, state=StepState.RUNNING).update(
            lease_owner="", result=mask_json(wait.progress), next_look_at=due, due_at=due
        )
        if not updated:
            log.warning("step %s attempt %s was taken away; its wait is dropped", step_id, attempt)
            return False
        advance_after_commit(deployment_id, countdown=seconds, urgent=not seconds)
    return True


def stop_asked(deployment: Deployment) -> bool:
    """Someone wants this deployment to stop: a cancel, or a rollback waiting in its lane."""
    return deployment.cancel_requested or preempting_rollback(deployment) is not None
