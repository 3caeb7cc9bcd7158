"""What a person may start from a service page, per environment, and why not.

The Promote, Roll back, Lock and Break-glass controls read their state from here:
the candidate release, and every reason it may not go now, in words. The rules are
`promotion_rules` (the engine and the API use the same ones) and permissions come from
`accounts.roles`; this module only gathers them for the page.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts import roles
from catalog.kinds import CheckKindName
from catalog.models import ChecklistPhase, ChecklistTemplateItem, CheckMode, Environment, Service
from deployments import promotion_rules as rules
from deployments.matrix import Cell, dashboard_rows
from deployments.models import Deployment
from deployments.promotion_rules import Freeze, Refusal, RolledBack, freeze_in_force
from deployments.states import DeploymentState, Trigger
from deployments.what_runs import REPAIRABLE
from releases.models import Release
from releases.order import between, is_older
from releases.states import ReleaseState
from web.overview import RollbackChoice, rollback_choices

# How many ready releases a select offers (newest first).
RELEASE_CHOICES = 30


def needs_confirmation(environment: Environment) -> bool:
    """Promotions to an environment with approvals or a checklist (production, as the
    catalog has it) go through a confirmation page that shows what will change."""
    return bool(environment.required_approvals or environment.checklist_template_id)


@dataclass(frozen=True)
class Offer:
    """A release a Promote control offers, with where it was rolled back from."""

    release: Release
    marks: list[RolledBack]

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def label(self) -> str:
        """The select's option: "1.7.0 (rolled back from production)"; the notes under
        the control say when and why."""
        if not self.marks:
            return self.version
        return (
            f"{self.version} (rolled back from {', '.join(m.environment.name for m in self.marks)})"
        )


@dataclass(frozen=True)
class EnvironmentPanel:
    """One environment's box on a service page: what runs, and what one may start."""

    environment: Environment
    cell: Cell
    candidates: list[Release]  # what Promote offers: one, or (first environment) a choice
    refusals: list[Refusal]  # why Promote is disabled; empty when it may go
    confirm: bool  # Promote leads to a confirmation page first
    may_lock: bool
    may_break_glass: bool
    glass_releases: list[Release]  # what break-glass may deploy (any ready release)
    rollback: RollbackChoice
    freeze: Freeze | None = None
    in_flight: list[Deployment] = field(default_factory=list)
    marks: dict[int, list[RolledBack]] = field(default_factory=dict)  # by release id
    older: list[Release] = field(default_factory=list)  # ready, older than what runs

    @property
    def allowed(self) -> bool:
        return bool(self.candidates) and not self.refusals

    @property
    def candidate(self) -> Release | None:
        return self.candidates[0] if self.candidates else None

    @property
    def offers(self) -> list[Offer]:
        return [Offer(r, self.marks.get(r.pk, [])) for r in self.candidates]

    @property
    def button(self) -> str:
        """What the disabled Promote button says: the first refusal, naming no release."""
        return self.refusals[0].button if self.refusals else ""

    @property
    def source(self) -> Environment | None:
        return self.environment.promotes_from

    @property
    def repair_hint(self) -> str:
        """What to do when the cluster does not run what the portal deployed."""
        if not _repair(self.cell):
            return ""
        return (
            "To repair it, deploy again (Promote below) or roll back: the portal then "
            "rewrites the workloads and follows the rollout."
        )


def service_panels(service: Service, user, now: datetime | None = None):
    """Active environments and one panel per environment, in a fixed number of queries
    per environment whatever the history length."""
    now = now or timezone.now()
    environments, rows = dashboard_rows(services=[service])
    cells = rows[0].cells if rows else []
    ready = ready_releases(service)
    rollbacks = rollback_choices(service, cells, user)
    by_environment = {cell.environment.pk: cell for cell in cells}
    offered = [*ready, *(c.current.release for c in cells if c.current is not None)]
    marks = rules.rolled_back_marks(offered)
    panels = [
        _panel(cell, by_environment, ready, rollback, marks, user, now)
        for cell, rollback in zip(cells, rollbacks, strict=True)
    ]
    return environments, panels


def environment_panel(service: Service, environment_name: str, user) -> EnvironmentPanel | None:
    """The panel of one environment (for a fragment after a lock or an unlock)."""
    _environments, panels = service_panels(service, user)
    return next((p for p in panels if p.environment.name == environment_name), None)


