"""Who takes a lane next: rollbacks first, then the deployment waiting longest.

A leaf of the engine: ending a deployment (transitions) hands its lane on from here,
and the lane's own decisions (lane) order their queue by the same rule, so neither
of those two modules imports the other's caller.
"""

from django.db.models import Case, IntegerField, Value, When

from deployments.engine.enqueue import advance_after_commit
from deployments.models import Deployment
from deployments.states import DeploymentState, Trigger


def first_in_line(queued: list[Deployment]) -> Deployment:
    """Who takes a free lane among these (loaded) deployments."""
    return min(queued, key=lambda d: (d.trigger != Trigger.ROLLBACK, d.queued_at))


def next_in_lane(lane_id: int) -> int | None:
    """The id of the queued deployment that takes the lane next, read from the database."""
    rollbacks_first = Case(
        When(trigger=Trigger.ROLLBACK, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        Deployment.objects.filter(lane_id=lane_id, state=DeploymentState.QUEUED)
        .order_by(rollbacks_first, "queued_at")
        .values_list("pk", flat=True)
        .first()
    )


def start_next_in_lane(lane_id: int) -> None:
    """After a lane is freed, wake the deployment that should take it (at once when it
    is a rollback: someone is waiting for it to undo harm)."""
    follower = next_in_lane(lane_id)
    if follower is not None:
        trigger = Deployment.objects.values_list("trigger", flat=True).get(pk=follower)
        advance_after_commit(follower, urgent=trigger == Trigger.ROLLBACK)
