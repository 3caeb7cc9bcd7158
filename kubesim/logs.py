"""`GET pods/NAME/log` with the kubelet's options: previous, timestamps, since, tail, limit, follow.

What a container prints comes from the pod simulator (`read_text`, the whole text
of the container's current run, or of its last terminated run for `previous`).
This module adds what a container runtime keeps: when each line was printed. A
store listener stamps new lines as pod status changes make them appear, so
`timestamps`, `sinceSeconds` and `sinceTime` see the moment a line was written,
and `follow=true` streams new lines (chunked) until that run of the container
ends, the pod goes away or the client hangs up. Lines a running app prints without
a status change (the front door's error lines) are announced with `printed(pod)`.

The kubelet's rules (pkg/kubelet/kubelet_pods.go, validateContainerLogStatus):
`previous` reads `lastState.terminated` and is a 400 when there is none; a
container waiting in back-off shows its last terminated run. Options are
validated like the API server's ValidatePodLogOptions (422 PodLogOptions).
Tail is applied before since, as the CRI log reader does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import SimpleNamespace

from .errors import ApiError, bad_request, invalid
from .httpserver import Request, Response, StreamResponse
from .objects import now, parse_timestamp
from .resources import lookup
from .store import Store, Watcher, WatchEvent

PODS = lookup("", "pods")
LOG_OPTIONS = SimpleNamespace(kind="PodLogOptions", group="")
TRUE = ("true", "1", "True")
TextReader = Callable[[dict, dict], str]


def rfc3339_nano(moment: dt.datetime) -> str:
    """Go's time.RFC3339Nano in UTC: nanoseconds, trailing zeros trimmed."""
    base = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}000".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


@dataclass(frozen=True)
class LogOptions:
    container: str
    previous: bool
    timestamps: bool
    follow: bool
    tail: int | None
    limit: int | None
    since: dt.datetime | None


