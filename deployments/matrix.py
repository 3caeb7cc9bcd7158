"""What runs where: one cell per (service, environment), read in a fixed number of
queries, beside what the cluster really runs. The dashboard, the environments API and
the observer's drift audit read the same cells."""

from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from catalog.models import Environment, ObservedWorkloads, Service
from deployments.lane_history import (
    Applied,
    applied_of,
    last_applied_id,
)
from deployments.models import Deployment, Lane
from deployments.states import (
    ACTIVE_DEPLOYMENT_STATES,
    FINAL_DEPLOYMENT_STATES,
    DeploymentState,
)
from deployments.what_runs import ClusterView, ReleaseLabels, cluster_view, images_of


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
    cluster: ClusterView | None = None  # what the cluster runs, beside the record above
    lane_id: int | None = None  # None until the first deployment or observation


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
    observed = {
        (row.service_id, row.environment_id): row
        for row in ObservedWorkloads.objects.filter(
            service__in=services, environment__in=environments
        )
    }
    images = [
        image
        for pair, lane in found.items()
        for image in images_of(observed.get(pair), _applied(lane))
    ] + [image for row in observed.values() for image in images_of(row, None)]
    labels = ReleaseLabels.for_images([s.pk for s in services], images)
    rows = [
        Row(
            service=service,
            cells=[
                _cell(service, environment, found.get(pair, {}), observed.get(pair), labels)
                for environment in environments
                if (pair := (service.pk, environment.pk))
            ],
        )
        for service in services
    ]
    return environments, rows


def _cell(service, environment, found: dict, observed, labels: ReleaseLabels) -> Cell:
    current, attempt = found.get("current"), found.get("attempt")
    if attempt is not None and (attempt.state == DeploymentState.SUCCEEDED or attempt == current):
        attempt = None
    if attempt is not None and current is not None and attempt.created_at < current.created_at:
        attempt = None
    in_progress = found.get("in_progress")
    cluster = cluster_view(
        service, environment, observed, _applied(found), in_progress, labels, current
    )
    return Cell(service, environment, current, in_progress, attempt, cluster, found.get("lane_id"))


def _applied(found: dict) -> Applied | None:
    deployment = found.get("applied")  # the lane's last_applied_id: it wrote the cluster
    return None if deployment is None else applied_of(deployment)


# Ended attempts that say nothing about the lane: a superseded one was replaced by a newer one.
_ATTEMPT_STATES = FINAL_DEPLOYMENT_STATES - {DeploymentState.SUPERSEDED}


_ROLES = ("current", "in_progress", "attempt", "applied")


def _lane_deployments(services, environments) -> dict[tuple[int, int], dict]:
    """Three queries in all: each lane's current, in-progress, latest ended and last
    cluster-writing deployment ids, then those rows with their steps; keyed by (service
    id, environment id), then by role (and "lane_id")."""
    lanes = Lane.objects.filter(service__in=services, environment__in=environments).annotate(
        current_id=_newest_in_lane([DeploymentState.SUCCEEDED], "-finished_at"),
        in_progress_id=_newest_in_lane(ACTIVE_DEPLOYMENT_STATES, "-created_at"),
        attempt_id=_newest_in_lane(_ATTEMPT_STATES, "-created_at"),
        applied_id=last_applied_id(),
    )
    ids: dict[int | None, list] = {}
    by_lane: dict[tuple[int, int], dict] = {}
    for lane in lanes:
        by_lane[(lane.service_id, lane.environment_id)] = {"lane_id": lane.pk}
        for which in _ROLES:
            ids.setdefault(getattr(lane, f"{which}_id"), []).append((which, lane))
    ids.pop(None, None)
    found = (
        Deployment.objects.filter(pk__in=[pk for pk in ids if pk is not None])
        .select_related("release", "requested_by", "service")
        .prefetch_related("steps")
    )
    for deployment in found:
        for which, lane in ids[deployment.pk]:
            by_lane.setdefault((lane.service_id, lane.environment_id), {})[which] = deployment
    return by_lane


def _newest_in_lane(states, order_by: str) -> Subquery:
    newest = Deployment.objects.filter(lane=OuterRef("pk"), state__in=states).order_by(order_by)
    return Subquery(newest.values("pk")[:1])
