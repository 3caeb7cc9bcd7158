"""The API's errors: always `{"error": "<a sentence>", "detail": <anything or null>}`.

Domain refusals map to a status here, in one place: a person may not (403), the
thing named does not exist (404), the request conflicts with what exists or with a
deployment's state (409), a value the domain refuses (400), a body that does not
match the schema (422, naming the field).
"""

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from deployments.ci_results import CIReportError
from portal.refusals import ActionRefused
from releases.registration import ReleaseError


class ApiError(Exception):
    def __init__(self, status: int, message: str, detail=None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail
        self.headers = headers or {}  # e.g. a 429's Retry-After


class NotFound(ApiError):
    def __init__(self, message: str):
        super().__init__(404, message)


def error_body(message: str, detail=None) -> dict:
    return {"error": message, "detail": detail}


def status_of(exc: Exception) -> int:
    """The status of a domain refusal."""
    if isinstance(exc, ActionRefused):
        return 403 if exc.forbidden else 409
    if "already" in str(exc):  # "… already exists", "… is already registered"
        return 409
    return 400


def domain_error(exc: Exception) -> ApiError:
    return ApiError(status_of(exc), str(exc))


def field_name(loc) -> str:
    """`("body", "payload", "environment")` → "environment"; a path or query
    parameter keeps its own name."""
    parts = [str(p) for p in loc if p not in ("body", "payload", "path", "query", "header")]
    return ".".join(parts) or "body"


def validation_message(errors: list[dict]) -> str:
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    text = f"{field_name(first.get('loc', ()))}: {message[:1].lower()}{message[1:]}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def json_safe(value):
    """Pydantic's error list, made JSON (its `ctx` may hold exceptions)."""
    return json.loads(json.dumps(value, default=str))


def install(api: NinjaAPI) -> None:
    """Replace Ninja's error bodies with ours."""

    def respond(request: HttpRequest, status: int, message: str, detail=None) -> HttpResponse:
        return api.create_response(request, error_body(message, detail), status=status)

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        response = respond(request, exc.status, exc.message, exc.detail)
        for name, value in exc.headers.items():
            response[name] = value
        return response

    @api.exception_handler(ValidationError)
    def invalid(request, exc: ValidationError):
        errors = json_safe(list(exc.errors))
        return respond(request, 422, validation_message(errors), errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return respond(request, 401, "No API token: send the header Authorization: Bearer <token>.")

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        message = str(exc)
        if message.startswith("Cannot parse request body"):  # Ninja's parser gave up
            message = "The body is not JSON; send a JSON object (Content-Type: application/json)."
        return respond(request, exc.status_code, message)

    for kind in (ActionRefused, ReleaseError, CIReportError):

        @api.exception_handler(kind)
        def refused(request, exc):
            return respond(request, status_of(exc), str(exc))


@csrf_exempt
def unknown_endpoint(request: HttpRequest) -> HttpResponse:
    """Any other path under /api/v1/, whatever the method: a JSON 404 pointing at the
    document. Exempt from CSRF because CsrfViewMiddleware checks the view a path
    resolves to before it runs: a script's POST to a mistyped path (no CSRF cookie, as
    no API client has one) got Django's HTML 403 page instead of this 404. It changes
    nothing, so there is nothing to forge; Ninja's own views are exempt the same way."""
    from django.http import JsonResponse

    return JsonResponse(
        error_body(
            f"There is no API endpoint {request.path}; see /api/v1/openapi.json or /api/v1/docs."
        ),
        status=404,
    )
