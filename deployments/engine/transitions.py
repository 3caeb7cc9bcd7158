"""The state machine of deployments and their steps: every change of state is here.

Each transition is named, says which states it leaves from and the one it reaches,
and names its side effects: the audit action it records, whether the pages are told
(`announce`) and the notification it sends. The engine's modules decide *when* a
transition happens; only this module writes a `state`. A transition is one
conditional UPDATE (on the state the caller saw, and the step's attempt where a
worker's lease fences it), so two deciders at once cannot both win: the loser is
told (False) and writes nothing.

    deployment: pending ─queue→ queued ─start→ running ─succeed→ succeeded
                pending ─start→ running          running ─fail / roll_back / abort→ …
                pending ─reject / fail→ …       any active ─cancel / supersede→ …
    step:       pending ─claim→ running ─(look: running, no state change)─ … ─succeed /
                fail / stop / reap→ ended;  running ─requeue→ pending (lost lease);
                pending ─park→ waiting ─pass_gate / fail_gate→ ended (gates)
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from audit import trail
from audit.actions import AuditAction
from deployments.engine.checklist import refresh_verification
from deployments.engine.next_in_line import start_next_in_lane
from deployments.models import Deployment, Step
from deployments.notifications.outbox import notify
from deployments.states import (
    DeploymentState,
    NotificationEvent,
    StepState,
)
from live import announce
from portal.masking import mask_secrets

D, S, N = DeploymentState, StepState, NotificationEvent


@dataclass(frozen=True)
class Transition:
    """Allowed `sources` → `target`, and what else happens when it is taken."""

    sources: frozenset
    target: str
    audit: tuple[AuditAction, ...] = ()  # audit actions recorded, in order
    announce: bool = True  # tell the live pages
    notify: NotificationEvent | None = None  # the outbox event sent


def _t(sources, target, audit=(), announce=True, notify=None) -> Transition:
    return Transition(frozenset(sources), target, tuple(audit), announce, notify)


ACTIVE = (D.PENDING, D.QUEUED, D.RUNNING)

DEPLOYMENT_TRANSITIONS: dict[str, Transition] = {
    # Gates passed and the lane is busy (or another is first in line): it waits.
    "queue": _t([D.PENDING], D.QUEUED, [AuditAction.DEPLOYMENT_QUEUED]),
    # Takes its lane: straight from its gates, or after waiting in line.
    "start": _t([D.QUEUED], D.RUNNING, [AuditAction.DEPLOYMENT_STARTED], notify=N.STARTED),
    "start_at_once": _t(
        [D.PENDING],
        D.RUNNING,
        [AuditAction.DEPLOYMENT_QUEUED, AuditAction.DEPLOYMENT_STARTED],
        notify=N.STARTED,
    ),
    # Endings (`finish`): steps still open are closed, a lane held is handed on.
    "succeed": _t([D.RUNNING], D.SUCCEEDED, [AuditAction.DEPLOYMENT_SUCCEEDED], notify=N.SUCCEEDED),
    "fail": _t([D.PENDING, D.RUNNING], D.FAILED, [AuditAction.DEPLOYMENT_FAILED], notify=N.FAILED),
    "fail_rollback": _t(
        [D.RUNNING], D.FAILED, [AuditAction.DEPLOYMENT_FAILED], notify=N.ROLLBACK_FAILED
    ),
    "roll_back": _t(
        [D.RUNNING], D.ROLLED_BACK, [AuditAction.DEPLOYMENT_ROLLED_BACK], notify=N.ROLLED_BACK
    ),
    "reject": _t([D.PENDING], D.REJECTED, [AuditAction.DEPLOYMENT_REJECTED], notify=N.REJECTED),
    "cancel": _t(ACTIVE, D.CANCELLED, [AuditAction.DEPLOYMENT_CANCELLED], notify=N.CANCELLED),
    # A newer request (or one already in line) replaces it before it ran.
    "supersede": _t(
        [D.PENDING, D.QUEUED], D.SUPERSEDED, [AuditAction.DEPLOYMENT_SUPERSEDED], notify=N.CANCELLED
    ),
    # A manual rollback preempts a running promotion at its next look.
    "abort_for_rollback": _t(
        [D.RUNNING], D.SUPERSEDED, [AuditAction.DEPLOYMENT_SUPERSEDED], notify=N.CANCELLED
    ),
}

GATE_OPEN = (S.PENDING, S.WAITING)
OPEN = (S.PENDING, S.WAITING, S.RUNNING)

STEP_TRANSITIONS: dict[str, Transition] = {
    # A worker takes the step's first look (its later looks change no state).
    "claim": _t([S.PENDING], S.RUNNING, [AuditAction.STEP_CLAIMED]),
    # The worker of a look stopped heartbeating: the step waits for another.
    "requeue": _t([S.RUNNING], S.PENDING, [AuditAction.STEP_REQUEUED]),
    "succeed": _t([S.RUNNING], S.SUCCEEDED, [AuditAction.STEP_SUCCEEDED]),
    "fail": _t([S.RUNNING], S.FAILED, [AuditAction.STEP_FAILED]),
    # Stopped by a cancel (its look undid what it had started, or it was between looks).
    "stop": _t([S.RUNNING], S.CANCELLED, [AuditAction.STEP_CANCELLED]),
    # Past its hard deadline, or out of worker attempts.
    "reap": _t([S.RUNNING], S.FAILED, [AuditAction.STEP_REAPED]),
    # Gates: waiting for people, then decided by the engine (never by a worker).
    "park": _t([S.PENDING], S.WAITING, [AuditAction.DEPLOYMENT_PARKED]),
    "pass_gate": _t(GATE_OPEN, S.SUCCEEDED, [AuditAction.STEP_SUCCEEDED]),
    "fail_gate": _t(GATE_OPEN, S.FAILED, [AuditAction.STEP_FAILED]),
    # Steps that will not run (or run on): after a failure, or when their deployment
    # ends or is cancelled. Audited by the deployment's own transition, not one by one.
    "skip": _t(OPEN, S.SKIPPED),
    "cancel": _t(OPEN, S.CANCELLED),
}


class IllegalTransition(Exception):
    """A transition asked of a state it does not leave from: a bug, never user input."""


def move_deployment(
    deployment: Deployment,
    name: str,
    *,
    actor: User | None = None,
    audit_detail: dict | None = None,
    **fields,
) -> bool:
    """Take transition `name` from the state the caller loaded (under its row lock);
    False, writing nothing, when someone else moved it first."""
    transition = DEPLOYMENT_TRANSITIONS[name]
    _allowed(transition, deployment.state, f"deployment #{deployment.pk}", name)
    if not _write(deployment, transition, {}, fields):
        return False
    _effects(transition, deployment, actor=actor, **(audit_detail or {}))
    return True


def move_step(
    deployment: Deployment,
    step: Step,
    name: str,
    *,
    fenced: bool = False,
    audit_detail: dict | None = None,
    **fields,
) -> bool:
    """Take transition `name` of one step from the state the caller loaded; with
    `fenced`, only while the attempt the caller holds is the step's current one.
    False, writing nothing, when the step moved or was taken away meanwhile."""
    transition = STEP_TRANSITIONS[name]
    _allowed(transition, step.state, f"step {step.kind} of #{deployment.pk}", name)
    guard = {"attempt": step.attempt} if fenced else {}
    if not _write(step, transition, guard, fields):
        return False
    detail = {"step": step.kind, **(audit_detail or {})}
    if fields.get("reason") is not None and transition.audit and "reason" not in detail:
        detail["reason"] = fields["reason"]
    _effects(transition, deployment, **detail)
    return True


def move_open_steps(deployment: Deployment, name: str, sources=None, **fields) -> int:
    """Take transition `name` ("skip" or "cancel") for every step of the deployment
    still in one of its source states (or the given subset of them); how many moved."""
    transition = STEP_TRANSITIONS[name]
    sources = frozenset(sources) if sources is not None else transition.sources
    for state in sources:
        _allowed(transition, state, f"steps of #{deployment.pk}", name)
    fields.setdefault("finished_at", timezone.now())
    moved = deployment.steps.filter(state__in=sources).update(state=transition.target, **fields)
    if moved and transition.announce:
        announce.deployment_changed(deployment.pk, deployment.lane_id)
    return moved


def finish(
    deployment: Deployment,
    name: str,
    reason: str,
    *,
    actor: User | None = None,
    steps_open: bool = True,
    **fields,
) -> None:
    """End a deployment (row-locked by the caller) by transition `name`, atomically.

    Steps that never ran end `skipped` (`cancelled` for a cancellation; pass
    `steps_open=False` when every step has ended); a lane it held is handed to the
    next queued deployment after commit. Its one ending is announced and notified.
    """
    target = DEPLOYMENT_TRANSITIONS[name].target
    reason = mask_secrets(reason)  # reasons reach pages and Slack
    was_in_lane = deployment.state in (D.RUNNING, D.QUEUED)
    now = timezone.now()
    if not move_deployment(
        deployment,
        name,
        actor=actor,
        audit_detail={"reason": reason},
        reason=reason,
        finished_at=now,
        **fields,
    ):
        return  # someone else ended it first; their write stands
    if steps_open:  # the caller may know every step has ended already
        leftover = "cancel" if target == D.CANCELLED else "skip"
        move_open_steps(deployment, leftover, finished_at=now, lease_owner="", next_look_at=None)
    if target == D.SUCCEEDED:
        refresh_verification(deployment)  # manual post-deployment items may be open
    if was_in_lane:  # it held the lane, or was first in line for it
        start_next_in_lane(deployment.lane_id)


def _write(row: Deployment | Step, transition: Transition, guard: dict, fields: dict) -> bool:
    """The one conditional UPDATE: only from the state the caller saw (and `guard`);
    the loaded row follows when it wins."""
    model = type(row)
    updated = model.objects.filter(pk=row.pk, state=row.state, **guard).update(
        state=transition.target, **fields
    )
    if updated:
        row.state = transition.target
        for field, value in fields.items():
            setattr(row, field, value)
    return bool(updated)


def _allowed(transition: Transition, state: str, what: str, name: str) -> None:
    if state not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise IllegalTransition(f"{what} is {state}: {name} leaves only from {allowed}")


def _effects(transition: Transition, deployment: Deployment, *, actor=None, **detail) -> None:
    if transition.announce:
        announce.deployment_changed(deployment.pk, deployment.lane_id)
    for action in transition.audit:
        trail.record(action, actor=actor, deployment=deployment, **detail)
    if transition.notify:
        notify(deployment, transition.notify)
