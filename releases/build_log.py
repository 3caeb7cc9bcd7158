"""Build output: a release's log lines, stored gap-free, bounded, announced like a deployment's.

Lines are cleaned as deployment output is (`portal.log_lines.clean_line`: escapes stripped,
secrets masked, overlong lines cut), inserted with the next per-release `seq` under
the release's row lock, and `release:<id>` is published after commit so the release
page wakes up (`live.announce`).

A release stores at most PORTAL_LOG_STEP_MAX_BYTES of build output, counted in
`Release.log_bytes` under that lock, then one "[output truncated: …]" notice (as a
deployment step does); only the build's ending (built, or why it failed) is stored
past it. The build runner writes through a `BuildLogWriter`, which stores lines in
batches and, once the cap is reached, drops the rest in memory: a build printing a
gigabyte costs a bounded number of rows and of queries.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from live import announce
from portal.log_gaps import LogGaps, store_or_count_gap
from portal.log_lines import clean_line, fit_within_cap
from releases.models import BuildLogLine, Release

log = logging.getLogger(__name__)

BUILD_CAP_NOTICE = (
    "[output truncated: this build reached its limit of {cap} bytes; later lines are not stored]"
)
FLUSH_LINES = 200  # a batch: one transaction for this many lines
FLUSH_SECONDS = 0.2  # and at least this often, so that the page follows a quiet build


def build_cap_notice() -> str:
    return BUILD_CAP_NOTICE.format(cap=settings.PORTAL_LOG_STEP_MAX_BYTES)


@dataclass(frozen=True)
class Stored:
    rows: list[BuildLogLine]
    full: bool  # the release's log reached its cap: later lines will not be stored
    refused: int = 0  # lines given that were not stored, the log being full


def emit_build_lines(release_id: int, lines: Iterable[str]) -> list[BuildLogLine]:
    """Store lines in order with consecutive `seq` numbers, within the release's cap;
    returns the rows stored."""
    return store_build_lines(release_id, [clean_line(line) for line in lines]).rows


def emit_build_line(release_id: int, text: str) -> list[BuildLogLine]:
    """Store one line (or several, split on newlines) of a release's build output."""
    return emit_build_lines(release_id, str(text).split("\n"))


def emit_build_ending(release_id: int, text: str) -> list[BuildLogLine]:
    """Store how the build ended, even past the cap: the log always says how it ended."""
    lines = [clean_line(line) for line in str(text).split("\n")]
    return _insert(release_id, lines, capped=False).rows


def store_build_lines(release_id: int, cleaned: list[str]) -> Stored:
    """Store lines cleaned already, as many as fit the release's cap (then its notice)."""
    return _insert(release_id, cleaned, capped=True)


def _insert(release_id: int, cleaned: list[str], capped: bool) -> Stored:
    cap = settings.PORTAL_LOG_STEP_MAX_BYTES
    if not cleaned:
        return Stored([], full=False)
    given = len(cleaned)
    with transaction.atomic():
        release = (
            Release.objects.select_for_update().only("next_log_seq", "log_bytes").get(pk=release_id)
        )
        used = release.log_bytes
        if capped:
            cleaned, used = fit_within_cap(cleaned, used, cap, build_cap_notice())
        if not cleaned:
            return Stored([], full=True, refused=given)
        first = release.next_log_seq
        rows = BuildLogLine.objects.bulk_create(
            BuildLogLine(release_id=release_id, seq=first + i, text=line)
            for i, line in enumerate(cleaned)
        )
        Release.objects.filter(pk=release_id).update(next_log_seq=first + len(rows), log_bytes=used)
        last = first + len(rows) - 1
        transaction.on_commit(lambda: announce.release_log_appended(release_id, last))
    full = used >= cap
    # Once full, the last row is the notice (reached now) or nothing was stored (before).
    return Stored(rows, full, refused=given - len(rows) + 1 if capped and full else 0)


def release_changed(release_id: int) -> None:
    """The release's state, reason or image changed: call inside the change's transaction."""
    announce.release_changed(release_id)


class BuildLogWriter:
    """The build runner's way into the log: lines buffered, stored in batches, bounded.

    `write` appends to a buffer; lines are stored FLUSH_LINES at a time, at least every
    FLUSH_SECONDS by a flusher thread (a quiet step's last line still shows), and on
    `close`. Once the log is full, `write` drops lines without cleaning or a query. A
    batch the database cannot take is counted as a gap (log_gaps): the next batch stored
    starts with its notice. Use it as a context manager; `close` stores what is left.
    """

    def __init__(self, release_id: int, mask: Callable[[str], str] = str):
        self.release_id = release_id
        self.mask = mask
        self.full = False
        self.stored_batches = 0  # transactions that stored lines
        self.dropped_lines = 0  # written after the log was full
        self._pending: list[str] = []
        self._buffer_lock = threading.Lock()  # the buffer, between writer and flusher
        self._store_lock = threading.Lock()  # batches are stored one at a time, in order
        self._gaps = LogGaps()
        self._closed = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_periodically, daemon=True, name=f"build-log-{release_id}"
        )

    def __enter__(self) -> "BuildLogWriter":
        self._flusher.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        """Take one line (or several, split on newlines) of output."""
        with self._buffer_lock:
            if self.full:
                self.dropped_lines += 1
                return
            self._pending.append(text)
            due = len(self._pending) >= FLUSH_LINES
        if due:
            self.flush()  # in the writer's thread: a fast build waits for its database

    def flush(self) -> None:
        """Store the buffered lines now."""
        with self._store_lock:
            with self._buffer_lock:
                texts, self._pending = self._pending, []
                if self.full:
                    self.dropped_lines += len(texts)
                    return
            if texts:
                self._store(texts)

    def close(self) -> None:
        """Stop the flusher and store what is left; log how many lines the cap dropped."""
        self._closed.set()
        if self._flusher.is_alive():
            self._flusher.join()
        self.flush()
        if self.dropped_lines:
            log.info(
                "release %s: %s build log lines past the cap were not stored",
                self.release_id,
                self.dropped_lines,
            )

    def _store(self, texts: list[str]) -> None:
        lines = [clean_line(self.mask(line)) for text in texts for line in text.split("\n")]

        def store(batch: list[str]) -> None:
            stored = store_build_lines(self.release_id, batch)
            self.stored_batches += 1
            with self._buffer_lock:
                self.full = stored.full
                self.dropped_lines += stored.refused

        store_or_count_gap(self._gaps, self.release_id, lines, store)

    def _flush_periodically(self) -> None:
        try:
            while not self._closed.wait(FLUSH_SECONDS):
                self._flush_safely()
        finally:
            connection.close()  # this thread's own connection

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:  # a bug must not kill the flusher; `close` flushes again
            log.exception("could not store build log lines of release %s", self.release_id)
