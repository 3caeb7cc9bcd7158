"""Which function runs each step kind a worker executes (gates never reach a worker)."""

from collections.abc import Callable

from deployments.states import StepKind
from deployments.steps import (
    StepContext,
    StepOutcome,
    Wait,
    migrate,
    post_checks,
    recheck,
    rollback,
    rollout,
    smoke,
)

STEP_RUNNERS: dict[str, Callable[[StepContext], StepOutcome | Wait]] = {
    StepKind.RECHECK: recheck.run,
    StepKind.MIGRATE: migrate.run,
    StepKind.ROLLOUT: rollout.run,
    StepKind.SMOKE: smoke.run,
    StepKind.POST_CHECKS: post_checks.run,
    StepKind.ROLLBACK: rollback.run,
}


def runner_for(kind: str):
    return STEP_RUNNERS[kind]
