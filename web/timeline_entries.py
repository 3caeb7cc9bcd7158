"""How each audit row (and each freeze boundary) reads on the environment timeline.

An Entry is plain text and data; the template escapes everything it shows. Each
says what happened in words (`label`, `sentence`) and with a symbol, the state class
only adds colour. A row of an action this module does not know still appears, with
its action name and its details, so the timeline never loses a row.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from django.utils import timezone

from audit.actions import CHECKLIST_PREFIX, DEPLOYMENT_PREFIX, STEP_PREFIX, AuditAction
from audit.models import AuditEvent
from catalog.freeze import FreezeBoundary, describe
from deployments.models import Deployment
from deployments.states import (
    ChecklistState,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
    Verification,
)
from web.timeline_kinds import ENDINGS, EntryKind, is_decision, kinds_of

SYSTEM = "the portal"


@dataclass(frozen=True)
class Note:
    """A piece of people's or the portal's text kept with an entry: a comment, a reason,
    evidence."""

    label: str
    text: str
    code: bool = False  # an image reference or the like, shown in a fixed-width font


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


DASH = "\N{EN DASH}"  # ended without running: cancelled, superseded, skipped

# The kind an entry speaks for, in the singular (the filter's labels are plural).
KIND_WORDS = {
    EntryKind.DEPLOYMENT: "deployment", EntryKind.APPROVAL: "approval",
    EntryKind.CHECKLIST: "checklist", EntryKind.MIGRATION: "migration",
    EntryKind.VERIFICATION: "verification", EntryKind.ROLLBACK: "rollback",
    EntryKind.LOCK: "lock", EntryKind.FREEZE: "freeze", EntryKind.BREAK_GLASS: "break-glass",
    EntryKind.DRIFT: "drift", EntryKind.STEP: "step", EntryKind.OTHER: "other",
}  # fmt: skip

# How an ending, a step state or a verification reads: (label, symbol, tone).
LOOKS = {
    DeploymentState.SUCCEEDED: ("succeeded", "✓", "succeeded"),
    DeploymentState.FAILED: ("failed", "✗", "failed"),
    DeploymentState.ROLLED_BACK: ("rolled back", "↩", "rolled_back"),
    DeploymentState.REJECTED: ("rejected", "✗", "rejected"),
    DeploymentState.CANCELLED: ("cancelled", DASH, "cancelled"),
    DeploymentState.SUPERSEDED: ("superseded", DASH, "superseded"),
    StepState.SKIPPED: ("skipped", DASH, "skipped"),
    "passed": ("passed", "✓", "passed"),
    "waived": ("waived", "⤼", "waived"),
}
# Verification's values overlap the states' ("failed"), so they read from their own table.
VERIFICATION_LOOKS = {
    Verification.OPEN: ("verification open", "◔", "waiting"),
    Verification.COMPLETE: ("verified", "✓", "succeeded"),
    Verification.FAILED: ("verification failed", "✗", "failed"),
    Verification.NOT_REQUIRED: ("nothing to verify", DASH, "skipped"),
}
TRIGGER_WORDS = {
    Trigger.PROMOTE: "a promotion",
    Trigger.API: "a deployment through the API",
    Trigger.ROLLBACK: "a rollback",
    Trigger.BREAK_GLASS: "a break-glass deployment",
}


def _look(key: str, looks: dict = LOOKS) -> tuple[str, str, str]:
    return looks.get(key, (str(key).replace("_", " "), "•", "neutral"))


def _notes(*pairs: tuple[str, object]) -> tuple[Note, ...]:
    return tuple(Note(label, str(text)) for label, text in pairs if text not in ("", None))


def _step_label(event: AuditEvent) -> str:
    kind = event.detail.get("step", "")
    return StepKind(kind).label if kind in StepKind.values else (kind or "A step")


def _actor(event: AuditEvent) -> str:
    return event.actor.get_username() if event.actor_id else SYSTEM


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


# --- one function per action: (label, symbol, tone, sentence, notes) ----------------


def _requested(event):
    deployment = event.deployment
    trigger = event.detail.get("trigger") or (deployment.trigger if deployment else "")
    what = TRIGGER_WORDS.get(trigger, "a deployment")
    glass = event.detail.get("reason") or (
        deployment.break_glass_reason if deployment and trigger == Trigger.BREAK_GLASS else ""
    )
    replaces = event.detail.get("rollback_of")
    notes = _notes(
        ("Break-glass reason", glass), ("Rolls back", f"#{replaces}" if replaces else ""),
        ("Promoted again after a rollback because", event.detail.get("repromotion_reason")),
    )  # fmt: skip
    if event.detail.get("image"):
        notes += (Note("Image", event.detail["image"], code=True),)
    symbol = {"rollback": "↩", "break_glass": "⚠"}.get(trigger, "+")
    tone = "glass" if trigger == Trigger.BREAK_GLASS else "pending"
    return "requested", symbol, tone, f"{_actor(event)} requested {what}", notes


def _queued(event):
    sentence = "Queued: it starts when no other deployment of this service runs here"
    return "queued", "…", "queued", sentence, ()


def _started(event):
    sentence = "Started: other deployments of this service here wait until it ends"
    return "started", "▶", "running", sentence, ()


PARKED_AT = {
    StepKind.APPROVAL: ("approval asked", "Waiting for approval"),
    StepKind.PRE_CHECKS: ("waiting", "Waiting for the pre-deployment checklist"),
}


def _parked(event):
    step = event.detail.get("step", "")
    label, sentence = PARKED_AT.get(step, ("waiting", f"Waiting at {_step_label(event).lower()}"))
    return label, "◔", "waiting", sentence, _notes(("Reason", event.detail.get("reason", "")))


def _cancel_requested(event):
    return "cancel asked", DASH, "cancelled", f"{_actor(event)} asked to cancel it", ()


def _ended(event):
    if is_decision(event):
        return _decided(event)
    state = event.action.removeprefix(DEPLOYMENT_PREFIX)
    label, symbol, tone = _look(state)
    who = f" ({event.actor.get_username()})" if event.actor_id else ""
    return (
        label,
        symbol,
        tone,
        f"Ended: {label}{who}",
        _notes(("Reason", event.detail.get("reason", ""))),
    )


def _decided(event):
    comment = _notes(("Comment", event.detail.get("comment", "")))
    if event.action == AuditAction.DEPLOYMENT_APPROVED:
        return "approved", "✓", "succeeded", f"{_actor(event)} approved it", comment
    return "rejected", "✗", "rejected", f"{_actor(event)} rejected it", comment


def _reviewed(event):
    notes = _notes(("Review note", event.detail.get("note", "")))
    sentence = f"{_actor(event)} reviewed the break-glass deployment"
    return "reviewed", "✓", "succeeded", sentence, notes


def _rolling_back(event):
    reason = _notes(("Why", event.detail.get("reason", "")))
    return "rolling back", "↩", "rolled_back", "Rolling back automatically", reason


def _verification(event):
    label, symbol, tone = _look(event.detail.get("now", ""), VERIFICATION_LOOKS)
    was = Verification(event.detail["was"]).label.lower() if event.detail.get("was") else ""
    notes = _notes(("Before", was))
    return label, symbol, tone, f"Post-deployment verification: {label}", notes


def _drift(event):
    notes = tuple(
        Note(
            f"{item.get('workload')}/{item.get('container')}",
            f"ran {item.get('running')}, but the portal last deployed {item.get('deployed')}"
            f" (#{item.get('deployment')})",
        )
        for item in event.detail.get("drift", [])
    )
    by = "by the observer" if event.detail.get("found_by") == "observer" else "at the rollout"
    notes += _notes(("Problem", event.detail.get("problem", "")))
    return "drift", "≠", "failed", f"Drift noticed {by}: the cluster ran something else", notes


def _baseline(event):
    return "baseline", "•", "neutral", "Recorded as running at the start (demo)", ()


def _checklist(event):
    item, state = event.detail.get("item", "an item"), event.detail.get("state", "")
    label, symbol, tone = _look(state)
    note = event.detail.get("note", "")
    if event.action == AuditAction.CHECKLIST_WAIVED:
        return "waived", "⤼", "waived", f"{_actor(event)} waived “{item}”", _notes(("Reason", note))
    if event.action == AuditAction.CHECKLIST_CHECK_AGAIN:
        return "check again", "⟳", "neutral", f"{_actor(event)} asked to run the checks again", ()
    if state == ChecklistState.PENDING:
        label, symbol, tone = "waiting", "◔", "waiting"
    checked = event.action == AuditAction.CHECKLIST_CHECKED
    who = "The portal checked" if checked else f"{_actor(event)} answered"
    return label, symbol, tone, f"{who} “{item}”: {label}", _notes(("Evidence", note))


def _locked(event):
    reason = _notes(("Reason", event.detail.get("reason", "")))
    return "locked", "⊘", "locked", f"{_actor(event)} locked {event.target}", reason


def _unlocked(event):
    was = _notes(("It was locked for", event.detail.get("was", "")))
    return "unlocked", "○", "succeeded", f"{_actor(event)} unlocked {event.target}", was


def _step_event(event):
    verb = event.action.removeprefix(STEP_PREFIX)
    step, detail = _step_label(event), event.detail
    if verb == "claimed":
        # The worker's lease id is for whoever reads the worker's logs, not the sentence.
        sentence = f"{step}: started (attempt {detail.get('attempt', '?')})"
        return "started", "▶", "running", sentence, _notes(("Worker", detail.get("worker", "")))
    if verb == "requeued":
        sentence = f"{step}: its worker stopped; re-queued (attempt {detail.get('attempt', '?')})"
        return "re-queued", "↻", "waiting", sentence, ()
    if verb == "reaped":
        return (
            "stopped",
            "✗",
            "failed",
            f"{step}: stopped by the reaper",
            _notes(("Reason", detail.get("reason", ""))),
        )
    label, symbol, tone = _look(verb)
    return label, symbol, tone, f"{step}: {label}", _notes(("Reason", detail.get("reason", "")))


def _unknown(event):
    detail = tuple(Note(str(key), _plain(value)) for key, value in sorted(event.detail.items()))
    target = f" {event.target}" if event.target else ""
    return "recorded", "•", "neutral", f"{_actor(event)}: {event.action}{target}", detail


def _plain(value) -> str:
    return value if isinstance(value, str) else repr(value)


DESCRIBERS = {
    **dict.fromkeys(ENDINGS, _ended),
    AuditAction.DEPLOYMENT_REQUESTED: _requested,
    AuditAction.DEPLOYMENT_QUEUED: _queued,
    AuditAction.DEPLOYMENT_STARTED: _started,
    AuditAction.DEPLOYMENT_PARKED: _parked,
    AuditAction.DEPLOYMENT_CANCEL_REQUESTED: _cancel_requested,
    AuditAction.DEPLOYMENT_APPROVED: _decided,
    AuditAction.DEPLOYMENT_BREAK_GLASS_REVIEWED: _reviewed,
    AuditAction.DEPLOYMENT_ROLLING_BACK: _rolling_back,
    AuditAction.DEPLOYMENT_VERIFICATION: _verification,
    AuditAction.DEPLOYMENT_DRIFT_DETECTED: _drift,
    AuditAction.DEPLOYMENT_BASELINE_RECORDED: _baseline,
    AuditAction.ENVIRONMENT_LOCKED: _locked,
    AuditAction.ENVIRONMENT_UNLOCKED: _unlocked,
}
PREFIX_DESCRIBERS = {CHECKLIST_PREFIX: _checklist, STEP_PREFIX: _step_event}


def _describer_by_prefix(action: str):
    return next(
        (describer for prefix, describer in PREFIX_DESCRIBERS.items() if action.startswith(prefix)),
        _unknown,
    )
