"""Read model of the deployment page (the page Slack links to): what it shows, and
which controls this person gets, each decided by `accounts.roles`.

A fixed number of queries whatever the length of the log, the checklist or the
approvals: every list is one query, and the permission functions read only rows
already loaded (the checklist items carry their deployment, roles are cached).
"""

from dataclasses import dataclass

from accounts import roles
from catalog.models import ChecklistPhase, CheckMode
from deployments.checks.registry import FILLED_KINDS
from deployments.engine.actions import waits_for_approval
from deployments.engine.answers import open_for_answers, waivable
from deployments.models import Approval, ChecklistItem, Deployment
from deployments.notifications.messages import deployment_url
from deployments.states import (
    ChecklistState,
    Decision,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
)
from web.cancel_effect import cancel_effect
from web.item_links import item_link
from web.log_window import log_window
from web.message_log import deployment_messages

# States are shown by word and symbol, never by colour alone.
SYMBOLS = {
    DeploymentState.PENDING: "…", DeploymentState.QUEUED: "◷", DeploymentState.RUNNING: "▶",
    DeploymentState.SUCCEEDED: "✓", DeploymentState.FAILED: "✗",
    DeploymentState.ROLLED_BACK: "↩", DeploymentState.REJECTED: "✗",
    DeploymentState.CANCELLED: "⊘", DeploymentState.SUPERSEDED: "↷",
    StepState.WAITING: "…", StepState.SKIPPED: "↷",
    ChecklistState.PASSED: "✓", ChecklistState.WAIVED: "↷",
}  # fmt: skip


@dataclass(frozen=True)
class ItemRow:
    """One checklist item and what this person may do with it now."""

    item: ChecklistItem
    symbol: str
    open: bool  # pending, and the deployment is at the point where it is answered
    may_answer: bool
    may_waive: bool
    who_answers: str  # in words, for those who may not
    closed_because: str  # why a pending item cannot be answered now, in words
    link: str = ""  # the item's page (a dashboard), filled for this deployment
    checking: bool = False  # a check decides it and has not answered yet


@dataclass(frozen=True)
class ApprovalPanel:
    step_state: str | None  # of the plan's approval step; None when the plan has none
    skipped_by_break_glass: bool
    required: int
    approved: int
    group: str
    asked: bool  # the approval gate has been reached
    decisions: list[Approval]
    mine: Approval | None  # this person's decision, if any
    may_decide: bool
    why_not: str  # in words, for those who may not decide

    @property
    def missing(self) -> int:
        return max(self.required - self.approved, 0)

    @property
    def shown(self) -> bool:
        return self.step_state is not None or self.skipped_by_break_glass or bool(self.decisions)


def deployment_for_page():
    # The page needs only the ids of `rollback_of` and `superseded_by`, and the two
    # people below are rarely set: each is a join PostgreSQL would plan on every view
    # (eight joins take it 3.7 ms to plan, four 0.75 ms); a prefetch of an unset one
    # costs no query.
    return Deployment.objects.select_related(
        "release", "service", "environment__cluster", "requested_by"
    ).prefetch_related("break_glass_reviewed_by", "cancel_requested_by")


def live_context(deployment: Deployment, steps=None, checklist=None) -> dict:
    """What the `status` and `steps` partials need: the same for every viewer, so the
    live hub renders them once for all (a deployment from `deployment_for_page`)."""
    steps = list(_steps(deployment)) if steps is None else steps
    if checklist is None:
        checklist = deployment.checklist.filter(state=ChecklistState.WAIVED).select_related(
            "answered_by"
        )
    return {
        "deployment": deployment,
        "symbol": SYMBOLS.get(deployment.state, ""),
        "steps": [(step, SYMBOLS.get(step.state, "")) for step in steps],
        "current_step": None if deployment.is_final else _current_step(steps),
        # Gates it went past: said at the top, where the state is, for as long as it shows.
        "waivers": [item for item in checklist if item.state == ChecklistState.WAIVED],
    }


def deployment_context(deployment: Deployment, user, log_before: int | None = None) -> dict:
    """Everything the deployment page shows, in a handful of queries: the log's last
    lines, or with `log_before` the window of lines before that `seq`."""
    checklist = list(deployment.checklist.select_related("answered_by").order_by("position"))
    approvals = list(deployment.approvals.select_related("user"))
    steps = list(_steps(deployment))
    final = deployment.is_final
    log = log_window(deployment, step_labels(steps), before=log_before)
    return live_context(deployment, steps, checklist) | {
        "headline": _headline(deployment),
        "page_url": deployment_url(deployment),
        "break_glass": deployment.trigger == Trigger.BREAK_GLASS,
        "checklist": [_item_row(user, item) for item in checklist],
        "may_check_again": _may_check_again(user, deployment, checklist),
        "approval": _approval_panel(user, deployment, approvals, steps),
        "log": log,
        # The stream follows the log's tail; an earlier window is read as it is.
        "live": not final and log.is_tail,
        "may_cancel": (
            not final and not deployment.cancel_requested and roles.can_cancel(user, deployment)
        ),
        "cancel_effect": "" if final else cancel_effect(deployment, steps),
        "may_review": (
            deployment.trigger == Trigger.BREAK_GLASS
            and deployment.break_glass_reviewed_at is None
            and roles.can_review_break_glass(user, deployment)
        ),
        # Admins only: who was told what, where, and whether it arrived (None: no section).
        "sent_messages": (
            deployment_messages(deployment) if roles.can_read_messages(user) else None
        ),
    }


