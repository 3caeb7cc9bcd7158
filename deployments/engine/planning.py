"""Requesting deployments: validate everything first, then record the plan in one transaction.

The validating, and the refusals it raises, is deployments.engine.refusals.
"""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from catalog.models import ChecklistPhase, CheckMode, Environment, Service
from deployments.checks.registry import FILLED_KINDS
from deployments.engine.checklist import answer_release_items, answer_unplanned_step_items
from deployments.engine.enqueue import advance_after_commit
from deployments.engine.errors import DeploymentRequestError
from deployments.engine.refusals import (
    _active_environment,
    _active_service,
    _already_on_its_way,
    _check_allowed,
    _check_promotion,
    _deployable_release,
    _on_its_way,
    _rollback_target,
)
from deployments.lane_history import rollback_targets
from deployments.models import ChecklistItem, Deployment, Lane, Step
from deployments.notifications.outbox import notify
from deployments.states import (
    PROMOTION_TRIGGERS,
    DeploymentState,
    NotificationEvent,
    StepKind,
    Trigger,
)
from live import announce
from portal.masking import people_text
from releases.models import Release


def request_deployment(
    service_name: str,
    version: str,
    environment_name: str,
    *,
    actor: User | None = None,
    trigger: Trigger = Trigger.PROMOTE,
    break_glass_reason: str = "",
    repromotion_reason: str = "",
) -> Deployment:
    """Record a deployment of a ready release to an environment and start advancing it.

    `actor` None means the system (an operator on the host); a person must pass
    `roles.can_deploy`. The rules of `promotion_rules` (path, lock, nothing redundant,
    never older than what runs, a written `repromotion_reason` for a release rolled
    back from there) hold for everyone but break-glass.
    Raises DeploymentRequestError naming what is wrong and what to do instead.
    """
    service = _active_service(service_name)
    environment = _active_environment(environment_name)
    release = _deployable_release(service, version)
    _check_allowed(actor, environment, trigger)
    glass = trigger == Trigger.BREAK_GLASS
    if not glass:  # break-glass may take over a held deployment of the same release
        repromotion_reason = _check_promotion(release, environment, repromotion_reason)
    steps = plan_promotion(service, environment, with_approval=not glass)
    return _record(
        release, environment, actor, trigger, steps, break_glass_reason=break_glass_reason,
        repromotion_reason=repromotion_reason,
    )  # fmt: skip


def promote(
    actor: User | None,
    service_name: str,
    version: str,
    environment_name: str,
    repromotion_reason: str = "",
) -> Deployment:
    """A person (or, with `actor` None, the system) promotes a release along the path;
    `repromotion_reason` confirms promoting again a release rolled back from there."""
    return request_deployment(
        service_name, version, environment_name, actor=actor,
        repromotion_reason=repromotion_reason,
    )  # fmt: skip


def break_glass(
    actor: User | None,
    service_name: str,
    version: str,
    environment_name: str,
    reason: str,
) -> Deployment:
    """A lead or admin deploys through a lock, a freeze, the promotion path and missing
    approvals, with a written reason (stored masked); the deployment waits for another
    lead's review."""
    reason = " ".join(reason.split())
    if not reason:
        raise DeploymentRequestError(
            "Break-glass needs a written reason (what is broken and why it cannot wait)."
        )
    return request_deployment(
        service_name,
        version,
        environment_name,
        actor=actor,
        trigger=Trigger.BREAK_GLASS,
        break_glass_reason=reason,
    )


def request_rollback(
    service_name: str,
    environment_name: str,
    *,
    to_version: str | None = None,
    actor: User | None = None,
) -> Deployment:
    """Re-apply a release that succeeded earlier in this environment (by default the
    newest such release that is not running now).

    The fixed plan of DESIGN.md: no approval, no migration, goes first in its lane.
    Any other target is refused with the reason, whatever a form offered.
    """
    service = _active_service(service_name)
    environment = _active_environment(environment_name)
    if actor is not None and not roles.can_rollback(actor, environment):
        raise DeploymentRequestError(
            f"{actor} may not roll back in {environment.name}.", forbidden=True
        )
    targets = rollback_targets(service, environment)
    release = _rollback_target(service, environment, to_version, targets)
    return _record(
        release,
        environment,
        actor,
        Trigger.ROLLBACK,
        plan_rollback(service),
        rollback_of=_rolled_back(service, environment),
    )


def _rolled_back(service: Service, environment: Environment) -> Deployment | None:
    """What a rollback undoes: the promotion running in the lane (it preempts it), else
    the last deployment that succeeded there."""
    lane = Deployment.objects.filter(service=service, environment=environment)
    running = lane.filter(state=DeploymentState.RUNNING).exclude(trigger=Trigger.ROLLBACK)
    succeeded = lane.filter(state=DeploymentState.SUCCEEDED).order_by("-finished_at")
    return running.first() or succeeded.first()