def _integer(query: dict, key: str) -> int | None:
    text = query.get(key)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _since_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = parse_timestamp(text)
    except ValueError:
        raise bad_request(
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}"'
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_options(pod: dict, query: dict) -> LogOptions:
    """The query as PodLogOptions; 422 for values the API server refuses."""
    tail, limit = _integer(query, "tailLines"), _integer(query, "limitBytes")
    since_seconds, since_time = _integer(query, "sinceSeconds"), _since_time(query.get("sinceTime"))
    causes = []
    if tail is not None and tail < 0:
        causes.append(("tailLines", f"Invalid value: {tail}: must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        causes.append(("limitBytes", f"Invalid value: {limit}: must be greater than 0"))
    if since_seconds is not None and since_time is not None:
        causes.append(
            ("", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
        )
    elif since_seconds is not None and since_seconds < 1:
        causes.append(("sinceSeconds", f"Invalid value: {since_seconds}: must be greater than 0"))
    if causes:
        raise invalid(LOG_OPTIONS, pod["metadata"]["name"], causes)
    since = since_time
    if since_seconds is not None:
        since = now() - dt.timedelta(seconds=since_seconds)
    return LogOptions(
        container=pick_container(pod, query.get("container")),
        previous=query.get("previous") in TRUE,
        timestamps=query.get("timestamps") in TRUE,
        follow=query.get("follow") in TRUE,
        tail=tail,
        limit=limit,
        since=since,
    )


def pick_container(pod: dict, wanted: str | None) -> str:
    containers = [c["name"] for c in pod.get("spec", {}).get("containers", [])]
    name = pod["metadata"]["name"]
    if wanted:
        if wanted not in containers:
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    if len(containers) != 1:
        raise bad_request(
            f"a container name must be specified for pod {name}, "
            f"choose one of: [{' '.join(containers)}]"
        )
    return containers[0]


def container_status(pod: dict, container: str) -> dict:
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status.get("name") == container:
            return status
    return {}


def run_shown(pod: dict, container: str, previous: bool) -> int:
    """Which run of the container a log read shows: 0 for the first, +1 per restart."""
    status = container_status(pod, container)
    restarts = status.get("restartCount", 0)
    last_terminated = bool(status.get("lastState", {}).get("terminated"))
    if previous:
        if not last_terminated:
            raise bad_request(
                f'previous terminated container "{container}" in pod '
                f'"{pod["metadata"]["name"]}" not found'
            )
        return max(0, restarts - 1)
    waiting = "waiting" in status.get("state", {})
    return max(0, restarts - 1) if waiting and last_terminated else restarts


def run_is_live(pod: dict, container: str, run: int) -> bool:
    """Whether that run can still print: it is the container's current, running one."""
    status = container_status(pod, container)
    return "running" in status.get("state", {}) and status.get("restartCount", 0) == run


class PodLogs:
    """Serves pod logs of one cluster and remembers when each line was printed."""

    def __init__(self, store: Store, read_text: TextReader):
        self.store = store
        self.read_text = read_text
        self._printed: dict[tuple[str, str, int], list[dt.datetime]] = {}
        self._followers: dict[str, set[Watcher]] = {}  # pod uid → its `follow` streams
        store.listeners.append(self._on_event)

    # --- when lines were printed --------------------------------------------------------

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource is not PODS:
            return
        pod = event.obj
        uid = pod["metadata"]["uid"]
        if event.type == "DELETED":
            for key in [k for k in self._printed if k[0] == uid]:
                del self._printed[key]
            return
        self._stamp(pod)

    def _stamp(self, pod: dict) -> None:
        for status in pod.get("status", {}).get("containerStatuses", []):
            with contextlib.suppress(ApiError):
                self._lines(pod, status["name"], previous=False)

    def printed(self, pod: dict) -> None:
        """The running app printed new lines: stamp them now and wake its followers."""
        self._stamp(pod)
        meta = pod["metadata"]
        entry = self.store.get_entry(PODS, meta["namespace"], meta["name"])
        if entry is None:
            return
        for watcher in self._followers.get(meta["uid"], ()):
            watcher.queue.put_nowait(WatchEvent("MODIFIED", PODS, entry, self.store.rv))

    def _lines(self, pod: dict, container: str, previous: bool) -> list[tuple[dt.datetime, str]]:
        """The lines of the run shown, each with the time it was first seen."""
        run = run_shown(pod, container, previous)
        query = {"container": container, **({"previous": "true"} if previous else {})}
        text = self.read_text(pod, query)
        lines = text.splitlines()
        stamps = self._printed.setdefault((pod["metadata"]["uid"], container, run), [])
        if len(stamps) < len(lines):
            moment = now()
            stamps.extend(moment for _ in range(len(lines) - len(stamps)))
        return list(zip(stamps, lines, strict=False))

    # --- answering a request -------------------------------------------------------------

    def respond(self, pod: dict, request: Request) -> Response | StreamResponse:
        options = parse_options(pod, request.query)
        lines = self._lines(pod, options.container, options.previous)
        if options.tail is not None:
            lines = lines[-options.tail :] if options.tail else []  # all, when fewer
        run = run_shown(pod, options.container, options.previous)
        first = self._render(lines, options)
        if not options.follow or options.previous or not run_is_live(pod, options.container, run):
            return Response(200, _limited(first, options.limit), "text/plain")
        sent = len(self._lines(pod, options.container, False))
        chunks = self._follow(pod, options, run, sent, first, request)
        return StreamResponse(200, chunks, "text/plain")

    def _render(self, lines: list[tuple[dt.datetime, str]], options: LogOptions) -> bytes:
        if options.since is not None:
            lines = [(moment, line) for moment, line in lines if moment >= options.since]
        if options.timestamps:
            return "".join(f"{rfc3339_nano(m)} {line}\n" for m, line in lines).encode()
        return "".join(f"{line}\n" for _, line in lines).encode()

    async def _follow(
        self, pod: dict, options: LogOptions, run: int, sent: int, first: bytes, request: Request
    ) -> AsyncIterator[bytes]:
        """Stream the run's lines as they are printed, until it ends or the client leaves."""
        uid, meta = pod["metadata"]["uid"], pod["metadata"]
        watcher = Watcher(PODS, meta["namespace"], lambda obj: obj["metadata"]["uid"] == uid)
        self.store.watch(watcher, self.store.rv)
        self._followers.setdefault(uid, set()).add(watcher)
        budget = options.limit
        hangup = asyncio.ensure_future(request.client_closed.wait())
        try:
            chunk, budget = _spend(first, budget)
            yield chunk
            while budget != 0:
                event = await _next_event(watcher, hangup)
                if event is None or event.type == "DELETED":
                    return
                current = event.obj
                if run_shown(current, options.container, False) != run:
                    return
                lines = self._lines(current, options.container, False)
                chunk, budget = _spend(self._render(lines[sent:], options), budget)
                sent = len(lines)
                if chunk:
                    yield chunk
                if not run_is_live(current, options.container, run):
                    return
        finally:
            self.store.unwatch(watcher)
            followers = self._followers.get(uid, set())
            followers.discard(watcher)
            if not followers:
                self._followers.pop(uid, None)
            hangup.cancel()


async def _next_event(watcher: Watcher, hangup: asyncio.Future) -> WatchEvent | None:
    """The next event about the pod, or None once the client has hung up."""
    getter = asyncio.ensure_future(watcher.queue.get())
    try:
        await asyncio.wait({getter, hangup}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
    return getter.result() if getter.done() and not getter.cancelled() else None


def _spend(chunk: bytes, budget: int | None) -> tuple[bytes, int | None]:
    """Cut a chunk to what is left of limitBytes (None: no limit)."""
    if budget is None:
        return chunk, None
    chunk = chunk[:budget]
    return chunk, budget - len(chunk)


def _limited(body: bytes, limit: int | None) -> bytes:
    return body if limit is None else body[:limit]
