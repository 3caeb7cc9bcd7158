"""What runs where: every environment and the release the portal last left in each lane."""

from django.http import HttpRequest
from ninja import Router

from deployments.api.auth import require_scope
from deployments.api.schemas import EnvironmentOut, Error
from deployments.lane_history import lane_records
from deployments.models import Lane
from environments.models import Environment
from tokens.models import Scope

router = Router(tags=["environments"])
ERRORS = {code: Error for code in (401, 403, 422)}


@router.get("/environments", response={200: list[EnvironmentOut], **ERRORS})
def list_environments(request: HttpRequest):
    require_scope(request, Scope.READ)
    environments = list(Environment.objects.active().select_related("promotes_from"))
    lanes = list(
        Lane.objects.filter(environment__in=environments, service__archived_at__isnull=True)
        .select_related("service")
        .order_by("service__name")
    )
    records = lane_records(lanes)
    running: dict[int, list[dict]] = {}
    for lane in lanes:
        record = records[lane.pk]
        if record.running is None:
            continue
        applied = record.applied.deployment if record.applied else None
        running.setdefault(lane.environment_id, []).append(
            {
                "service": lane.service.name,
                "version": record.running.version,
                "image": record.running.image,
                "deployment_id": applied.pk if applied else None,
                "since": applied.finished_at if applied else None,
            }
        )
    return [
        {
            "name": e.name,
            "position": e.position,
            "promotes_from": e.promotes_from.name if e.promotes_from else None,
            "locked": e.locked,
            "services": running.get(e.pk, []),
        }
        for e in environments
    ]
