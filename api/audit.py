"""Every write through an API token is audited: token prefix, method, path and status.
Reads (GET, HEAD, OPTIONS) are not: they change nothing, and a script polling a
deployment would otherwise write a row every few seconds; the token's `last_used_at`
(api/tokens.py, at most once a minute) and the access log (portal/access_log.py) say
who read what. And a method an endpoint does not take answers our JSON error, not the
router's bare text."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from api.errors import error_body
from audit import trail
from audit.actions import AuditAction

log = logging.getLogger(__name__)
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith("/api/v1/"):
            allowed = response.get("Allow", "")
            response = JsonResponse(
                error_body(f"{request.path} does not take {request.method}; it takes {allowed}."),
                status=405,
                headers={"Allow": allowed},
            )
        token = getattr(request, "api_token", None)
        if token is not None and request.method not in READS:
            self.record(request, token, response)
        return response

    @staticmethod
    def record(request, token, response) -> None:
        try:
            trail.record(
                AuditAction.API_REQUEST,
                actor=token.user,
                target=f"token:{token.prefix}",
                method=request.method,
                path=request.path[:500],
                status=response.status_code,
                replayed=response.has_header("Idempotent-Replayed"),
            )
        except (OperationalError, InterfaceError) as exc:
            # The database went away during the request (the answer is then our 503):
            # nothing can be stored, and the client must not get a 500 for it.
            log.warning("API request by token %s not audited: %s", token.prefix, exc)
