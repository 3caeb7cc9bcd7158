"""A clock tests move by hand, and the clearing of this test process's cache keys."""

from datetime import UTC, datetime, timedelta
from functools import cache

import redis
from django.conf import settings


class FakeClock:
    """Starts at 11:38 UTC on a fixed day; `advance(seconds=…)` moves it forward."""

    def __init__(self, start: datetime = datetime(2026, 5, 4, 11, 38, tzinfo=UTC)):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def forget_cached_keys() -> None:
    """Delete every cache key of this test process (its PORTAL_CACHE_PREFIX), and only
    those: other processes share the Redis, and FLUSHDB would take their queues too."""
    client = _redis()
    keys = list(client.scan_iter(match=f"{settings.PORTAL_CACHE_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)