def ready_releases(service: Service) -> list[Release]:
    releases = Release.objects.filter(service=service, state=ReleaseState.READY)
    return list(releases.order_by("-created_at")[:RELEASE_CHOICES])


def _panel(cell, by_environment, ready, rollback, marks, user, now) -> EnvironmentPanel:
    environment = cell.environment
    running = cell.current.release if cell.current and not _repair(cell) else None
    older = []
    if environment.promotes_from_id is None:
        # A promotion never goes back: older releases return through Roll back.
        older = [r for r in ready if rollback.running and is_older(r, rollback.running)]
        candidates = [r for r in ready if r != running and r not in older]
    else:
        source = by_environment.get(environment.promotes_from_id)
        candidates = [source.current.release] if source and source.current else []
    freeze = freeze_in_force(environment, now)
    refusals = promotion_refusals(user, cell, candidates, freeze, rollback)
    rolled_back_here = any(
        rules.rolled_back_from(marks.get(r.pk, []), environment) for r in candidates
    )
    return EnvironmentPanel(
        environment=environment, cell=cell, candidates=candidates, refusals=refusals,
        confirm=needs_confirmation(environment) or rolled_back_here,
        may_lock=roles.can_lock(user, environment),
        may_break_glass=roles.can_break_glass(user, environment), glass_releases=ready,
        rollback=rollback, freeze=freeze, marks=marks, older=older,
    )  # fmt: skip


def promotion_refusals(user, cell, candidates, freeze, rollback) -> list[Refusal]:
    """Every reason the Promote control of this environment is disabled, the one its
    button shows first (who may not, a lock, a freeze, then the release's own)."""
    environment = cell.environment
    found = [
        rules.may_not_deploy(user, environment),
        rules.locked(environment),
        rules.frozen(environment, freeze),
    ]
    if not candidates:
        found.append(_nothing_to_promote(environment, cell))
    elif environment.promotes_from_id is not None:
        found.append(_candidate_refusal(cell, candidates[0], rollback))
    return [refusal for refusal in found if refusal is not None]


def _nothing_to_promote(environment, cell) -> Refusal:
    source = environment.promotes_from
    if source is None and cell.current is not None:
        message = (
            f"No newer ready release: {cell.current.release.version} runs here already "
            "(older ones go back through Roll back)."
        )
    elif source is None:
        message = "No ready release yet; register one first."
    else:
        message = (
            f"Nothing has succeeded in {source.name} yet; promote a release to {source.name} first."
        )
    return Refusal(rules.RefusalKind.NOTHING, message, "Nothing to promote")


def _repair(cell: Cell) -> bool:
    """The cluster does not run what the portal deployed: deploying it again repairs."""
    return cell.cluster is not None and cell.cluster.verdict in REPAIRABLE


def _candidate_refusal(cell, candidate: Release, rollback: RollbackChoice) -> Refusal | None:
    environment = cell.environment
    if cell.current is not None and cell.current.release_id == candidate.pk and not _repair(cell):
        return rules.runs_already(candidate, environment)
    if cell.in_progress is not None and cell.in_progress.release_id == candidate.pk:
        return rules.on_its_way(cell.in_progress)
    return rules.off_the_path(candidate, environment) or rules.older_than_running(
        candidate, environment, rollback.running, rollback.targets
    )


@dataclass(frozen=True)
class Change:
    """A release a promotion brings, and whether it succeeded upstream."""

    release: Release
    succeeded_upstream: bool
    tried_upstream: bool = False  # it ran there (and failed, was rolled back or cancelled)


