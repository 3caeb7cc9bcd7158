"""How each audit row (and each freeze boundary) reads on the environment timeline.

An Entry is plain text and data; the template escapes everything it shows. Each
says what happened in words (`label`, `sentence`) and with a symbol, the state class
only adds colour. A row of an action this module does not know still appears, with
its action name and its details, so the timeline never loses a row. What each action
reads as (its describer) is web.timeline_describers.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from django.utils import timezone

from audit.models import AuditEvent
from catalog.freeze import FreezeBoundary, describe
from deployments.models import Deployment
from web.timeline_describers import DESCRIBERS, Note, _actor, _describer_by_prefix, _notes
from web.timeline_kinds import EntryKind, kinds_of


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. `at` and `order` are its place (newest first by
    (at, order)); `order` is the audit row's id, negative for a freeze boundary."""

    at: datetime
    order: int
    kinds: frozenset[str]
    kind: str  # the one its symbol and badge speak for
    label: str  # the badge's word: "approved", "failed", "locked"
    symbol: str
    tone: str  # state-* class: colour on top of the word and the symbol
    actor: str
    sentence: str
    deployment: Deployment | None = None
    service: str = ""  # the deployment's service, for the link's words
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def position(self) -> str:
        """The keyset cursor of this entry (`before=` takes it)."""
        return f"{micros(self.at)}_{self.order}"

    @property
    def kind_word(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def dom_id(self) -> str:
        return f"entry-{self.order}" if self.order > 0 else f"freeze{self.order}"

    @property
    def micros(self) -> int:
        return micros(self.at)

    @cached_property
    def local(self) -> datetime:
        """`at` in the reader's time zone (the day headings and times are in it)."""
        return timezone.localtime(self.at)

    # Formatted once here: fifty entries through the `date` filter cost a page more
    # than its queries.
    @property
    def day(self) -> date:
        return self.local.date()

    @property
    def clock(self) -> str:
        return f"{self.local:%H:%M:%S}"

    @property
    def exactly(self) -> str:
        return f"{self.local.day} {self.local:%b %Y %H:%M:%S.%f %Z}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """Microseconds since the epoch, exactly (a float timestamp would round some)."""
    return (at - EPOCH) // timedelta(microseconds=1)


def moment(micros: int) -> datetime:
    """The aware datetime of a position's microseconds (the inverse of `micros`)."""
    return EPOCH + timedelta(microseconds=micros)


# The kind an entry speaks for, in the singular (the filter's labels are plural).
KIND_WORDS = {
    EntryKind.DEPLOYMENT: "deployment", EntryKind.APPROVAL: "approval",
    EntryKind.CHECKLIST: "checklist", EntryKind.MIGRATION: "migration",
    EntryKind.VERIFICATION: "verification", EntryKind.ROLLBACK: "rollback",
    EntryKind.LOCK: "lock", EntryKind.FREEZE: "freeze", EntryKind.BREAK_GLASS: "break-glass",
    EntryKind.DRIFT: "drift", EntryKind.STEP: "step", EntryKind.OTHER: "other",
}  # fmt: skip


def entry_for(event: AuditEvent) -> Entry:
    """The timeline entry of one audit row (its actor, deployment, release and service
    loaded with it)."""
    describe_row = DESCRIBERS.get(event.action) or _describer_by_prefix(event.action)
    label, symbol, tone, sentence, notes = describe_row(event)
    kinds = kinds_of(event)
    return Entry(
        at=event.created_at,
        order=event.pk,
        kinds=kinds,
        kind=_main_kind(kinds),
        label=label,
        symbol=symbol,
        tone=tone,
        actor=_actor(event),
        sentence=sentence,
        deployment=event.deployment if event.deployment_id else None,
        service=event.service.name if event.service_id else "",
        notes=notes,
    )


# The badge speaks for the most specific kind an entry is of.
KIND_PRECEDENCE = (
    EntryKind.BREAK_GLASS, EntryKind.ROLLBACK, EntryKind.DRIFT, EntryKind.VERIFICATION,
    EntryKind.APPROVAL, EntryKind.CHECKLIST, EntryKind.MIGRATION, EntryKind.LOCK,
    EntryKind.DEPLOYMENT, EntryKind.STEP, EntryKind.FREEZE, EntryKind.OTHER,
)  # fmt: skip


def _main_kind(kinds: frozenset[str]) -> str:
    return next(kind for kind in KIND_PRECEDENCE if kind in kinds)


def freeze_entry(boundary: FreezeBoundary) -> Entry:
    """A freeze window beginning or ending, from the environment's catalog."""
    window = describe(boundary.window)
    if boundary.begins:
        label, symbol, sentence = "freeze began", "❄", f"Freeze {window} began"
        notes = _notes(("Meaning", "promotions wait until it ends; rollbacks still go"))
    else:
        label, symbol, sentence = "freeze ended", "☀", f"Freeze {window} ended"
        notes = ()
    return Entry(
        at=boundary.at,
        order=-(1 + 2 * boundary.index + (0 if boundary.begins else 1)),
        kinds=frozenset({EntryKind.FREEZE}),
        kind=EntryKind.FREEZE,
        label=label,
        symbol=symbol,
        tone="frozen",
        actor="the catalog",
        sentence=sentence,
        notes=notes,
    )
