"""Log lines lost while the database was unreachable are owned up to, not hidden.

Output is never worth failing a step or a build for, so a line the database cannot
take (after one reconnect) is dropped. The gap is remembered in this process, and the
next lines stored in that log are preceded by a notice: "[3 log lines lost while the
database was unreachable at 14:02:07 UTC]", so a reader knows the log has a hole.
Another process does not know of the gap (the database that could have told it was
away); the worker that lost the lines is the one that goes on writing them.
"""

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import InterfaceError, OperationalError, connection
from psycopg_pool import PoolTimeout

log = logging.getLogger(__name__)

UNREACHABLE = (InterfaceError, OperationalError)


@dataclass(frozen=True)
class Gap:
    """How many lines were lost, between which times (UTC)."""

    lines: int
    first: datetime
    last: datetime

    def notice(self) -> str:
        count = f"{self.lines} log line{'s' if self.lines != 1 else ''}"
        when = f"at {self.first:%H:%M:%S}"
        if f"{self.last:%H:%M:%S}" != f"{self.first:%H:%M:%S}":
            when = f"between {self.first:%H:%M:%S} and {self.last:%H:%M:%S}"
        return f"[{count} lost while the database was unreachable {when} UTC]"

    def __add__(self, later: "Gap") -> "Gap":
        return Gap(
            self.lines + later.lines, min(self.first, later.first), max(self.last, later.last)
        )


class LogGaps:
    """The gaps of several logs (keyed by deployment or release id), safe across threads."""

    def __init__(self):
        self._gaps: dict[Hashable, Gap] = {}
        self._lock = threading.Lock()

    def lost(self, key: Hashable, lines: int) -> None:
        now = datetime.now(UTC)
        self._merge(key, Gap(lines, now, now))

    def take(self, key: Hashable) -> Gap | None:
        """The gap to report before the next lines; put it back if they are not stored."""
        with self._lock:
            return self._gaps.pop(key, None)

    def put_back(self, key: Hashable, gap: Gap | None) -> None:
        if gap is not None:
            self._merge(key, gap)

    def _merge(self, key: Hashable, gap: Gap) -> None:
        with self._lock:
            earlier = self._gaps.get(key)
            self._gaps[key] = earlier + gap if earlier else gap


def store_or_count_gap(gaps: LogGaps, key: Hashable, lines: list[str], store: Callable) -> bool:
    """Call `store(lines)` with the pending gap's notice first; True once stored.

    A dropped connection is retried once on a fresh one (PostgreSQL restarted, a
    connection killed), but not a pool that lent none within its timeout (it already
    waited for a working one): when the database stays away, the lines are counted as
    a gap of `key` and False is returned. Other errors propagate, the gap kept.
    """
    for _ in range(2):
        gap = gaps.take(key)
        try:
            store([gap.notice(), *lines] if gap else lines)
            return True
        except UNREACHABLE as error:
            gaps.put_back(key, gap)
            connection.close()  # reconnect on the next query
            if isinstance(error.__cause__, PoolTimeout):
                break
        except BaseException:
            gaps.put_back(key, gap)
            raise
    gaps.lost(key, len(lines))
    log.warning("%s log line(s) of %s dropped: the database is unreachable", len(lines), key)
    return False


# The deployments' logs, written by the steps of this worker process.
deployment_gaps = LogGaps()