@dataclass(frozen=True)
class PromotionPreview:
    """What a promotion will change and which gates it will meet, before it is asked."""

    service: Service
    environment: Environment
    release: Release
    running: Release | None
    changes: list[Change]  # releases after what runs, up to the candidate, newest first
    checklist: list[ChecklistTemplateItem]
    refusals: list[Refusal]
    migrates: bool
    marks: list[RolledBack] = field(default_factory=list)  # where the release was rolled back

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def rolled_back_here(self) -> RolledBack | None:
        """Set when promoting it again takes a written reason."""
        return rules.rolled_back_from(self.marks, self.environment)

    @property
    def upstream(self) -> str:
        """Where "never deployed" looks: the environment it promotes from, else anywhere."""
        source = self.environment.promotes_from
        return f"never deployed to {source.name}" if source else "never deployed"

    @property
    def upstream_tried(self) -> str:
        """The mark of a release that ran upstream but never succeeded there."""
        source = self.environment.promotes_from
        return f"never succeeded in {source.name}" if source else "never succeeded"

    @property
    def soak_checks(self) -> list[str]:
        """The automatic post-deployment items that watch the release after its rollout."""
        return [
            item.text
            for item in self.checklist
            if item.phase == ChecklistPhase.POST
            and item.mode == CheckMode.AUTOMATIC
            and item.check_kind != CheckKindName.STEP
        ]

    @property
    def soak(self) -> timedelta:
        return self.environment.soak * settings.PORTAL_SOAK_SCALE


def promotion_preview(service, environment, release, user, now=None) -> PromotionPreview:
    """The confirmation page of a promotion: changes, gates and refusals."""
    now = now or timezone.now()
    _environments, rows = dashboard_rows(services=[service])
    cell = next(c for c in rows[0].cells if c.environment.pk == environment.pk)
    (rollback,) = rollback_choices(service, [cell], user, limit=None, recent=None)
    running = rollback.running
    freeze = freeze_in_force(environment, now)
    refusals = promotion_refusals(user, cell, [release], freeze, rollback)
    if environment.promotes_from_id is None:  # the panel's select left these out
        refusals += filter(None, [_candidate_refusal(cell, release, rollback)])
    template = environment.checklist_template
    return PromotionPreview(
        service=service, environment=environment, release=release, running=running,
        changes=_changes(service, environment, running, release),
        checklist=list(template.items.order_by("position")) if template else [],
        refusals=refusals, migrates=bool(service.migration_command),
        marks=rules.rolled_back_marks([release]).get(release.pk, []),
    )  # fmt: skip


def _changes(service, environment, running, release, limit: int = 50) -> list[Change]:
    """The releases after what runs up to `release` (release order), each marked with
    whether it succeeded upstream (in the environment promoted from; for the first
    environment, anywhere) and, if not, whether it was tried there."""
    releases = Release.objects.filter(service=service).select_related("created_by")
    changes = between(releases, running, release)[:limit]
    upstream_runs = (
        Deployment.objects.filter(release__in=changes)
        .filter(
            Q(environment_id=environment.promotes_from_id) if environment.promotes_from_id else Q()
        )
        .values_list("release_id", "state", "started_at")
    )
    succeeded, tried = set(), set()
    for release_id, state, started_at in upstream_runs:
        if state == DeploymentState.SUCCEEDED:
            succeeded.add(release_id)
        if started_at is not None:
            tried.add(release_id)
    return [Change(r, r.pk in succeeded, r.pk in tried) for r in changes]


@dataclass(frozen=True)
class RollbackPreview:
    service: Service
    environment: Environment
    release: Release
    running: Deployment | None  # the deployment whose release runs there now
    refusal: str  # "" when the person may roll back to this release
    in_flight: Deployment | None = None  # a promotion running there, which it preempts

    @property
    def allowed(self) -> bool:
        return not self.refusal


def rollback_preview(service, environment, release, user) -> RollbackPreview:
    """The confirmation of a rollback: what runs now, and what comes back."""
    _environments, rows = dashboard_rows(services=[service])
    cell = next(c for c in rows[0].cells if c.environment.pk == environment.pk)
    (choice,) = rollback_choices(service, [cell], user, limit=None, recent=None)
    refusal = ""
    if not choice.allowed:
        refusal = f"You may not roll back in {environment.name}; engineers, leads and admins may."
    elif release not in choice.releases:
        offered = ", ".join(r.version for r in choice.releases) or "none yet"
        refusal = (
            f"{release.version} is not a release to roll back to in {environment.name}: a "
            f"rollback goes to one that succeeded there before (choices: {offered})."
        )
    return RollbackPreview(
        service, environment, release, cell.current, refusal, _promotion_running(cell)
    )


def _promotion_running(cell: Cell) -> Deployment | None:
    deployment = cell.in_progress
    if deployment is None or deployment.state != DeploymentState.RUNNING:
        return None
    return None if deployment.trigger == Trigger.ROLLBACK else deployment
