"""The hub's database side for release pages: one synchronous call per tick reads the
watched releases' prints and renders their frames once for all their viewers."""

from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import close_old_connections
from django.template.loader import render_to_string

from live import frames
from releases.models import BuildLogLine, Release
from releases.states import ReleaseState
from web.release_page import live_context, release_for_page

PAGE = "release.html"


class ReleasePrint(NamedTuple):
    last_seq: int  # of the last stored build line (0: none yet)
    state: str
    shown: tuple  # what the #status partial and the facts show

    @property
    def is_final(self) -> bool:
        return self.state != ReleaseState.BUILDING


@dataclass
class ReleaseAsk:
    """What the hub wants to know about one watched release."""

    release_id: int
    known: ReleasePrint | None  # the print its viewers have seen (None: none yet)
    resume_points: set[int]  # the distinct `seq`s its viewers have
    snapshot: bool  # some viewer needs the status whatever changed
    logged_upto: int | None = None  # only new lines, up to this seq: skip the print


@dataclass
class ReleaseNews:
    print: ReleasePrint | None  # None: the release no longer exists
    status: bytes = b""
    lines: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # seq → (frame, new seq)

    def shown_changed(self, known: ReleasePrint | None) -> bool:
        return known is not None and self.print.shown != known.shown


def release_fingerprints(release_ids) -> dict[int, ReleasePrint]:
    """The print of each release that exists, in one query whatever their number."""
    ids = list(release_ids)
    if not ids:
        return {}
    rows = Release.objects.filter(pk__in=ids).values_list(
        "pk", "next_log_seq", "state", "reason", "image", "image_size",
        "build_started_at", "build_finished_at", "build_cancel_requested_at",
    )  # fmt: skip
    return {row[0]: ReleasePrint(row[1] - 1, row[2], row[2:]) for row in rows}


def read_release_tick(asks: list[ReleaseAsk], lines_cap: int) -> dict[int, ReleaseNews]:
    """Read and render what changed for `asks`, keyed by release id."""
    close_old_connections()  # no request cycle here does it: drop a broken or old one
    prints = release_fingerprints(ask.release_id for ask in asks if ask.logged_upto is None)
    for ask in asks:
        if ask.logged_upto is not None:  # the publish said what changed: lines, up to here
            prints[ask.release_id] = ask.known._replace(
                last_seq=max(ask.known.last_seq, ask.logged_upto)
            )
    return {ask.release_id: _news(ask, prints.get(ask.release_id), lines_cap) for ask in asks}


def _news(ask: ReleaseAsk, now: ReleasePrint | None, lines_cap: int) -> ReleaseNews:
    news = ReleaseNews(print=now)
    if now is None:
        return news
    known = ask.known
    if ask.snapshot or now.is_final or known is None or known.shown != now.shown:
        news.status = render_status(ask.release_id)
    for seq in ask.resume_points:
        if seq < now.last_seq:
            news.lines[seq] = lines_frame(ask.release_id, seq, now.last_seq, lines_cap)
    return news


def render_status(release_id: int) -> bytes:
    """The `status` event: the page's own partial, the same for everyone."""
    release = release_for_page().get(pk=release_id)
    html = render_to_string(f"{PAGE}#status", live_context(release)).strip()
    return frames.event("status", html)


def lines_frame(release_id: int, after: int, upto: int, cap: int) -> tuple[bytes, int]:
    """One `lines` event for the lines after `after` (at most `cap`, up to `upto`), with
    `id:` its last seq; returns the frame and that seq."""
    rows = list(
        BuildLogLine.objects.filter(release_id=release_id, seq__gt=after, seq__lte=upto)
        .order_by("seq")
        .values("seq", "created_at", "text")[:cap]
    )
    if not rows:
        return b"", after
    html = render_to_string(f"{PAGE}#log_lines", {"lines": rows})
    # The fragment ends with a newline, kept: the next event's lines start on a new line.
    return frames.event("lines", html, event_id=rows[-1]["seq"]), rows[-1]["seq"]
