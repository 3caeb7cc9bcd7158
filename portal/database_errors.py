"""A request that meets a database that is not answering gets 503 and Retry-After, not 500.

PostgreSQL restarting (or failing over) breaks the connections a request holds at
that moment; the pool replaces them by itself (it checks each connection it lends),
so the same request a few seconds later succeeds. Until then: 503 with Retry-After,
as JSON `{"error": …}` under /api/ and a short page elsewhere. The broken connection
goes back to the pool at the request's end, which discards it.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = f"The database is not answering; try again in {RETRY_AFTER_SECONDS} seconds."
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Try again shortly</title>"
    f"<h1>Try again shortly</h1><p>{MESSAGE}</p></html>"
)


def database_unavailable(request) -> HttpResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return JsonResponse({"error": MESSAGE, "detail": None}, status=503, headers=headers)
    return HttpResponse(PAGE, status=503, headers=headers)


def is_database_unavailable(exc: BaseException) -> bool:
    """A lost or refused connection, or no connection free in the pool (PoolTimeout,
    an OperationalError too)."""
    return isinstance(exc, OperationalError | InterfaceError)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """Answers 503 for a view that raised a database-unavailable error (Django asks the
    last middleware's process_exception first: this one is last in MIDDLEWARE)."""

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        log.warning("%s %s: database unavailable: %s", request.method, request.path, exception)
        return database_unavailable(request)
