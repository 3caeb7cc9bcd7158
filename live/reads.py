"""The hub's database side: one synchronous call per tick reads and renders everything.

It runs in the hub's own thread (one pooled connection, borrowed for the tick) and returns
ready frames, so the event loop only hands bytes to viewers. Every fragment is rendered
once per tick, whatever the number of viewers: viewers at the same resume point share
one `lines` frame.
"""

from dataclasses import dataclass, field

from django.db import close_old_connections
from django.template.loader import render_to_string

from deployments.models import LogLine
from deployments.states import StepKind
from live import frames
from live.fingerprints import DeploymentPrint, deployment_fingerprints, lane_fingerprints
from web.deployment_page import deployment_for_page, live_context

PAGE = "deployment.html"


@dataclass
class DeploymentAsk:
    """What the hub wants to know about one watched deployment."""

    deployment_id: int
    known: DeploymentPrint | None  # the print its viewers have seen (None: none yet)
    resume_points: set[int]  # the distinct `seq`s its viewers have
    snapshot: bool  # some viewer needs the status and steps whatever changed
    logged_upto: int | None = None  # only new lines, up to this seq: skip the fingerprint


@dataclass
class DeploymentNews:
    """What one tick found: frames to hand out, and the print they bring viewers to."""

    print: DeploymentPrint | None  # None: the deployment no longer exists
    status: bytes = b""
    steps: bytes = b""
    lines: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # seq → (frame, new seq)

    def status_changed(self, known: DeploymentPrint | None) -> bool:
        return known is not None and self.print.status != known.status

    def steps_changed(self, known: DeploymentPrint | None) -> bool:
        return known is not None and self.print.steps != known.steps

    def sections_changed(self, known: DeploymentPrint | None) -> bool:
        return known is not None and self.print.sections != known.sections


def read_tick(asks: list[DeploymentAsk], lane_ids: set[int], lines_cap: int):
    """Read and render what changed for `asks`, and the prints of `lane_ids`."""
    close_old_connections()  # no request cycle here does it: drop a broken or old one
    prints = deployment_fingerprints(ask.deployment_id for ask in asks if ask.logged_upto is None)
    for ask in asks:
        if ask.logged_upto is not None:  # the publish said what changed: lines, up to here
            prints[ask.deployment_id] = ask.known._replace(
                last_seq=max(ask.known.last_seq, ask.logged_upto)
            )
    news = {ask.deployment_id: _news(ask, prints.get(ask.deployment_id), lines_cap) for ask in asks}
    return news, lane_fingerprints(lane_ids)


def _news(ask: DeploymentAsk, now: DeploymentPrint | None, lines_cap: int) -> DeploymentNews:
    news = DeploymentNews(print=now)
    if now is None:
        return news
    known = ask.known
    if ask.snapshot or now.is_final or known is None or _shown_changed(known, now):
        news.status, news.steps = render_status_and_steps(ask.deployment_id)
    for seq in ask.resume_points:
        if seq < now.last_seq:
            news.lines[seq] = lines_frame(ask.deployment_id, seq, now.last_seq, lines_cap)
    return news


def _shown_changed(known: DeploymentPrint, now: DeploymentPrint) -> bool:
    return known.status != now.status or known.steps != now.steps


def render_status_and_steps(deployment_id: int) -> tuple[bytes, bytes]:
    """The `status` and `steps` events: the page's own partials, the same for everyone."""
    deployment = deployment_for_page().get(pk=deployment_id)
    context = live_context(deployment)
    return (
        frames.event("status", render_to_string(f"{PAGE}#status", context).strip()),
        frames.event("steps", render_to_string(f"{PAGE}#steps", context).strip()),
    )


def lines_frame(deployment_id: int, after: int, upto: int, cap: int) -> tuple[bytes, int]:
    """One `lines` event for the lines after `after` (at most `cap` of them, up to `upto`),
    with `id:` its last seq; returns the frame and that seq."""
    rows = list(
        LogLine.objects.filter(deployment_id=deployment_id, seq__gte=max(after, 1), seq__lte=upto)
        .order_by("seq")
        .values("seq", "step_id", "step__kind", "created_at", "text")[: cap + 1]
    )
    previous_step_id = None
    if rows and rows[0]["seq"] == after:
        previous_step_id = rows.pop(0)["step_id"]
    rows = rows[:cap]
    if not rows:
        return b"", after
    return lines_event(rows, previous_step_id), rows[-1]["seq"]


def lines_event(rows: list[dict], previous_step_id: int | None) -> bytes:
    for row in rows:
        kind = row.pop("step__kind", None)
        row["step_label"] = StepKind(kind).label if kind else ""
    html = render_to_string(
        f"{PAGE}#log_lines", {"lines": rows, "previous_step_id": previous_step_id}
    )
    # The fragment ends with a newline, kept: the next event's lines start on a new line.
    return frames.event("lines", html, event_id=rows[-1]["seq"])
