"""CI reporting a commit's test result: the same function as `manage.py report_ci`."""

from django.http import HttpRequest
from ninja import Router

from deployments.api.auth import actor_of, require_scope
from deployments.api.errors import ApiError
from deployments.api.idempotency import OPENAPI, idempotent
from deployments.api.schemas import CIResultIn, CIResultOut, Error
from deployments.ci_results import report_ci
from portal import roles
from tokens.models import Scope

router = Router(tags=["ci-results"])
ERRORS = {code: Error for code in (400, 401, 403, 409, 422)}


@router.post(
    "/ci-results",
    response={201: CIResultOut, **ERRORS},
    openapi_extra=OPENAPI,
    summary="Report CI's result for a commit (feeds 'All tests passing')",
)
@idempotent
def create_ci_result(request: HttpRequest, payload: CIResultIn):
    require_scope(request, Scope.CI_REPORT)
    actor = actor_of(request)
    if not roles.can_report_ci(actor):
        raise ApiError(403, f"{actor.get_username()} may not report CI results.")
    reporter = request.auth.name if request.auth.is_ci else actor.get_username()
    result = report_ci(payload.git_sha, payload.state, payload.url, reporter)
    return 201, {
        "id": result.pk,
        "git_sha": result.git_sha,
        "state": result.state,
        "url": result.url,
        "reported_by": result.reported_by,
        "reported_at": result.reported_at,
    }
