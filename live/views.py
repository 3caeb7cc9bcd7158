"""The live streams (server-sent events), served by uvicorn.

Async views over async generators (Django buffers a sync iterator whole under ASGI).
They answer 403 to a visitor who is not signed in and 404 for an unknown deployment
or release before any stream opens, so a bad URL never hangs.
"""

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from accounts import roles
from deployments.models import Deployment, Lane
from live.hub import get_hub
from releases.models import Release

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_LANES = 500


def _stream(events) -> StreamingHttpResponse:
    return StreamingHttpResponse(events, content_type="text/event-stream", headers=STREAM_HEADERS)


def _refused() -> HttpResponse:
    return HttpResponse("Sign in to follow this page.", status=403, content_type="text/plain")


def resume_point(request) -> tuple[int, bool] | None:
    """The seq the viewer has: `Last-Event-ID` (a reconnect) wins over `?after=`.
    None when neither is a whole number."""
    last_event_id = request.headers.get("Last-Event-ID", "").strip()
    raw = last_event_id or request.GET.get("after", "0").strip() or "0"
    if not raw.isdigit():
        return None
    return int(raw), bool(last_event_id)


@require_GET
async def deployment_events(request, pk: int):
    """Status, steps, log lines and `changed` of one deployment, until it ends."""
    if not roles.can_view(await request.auser()):
        return _refused()
    resume = resume_point(request)
    if resume is None:
        return HttpResponseBadRequest("after and Last-Event-ID are log line numbers.")
    if not await Deployment.objects.filter(pk=pk).aexists():
        raise Http404("No such deployment.")
    after, reconnect = resume
    await _release_database()
    return _stream(_deployment_events(pk, after, reconnect))


@require_GET
async def release_events(request, name: str, version: str):
    """The status and build log of one release, until its build ends."""
    if not roles.can_view(await request.auser()):
        return _refused()
    resume = resume_point(request)
    if resume is None:
        return HttpResponseBadRequest("after and Last-Event-ID are build log line numbers.")
    pk = await (
        Release.objects.filter(service__name=name, version=version)
        .values_list("pk", flat=True)
        .afirst()
    )
    if pk is None:
        raise Http404(f"No release {version} of {name}.")
    after, reconnect = resume
    await _release_database()
    return _stream(_release_events(pk, after, reconnect))


@require_GET
async def lanes_events(request):
    """`changed` events naming which of the requested lanes changed."""
    if not roles.can_view(await request.auser()):
        return _refused()
    raw = request.GET.getlist("lane")
    if not raw or len(raw) > MAX_LANES or not all(value.isdigit() for value in raw):
        return HttpResponseBadRequest(f"Name 1 to {MAX_LANES} lanes: ?lane=<id>&lane=<id>…")
    wanted = frozenset(int(value) for value in raw)
    lanes = frozenset(
        [pk async for pk in Lane.objects.filter(pk__in=wanted).values_list("pk", flat=True)]
    )
    if not lanes:
        raise Http404("No such lane.")
    reconnect = bool(request.headers.get("Last-Event-ID"))
    await _release_database()
    return _stream(_lanes_events(lanes, reconnect))


async def _release_database() -> None:
    """Close this request's database connection before streaming: a stream lasts as
    long as the page is open, and a thousand viewers must not hold a thousand
    connections (the hub reads for all of them on its own one)."""
    await sync_to_async(_close_connection)()


def _close_connection() -> None:
    # Looked up here, in the request's thread: its own connection. Never inside a
    # transaction (a test's, or ATOMIC_REQUESTS): closing would end it.
    if not connection.in_atomic_block:
        connection.close()


# The hub is taken when the stream starts, in the event loop that serves it.


async def _deployment_events(pk: int, after: int, reconnect: bool):
    async for chunk in get_hub().deployment_stream(pk, after, reconnect):
        yield chunk


async def _release_events(pk: int, after: int, reconnect: bool):
    async for chunk in get_hub().release_stream(pk, after, reconnect):
        yield chunk


async def _lanes_events(lanes: frozenset[int], reconnect: bool):
    async for chunk in get_hub().lanes_stream(lanes, reconnect):
        yield chunk
