"""Watch streams: one JSON event per line, from a resourceVersion or from scratch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from .errors import status_object
from .httpserver import Request, StreamResponse
from .resources import Resource
from .store import Store, TooOld, Watcher, WatchEvent
from .tables import table

DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _since(request: Request) -> int | None:
    text = request.query.get("resourceVersion", "")
    if text in ("", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        return -1


def _timeout(request: Request) -> float:
    try:
        return max(0.0, float(request.query.get("timeoutSeconds", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _line(kind: str, obj) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _table_line(event: WatchEvent, resource: Resource) -> bytes:
    rows = table(resource.plural, [event.obj], str(event.rv))
    return _line(event.type, rows)


def _bookmark(resource: Resource, rv: int) -> bytes:
    obj = {
        "kind": resource.kind,
        "apiVersion": resource.api_version,
        "metadata": {"resourceVersion": str(rv), "annotations": {INITIAL_EVENTS_END: "true"}},
    }
    return _line("BOOKMARK", obj)


def watch_response(
    store: Store,
    resource: Resource,
    namespace: str | None,
    matches,
    request: Request,
    as_table: bool,
) -> StreamResponse:
    """Register a watcher now (so nothing is missed) and stream its events until the timeout."""
    watcher = Watcher(resource, namespace, matches)
    since = _since(request)
    initial_events = request.query.get("sendInitialEvents", "").lower() == "true"
    try:
        if since == -1:
            raise TooOld(-1, store.compacted_rv + 1)
        store.watch(watcher, None if initial_events else since)
    except TooOld as error:
        expired = status_object(410, "Expired", str(error))
        return StreamResponse(200, _single(_line("ERROR", expired)))
    bookmark = _bookmark(resource, store.rv) if initial_events else b""
    chunks = _stream(store, watcher, resource, request, as_table, bookmark)
    return StreamResponse(200, chunks)


async def _single(line: bytes) -> AsyncIterator[bytes]:
    yield line


async def _stream(
    store: Store,
    watcher: Watcher,
    resource: Resource,
    request: Request,
    as_table: bool,
    bookmark: bytes,
) -> AsyncIterator[bytes]:
    queue = watcher.queue

    async def close_on_hangup():
        await request.client_closed.wait()
        queue.put_nowait(None)

    hangup = asyncio.ensure_future(close_on_hangup())
    deadline = time.monotonic() + _timeout(request)
    try:
        if bookmark:
            pending = [queue.get_nowait() for _ in range(queue.qsize())]
            yield b"".join(_render(e, resource, as_table) for e in pending if e) + bookmark
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    first = await queue.get()
            except TimeoutError:
                return
            events = [first] + [queue.get_nowait() for _ in range(queue.qsize())]
            if any(event is None for event in events):
                return
            yield b"".join(_render(event, resource, as_table) for event in events)
    finally:
        store.unwatch(watcher)
        hangup.cancel()
        with contextlib.suppress(BaseException):
            await hangup


def _render(event: WatchEvent, resource: Resource, as_table: bool) -> bytes:
    return _table_line(event, resource) if as_table else event.line
