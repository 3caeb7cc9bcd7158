"""CI reporting a commit's test result: the same function as `manage.py report_ci`.

Only a CI identity reports (a CI token with ci:report): "All tests passing" is CI's
word, so a person's token is refused whatever its owner's role, and the result is
recorded under the CI identity's name (`ci-<name>`), which its evidence then shows.
"""

from ninja import Router

from accounts import roles
from accounts.scopes import Scope
from api.auth import ApiRequest, actor_of, require_scope
from api.errors import ApiError
from api.idempotency import OPENAPI, idempotent
from api.schemas import CIResultIn, CIResultOut, Error
from deployments.ci_results import report_ci

router = Router(tags=["ci-results"])
ERRORS = {code: Error for code in (400, 401, 403, 409, 422)}
ONLY_CI = (
    f"CI results come only from CI identities (a CI token with the {Scope.CI_REPORT} scope), "
    "never from a person's token"
)
ASK_FOR_A_WAIVER = (
    "If you disagree with CI's result, ask a lead to waive the “All tests passing” item "
    "with a reason."
)


@router.post(
    "/ci-results",
    response={201: CIResultOut, **ERRORS},
    openapi_extra=OPENAPI,
    summary=f"Report CI's result for a commit (CI tokens with {Scope.CI_REPORT} only; feeds "
    "'All tests passing')",
    description=(
        f"{ONLY_CI}: a personal token is refused with 403, an admin's too. {ASK_FOR_A_WAIVER} "
        "The newest report for a commit counts; the result is recorded under the CI "
        "identity's name (`reported_by`), and the item's evidence names it and the run "
        '("CI run 2 passed after run 1 failed").'
    ),
)
@idempotent
def create_ci_result(request: ApiRequest, payload: CIResultIn):
    actor = actor_of(request)
    if not request.auth.is_ci:
        raise ApiError(
            403, f"{ONLY_CI}: {actor.get_username()} may not report them. {ASK_FOR_A_WAIVER}"
        )
    require_scope(request, Scope.CI_REPORT)
    if not roles.can_report_ci(actor):
        raise ApiError(403, f"{actor.get_username()} may not report CI results.")
    result = report_ci(payload.git_sha, payload.state, payload.url, reporter=actor.get_username())
    return 201, {
        "id": result.pk,
        "git_sha": result.git_sha,
        "state": result.state,
        "url": result.url,
        "reported_by": result.reported_by,
        "reported_at": result.reported_at,
    }
