"""What a person may start from a service page, per environment, and why not.

The Promote, Roll back, Lock and Break-glass controls read their state from here:
the candidate release, and every reason it may not go now, in words. Permissions
come from `portal.roles`; this module only gathers them for the page.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from deployments.models import Deployment, Release
from deployments.overview import Cell, RollbackChoice, dashboard_rows, rollback_choices
from deployments.states import DeploymentState, ReleaseState, Trigger
from deployments.what_runs import REPAIRABLE
from environments.catalog.values import parse_freeze_time
from environments.freeze import MINUTES_PER_WEEK, active_freeze, describe
from environments.models import ChecklistTemplateItem, Environment, Service
from portal import roles

# How many ready releases a select offers (newest first).
RELEASE_CHOICES = 30


@dataclass(frozen=True)
class Freeze:
    """A freeze window in force, and when it ends."""

    window: dict
    ends_at: datetime

    @property
    def label(self) -> str:
        return describe(self.window)


def freeze_in_force(environment: Environment, now: datetime) -> Freeze | None:
    window = active_freeze(environment.freeze_windows, now)
    return None if window is None else Freeze(window, _window_end(window, now))


def _window_end(window: dict, now: datetime) -> datetime:
    zone = ZoneInfo(window.get("timezone") or "UTC")
    end = parse_freeze_time(window["to"])
    if isinstance(end, datetime):
        return end if end.tzinfo else end.replace(tzinfo=zone)
    local = now.astimezone(zone).replace(second=0, microsecond=0)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    until = (end[0] * 1440 + end[1] * 60 + end[2] - minute) % MINUTES_PER_WEEK
    return local + timedelta(minutes=until)


def lock_refusal(environment: Environment) -> str:
    if not environment.locked:
        return ""
    who = environment.locked_by.get_username() if environment.locked_by else "someone"
    when = timezone.localtime(environment.locked_at) if environment.locked_at else None
    at = f" at {_moment(when)}" if when else ""
    return f"{environment.name} is locked by {who}{at}: {environment.lock_reason}"


def freeze_refusal(environment: Environment, freeze: Freeze | None) -> str:
    if freeze is None:
        return ""
    return (
        f"{environment.name} is frozen until {freeze.ends_at:%a} {_moment(freeze.ends_at)} "
        f"{freeze.ends_at:%Z} (freeze {freeze.label}); rollbacks still go."
    )


def _moment(when: datetime) -> str:
    """`6 Dec 23:59`, as the pages' `j M H:i`."""
    return f"{when.day} {when:%b %H:%M}"


def needs_confirmation(environment: Environment) -> bool:
    """Promotions to an environment with approvals or a checklist (production, as the
    catalog has it) go through a confirmation page that shows what will change."""
    return bool(environment.required_approvals or environment.checklist_template_id)


