"""What each audit action reads as on the timeline: one describer per action.

A describer takes an audit row and gives (label, symbol, tone, sentence, notes): the
badge's word, its symbol, the state class, what happened in words, and the Notes kept
with it. `DESCRIBERS` names them by action (`PREFIX_DESCRIBERS` by the action's prefix);
an action none of them knows reads as `_unknown`, with its name and its details.
Building the Entry from them is web.timeline_entries.
"""

from dataclasses import dataclass

from audit.actions import CHECKLIST_PREFIX, DEPLOYMENT_PREFIX, STEP_PREFIX, AuditAction
from audit.models import AuditEvent
from deployments.states import (
    ChecklistState,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
    Verification,
)
from web.timeline_kinds import ENDINGS, is_decision

SYSTEM = "the portal"


@dataclass(frozen=True)
class Note:
    """A piece of people's or the portal's text kept with an entry: a comment, a reason,
    evidence."""

    label: str
    text: str
    code: bool = False  # an image reference or the like, shown in a fixed-width font


DASH = "\N{EN DASH}"  # ended without running: cancelled, superseded, skipped

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
