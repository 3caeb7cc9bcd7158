"""Releases: register a pushed image (by digest) or have the portal build a git ref."""

from ninja import Path, Router

from accounts import roles
from accounts.scopes import Scope
from api import found
from api.auth import ApiRequest, actor_of, require_scope
from api.errors import ApiError
from api.idempotency import OPENAPI, idempotent
from api.schemas import BuildLogOut, Error, Name, ReleaseIn, ReleaseOut, Seq
from releases import build_requests
from releases import registration as releases
from releases.models import BuildLogLine, Release
from releases.states import ReleaseState

router = Router(tags=["releases"])
LOG_PAGE = 1000
ERRORS = {code: Error for code in (400, 401, 403, 404, 409, 422)}


def release_out(request: ApiRequest, release: Release) -> dict:
    name, version = release.service.name, release.version
    return {
        "service": name,
        "version": version,
        "state": release.state,
        "image": release.image,
        "git_sha": release.git_sha,
        "git_ref": release.git_ref,
        "reason": release.reason,
        "notes": release.notes,
        "created_at": release.created_at,
        "url": found.release_page(request, release),
        "log_url": found.absolute(request, "api:release_log", name, version),
    }


@router.post(
    "/releases",
    response={201: ReleaseOut, 202: ReleaseOut, **ERRORS},
    openapi_extra=OPENAPI,
    summary="Register a pushed image (201) or build a git ref (202)",
)
@idempotent
def create_release(request: ApiRequest, payload: ReleaseIn):
    """`image` (repo:tag, optionally @sha256:…) is resolved to its digest in the
    registry and recorded ready; `git_ref` is built by the portal: the release is
    `building` until its build ends (follow `log_url`)."""
    require_scope(request, Scope.RELEASES_WRITE)
    found.service(payload.service)
    if not roles.can_register_release(actor_of(request)):
        raise ApiError(403, f"{actor_of(request).get_username()} may not register releases.")
    common = {"git_sha": payload.git_sha, "notes": payload.notes, "actor": actor_of(request)}
    if payload.image is not None:
        release = releases.register_from_registry(
            payload.service, payload.version, payload.image, **common
        )
        return 201, release_out(request, release)
    assert payload.git_ref is not None  # ReleaseIn holds exactly one of image and git_ref
    release = build_requests.request_build(
        payload.service, payload.version, payload.git_ref, **common
    )
    return 202, release_out(request, release)


@router.get("/releases/{service}/{version}", response={200: ReleaseOut, **ERRORS})
def get_release(request: ApiRequest, service: Path[Name], version: Path[Name]):
    require_scope(request, Scope.READ, or_scope=Scope.RELEASES_WRITE)  # follow a build
    return release_out(request, found.release(service, version))


@router.get(
    "/releases/{service}/{version}/log",
    response={200: BuildLogOut, **ERRORS},
    url_name="release_log",
)
def release_log(request: ApiRequest, service: Path[Name], version: Path[Name], after_seq: Seq = 0):
    """Build output after `after_seq`, at most 1000 lines; call again with `last_seq`
    while `has_more` (or until `is_final`)."""
    require_scope(request, Scope.READ, or_scope=Scope.RELEASES_WRITE)  # follow a build
    release = found.release(service, version)
    rows = list(
        BuildLogLine.objects.filter(release=release, seq__gt=after_seq).order_by("seq")[
            : LOG_PAGE + 1
        ]
    )
    has_more = len(rows) > LOG_PAGE
    rows = rows[:LOG_PAGE]
    return {
        "lines": [{"seq": r.seq, "text": r.text, "at": r.created_at} for r in rows],
        "last_seq": rows[-1].seq if rows else after_seq,
        "is_final": release.state != ReleaseState.BUILDING and not has_more,
        "has_more": has_more,
    }
