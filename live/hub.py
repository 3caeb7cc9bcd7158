"""One hub per ASGI process: one Redis subscription fanned out to its SSE viewers.

Started lazily by the first viewer, in that process's event loop. It listens on ONE
Redis connection, pattern-subscribed to the prefixed `deployment:*`, `lane:*` and
`release:*` (release pages: `release_fanout`); a message only marks what it names
dirty. Its ticker then reads the new rows once (one synchronous call, in the hub's own
thread), formats each frame once, and gives every viewer everything pending in one
write (coalescing; ticks are at least `PORTAL_LIVE_TICK_SECONDS` apart, so the write
rate does not follow the line rate).
What is watched is also re-read on a timer: every `PORTAL_LIVE_SAFETY_POLL_SECONDS`
with Redis (a publish lost while Redis restarted costs at most that), every
`PORTAL_LIVE_POLL_SECONDS` without it. The hub compares fingerprints, so a re-read that
finds nothing new sends nothing. Heartbeats come from one timer for all viewers.
The timers and the Redis listener are live.hub_listener (`HubListener`, a part of `Hub`).
"""

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from live import announce, frames, reads, release_reads
from live.fingerprints import DeploymentPrint
from live.hub_listener import HubListener
from live.release_fanout import ReleaseFanout, ReleaseViewer
from live.viewers import DeploymentViewer, LanesViewer, Viewer

log = logging.getLogger(__name__)

DB_RETRY_SECONDS = 1.0
BASELINE_WAIT_SECONDS = 5.0


