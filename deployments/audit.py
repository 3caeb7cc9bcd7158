"""Writing the audit trail: one append-only row per action."""

from deployments.models import AuditEvent


def record(action: str, *, actor=None, deployment=None, target: str = "", **detail) -> AuditEvent:
    """Append an AuditEvent; `actor` None means the system did it."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        actor=actor, action=action, deployment=deployment, target=target, detail=detail
    )
