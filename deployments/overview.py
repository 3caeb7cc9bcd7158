"""Read models for the pages: what runs where, and a service's history."""

from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from deployments.lane_history import rollback_targets
from deployments.models import Deployment, Lane, Release, Step
from deployments.states import (
    ACTIVE_DEPLOYMENT_STATES,
    FINAL_DEPLOYMENT_STATES,
    DeploymentState,
    StepKind,
)
from environments.models import Environment, Service
from portal import roles


@dataclass(frozen=True)
class Cell:
    """One (service, environment) square of the dashboard."""

    service: Service
    environment: Environment
    current: Deployment | None  # the last deployment that succeeded in this lane
    in_progress: Deployment | None  # the newest deployment that has not ended
    # The newest ended attempt when it did not succeed (failed, rolled back, rejected,
    # cancelled) and came after `current`: shown apart from what runs.
    attempt: Deployment | None = None


@dataclass(frozen=True)
class Row:
    service: Service
    cells: list[Cell]


def dashboard_rows(services=None) -> tuple[list[Environment], list[Row]]:
    """Active environments (in promotion order) and one row of cells per active service."""
    environments = list(
        Environment.objects.active().select_related("cluster", "locked_by", "promotes_from")
    )
    services = list(services if services is not None else Service.objects.active())
    found = _lane_deployments(services, environments)
    rows = [
        Row(
            service=service,
            cells=[
                _cell(service, environment, found.get((service.pk, environment.pk), {}))
                for environment in environments
            ],
        )
        for service in services
    ]
    return environments, rows


def _cell(service: Service, environment: Environment, found: dict) -> Cell:
    current, attempt = found.get("current"), found.get("attempt")
    if attempt is not None and (attempt.state == DeploymentState.SUCCEEDED or attempt == current):
        attempt = None
    if attempt is not None and current is not None and attempt.created_at < current.created_at:
        attempt = None
    return Cell(service, environment, current, found.get("in_progress"), attempt)


# Ended attempts that say nothing about the lane: a superseded one was replaced by a newer one.
_ATTEMPT_STATES = FINAL_DEPLOYMENT_STATES - {DeploymentState.SUPERSEDED}


def _lane_deployments(services, environments) -> dict[tuple[int, int], dict[str, Deployment]]:
    """Two queries in all: each lane's current, in-progress and latest ended deployment
    ids, then those rows; keyed by (service id, environment id), then by role."""
    lanes = Lane.objects.filter(service__in=services, environment__in=environments).annotate(
        current_id=_newest_in_lane([DeploymentState.SUCCEEDED], "-finished_at"),
        in_progress_id=_newest_in_lane(ACTIVE_DEPLOYMENT_STATES, "-created_at"),
        attempt_id=_newest_in_lane(_ATTEMPT_STATES, "-created_at"),
    )
    ids: dict[int, list] = {}
    for lane in lanes:
        for which in ("current", "in_progress", "attempt"):
            ids.setdefault(getattr(lane, f"{which}_id"), []).append((which, lane))
    ids.pop(None, None)
    found = Deployment.objects.filter(pk__in=ids).select_related("release", "requested_by")
    by_lane: dict[tuple[int, int], dict[str, Deployment]] = {}
    for deployment in found:
        for which, lane in ids[deployment.pk]:
            by_lane.setdefault((lane.service_id, lane.environment_id), {})[which] = deployment
    return by_lane


def _newest_in_lane(states, order_by: str) -> Subquery:
    newest = Deployment.objects.filter(lane=OuterRef("pk"), state__in=states).order_by(order_by)
    return Subquery(newest.values("pk")[:1])


def service_releases(service: Service, limit: int = 50):
    return Release.objects.filter(service=service).select_related("created_by")[:limit]


def service_deployments(service: Service, limit: int = 50):
    return (
        Deployment.objects.filter(service=service)
        .select_related("release", "environment", "requested_by", "break_glass_reviewed_by")
        .order_by("-created_at")[:limit]
    )


from deployments.deployment_page import deployment_context, deployment_for_page  # noqa: E402, F401


@dataclass(frozen=True)
class RollbackChoice:
    environment: Environment
    releases: list[Release]  # earlier releases that succeeded there, newest first
    allowed: bool  # may this person press the button


def rollback_choices(service: Service, cells: list[Cell], user, limit: int = 3):
    """Per environment, the releases one may roll back to (the engine's own rule)."""
    return [
        RollbackChoice(
            cell.environment,
            rollback_targets(service, cell.environment, limit),
            roles.can_rollback(user, cell.environment),
        )
        for cell in cells
    ]


def recent_drift(service: Service, limit: int = 5) -> list[tuple[Deployment, list[dict]]]:
    """Deployments of this service whose rollout found the cluster changed by hand."""
    steps = (
        Step.objects.filter(deployment__service=service, kind=StepKind.ROLLOUT)
        .filter(result__has_key="drift")
        .select_related("deployment__environment")
        .order_by("-deployment__created_at")[:limit]
    )
    return [(step.deployment, step.result["drift"]) for step in steps]
