"""The environment timeline: everything that happened in one environment, newest first.

It reads the audit trail (every action by a person or the portal, linked to its
environment) and the environment's freeze windows, filtered by service, person and
kind, and pages by keyset on (time, id): "Older entries" carries the position of
the last entry shown, so paging never skips or repeats an entry, however many are
written meanwhile. A page costs the same few queries whatever the history's length.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import groupby
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from catalog.freeze import FreezeBoundary, freeze_boundaries
from catalog.models import Environment, Service
from deployments.models import Lane
from deployments.promotion_rules import Freeze, freeze_in_force
from web.timeline_entries import Entry, entry_for, freeze_entry, micros, moment
from web.timeline_kinds import STEP_NOISE_Q, EntryKind, kind_filter

PAGE_SIZE = 50
STEPS_SHOWN = "shown"  # ?steps=shown
# How many of the environment's rows a filtered page looks through at most.
SEARCH_WINDOW = 5000
# How far ahead the page looks for the next freeze to announce.
FREEZE_LOOKAHEAD = timedelta(days=8)


class TimelineRefused(Exception):
    """A filter or position the timeline cannot use; the message says which and why."""


@dataclass(frozen=True)
class Position:
    """Where a page starts: entries strictly older than (time, order) follow."""

    micros: int
    order: int

    @property
    def at(self) -> datetime:
        return moment(self.micros)

    @classmethod
    def parse(cls, text: str) -> "Position":
        micros, _, order = text.partition("_")
        try:
            return cls(int(micros), int(order))
        except ValueError:
            raise TimelineRefused(
                f"“{text}” is not a position on the timeline; start again from the newest entries."
            ) from None


@dataclass(frozen=True)
class Filters:
    """What the reader asked for; empty means everything."""

    service: Service | None = None
    person: object | None = None  # a user
    kinds: frozenset[str] = frozenset()
    before: Position | None = None
    steps: bool = False  # `steps=shown`: every step and worker entry too

    @property
    def hides_steps(self) -> bool:
        """Without a kind ticked, a page shows what was decided and what happened to
        the deployments; the steps' own entries (each start and end, which worker)
        only on request (`steps=shown`) or with the kind "Steps and workers"."""
        return not self.steps and not self.kinds

    @property
    def any(self) -> bool:
        return bool(self.service or self.person or self.kinds)

    def query(self, before: str = "") -> str:
        """The query string of these filters, starting at `before` (a position)."""
        pairs = [("service", self.service.name)] if self.service else []
        pairs += [("person", self.person.get_username())] if self.person else []
        pairs += [("kind", kind) for kind in sorted(self.kinds)]
        pairs += [("steps", STEPS_SHOWN)] if self.steps else []
        pairs += [("before", before)] if before else []
        return urlencode(pairs)

    def shows_freezes(self) -> bool:
        # A freeze is nobody's action and concerns every service of the environment.
        return self.person is None and (not self.kinds or EntryKind.FREEZE in self.kinds)


@dataclass(frozen=True)
class Day:
    day: date
    entries: list[Entry]


@dataclass
class TimelinePage:
    environment: Environment
    filters: Filters
    asked: dict  # the submitted values, to fill the form again (also after a refusal)
    services: list[Service]
    people: list
    lanes: list[int]
    entries: list[Entry] = field(default_factory=list)
    older: str = ""  # query string of the next (older) page, "" at the end
    problem: str = ""
    searched_to: datetime | None = None  # a filtered page stopped there (see _window_edge)
    freeze: Freeze | None = None
    next_freeze: FreezeBoundary | None = None

    @property
    def days(self) -> list[Day]:
        return [
            Day(day, list(entries)) for day, entries in groupby(self.entries, key=lambda e: e.day)
        ]

    @property
    def first_page(self) -> bool:
        return self.filters.before is None

    @property
    def kinds(self):
        return EntryKind.choices

    @property
    def steps_toggle(self) -> str:
        """The query string of the newest entries with these filters, the steps' own
        entries shown if this page hides them, hidden if it shows them."""
        return replace(self.filters, steps=not self.filters.steps, before=None).query()

    @property
    def stream_url(self) -> str:
        """The lanes stream this page listens to (only its first page is live); "" for
        an environment nothing was ever requested in (it has no lanes yet)."""
        if not self.lanes:
            return ""
        return f"{reverse('lanes-events')}?{urlencode([('lane', lane) for lane in self.lanes])}"


def timeline_page(
    environment: Environment, params: QueryDict, *, now: datetime | None = None,
    size: int = PAGE_SIZE, window: int = SEARCH_WINDOW,
) -> TimelinePage:  # fmt: skip
    """One page of the environment's timeline for the GET parameters `service`,
    `person`, `kind` (repeatable) and `before` (a position). An unknown value gives a
    page with `problem` saying what is wrong and no entries."""
    now = now or timezone.now()
    lanes = list(
        Lane.objects.filter(environment=environment)
        .select_related("service")
        .order_by("service__name")
    )
    people = list(get_user_model().objects.order_by("username"))
    page = TimelinePage(
        environment=environment,
        filters=Filters(),
        asked=_asked(params),
        services=[lane.service for lane in lanes],
        people=people,
        lanes=[lane.pk for lane in lanes],
        freeze=freeze_in_force(environment, now),
        next_freeze=_next_freeze(environment, now),
    )
    try:
        page.filters = _filters(params, page.services, people)
    except TimelineRefused as refusal:
        page.problem = str(refusal)
        return page
    if page.filters.service:
        page.lanes = [lane.pk for lane in lanes if lane.service_id == page.filters.service.pk]
    page.entries, older, page.searched_to = _entries(environment, page.filters, now, size, window)
    if older:
        page.older = page.filters.query(before=older)
    return page


def _asked(params: QueryDict) -> dict:
    return {
        "service": params.get("service", "").strip(),
        "person": params.get("person", "").strip(),
        "kinds": [kind for kind in params.getlist("kind") if kind],
        "steps": params.get("steps", "").strip(),
    }


def _filters(params: QueryDict, services: list[Service], people: list) -> Filters:
    asked = _asked(params)
    before = params.get("before", "").strip()
    return Filters(
        service=_service(asked["service"], services),
        person=_person(asked["person"], people),
        kinds=_kinds(asked["kinds"]),
        steps=_steps(asked["steps"]),
        before=Position.parse(before) if before else None,
    )


def _service(name: str, services: list[Service]) -> Service | None:
    if not name:
        return None
    known = next((service for service in services if service.name == name), None)
    if known is None:
        known = Service.objects.filter(name=name).first()
    if known is None:
        raise TimelineRefused(f"There is no service “{name}”; choose one from the list.")
    return known


def _person(username: str, people: list):
    if not username:
        return None
    person = next((user for user in people if user.get_username() == username), None)
    if person is None:
        raise TimelineRefused(f"Nobody is called “{username}”; choose a person from the list.")
    return person


def _kinds(asked: list[str]) -> frozenset[str]:
    unknown = [kind for kind in asked if kind not in EntryKind.values]
    if unknown:
        names = ", ".join(f"“{kind}”" for kind in unknown)
        choices = ", ".join(EntryKind.values)
        raise TimelineRefused(f"The timeline has no kind {names}; the kinds are {choices}.")
    return frozenset(asked)


def _steps(asked: str) -> bool:
    if asked not in ("", STEPS_SHOWN):
        raise TimelineRefused(
            f"steps={asked} is not a choice: steps={STEPS_SHOWN} shows every step and "
            "worker entry, and without it they are left out."
        )
    return asked == STEPS_SHOWN


def _entries(
    environment: Environment, filters: Filters, now: datetime, size: int, window: int
) -> tuple[list[Entry], str, datetime | None]:
    """The page's entries, newest first; the position the next (older) page starts at
    ("" at the end); and, when a filtered page stopped at its search window before it
    was full, how far back it searched."""
    rows = _rows(environment, filters)
    # Hiding the steps' entries filters too: a page of them must not read all history.
    searches = filters.any or filters.hides_steps
    edge = _window_edge(environment, filters, window) if searches else None
    if edge is not None:
        rows = rows.filter(_from(edge.at, edge.order))
    rows = list(rows[: size + 1])
    entries = [entry_for(row) for row in rows[:size]]
    if filters.shows_freezes() and environment.freeze_windows:
        # Asked whether or not the page is full, so a page costs the same queries
        # with a short history as with a long one.
        start = _history_start(environment)
        if len(rows) > size:
            lower = Position(micros(rows[size - 1].created_at), rows[size - 1].pk)
        elif edge is not None:
            lower = edge
        else:
            lower = Position(micros(start), 0) if start else None
        if lower is not None:
            entries += _freeze_entries(environment, filters.before, lower, now)
    entries.sort(key=lambda entry: (entry.at, entry.order), reverse=True)
    if len(rows) > size or len(entries) > size:
        return entries[:size], entries[size - 1].position, None
    if edge is not None:  # not full, but the history goes on past the window
        return entries, f"{edge.micros}_{edge.order}", edge.at
    return entries, "", None


def _older_than(at: datetime, order: int) -> Q:
    """Rows before the position (at, order). The plain `created_at <= at` is what
    PostgreSQL can take as a range of the index; the OR alone it only filters by."""
    return Q(created_at__lte=at) & (Q(created_at__lt=at) | Q(created_at=at, pk__lt=order))


def _from(at: datetime, order: int) -> Q:
    """Rows at or after the position (at, order); see `_older_than`."""
    return Q(created_at__gte=at) & (Q(created_at__gt=at) | Q(created_at=at, pk__gte=order))


def _window_edge(environment: Environment, filters: Filters, window: int) -> Position | None:
    """The oldest row a filtered page looks at: `window` rows of the environment back
    from where the page starts (None when fewer are left). A filter that matches
    rarely would otherwise read the whole history for one page; this way each page
    reads at most `window` index entries, and "Older entries" searches on from there."""
    rows = AuditEvent.objects.filter(environment=environment)
    if filters.before:
        at, order = filters.before.at, filters.before.order
        rows = rows.filter(_older_than(at, order))
    edge = (
        rows.order_by("-created_at", "-pk")
        .values_list("created_at", "pk")[window - 1 : window]
        .first()
    )
    return Position(micros(edge[0]), edge[1]) if edge else None


def _rows(environment: Environment, filters: Filters):
    rows = AuditEvent.objects.filter(environment=environment)
    if filters.service:
        # Environment-wide entries (locks) concern every service, so they stay.
        rows = rows.filter(Q(service=filters.service) | Q(service__isnull=True))
    if filters.person:
        rows = rows.filter(actor=filters.person)
    if filters.kinds:
        rows = rows.filter(kind_filter(filters.kinds))
    if filters.hides_steps:
        rows = rows.exclude(STEP_NOISE_Q)
    if filters.before:
        at, order = filters.before.at, filters.before.order
        rows = rows.filter(_older_than(at, order))
    return (
        rows.select_related("actor", "deployment__release", "service")
        .only(*ROW_COLUMNS)
        .order_by("-created_at", "-pk")
    )


# What an entry reads of a row and its relations (a deployment's JSON fields, a user's
# password hash and the like stay in the database).
ROW_COLUMNS = (
    "action", "target", "detail", "created_at", "environment_id",
    "actor__username",
    "deployment__trigger", "deployment__break_glass_reason", "deployment__release__version",
    "service__name",
)  # fmt: skip


def _history_start(environment: Environment) -> datetime | None:
    """When the environment's recorded history begins (freezes before it are not shown)."""
    return (
        AuditEvent.objects.filter(environment=environment)
        .order_by("created_at", "pk")
        .values_list("created_at", flat=True)
        .first()
    )


def _freeze_entries(
    environment: Environment, before: Position | None, lower: Position, now: datetime
) -> list[Entry]:
    """Freeze boundaries from `lower` (included) to `before` (excluded) or now."""
    upper = before.at if before else now
    boundaries = freeze_boundaries(environment.freeze_windows, lower.at, upper)
    entries = [freeze_entry(boundary) for boundary in boundaries]
    start = (lower.micros, lower.order)
    end = (before.micros, before.order) if before else None
    return [
        entry
        for entry in entries
        if (entry.micros, entry.order) >= start
        and (end is None or (entry.micros, entry.order) < end)
    ]


def _next_freeze(environment: Environment, now: datetime) -> FreezeBoundary | None:
    """The next freeze to begin within the lookahead, to announce on the page."""
    coming = freeze_boundaries(environment.freeze_windows, now, now + FREEZE_LOOKAHEAD)
    return next((b for b in coming if b.begins and b.at > now), None)
