"""Ending a deployment: one place for the final write, its notification and its audit."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from deployments import audit
from deployments.engine.checklist import refresh_verification
from deployments.engine.next_in_line import start_next_in_lane
from deployments.live import announce
from deployments.models import Deployment
from deployments.notifications.outbox import notify
from deployments.states import (
    FINAL_DEPLOYMENT_STATES,
    FINAL_STEP_STATES,
    DeploymentState,
    NotificationEvent,
    StepState,
)
from portal.masking import mask_secrets

EVENT_FOR_FINAL_STATE = {
    DeploymentState.SUCCEEDED: NotificationEvent.SUCCEEDED,
    DeploymentState.FAILED: NotificationEvent.FAILED,
    DeploymentState.ROLLED_BACK: NotificationEvent.ROLLED_BACK,
    DeploymentState.REJECTED: NotificationEvent.REJECTED,
    DeploymentState.CANCELLED: NotificationEvent.CANCELLED,
    DeploymentState.SUPERSEDED: NotificationEvent.CANCELLED,
}


def finish(
    deployment: Deployment,
    state: DeploymentState,
    reason: str,
    *,
    actor: AbstractBaseUser | None = None,
    steps_open: bool = True,
    event: NotificationEvent | None = None,
    **fields,
) -> None:
    """Move a deployment (row-locked by the caller) to a final state, atomically.

    Steps that never ran end `skipped` (`cancelled` for a cancellation; pass
    `steps_open=False` when every step has ended); a lane it
    held is handed to the next queued deployment after commit. Its one ending is
    announced: `event`, else the one for `state`.
    """
    assert state in FINAL_DEPLOYMENT_STATES, state
    reason = mask_secrets(reason)  # reasons reach pages and Slack
    was_in_lane = deployment.state in (DeploymentState.RUNNING, DeploymentState.QUEUED)
    now = timezone.now()
    updated = Deployment.objects.filter(pk=deployment.pk, state=deployment.state).update(
        state=state, reason=reason, finished_at=now, **fields
    )
    if not updated:  # someone else ended it first; their write stands
        return
    deployment.state, deployment.reason, deployment.finished_at = state, reason, now
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    if steps_open:  # the caller may know every step has ended already
        unfinished = (
            StepState.CANCELLED if state == DeploymentState.CANCELLED else StepState.SKIPPED
        )
        deployment.steps.exclude(state__in=FINAL_STEP_STATES).update(
            state=unfinished, finished_at=now, lease_owner=""
        )
    audit.record(f"deployment.{state}", actor=actor, deployment=deployment, reason=reason)
    if state == DeploymentState.SUCCEEDED:
        refresh_verification(deployment)  # manual post-deployment items may be open
    notify(deployment, event or EVENT_FOR_FINAL_STATE[state])
    if was_in_lane:  # it held the lane, or was first in line for it
        start_next_in_lane(deployment.lane_id)
