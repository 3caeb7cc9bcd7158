"""Sending `advance` messages after commit, without ever failing the caller.

The task is named, not imported: `deployments.tasks` calls into the engine, so the
engine sends by name (as CELERY_TASK_ROUTES routes it) and the arrows point one way.
"""

import logging

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)

ADVANCE_TASK = "deployments.tasks.advance_deployment"


def advance_after_commit(deployment_id: int) -> None:
    """Ask a worker to advance this deployment once the current transaction commits.

    A broker outage must not undo or fail a recorded transition: the message is
    lost, and the beat sweeper re-advances every idle deployment.
    """
    transaction.on_commit(lambda: send_advance(deployment_id))


def send_advance(deployment_id: int) -> None:
    try:
        current_app.send_task(ADVANCE_TASK, args=(deployment_id,))
    except Exception as exc:
        log.warning(
            "could not enqueue advance of deployment %s (%s); the sweeper will pick it up",
            deployment_id,
            type(exc).__name__,
        )
