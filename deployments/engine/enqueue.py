"""Sending `advance` messages after commit, without ever failing the caller.

The task is named, not imported: `deployments.tasks` calls into the engine, so the
engine sends by name (as CELERY_TASK_ROUTES routes it) and the arrows point one way.

What a person just clicked to stop or undo (a cancel, a rollback preempting a
promotion, the rollback taking the lane) goes `urgent`: on the urgent queue, which the
deployments worker takes from before the ordinary one (portal/workers.py; the Redis
transport's `queue_order_strategy` is `priority`), so the click acts in seconds however
many looks are queued.
"""

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

ADVANCE_TASK = "deployments.tasks.advance_deployment"
PRE_CHECKS_TASK = "deployments.tasks.run_pre_checks"


def advance_after_commit(deployment_id: int, countdown: float = 0, urgent: bool = False) -> None:
    """Ask a worker to advance this deployment once the current transaction commits,
    `countdown` seconds later (a step's next look); `urgent` (at once) for a click that
    stops or undoes something.

    A broker outage must not undo or fail a recorded transition: the message is
    lost, and the beat sweeper re-advances idle deployments and overdue looks.
    """
    transaction.on_commit(lambda: send_advance(deployment_id, countdown, urgent))


def pre_checks_after_commit(deployment_id: int) -> None:
    """Ask a worker to run the deployment's pre-deployment checks after commit (lost,
    the gate asks again once the retry interval has passed)."""
    transaction.on_commit(lambda: _send(PRE_CHECKS_TASK, deployment_id))


def send_advance(deployment_id: int, countdown: float = 0, urgent: bool = False) -> None:
    queue = settings.CELERY_QUEUES["urgent"] if urgent and not countdown else None
    _send(ADVANCE_TASK, deployment_id, countdown, queue)


def _send(task: str, deployment_id: int, countdown: float = 0, queue: str | None = None) -> None:
    # A countdown is held by the worker that received it until due (outside the
    # prefetch limit); looks are seconds apart, far below the broker's visibility timeout.
    options: dict[str, float | str] = {"countdown": countdown} if countdown > 0 else {}
    if queue is not None:
        options["queue"] = queue  # else CELERY_TASK_ROUTES decides
    try:
        current_app.send_task(task, args=(deployment_id,), **options)
    except Exception as exc:
        log.warning(
            "could not enqueue %s of deployment %s (%s); the sweeper will pick it up",
            task.rsplit(".", 1)[1],
            deployment_id,
            type(exc).__name__,
        )
