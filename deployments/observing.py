"""The beat's reading of what really runs, and what follows from a change: the
environment's lanes are announced (pages refetch their cells), and drift the observer
finds is audited like the drift a rollout finds (`deployment.drift_detected`)."""

from django.db import transaction

from audit import trail
from audit.actions import AuditAction
from audit.models import AuditEvent
from catalog.models import Service
from deployments.matrix import dashboard_rows
from deployments.models import Lane
from integrations.kube import observed
from live import announce

Pair = observed.Pair
DRIFT_DETECTED = AuditAction.DEPLOYMENT_DRIFT_DETECTED  # the rollout records the same action


def observe_and_announce() -> list[Pair]:
    """Read every cluster once; for each (service, environment) whose observation
    changed: make sure its lane exists (so live pages can follow it), audit new drift,
    and announce its environment. Returns the changed pairs."""
    changed = observed.observe_clusters()
    if not changed:
        return changed
    with transaction.atomic():
        Lane.objects.bulk_create(
            [Lane(service_id=s, environment_id=e) for s, e in changed], ignore_conflicts=True
        )
        audit_drift(changed)
        for environment_id in sorted({e for _, e in changed}):
            announce.lanes_changed(Lane.lanes_of(environment_id))
    return changed


def audit_drift(changed: list[Pair]) -> None:
    """Record each changed pair whose cluster now runs something else than the portal
    last deployed there, against the deployment whose images were replaced."""
    services = Service.objects.filter(pk__in={s for s, _ in changed})
    _environments, rows = dashboard_rows(services=services)
    wanted = set(changed)
    for row in rows:
        for cell in row.cells:
            view = cell.cluster
            assert view is not None  # dashboard_rows gives every cell its cluster view
            if (row.service.pk, cell.environment.pk) not in wanted or not view.drift:
                continue
            if _audited_already(view):
                continue
            trail.record(
                DRIFT_DETECTED,
                deployment=view.deployed_by,
                target=f"{row.service.name} in {cell.environment.name}",
                drift=view.drift,
                found_by="observer",
                problem=view.problem,
            )


def _audited_already(view) -> bool:
    """The same drift was recorded last time (the cluster went away and came back)."""
    last = (
        AuditEvent.objects.filter(action=DRIFT_DETECTED, deployment=view.deployed_by)
        .order_by("-created_at")
        .first()
    )
    return last is not None and last.detail.get("drift") == view.drift
