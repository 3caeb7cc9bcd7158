"""The dashboard's read model: the matrix, what waits for the signed-in person, what is
in flight, the locks and freezes in force and the break-glass reviews still open.

A fixed number of queries whatever the history length; permissions come from
`accounts.roles`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts import roles
from catalog.models import ChecklistPhase, CheckMode, Environment
from deployments.matrix import Cell, Row, dashboard_rows
from deployments.models import Approval, ChecklistItem, Deployment, Step
from deployments.promotion_rules import Freeze, freeze_in_force
from deployments.states import (
    ACTIVE_DEPLOYMENT_STATES,
    ChecklistState,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
    Verification,
)
from deployments.what_runs import ClusterVerdict
from web.overview import lanes_stream_url

# The "Waiting for you" panel lists at most this many checklist items.
ITEM_LIMIT = 50


@dataclass(frozen=True)
class Dashboard:
    environments: list[Environment]
    rows: list[Row]
    approvals: list[Deployment]  # asking for this person's decision now
    items: list[ChecklistItem]  # manual items this person may answer now
    in_flight: list[Deployment]  # not ended yet, newest first
    locks: list[Environment]
    freezes: list[tuple[Environment, Freeze]]
    reviews: list[Deployment]  # break-glass deployments nobody reviewed yet

    @property
    def my_reviews(self) -> list[Deployment]:
        """Break-glass deployments this person may review: they wait for them too."""
        return [deployment for deployment in self.reviews if deployment.may_review]

    @property
    def waiting_count(self) -> int:
        return len(self.approvals) + len(self.items) + len(self.my_reviews)

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in self.rows for cell in row.cells]

    @property
    def trouble(self) -> list[Cell]:
        """Cells whose cluster someone must look at (drift, missing, unreachable)."""
        return [cell for cell in self.cells if cell.cluster and cell.cluster.in_trouble]

    @property
    def trouble_summary(self) -> list[str]:
        """What is off, in short phrases: a cluster nobody can reach is one phrase for
        its whole environment, not one per service."""
        phrases = []
        for environment in self.environments:
            cells = [cell for cell in self.trouble if cell.environment.pk == environment.pk]
            if (
                len(self.rows) > 1
                and len(cells) == len(self.rows)
                and all(cell.cluster.verdict == ClusterVerdict.UNREACHABLE for cell in cells)
            ):
                phrases.append(f"cluster {environment.cluster.name} unreachable (every service)")
                continue
            phrases += [
                f"{cell.service.name} in {environment.name} ({cell.cluster.verdict.label})"
                for cell in cells
            ]
        return phrases

    @property
    def stream_url(self) -> str:
        return lanes_stream_url(self.cells)


def dashboard(user, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    environments, rows = dashboard_rows()
    watched = _watched_deployments(user)
    in_flight = [d for d in watched if d.state in ACTIVE_DEPLOYMENT_STATES]
    frozen = ((e, freeze_in_force(e, now)) for e in environments)
    return Dashboard(
        environments=environments,
        rows=rows,
        approvals=[d for d in in_flight if _asks_for(user, d)],
        items=_answerable_items(user),
        in_flight=in_flight,
        locks=[environment for environment in environments if environment.locked],
        freezes=[(environment, freeze) for environment, freeze in frozen if freeze],
        reviews=[d for d in watched if d.is_break_glass_unreviewed],
    )


def _watched_deployments(user) -> list[Deployment]:
    """One query: deployments that have not ended, and break-glass ones not reviewed.

    `approval_asked` is `engine.actions.waits_for_approval` for many rows at once (a
    pending deployment whose approval step waits), so the panel costs no query per row.
    """
    asked = Step.objects.filter(
        deployment=OuterRef("pk"), kind=StepKind.APPROVAL, state=StepState.WAITING
    )
    mine = Approval.objects.filter(deployment=OuterRef("pk"), user_id=user.pk)
    unreviewed = Q(trigger=Trigger.BREAK_GLASS, break_glass_reviewed_at__isnull=True)
    found = (
        Deployment.objects.filter(Q(state__in=ACTIVE_DEPLOYMENT_STATES) | unreviewed)
        .select_related("release", "service", "environment", "requested_by")
        .annotate(approval_asked=Exists(asked), decided_by_me=Exists(mine))
        .order_by("-created_at")
    )
    watched = list(found)
    for deployment in watched:
        deployment.is_break_glass_unreviewed = (
            deployment.trigger == Trigger.BREAK_GLASS and deployment.break_glass_reviewed_at is None
        )
        deployment.may_review = deployment.is_break_glass_unreviewed and (
            roles.can_review_break_glass(user, deployment)
        )
    return watched


def _asks_for(user, deployment: Deployment) -> bool:
    return (
        deployment.state == DeploymentState.PENDING
        and deployment.approval_asked
        and not deployment.decided_by_me
        and roles.can_approve(user, deployment)
    )


def _answerable_items(user) -> list[ChecklistItem]:
    """Items this person may act on now: manual items of pending deployments
    (pre-deployment) and of succeeded ones (post-deployment, the verification) to
    answer, and pre-deployment checks that failed and hold their deployment, to waive."""
    pre = Q(
        phase=ChecklistPhase.PRE,
        deployment__state=DeploymentState.PENDING,
        mode=CheckMode.MANUAL,
        state=ChecklistState.PENDING,
    ) | Q(
        phase=ChecklistPhase.PRE,
        deployment__state=DeploymentState.PENDING,
        mode=CheckMode.AUTOMATIC,
        state=ChecklistState.FAILED,
    )
    post = Q(
        phase=ChecklistPhase.POST,
        deployment__state=DeploymentState.SUCCEEDED,
        # Redundant with a pending manual item, but it lets PostgreSQL start from the
        # few deployments still being verified (a partial index) instead of scanning
        # every item of every succeeded deployment.
        deployment__verification__in=[Verification.OPEN, Verification.FAILED],
        mode=CheckMode.MANUAL,
        state=ChecklistState.PENDING,
    )
    items = (
        ChecklistItem.objects.filter(pre | post)
        .select_related("deployment__release", "deployment__service", "deployment__environment")
        .order_by("-deployment__created_at", "position")
    )
    return [item for item in items if _may_act_on(user, item)][:ITEM_LIMIT]


def _may_act_on(user, item: ChecklistItem) -> bool:
    if item.mode == CheckMode.MANUAL:
        return roles.can_answer_checklist(user, item)
    return roles.can_waive_checklist(user, item)
