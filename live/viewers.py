"""One open stream each: the frames waiting to be written, and whether it should stop.

The hub pushes frames; the stream's generator takes everything pending in one write
(coalescing: a viewer on a slow link gets one bigger write, not a backlog of small ones).
What may wait is bounded: a viewer that lets more pile up is dropped, and its browser
reconnects with its Last-Event-ID and catches up from the database.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator


class Viewer:
    def __init__(self, max_bytes: int, coalesce: bool = True):
        self.max_bytes = max_bytes
        self.coalesce = coalesce
        self.pending: deque[bytes] = deque()
        self.pending_bytes = 0
        self.closing = False  # write what is pending, then end the stream
        self.dropped = False  # end the stream now, without what is pending
        self._ready = asyncio.Event()

    def push(self, frame: bytes) -> None:
        """Queue a frame; drop the viewer when its queue would pass the bound (one frame
        alone is always taken, so a large catch-up cannot drop a viewer forever)."""
        if self.closing or not frame:
            return
        if self.pending and self.pending_bytes + len(frame) > self.max_bytes:
            self.drop()
            return
        self.pending.append(frame)
        self.pending_bytes += len(frame)
        self._ready.set()

    def close(self) -> None:
        """End the stream once what is pending is written."""
        self.closing = True
        self._ready.set()

    def drop(self) -> None:
        self.dropped = self.closing = True
        self.pending.clear()
        self.pending_bytes = 0
        self._ready.set()

    async def writes(self) -> AsyncIterator[bytes]:
        """What to write, as it comes: one chunk per wake-up (or one per frame when not
        coalescing, the naive fan-out)."""
        while not self.dropped:
            await self._ready.wait()
            self._ready.clear()
            while self.pending and not self.dropped:
                yield self._take()
            if self.closing:
                return

    def _take(self) -> bytes:
        if self.coalesce:
            chunk = b"".join(self.pending)
            self.pending.clear()
        else:
            chunk = self.pending.popleft()
        self.pending_bytes -= len(chunk)
        return chunk


class DeploymentViewer(Viewer):
    def __init__(self, deployment_id: int, seq: int, reconnect: bool, **kwargs):
        super().__init__(**kwargs)
        self.deployment_id = deployment_id
        self.seq = seq  # the last log line it has
        self.reconnect = reconnect  # it had the page before: tell it to refetch its sections
        self.needs_snapshot = True  # status and steps not sent yet


class LanesViewer(Viewer):
    def __init__(self, lane_ids: frozenset[int], **kwargs):
        super().__init__(**kwargs)
        self.lane_ids = lane_ids
