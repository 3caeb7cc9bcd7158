"""One JSON line per request on the `portal.access` logger: pages, API, health, static.

uvicorn runs with --no-access-log; this replaces its lines with what the portal knows:
the API token's prefix (never the secret), the signed-in person, whether the answer was
an idempotent replay, and the time the portal took. The path is logged without its
query string, which may carry secrets. A streaming answer (the live pages' SSE) is
logged when it starts: its status and the time to its first byte, never held open.

It reads what the apps left on the request (`api_token`, `user`) by name and imports
no app (the `portal-shared-below-the-apps` contract).
"""

import json
import logging
import time
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import LazyObject

logger = logging.getLogger("portal.access")
clock = time.perf_counter  # a name of its own, for the tests to replace


class AccessLogMiddleware:
    """Outermost in MIDDLEWARE, so the time covers every other middleware too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = clock()
        response = self.get_response(request)
        if logger.isEnabledFor(logging.INFO):
            took = (clock() - started) * 1000
            logger.info(json.dumps(access_line(request, response, took), ensure_ascii=False))
        return response


def access_line(request: HttpRequest, response: HttpResponseBase, took_ms: float) -> dict:
    """The fields of one request's line (see the README's *Access log*)."""
    token = getattr(request, "api_token", None)
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "method": request.method,
        "path": request.path,  # never the query string
        "status": response.status_code,
        "duration_ms": round(took_ms, 1),
        "token": getattr(token, "prefix", None),
        "user": signed_in(request),
        "replayed": response.has_header("Idempotent-Replayed"),
        "streaming": response.streaming,
    }


def signed_in(request: HttpRequest) -> str | None:
    """The signed-in person's username, when the request already looked them up (the
    pages do, sync or async): the log never costs a session or user query of its own,
    so a request that never asked who is signed in (/health, a static file, the API,
    which goes by its token) logs none."""
    user = request.__dict__.get("user")
    if user is None or isinstance(user, LazyObject):  # the middleware's, maybe never read
        vars_ = request.__dict__
        user = vars_.get("_cached_user") or vars_.get("_acached_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.get_username()
