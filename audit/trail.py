"""Writing the audit trail: one append-only row per action.

Inside `batched()`, rows are collected and written in one INSERT when the block
ends, still inside the caller's transaction (the engine's hot paths use it).
"""

import threading
from contextlib import contextmanager

from audit.actions import AuditAction
from audit.models import AuditEvent
from portal.masking import mask_json

_pending = threading.local()


def record(
    action: AuditAction,
    *,
    actor=None,
    deployment=None,
    environment=None,
    target: str = "",
    **detail,
) -> AuditEvent:
    """Append an AuditEvent; `actor` None means the system did it.

    Every string in `detail`, however deep, is masked (`mask_json`): details quote what
    people typed and what machines said, and the timeline and the admin show them.

    The row is linked to the environment (and service) it concerns: the deployment's,
    or `environment` for an action on the environment itself (a lock), so that the
    environment timeline finds every row of an environment in one index.
    """
    if actor is not None and not actor.is_authenticated:
        actor = None
    event = AuditEvent(
        actor=actor,
        action=action,
        deployment=deployment,
        environment_id=_environment_id(deployment, environment),
        service_id=deployment.service_id if deployment is not None else None,
        target=target,
        detail=mask_json(detail),
    )
    batch = getattr(_pending, "events", None)
    if batch is not None:
        batch.append(event)
        return event
    event.save()
    return event


def _environment_id(deployment, environment) -> int | None:
    if deployment is not None:
        return deployment.environment_id
    return environment.pk if environment is not None else None


def record_many(
    actions: list[AuditAction], *, actor=None, deployment=None, target: str = ""
) -> None:
    """Append several events of one moment."""
    for action in actions:
        record(action, actor=actor, deployment=deployment, target=target)


@contextmanager
def batched():
    """Write every event recorded in the block with one INSERT at its end.

    Use it inside `transaction.atomic()`: the rows commit or roll back with the
    transition they describe.
    """
    outer = getattr(_pending, "events", None)
    if outer is not None:  # already batching: the outermost block writes
        yield
        return
    _pending.events = []
    try:
        yield
        if _pending.events:
            AuditEvent.objects.bulk_create(_pending.events)
    finally:
        _pending.events = None
