"""The part of a deployment's log (or a release's build output) a page renders at once:
its last few hundred lines, or the lines before a given `seq` when a reader asks for
earlier ones.

One query whatever the length of the log (millions of lines stay in the database):
the window is read newest first with one row more than it shows, and that extra row
says whether earlier lines exist. Step labels come from the steps the page has loaded.
"""

from dataclasses import dataclass

from django.conf import settings

from deployments.models import Deployment
from releases.models import Release

# `previous_step_id` for a window the page renders: no step id equals it, so the first
# line of the window always gets its step's header (the reader sees which step it is).
WINDOW_START = 0


@dataclass(frozen=True)
class LogWindow:
    lines: list[dict]  # seq, step_id, step_label, created_at, text: oldest first
    previous_step_id: int | None
    earlier_before: int | None  # `before` to ask for the lines before these; None at the start
    later_before: int | None  # `before` of the next window after these; None at the tail
    last_seq: int  # the last line rendered (0 when none): the stream resumes after it

    @property
    def is_tail(self) -> bool:
        return self.later_before is None


def page_size() -> int:
    return settings.PORTAL_LOG_PAGE_LINES


def log_window(
    deployment: Deployment, step_labels: dict[int, str], before: int | None = None
) -> LogWindow:
    """The `page_size()` lines before `before` (the log's last lines when None)."""
    rows = deployment.log.values("seq", "step_id", "created_at", "text")
    return _window(rows, deployment.next_log_seq, before, lambda row: _line(row, step_labels))


def build_log_window(release: Release, before: int | None = None) -> LogWindow:
    """A release's build output, windowed as a deployment's log is (no steps)."""
    rows = release.build_log.values("seq", "created_at", "text")
    return _window(rows, release.next_log_seq, before, _build_line)


def _window(rows, next_log_seq: int, before: int | None, to_line) -> LogWindow:
    size = page_size()
    rows = rows.order_by("-seq")
    if before is not None:
        rows = rows.filter(seq__lt=before)
    rows = list(rows[: size + 1])
    has_earlier = len(rows) > size
    lines = [to_line(row) for row in reversed(rows[:size])]
    at_tail = before is None or before >= next_log_seq
    last_seq = lines[-1]["seq"] if lines else 0
    return LogWindow(
        lines=lines,
        previous_step_id=WINDOW_START,
        earlier_before=lines[0]["seq"] if has_earlier else None,
        later_before=None if at_tail else last_seq + size + 1,
        last_seq=last_seq,
    )


def _line(row: dict, step_labels: dict[int, str]) -> dict:
    return row | {"step_label": step_labels.get(row["step_id"], "")}


def _build_line(row: dict) -> dict:
    return row | {"step_id": None, "step_label": ""}