def plan_promotion(
    service: Service, environment: Environment, *, with_approval: bool = True
) -> list[str]:
    """The steps of a promotion: the gates this environment has, then the rollout."""
    steps: list[str] = []
    if _template_items(environment, ChecklistPhase.PRE):
        steps.append(StepKind.PRE_CHECKS)
    if environment.required_approvals and with_approval:
        steps.append(StepKind.APPROVAL)
    if _checked_template_items(environment, ChecklistPhase.PRE):
        steps.append(StepKind.RECHECK)  # approval may have come hours later
    if service.migration_command:
        steps.append(StepKind.MIGRATE)
    steps.append(StepKind.ROLLOUT)
    if service.smoke_checks:
        steps.append(StepKind.SMOKE)
    if _checked_template_items(environment, ChecklistPhase.POST):
        steps.append(StepKind.POST_CHECKS)
    return steps


def plan_rollback(service: Service) -> list[str]:
    """A manual rollback's fixed plan: no gates, no migration; roll out, then smoke-test."""
    return [StepKind.ROLLOUT, StepKind.SMOKE] if service.smoke_checks else [StepKind.ROLLOUT]


def _record(
    release: Release,
    environment: Environment,
    actor: User | None,
    trigger: Trigger,
    step_kinds: list[str],
    rollback_of: Deployment | None = None,
    break_glass_reason: str = "",
    repromotion_reason: str = "",
) -> Deployment:
    reasons = {"break_glass_reason": break_glass_reason, "repromotion_reason": repromotion_reason}
    try:
        return _insert(release, environment, actor, trigger, step_kinds, rollback_of, reasons)
    except IntegrityError:
        # Two quick clicks: both passed _redundant before either committed. The
        # one_active_promotion_per_release constraint let the first INSERT through; this
        # one waited for it to commit and failed, so the winner is visible now.
        existing = (
            _on_its_way(release, environment, PROMOTION_TRIGGERS)
            if trigger in PROMOTION_TRIGGERS
            else None
        )
        if existing is None:
            raise
        raise _already_on_its_way(existing) from None


def _insert(
    release: Release,
    environment: Environment,
    actor: User | None,
    trigger: Trigger,
    step_kinds: list[str],
    rollback_of: Deployment | None,
    reasons: dict[str, str],
) -> Deployment:
    """Write the deployment, its steps and checklist, audit and announce it: one transaction.

    `reasons`: the break-glass and re-promotion reasons, kept masked (shown on pages
    and the timeline)."""
    person = actor if actor is not None and actor.is_authenticated else None
    reasons = {field: people_text(text) for field, text in reasons.items()}
    with transaction.atomic():
        lane, _ = Lane.objects.get_or_create(service=release.service, environment=environment)
        deployment = Deployment.objects.create(
            release=release,
            service=release.service,
            environment=environment,
            lane=lane,
            requested_by=person,
            trigger=trigger,
            state=DeploymentState.PENDING,
            rollback_of=rollback_of,
            **reasons,
        )
        Step.objects.bulk_create(
            Step(deployment=deployment, kind=kind, position=position)
            for position, kind in enumerate(step_kinds, start=1)
        )
        # The request is recorded first: what the portal answers for it follows it.
        trail.record(
            AuditAction.DEPLOYMENT_REQUESTED,
            actor=person,
            deployment=deployment,
            target=f"{release.service.name}:{release.version}→{environment.name}",
            trigger=trigger,
            image=release.image,
            **_request_detail(rollback_of, reasons),
        )
        if trigger != Trigger.ROLLBACK:
            _copy_checklist(deployment, environment)
            answer_release_items(deployment)
            answer_unplanned_step_items(deployment, step_kinds)
        notify(deployment, NotificationEvent.REQUESTED)
        announce.deployment_changed(deployment.pk, deployment.lane_id)  # its lane's pages show it
        advance_after_commit(deployment.pk, urgent=trigger == Trigger.ROLLBACK)
    return deployment


def _request_detail(rollback_of: Deployment | None, reasons: dict[str, str]) -> dict:
    """What else the audit row of a request keeps: what a rollback replaces, why glass
    was broken, why a release rolled back from there is promoted again."""
    detail: dict[str, object] = {}
    if rollback_of is not None:
        detail["rollback_of"] = rollback_of.pk
    if reasons["break_glass_reason"]:
        detail["reason"] = reasons["break_glass_reason"]
    if reasons["repromotion_reason"]:
        detail["repromotion_reason"] = reasons["repromotion_reason"]
    return detail


def _copy_checklist(deployment: Deployment, environment: Environment) -> None:
    template = environment.checklist_template
    if template is None:
        return
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            deployment=deployment,
            position=item.position,
            phase=item.phase,
            text=item.text,
            mode=item.mode,
            check_kind=item.check_kind,
            params=item.params,
            link=item.link,
        )
        for item in template.items.all()
    )


def _template_items(environment: Environment, phase: str):
    template = environment.checklist_template
    return template.items.filter(phase=phase) if template else []


def _checked_template_items(environment: Environment, phase: str) -> bool:
    """Whether the template has items of `phase` that a check decides."""
    items = _template_items(environment, phase)
    return bool(items) and (
        items.filter(mode=CheckMode.AUTOMATIC).exclude(check_kind__in=FILLED_KINDS).exists()
    )
