"""What runs where: every environment and, per service, the deployment that put what
runs there, read from the dashboard's own cells (`deployments.matrix.dashboard_rows`), so the
API and the pages agree."""

from ninja import Router

from accounts.scopes import Scope
from api.auth import ApiRequest, require_scope
from api.schemas import EnvironmentOut, Error
from deployments.matrix import Cell, dashboard_rows

router = Router(tags=["environments"])
ERRORS = {code: Error for code in (401, 403, 422)}


@router.get("/environments", response={200: list[EnvironmentOut], **ERRORS})
def list_environments(request: ApiRequest):
    """Active environments in promotion order; in each, every active service that has
    something deployed, as its dashboard cell says (the last deployment that succeeded
    there: a cancelled or rolled-back attempt never counts)."""
    require_scope(request, Scope.READ)
    environments, rows = dashboard_rows()
    cells = [cell for row in rows for cell in row.cells if cell.current is not None]
    return [
        {
            "name": e.name,
            "position": e.position,
            "promotes_from": e.promotes_from.name if e.promotes_from else None,
            "locked": e.locked,
            "services": [_running(c) for c in cells if c.environment.pk == e.pk],
        }
        for e in environments
    ]


def _running(cell: Cell) -> dict:
    current = cell.current
    assert current is not None  # only the cells with a current deployment come here
    return {
        "service": cell.service.name,
        "version": current.release.version,
        "image": current.release.image,
        "deployment_id": current.pk,
        "since": current.finished_at,
        # What the cluster runs beside that record, as the cell's cluster line says it.
        "cluster": cell.cluster.verdict.value if cell.cluster else None,
        "cluster_summary": cell.cluster.summary if cell.cluster else "",
    }
