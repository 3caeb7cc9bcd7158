"""Maintenance tasks of the portal itself."""

from celery import shared_task

from audit import trail
from audit.actions import AuditAction


@shared_task(name="portal.tasks.probe_worker")
def probe_worker(token: str) -> None:
    """Prove a worker can reach the database: append an audit row naming `token`."""
    trail.record(AuditAction.WORKER_PROBE, target=token)
