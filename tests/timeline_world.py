"""A production environment with a history of every kind the timeline shows, made by
the engine's own actions (the steps' outcomes recorded as a worker records them)."""

from dataclasses import dataclass

from django.http import QueryDict
from django.utils import timezone

from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode, Environment
from deployments import engine
from deployments.engine.claims import claim_next_step
from deployments.engine.outcomes import record_outcome
from deployments.models import Deployment
from deployments.steps import StepOutcome
from tests.factories import make_deployment, make_environment, make_release, make_service
from web.timeline import timeline_page


@dataclass
class World:
    production: Environment
    staging: Environment


def make_path() -> World:
    """staging → production (one approval from a lead, a checklist with a manual pre
    item, an automatic one and a manual post item); web and api have 1.0.0 and 1.1.0
    that succeeded in staging, and web 1.0.0 succeeded in production."""
    staging = make_environment("staging")
    production = make_environment("production", promotes_from=staging, required_approvals=1)
    template = ChecklistTemplate.objects.create(name="production-checklist")
    items = [
        (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "Build Docker images", "release_built"),
        (ChecklistPhase.PRE, CheckMode.MANUAL, "Review changes", ""),
        (ChecklistPhase.POST, CheckMode.MANUAL, "Test critical user flows", ""),
    ]
    for position, (phase, mode, text, kind) in enumerate(items, start=1):
        template.items.create(position=position, phase=phase, mode=mode, text=text, check_kind=kind)
    production.checklist_template = template
    production.save()
    releases = {}
    for name in ("web", "api"):
        service = make_service(name)
        if name == "api":
            service.migration_command = ["npx", "prisma", "migrate", "deploy"]
            service.smoke_checks = [{"url": "api", "path": "/health", "expect_status": 200}]
            service.save()
        for version in ("1.0.0", "1.1.0"):
            releases[name, version] = release = make_release(service, version)
            make_deployment(release, staging, state="succeeded", finished_at=timezone.now())
    make_deployment(
        releases["web", "1.0.0"], production, state="succeeded", finished_at=timezone.now()
    )
    return World(production=production, staging=staging)


def run_steps(
    deployment: Deployment, ok: bool = True, reason: str = "", fail: str = ""
) -> Deployment:
    """Claim and record every runnable step as a worker would, without a cluster: all
    succeed, or all fail (`ok` False), or only the step of kind `fail`. A rollout
    records that it applied the images, so a failure after it rolls back."""
    while (claim := claim_next_step(deployment.pk, "worker-1")) is not None:
        passed = ok and claim.kind != fail
        result = {"applied": True} if claim.kind == "rollout" else {}
        outcome = StepOutcome(passed, "" if passed else reason, result)
        record_outcome(claim.deployment_id, claim.step_id, claim.attempt, outcome)
    return Deployment.objects.get(pk=deployment.pk)


def item(deployment: Deployment, text: str):
    return deployment.checklist.get(text=text)


def past_the_checklist(lead, deployment: Deployment) -> Deployment:
    """Park the deployment at its checklist, then answer "Review changes"."""
    claim_next_step(deployment.pk, "worker-1")
    engine.answer_item(lead, item(deployment, "Review changes").pk, "passed", "diff read")
    return deployment


def promoted_through_the_gates(
    requester, lead, service="web", version="1.1.0", repromotion_reason=""
) -> Deployment:
    """A promotion to production: checklist answered, approved, run, verified."""
    deployment = past_the_checklist(
        lead, engine.promote(requester, service, version, "production", repromotion_reason)
    )
    engine.decide(lead, deployment.pk, "approve", "ship it")
    deployment = run_steps(deployment)
    engine.answer_item(lead, item(deployment, "Test critical user flows").pk, "passed", "ok")
    return deployment


def page_of(environment: Environment, query: str = "", **options):
    return timeline_page(environment, QueryDict(query), **options)