@dataclass(frozen=True)
class EnvironmentPanel:
    """One environment's box on a service page: what runs, and what one may start."""

    environment: Environment
    cell: Cell
    candidates: list[Release]  # what Promote offers: one, or (first environment) a choice
    refusals: list[str]  # why Promote is disabled; empty when it may go
    confirm: bool  # Promote leads to a confirmation page first
    may_lock: bool
    may_break_glass: bool
    glass_releases: list[Release]  # what break-glass may deploy (any ready release)
    rollback: RollbackChoice
    freeze: Freeze | None = None
    in_flight: list[Deployment] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return bool(self.candidates) and not self.refusals

    @property
    def candidate(self) -> Release | None:
        return self.candidates[0] if self.candidates else None

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
    panels = [
        _panel(service, cell, by_environment, ready, rollback, user, now)
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


def _panel(service, cell, by_environment, ready, rollback, user, now) -> EnvironmentPanel:
    environment = cell.environment
    running = cell.current.release if cell.current and not _repair(cell) else None
    if environment.promotes_from_id is None:
        candidates = [release for release in ready if release != running]
    else:
        source = by_environment.get(environment.promotes_from_id)
        candidates = [source.current.release] if source and source.current else []
    freeze = freeze_in_force(environment, now)
    refusals = promotion_refusals(user, environment, cell, candidates, freeze)
    return EnvironmentPanel(
        environment=environment, cell=cell, candidates=candidates, refusals=refusals,
        confirm=needs_confirmation(environment), may_lock=roles.can_lock(user, environment),
        may_break_glass=roles.can_break_glass(user, environment), glass_releases=ready,
        rollback=rollback, freeze=freeze,
    )  # fmt: skip


def promotion_refusals(user, environment, cell, candidates, freeze) -> list[str]:
    """Every reason the Promote control of this environment is disabled, in words."""
    reasons = []
    if not roles.can_deploy(user, environment):
        reasons.append(
            f"You may not deploy to {environment.name}; engineers, leads and admins may."
        )
    if not candidates:
        reasons.append(_nothing_to_promote(environment, cell))
    elif environment.promotes_from_id is not None:
        reasons.extend(_candidate_refusals(environment, cell, candidates[0]))
    reasons.extend(filter(None, [lock_refusal(environment), freeze_refusal(environment, freeze)]))
    return reasons


def _nothing_to_promote(environment, cell) -> str:
    source = environment.promotes_from
    if source is None:
        if cell.current is not None:
            return f"No other ready release: {cell.current.release.version} runs here already."
        return "No ready release yet; register one first."
    return f"Nothing has succeeded in {source.name} yet; promote a release to {source.name} first."


def _repair(cell: Cell) -> bool:
    """The cluster does not run what the portal deployed: deploying it again repairs."""
    return cell.cluster is not None and cell.cluster.verdict in REPAIRABLE


def _candidate_refusals(environment, cell, candidate: Release) -> list[str]:
    if cell.current is not None and cell.current.release_id == candidate.pk and not _repair(cell):
        return [f"{candidate.version} already runs in {environment.name}."]
    if cell.in_progress is not None and cell.in_progress.release_id == candidate.pk:
        state = cell.in_progress.get_state_display().lower()
        return [
            f"{candidate.version} is already on its way to {environment.name}: "
            f"#{cell.in_progress.pk} ({state}); follow it or cancel it first."
        ]
    refusal = roles.promotion_refusal(candidate, environment)
    return [refusal] if refusal else []


@dataclass(frozen=True)
class PromotionPreview:
    """What a promotion will change and which gates it will meet, before it is asked."""

    service: Service
    environment: Environment
    release: Release
    running: Release | None
    changes: list[Release]  # releases between what runs and the candidate, newest first
    going_back: bool  # the candidate is older than what runs: `changes` stop running
    checklist: list[ChecklistTemplateItem]
    refusals: list[str]
    migrates: bool

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def soak_checks(self) -> list[str]:
        """The automatic post-deployment items that watch the release after its rollout."""
        return [
            item.text
            for item in self.checklist
            if item.phase == "post" and item.mode == "automatic" and item.check_kind != "step"
        ]

    @property
    def soak(self) -> timedelta:
        return self.environment.soak * settings.PORTAL_SOAK_SCALE


def promotion_preview(service, environment, release, user, now=None) -> PromotionPreview:
    """The confirmation page of a promotion: changes, gates and refusals."""
    now = now or timezone.now()
    _environments, rows = dashboard_rows(services=[service])
    cell = next(c for c in rows[0].cells if c.environment.pk == environment.pk)
    running = cell.current.release if cell.current else None
    freeze = freeze_in_force(environment, now)
    refusals = promotion_refusals(user, environment, cell, [release], freeze)
    if environment.promotes_from_id is None:  # the panel's select left these out
        refusals += _candidate_refusals(environment, cell, release)
    going_back = running is not None and release.created_at < running.created_at
    template = environment.checklist_template
    return PromotionPreview(
        service=service, environment=environment, release=release, running=running,
        changes=_between(service, running, release, going_back), going_back=going_back,
        checklist=list(template.items.order_by("position")) if template else [],
        refusals=refusals, migrates=bool(service.migration_command),
    )  # fmt: skip


def _between(service, running, release, going_back: bool, limit: int = 50) -> list[Release]:
    releases = Release.objects.filter(service=service).select_related("created_by")
    if running is None:
        releases = releases.filter(created_at__lte=release.created_at)
    elif going_back:
        releases = releases.filter(
            created_at__gt=release.created_at, created_at__lte=running.created_at
        )
    else:
        releases = releases.filter(
            created_at__gt=running.created_at, created_at__lte=release.created_at
        )
    return list(releases.order_by("-created_at")[:limit])


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
