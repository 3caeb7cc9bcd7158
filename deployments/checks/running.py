"""Running checks for the engine and the checks steps: which items a check decides,
one check whatever happens, a result as a step keeps it, and how long checking lasts."""

import logging
from datetime import timedelta

from django.conf import settings

from catalog.models import ChecklistPhase, CheckMode
from deployments.checks import CheckResult, failed
from deployments.checks.registry import CHECKS, FILLED_KINDS
from deployments.models import ChecklistItem, Deployment
from deployments.states import StepKind

log = logging.getLogger(__name__)


def checked_items(deployment: Deployment, phase: str):
    """The deployment's items of `phase` that a check decides (not filled from steps)."""
    return deployment.checklist.filter(phase=phase, mode=CheckMode.AUTOMATIC).exclude(
        check_kind__in=FILLED_KINDS
    )


def run_check(deployment: Deployment, item: ChecklistItem) -> CheckResult:
    """One check, whatever happens: a crash is a failure with the error as evidence."""
    check = CHECKS.get(item.check_kind)
    if check is None:
        return failed(f"The portal has no check {item.check_kind!r}; fix the catalog.")
    try:
        return check(deployment, item.params)
    except Exception as exc:  # a check must end its item, whatever it met
        log.exception("check %s of deployment %s crashed", item.check_kind, deployment.pk)
        return failed(f"The {item.check_kind} check crashed: {type(exc).__name__}: {exc}")


def as_record(item: ChecklistItem, result: CheckResult) -> dict:
    """A result as a step keeps it (JSON), for record_outcome to apply."""
    return {
        "item": item.pk,
        "text": item.text,
        "passed": result.passed,
        "waits": result.waits,
        "evidence": result.evidence,
        "headline": result.headline,
    }


def checks_deadline(kind: str, deployment: Deployment) -> timedelta:
    """How long a checks step may take: every check's timeout, and for post-deployment
    checks the soak window they watch."""
    phase = ChecklistPhase.POST if kind == StepKind.POST_CHECKS else ChecklistPhase.PRE
    count = max(1, checked_items(deployment, phase).count())
    per_round = timedelta(seconds=count * settings.PORTAL_CHECK_TIMEOUT_SECONDS)
    if kind != StepKind.POST_CHECKS:
        return per_round
    rounds = soak_seconds(deployment) / settings.PORTAL_SOAK_INTERVAL_SECONDS + 2
    return timedelta(seconds=soak_seconds(deployment)) + per_round * rounds


def soak_seconds(deployment: Deployment) -> float:
    """The environment's soak window, scaled by PORTAL_SOAK_SCALE (the demo shortens it)."""
    return deployment.environment.soak.total_seconds() * settings.PORTAL_SOAK_SCALE
