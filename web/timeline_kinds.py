"""The kinds of entry on an environment timeline, and which audit rows are of each.

An entry may be of several kinds: a break-glass deployment's request is a deployment
entry and a break-glass entry, a failed rollback step is a rollback entry. Each kind
is written twice, once as a database filter (`kind_filter`, so paging stays in SQL)
and once as a test on a loaded row (`kinds_of`, for the page); the tests hold the
two to agreement on every kind. A row no kind claims is `other`, so no row is ever
left out of the unfiltered timeline.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from audit.actions import CHECKLIST_PREFIX, STEP_PREFIX, AuditAction
from audit.models import AuditEvent
from catalog.models import ChecklistPhase
from deployments.engine.transitions import DEPLOYMENT_TRANSITIONS
from deployments.states import FINAL_DEPLOYMENT_STATES, StepKind, Trigger


class EntryKind(models.TextChoices):
    DEPLOYMENT = "deployment", "Deployments"
    APPROVAL = "approval", "Approvals"
    CHECKLIST = "checklist", "Checklist"
    MIGRATION = "migration", "Migrations"
    VERIFICATION = "verification", "Verification"
    ROLLBACK = "rollback", "Rollbacks"
    LOCK = "lock", "Locks"
    FREEZE = "freeze", "Freeze windows"
    BREAK_GLASS = "break_glass", "Break-glass"
    DRIFT = "drift", "Drift"
    STEP = "step", "Steps and workers"
    OTHER = "other", "Other"


# What the engine records when a deployment ends, read from its transitions table.
ENDINGS = frozenset(
    action
    for transition in DEPLOYMENT_TRANSITIONS.values()
    if transition.target in FINAL_DEPLOYMENT_STATES
    for action in transition.audit
)
LIFECYCLE = frozenset(
    {
        AuditAction.DEPLOYMENT_REQUESTED,
        AuditAction.DEPLOYMENT_QUEUED,
        AuditAction.DEPLOYMENT_STARTED,
        AuditAction.DEPLOYMENT_PARKED,
        AuditAction.DEPLOYMENT_CANCEL_REQUESTED,
        AuditAction.DEPLOYMENT_BASELINE_RECORDED,
    }
    | ENDINGS
)
LOCK_ACTIONS = frozenset({AuditAction.ENVIRONMENT_LOCKED, AuditAction.ENVIRONMENT_UNLOCKED})
# Recorded by the rollout (steps/drift.py) and by the observer of what runs.
DRIFT_ACTIONS = frozenset({AuditAction.DEPLOYMENT_DRIFT_DETECTED})
STEPS_OF_THEIR_OWN = (StepKind.MIGRATE, StepKind.ROLLBACK)  # their own kinds, not `step`


def is_decision(event: AuditEvent) -> bool:
    """A person's approval or rejection (a rejection ending the deployment is recorded
    apart, by the system, with a reason instead of a comment)."""
    if event.action == AuditAction.DEPLOYMENT_APPROVED:
        return True
    return event.action == AuditAction.DEPLOYMENT_REJECTED and "comment" in event.detail


def _step(event: AuditEvent) -> str:
    return event.detail.get("step", "") if event.action.startswith(STEP_PREFIX) else ""


def _trigger(event: AuditEvent) -> str:
    return event.deployment.trigger if event.deployment_id else ""


def _lifecycle(event: AuditEvent) -> bool:
    return event.action in LIFECYCLE and not is_decision(event)


def _parked_at(event: AuditEvent, step: str) -> bool:
    return event.action == AuditAction.DEPLOYMENT_PARKED and event.detail.get("step") == step


DECISION_Q = Q(action=AuditAction.DEPLOYMENT_APPROVED) | Q(
    action=AuditAction.DEPLOYMENT_REJECTED, detail__has_key="comment"
)
LIFECYCLE_Q = Q(action__in=LIFECYCLE) & ~DECISION_Q
STEP_Q = Q(action__startswith=STEP_PREFIX)


@dataclass(frozen=True)
class KindRule:
    """Which rows are of one kind: as a database filter and as a test on a loaded row."""

    kind: EntryKind
    query: Q
    test: Callable[[AuditEvent], bool]


RULES = (
    KindRule(EntryKind.DEPLOYMENT, LIFECYCLE_Q, _lifecycle),
    KindRule(
        EntryKind.APPROVAL,
        DECISION_Q | Q(action=AuditAction.DEPLOYMENT_PARKED, detail__step=StepKind.APPROVAL),
        lambda e: is_decision(e) or _parked_at(e, StepKind.APPROVAL),
    ),
    KindRule(
        EntryKind.CHECKLIST,
        Q(action__startswith=CHECKLIST_PREFIX)
        | Q(action=AuditAction.DEPLOYMENT_PARKED, detail__step=StepKind.PRE_CHECKS),
        lambda e: e.action.startswith(CHECKLIST_PREFIX) or _parked_at(e, StepKind.PRE_CHECKS),
    ),
    KindRule(
        EntryKind.MIGRATION,
        STEP_Q & Q(detail__step=StepKind.MIGRATE),
        lambda e: _step(e) == StepKind.MIGRATE,
    ),
    KindRule(
        EntryKind.VERIFICATION,
        Q(action=AuditAction.DEPLOYMENT_VERIFICATION)
        | Q(action__startswith=CHECKLIST_PREFIX, detail__phase=ChecklistPhase.POST),
        lambda e: (
            e.action == AuditAction.DEPLOYMENT_VERIFICATION
            or (
                e.action.startswith(CHECKLIST_PREFIX)
                and e.detail.get("phase") == ChecklistPhase.POST
            )
        ),
    ),
    KindRule(
        EntryKind.ROLLBACK,
        Q(action__in=(AuditAction.DEPLOYMENT_ROLLING_BACK, AuditAction.DEPLOYMENT_ROLLED_BACK))
        | (STEP_Q & Q(detail__step=StepKind.ROLLBACK))
        | (LIFECYCLE_Q & Q(deployment__trigger=Trigger.ROLLBACK)),
        lambda e: (
            e.action in (AuditAction.DEPLOYMENT_ROLLING_BACK, AuditAction.DEPLOYMENT_ROLLED_BACK)
            or _step(e) == StepKind.ROLLBACK
            or (_lifecycle(e) and _trigger(e) == Trigger.ROLLBACK)
        ),
    ),
    KindRule(EntryKind.LOCK, Q(action__in=LOCK_ACTIONS), lambda e: e.action in LOCK_ACTIONS),
    KindRule(
        EntryKind.BREAK_GLASS,
        Q(action=AuditAction.DEPLOYMENT_BREAK_GLASS_REVIEWED)
        | (LIFECYCLE_Q & Q(deployment__trigger=Trigger.BREAK_GLASS)),
        lambda e: (
            e.action == AuditAction.DEPLOYMENT_BREAK_GLASS_REVIEWED
            or (_lifecycle(e) and _trigger(e) == Trigger.BREAK_GLASS)
        ),
    ),
    KindRule(EntryKind.DRIFT, Q(action__in=DRIFT_ACTIONS), lambda e: e.action in DRIFT_ACTIONS),
    KindRule(
        EntryKind.STEP,
        STEP_Q & ~Q(detail__step__in=STEPS_OF_THEIR_OWN),
        lambda e: e.action.startswith(STEP_PREFIX) and _step(e) not in STEPS_OF_THEIR_OWN,
    ),
)
# What a page leaves out unless asked (`Filters.hides_steps`): each step starting and
# ending, re-queued or claimed by a worker ("Worker: vm:…"). A step that failed stays:
# that is news, not noise.
STEP_NOISE_Q = next(rule.query for rule in RULES if rule.kind == EntryKind.STEP) & ~Q(
    action=AuditAction.STEP_FAILED
)

CLAIMED_Q = Q()
for _rule in RULES:
    CLAIMED_Q |= _rule.query

# Kinds the database holds rows of; freeze entries come from the catalog.
STORED_KINDS = frozenset(rule.kind for rule in RULES) | {EntryKind.OTHER}


def kinds_of(event: AuditEvent) -> frozenset[EntryKind]:
    """Every kind a loaded audit row is of; `other` when none claims it."""
    kinds = frozenset(rule.kind for rule in RULES if rule.test(event))
    return kinds or frozenset({EntryKind.OTHER})


def kind_filter(kinds: Iterable[str]) -> Q:
    """The database filter for rows of any of `kinds` (matches nothing for none stored)."""
    query = Q(pk__in=[])
    for rule in RULES:
        if rule.kind in kinds:
            query |= rule.query
    if EntryKind.OTHER in kinds:
        query |= ~CLAIMED_Q
    return query
