"""Read models for the pages: what runs where, and a service's history."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from accounts import roles
from audit.actions import AuditAction
from audit.models import AuditEvent
from catalog.models import Environment, Service
from deployments.lane_history import (
    RECENT_SUCCESSES,
    lane_records,
)
from deployments.matrix import Cell
from deployments.models import Deployment, Lane
from deployments.states import (
    ChecklistState,
)
from releases.models import Release


def lanes_stream_url(cells: list[Cell]) -> str:
    """The one stream a page opens: `lanes-events` for the lanes of its cells ("" when
    it shows no lane yet: nothing to follow)."""
    lanes = sorted({cell.lane_id for cell in cells if cell.lane_id is not None})
    if not lanes:
        return ""
    return f"{reverse('lanes-events')}?{urlencode([('lane', lane) for lane in lanes])}"


# The service page lists the newest releases and deployments; the environments'
# timelines hold the whole history.
SERVICE_LIST_LIMIT = 20


def service_releases(service: Service, limit: int = SERVICE_LIST_LIMIT):
    # Ordered here, not by Meta's ("service" would sort by the service's name through a
    # join and read every release): the (service, created_at) index gives the newest.
    releases = Release.objects.filter(service=service).select_related("created_by")
    return releases.order_by("-created_at", "-pk")[:limit]


def service_deployments(service: Service, limit: int = SERVICE_LIST_LIMIT):
    """The newest deployments, each with how many checklist items it went past waived."""
    waived = Count("checklist", filter=Q(checklist__state=ChecklistState.WAIVED))
    return (
        Deployment.objects.filter(service=service)
        .select_related("release", "environment", "requested_by", "break_glass_reviewed_by")
        .annotate(waived=waived)
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class RollbackChoice:
    environment: Environment
    releases: list[Release]  # earlier releases that succeeded there, newest first (a few)
    allowed: bool  # may this person press the button
    targets: list[Release] = field(default_factory=list)  # every one of them (`recent`)
    running: Release | None = None  # what the lane's history says runs there


def rollback_choices(
    service: Service, cells: list[Cell], user, limit: int | None = 3, recent=RECENT_SUCCESSES
):
    """Per environment, the releases one may roll back to (the engine's own rule), for
    every cell at once in a fixed number of queries; `recent` as in `lane_records`."""
    lanes = [
        Lane(pk=cell.lane_id, service_id=service.pk, environment_id=cell.environment.pk)
        for cell in cells
        if cell.lane_id is not None
    ]
    records = lane_records(lanes, recent)
    return [_rollback_choice(cell, records.get(cell.lane_id), user, limit) for cell in cells]


def _rollback_choice(cell: Cell, record, user, limit: int | None) -> RollbackChoice:
    targets = record.rollback_targets if record else []
    return RollbackChoice(
        cell.environment, targets[:limit], roles.can_rollback(user, cell.environment),
        targets, record.running if record else None,
    )  # fmt: skip


def recent_drift(service: Service, limit: int = 5) -> list[AuditEvent]:
    """Drift found in this service's lanes, newest first: by a rollout, before it
    replaced what ran, or by the observer of what runs (`deployment.drift_detected`;
    `detail["found_by"]` is "observer" for the latter)."""
    events = AuditEvent.objects.filter(
        action=AuditAction.DEPLOYMENT_DRIFT_DETECTED, deployment__service=service
    ).select_related("deployment__environment")
    return list(events.order_by("-created_at")[:limit])