class Hub(HubListener):
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.deployment_viewers: dict[int, set[DeploymentViewer]] = defaultdict(set)
        self.lane_viewers: dict[int, set[LanesViewer]] = defaultdict(set)
        self.deployment_prints: dict[int, DeploymentPrint] = {}
        self.lane_prints: dict[int, tuple] = {}
        self.dirty_deployments: set[int] = set()  # re-read whole (fingerprint first)
        # Deployments that only logged: the publish says up to which seq, so their tick
        # reads just the new lines (no fingerprint queries).
        self.logged: dict[int, int] = {}
        self.announced_lanes: set[int] = set()  # published: push whatever their print says
        self.polled_lanes: set[int] = set()  # re-read: push only when their print changed
        self.redis_connected = False
        self._wake = asyncio.Event()
        self.releases = ReleaseFanout(self._wake.set)  # release pages and their build logs
        # One thread for every read of this process's hub: a tick borrows one pooled
        # connection and gives it back when it ends (`_read`), so between ticks, and
        # however many viewers stream, the hub holds none.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-hub")
        self._tasks: list[asyncio.Task] = []
        self.shutting_down = False  # the server is stopping: streams end, none opens

    # Viewers

    async def deployment_stream(
        self, deployment_id: int, after: int, reconnect: bool
    ) -> AsyncIterator[bytes]:
        """The frames of one viewer of a deployment, from its resume point until it ends."""
        viewer = DeploymentViewer(deployment_id, after, reconnect, **self._viewer_options())
        try:  # registered inside the generator, so `finally` always unregisters it
            self.deployment_viewers[deployment_id].add(viewer)
            self._mark_deployments([deployment_id])
            async for chunk in self._stream(viewer):
                yield chunk
        finally:
            self._forget_deployment_viewer(viewer)

    async def release_stream(
        self, release_id: int, after: int, reconnect: bool
    ) -> AsyncIterator[bytes]:
        """The frames of one viewer of a release page, from its resume point until the
        build ends (at once for a release that is not building)."""
        viewer = ReleaseViewer(release_id, after, reconnect, **self._viewer_options())
        try:  # registered inside the generator, so `finally` always unregisters it
            self.releases.add(viewer)
            async for chunk in self._stream(viewer):
                yield chunk
        finally:
            self.releases.remove(viewer)

    async def lanes_stream(self, lane_ids: frozenset[int], reconnect: bool) -> AsyncIterator[bytes]:
        """`changed` events naming the lanes (of `lane_ids`) that changed, each tick."""
        viewer = LanesViewer(lane_ids, **self._viewer_options())
        try:
            new = [lane_id for lane_id in lane_ids if lane_id not in self.lane_viewers]
            for lane_id in lane_ids:
                self.lane_viewers[lane_id].add(viewer)
            self.polled_lanes.update(new)  # learn their print; nothing is pushed for it
            if reconnect:  # it missed what changed while it was away: refetch all
                viewer.push(changed_lanes_event(lane_ids))
            self._wake.set()
            # Open once the lanes' prints are known, so no change after that is missed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lanes_known(lane_ids), BASELINE_WAIT_SECONDS)
            async for chunk in self._stream(viewer):
                yield chunk
        finally:
            for lane_id in lane_ids:
                self._discard(self.lane_viewers, lane_id, viewer)
                if lane_id not in self.lane_viewers:
                    self.lane_prints.pop(lane_id, None)

    async def _lanes_known(self, lane_ids) -> None:
        while not all(lane_id in self.lane_prints for lane_id in lane_ids):
            await asyncio.sleep(0.01)

    async def _stream(self, viewer: Viewer) -> AsyncIterator[bytes]:
        if self.shutting_down:  # accepted just before the stop: the browser retries
            viewer.close()
        yield frames.retry(settings.PORTAL_LIVE_RETRY_MS, settings.PORTAL_LIVE_RETRY_JITTER_MS)
        async for chunk in viewer.writes():
            yield chunk

    def _viewer_options(self) -> dict:
        return {
            "max_bytes": settings.PORTAL_LIVE_QUEUE_MAX_BYTES,
            "coalesce": settings.PORTAL_LIVE_COALESCE,
        }

    def _forget_deployment_viewer(self, viewer: DeploymentViewer) -> None:
        self._discard(self.deployment_viewers, viewer.deployment_id, viewer)
        if viewer.deployment_id not in self.deployment_viewers:
            self.deployment_prints.pop(viewer.deployment_id, None)

    @staticmethod
    def _discard(index: dict, key: int, viewer: Viewer) -> None:
        viewers = index.get(key)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del index[key]

    def viewers(self) -> list[Viewer]:
        every = {v for group in self.deployment_viewers.values() for v in group}
        every.update(v for group in self.lane_viewers.values() for v in group)
        every.update(self.releases.all_viewers())
        return list(every)

    # Waking up

    def _mark_deployments(self, deployment_ids) -> None:
        self.dirty_deployments.update(deployment_ids)
        self._wake.set()

    def _mark_everything(self) -> None:
        """Re-read all that is watched (a poll, or Redis back after an outage)."""
        self.dirty_deployments.update(self.deployment_viewers)
        self.polled_lanes.update(self.lane_viewers)
        self.releases.mark_all()
        self._wake.set()

    def on_message(self, channel: str, payload: str) -> None:
        """A publish: mark what it names dirty, if this process watches it."""
        name = channel.removeprefix(settings.PORTAL_CHANNEL_PREFIX)
        kind, _, number = name.partition(":")
        if not number.isdigit():
            return
        key = int(number)
        if f"{kind}:" == announce.DEPLOYMENT and key in self.deployment_viewers:
            seq = payload.removeprefix(announce.LOG)
            if payload.startswith(announce.LOG) and seq.isdigit():
                self.logged[key] = max(self.logged.get(key, 0), int(seq))
                self._wake.set()
            else:
                self._mark_deployments([key])
        elif f"{kind}:" == announce.LANE and key in self.lane_viewers:
            self.announced_lanes.add(key)
            self._wake.set()
        elif f"{kind}:" == announce.RELEASE:
            self.releases.on_message(key, payload)

    # The ticker

    async def _run_ticks(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = self.loop.time()
            try:
                await self.tick()
            except Exception:  # the database is away: keep the viewers, retry shortly
                log.exception("live hub: a tick failed; retrying")
                self._mark_everything()
                await asyncio.sleep(DB_RETRY_SECONDS)
            rest = settings.PORTAL_LIVE_TICK_SECONDS - (self.loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    async def tick(self) -> None:
        """Read what is dirty once, then hand each viewer its frames."""
        release_asks, release_viewers = self.releases.take_asks()
        if release_asks:
            try:
                news = await self._read(
                    release_reads.read_release_tick,
                    release_asks,
                    settings.PORTAL_LIVE_LINES_PER_EVENT,
                )
            except BaseException:
                self.releases.give_back(release_asks)
                raise
            self.releases.hand_out(release_asks, release_viewers, news)
        asks, viewers_asked = self._deployment_asks()
        announced, polled = self.announced_lanes, self.polled_lanes
        self.announced_lanes, self.polled_lanes = set(), set()
        if not asks and not announced and not polled:
            return
        try:
            news, lane_prints = await self._read(
                reads.read_tick, asks, announced | polled, settings.PORTAL_LIVE_LINES_PER_EVENT
            )
        except BaseException:  # nothing was handed out: all of it is still to do
            self.dirty_deployments.update(ask.deployment_id for ask in asks)
            self.announced_lanes |= announced
            self.polled_lanes |= polled
            raise
        for ask in asks:
            self._hand_out(ask, news[ask.deployment_id], viewers_asked[ask.deployment_id])
        self._hand_out_lanes(announced, polled, lane_prints)

    async def _read(self, read, *args):
        """`read(*args)` in the hub's thread; its connection goes back to the pool after."""
        return await sync_to_async(
            _returning_connection, thread_sensitive=False, executor=self._executor
        )(read, *args)

    def _deployment_asks(self):
        dirty, self.dirty_deployments = self.dirty_deployments, set()
        logged, self.logged = self.logged, {}
        asks, viewers_asked = [], {}
        for deployment_id in dirty | logged.keys():
            viewers = list(self.deployment_viewers.get(deployment_id, ()))
            if not viewers:
                continue
            known = self.deployment_prints.get(deployment_id)
            snapshot = any(viewer.needs_snapshot for viewer in viewers)
            lines_only = deployment_id not in dirty and known is not None and not snapshot
            viewers_asked[deployment_id] = viewers
            asks.append(
                reads.DeploymentAsk(
                    deployment_id=deployment_id,
                    known=known,
                    resume_points={viewer.seq for viewer in viewers},
                    snapshot=snapshot,
                    logged_upto=logged.get(deployment_id) if lines_only else None,
                )
            )
        return asks, viewers_asked

    def _hand_out(self, ask, news: reads.DeploymentNews, viewers: list[DeploymentViewer]) -> None:
        if news.print is None:  # deleted while watched
            for viewer in viewers:
                viewer.push(frames.event("end", "gone"))
                viewer.close()
            return
        known = ask.known
        for viewer in viewers:
            if viewer.closing:
                continue
            viewer.push(b"".join(self._frames_for(viewer, known, news)))
            if viewer.seq >= news.print.last_seq and news.print.is_final:
                viewer.close()  # after its `end`
        if self.deployment_viewers.get(ask.deployment_id):
            self.deployment_prints[ask.deployment_id] = news.print
        if any(viewer.seq < news.print.last_seq for viewer in viewers if not viewer.closing):
            self._mark_deployments([ask.deployment_id])  # more lines than one event holds

    def _frames_for(self, viewer: DeploymentViewer, known, news) -> list[bytes]:
        lines, new_seq = news.lines.get(viewer.seq, (b"", viewer.seq))
        viewer.seq = new_seq
        ending = news.print.is_final and viewer.seq >= news.print.last_seq
        parts = []
        if viewer.needs_snapshot:
            parts += [news.status, news.steps, lines]
            if viewer.reconnect or ending:
                parts.append(frames.event("changed", "sections"))
            viewer.needs_snapshot = False
        else:
            parts.append(lines)
            # The status says which step runs now ("Now: step 3 of 4"): a step change
            # changes it too.
            if ending or news.status_changed(known) or news.steps_changed(known):
                parts.append(news.status)
            if ending or news.steps_changed(known):
                parts.append(news.steps)
            if ending or news.sections_changed(known):
                parts.append(frames.event("changed", "sections"))
        if ending:
            parts.append(frames.event("end", news.print.state))
        return parts

    def _hand_out_lanes(self, announced: set[int], polled: set[int], prints: dict) -> None:
        changed = set(announced)
        for lane_id in polled:
            known = self.lane_prints.get(lane_id)
            if known is not None and prints.get(lane_id) != known:
                changed.add(lane_id)
        for lane_id in announced | polled:
            if lane_id in self.lane_viewers and lane_id in prints:
                self.lane_prints[lane_id] = prints[lane_id]
        per_viewer = defaultdict(set)
        for lane_id in changed:
            for viewer in self.lane_viewers.get(lane_id, ()):
                per_viewer[viewer].add(lane_id)
        for viewer, lane_ids in per_viewer.items():
            viewer.push(changed_lanes_event(lane_ids))


def _returning_connection(read, *args):
    try:
        return read(*args)
    finally:
        connection.close()  # this thread's: back to the pool (a broken one is dropped)


def changed_lanes_event(lane_ids) -> bytes:
    """`changed` naming lane ids. Its `id:` means nothing but that one came: a browser
    that reconnects then sends Last-Event-ID, and is told to refetch every lane."""
    names = " ".join(str(lane_id) for lane_id in sorted(lane_ids))
    return frames.event("changed", names, event_id=time.time_ns() // 1_000_000)


_hub: Hub | None = None


def get_hub() -> Hub:
    """This process's hub, started on first use in the running event loop."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
        _hub.start()
        close_streams_on_stop_signals()
    return _hub


def close_streams_on_stop_signals() -> None:
    """Chain the server's SIGINT and SIGTERM handlers: a stop closes the live streams.

    uvicorn waits for every open response before it exits, and a stream ends only when
    its page does: without this a stop waits out `--timeout-graceful-shutdown`, then
    cancels each stream mid-request (and a supervisor's SIGKILL may come first).
    uvicorn sets its handlers with signal.signal before it serves; a handler runs in
    the main thread between bytecodes, so the closing is scheduled on the hub's loop.
    Chained once per process; the handler finds whichever hub is current.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (a test's server thread)
    for signum in (signal.SIGINT, signal.SIGTERM):
        server_handler = signal.getsignal(signum)
        if callable(server_handler) and not getattr(server_handler, "closes_streams", False):
            signal.signal(signum, _closing_streams_before(server_handler))


def _closing_streams_before(server_handler):
    def on_stop(signum, frame):
        hub = _hub
        if hub is not None and not hub.loop.is_closed():
            hub.loop.call_soon_threadsafe(hub.close_viewers)
        server_handler(signum, frame)

    on_stop.closes_streams = True
    return on_stop