def _may_check_again(user, deployment: Deployment, checklist: list[ChecklistItem]) -> bool:
    """A pending deployment held by a failing or waiting check may ask for it again."""
    if deployment.state != DeploymentState.PENDING:
        return False
    held = any(
        item.phase == ChecklistPhase.PRE
        and item.mode == CheckMode.AUTOMATIC
        and item.check_kind not in FILLED_KINDS
        and (item.state == ChecklistState.FAILED or item.evidence)
        and item.state in (ChecklistState.PENDING, ChecklistState.FAILED)
        for item in checklist
    )
    return held and roles.can_deploy(user, deployment.environment)


def _steps(deployment: Deployment):
    return deployment.steps.order_by("position")


def _current_step(steps):
    """The step running or waiting for people now, if any."""
    return next((s for s in steps if s.state in (StepState.RUNNING, StepState.WAITING)), None)


def step_labels(steps) -> dict[int, str]:
    """What the log's step headers say, by step id."""
    return {step.pk: step.get_kind_display() for step in steps}


def log_context(deployment: Deployment, before: int | None) -> dict:
    """What the `log_lines` partial needs for the window before `before` (two queries)."""
    window = log_window(deployment, step_labels(_steps(deployment)), before=before)
    return {
        "deployment": deployment,
        "log": window,
        "lines": window.lines,
        "previous_step_id": window.previous_step_id,
    }


def _headline(deployment: Deployment) -> str:
    """What the title, the link preview and the heading say: #7 web 2.1.0 → production."""
    kind = "" if deployment.trigger == Trigger.PROMOTE else f"{deployment.get_trigger_display()}: "
    return (
        f"#{deployment.pk} {kind}{deployment.service.name} {deployment.release.version} "
        f"→ {deployment.environment.name}"
    )


def _item_row(user, item: ChecklistItem) -> ItemRow:
    deployment = item.deployment
    open_now = item.state == ChecklistState.PENDING and open_for_answers(
        item.phase, deployment.state
    )
    manual = item.mode == CheckMode.MANUAL
    waive_now = (open_now or item.state == ChecklistState.FAILED) and (
        waivable(item) and open_for_answers(item.phase, deployment.state)
    )
    return ItemRow(
        item=item,
        symbol=SYMBOLS.get(item.state, ""),
        open=open_now,
        may_answer=open_now and manual and roles.can_answer_checklist(user, item),
        may_waive=waive_now and roles.can_waive_checklist(user, item),
        who_answers=_who_answers(item),
        closed_because=_closed_because(item) if item.state == ChecklistState.PENDING else "",
        link=item_link(item),
        checking=_checking(item),
    )


def _checking(item: ChecklistItem) -> bool:
    """A check is deciding it now: a pre-deployment one while the deployment is
    pending, a post-deployment one while it runs (its soak)."""
    deciding = {
        ChecklistPhase.PRE: DeploymentState.PENDING,
        ChecklistPhase.POST: DeploymentState.RUNNING,
    }
    return (
        item.mode == CheckMode.AUTOMATIC
        and item.state == ChecklistState.PENDING
        and item.check_kind not in FILLED_KINDS
        and deciding.get(item.phase) == item.deployment.state
    )


def _closed_because(item: ChecklistItem) -> str:
    deployment = item.deployment
    if open_for_answers(item.phase, deployment.state):
        return ""
    automatic = item.mode == CheckMode.AUTOMATIC and item.check_kind not in FILLED_KINDS
    if item.phase == ChecklistPhase.POST and automatic and not deployment.is_final:
        if deployment.state == DeploymentState.RUNNING:
            return ""  # its check is watching the release: "The portal is checking…"
        return "The portal checks it after the rollout, through the soak window."
    if item.phase == ChecklistPhase.POST and not deployment.is_final:
        return "Answered once the release is rolling out."
    if item.phase == ChecklistPhase.DEPLOY and not deployment.is_final:
        return "The portal answers it from its deployment step."
    return f"No longer answered: the deployment is {deployment.get_state_display().lower()}."


def _who_answers(item: ChecklistItem) -> str:
    if item.mode != CheckMode.MANUAL:
        return "The portal checks it; a lead or admin may waive it."
    group = item.deployment.environment.approver_group
    who = "a lead or admin" if group in (roles.LEAD, roles.ADMIN) else f"a {group}, lead or admin"
    requester = item.deployment.requested_by
    if item.phase == ChecklistPhase.POST and requester is not None:
        who += f", or {requester.get_username()} who requested it,"
    return f"{who[0].upper()}{who[1:]} may answer it; a lead or admin may waive it."


def _approval_panel(
    user, deployment: Deployment, approvals: list[Approval], steps
) -> ApprovalPanel:
    environment = deployment.environment
    step = next((s for s in steps if s.kind == StepKind.APPROVAL), None)
    asked = not deployment.is_final and waits_for_approval(deployment)
    mine = next((a for a in approvals if a.user_id == getattr(user, "pk", None)), None)
    allowed = roles.can_approve(user, deployment)
    return ApprovalPanel(
        step_state=step.state if step else None,
        skipped_by_break_glass=(
            step is None
            and deployment.trigger == Trigger.BREAK_GLASS
            and environment.required_approvals > 0
        ),
        required=environment.required_approvals,
        approved=sum(1 for a in approvals if a.decision == Decision.APPROVE),
        group=environment.approver_group,
        asked=asked,
        decisions=approvals,
        mine=mine,
        may_decide=asked and allowed and mine is None,
        why_not=_why_not_approver(user, deployment, allowed),
    )


def _why_not_approver(user, deployment: Deployment, allowed: bool) -> str:
    if allowed:
        return ""
    group = deployment.environment.approver_group
    if deployment.requested_by_id is not None and deployment.requested_by_id == getattr(
        user, "pk", None
    ):
        return f"You requested it, so a {group} (or an admin) other than you approves it."
    return f"A {group} or an admin other than its requester approves it."
