"""The hub's timers and its Redis listener: what wakes the fan-out, and how it stops.

`HubListener` is the part of `live.hub.Hub` that runs in the background: it starts the
ticker, the heartbeats and either the Redis listener with its safety poll or (without
Redis) the poll; it follows Redis on ONE connection, reconnecting with back-off and
re-reading everything it watches once it is back; it stops all of it. It works on the
hub's own state (`_run_ticks`, `_mark_everything`, `on_message`, `viewers`).
"""

import asyncio
import contextvars
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from live import announce, frames

log = logging.getLogger("live.hub")  # the hub's logger, as before the split

REDIS_BACKOFF_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class HubListener:
    # Shutting down

    def close_viewers(self) -> None:
        """End every stream once what is pending is written (a browser reconnects to
        the next server), and every stream that opens from now on."""
        self.shutting_down = True
        for viewer in self.viewers():
            viewer.close()

    # Timers and the Redis listener

    def start(self) -> None:
        jobs = [self._run_ticks(), self._heartbeats()]
        if settings.REDIS_URL:
            jobs += [self._listen(), self._poll(settings.PORTAL_LIVE_SAFETY_POLL_SECONDS)]
        else:
            jobs.append(self._poll(settings.PORTAL_LIVE_POLL_SECONDS))
        # A fresh context: the hub outlives the request of the viewer that started it.
        self._tasks = [self.loop.create_task(job, context=contextvars.Context()) for job in jobs]

    async def stop(self) -> None:
        """Stop the timers and the listener, end every stream, close the database
        connection (tests and the benchmark; a server process just exits)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for viewer in self.viewers():
            viewer.close()
        await sync_to_async(
            connections.close_all, thread_sensitive=False, executor=self._executor
        )()
        self._executor.shutdown(wait=False)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(settings.PORTAL_LIVE_HEARTBEAT_SECONDS)
            for viewer in self.viewers():
                viewer.push(frames.HEARTBEAT)

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._mark_everything()

    async def _listen(self) -> None:
        """Follow Redis on one connection; reconnect with back-off, then catch up from
        the database (what was published meanwhile is lost to Redis, not to viewers)."""
        failures = 0
        while True:
            try:
                await self._follow_redis()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.redis_connected:
                    log.warning("live hub: Redis went away (%s); reconnecting", exc)
                self.redis_connected = False
                delay = REDIS_BACKOFF_SECONDS[min(failures, len(REDIS_BACKOFF_SECONDS) - 1)]
                failures += 1
                await asyncio.sleep(delay)
            else:
                failures = 0

    async def _follow_redis(self) -> None:
        import redis.asyncio as redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=10
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            prefix = escape_glob(settings.PORTAL_CHANNEL_PREFIX)
            await pubsub.psubscribe(
                f"{prefix}{announce.DEPLOYMENT}*",
                f"{prefix}{announce.LANE}*",
                f"{prefix}{announce.RELEASE}*",
            )
            self.redis_connected = True
            self._mark_everything()  # whatever was published before we listened
            async for message in pubsub.listen():
                if message["type"] == "pmessage":
                    self.on_message(message["channel"].decode(), message["data"].decode())
        finally:
            self.redis_connected = False
            await pubsub.aclose()
            await client.aclose()


def escape_glob(text: str) -> str:
    """A channel prefix as a literal in a Redis glob pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
