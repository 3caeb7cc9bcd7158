"""Which function runs each step kind a worker executes (gates never reach a worker)."""

from deployments.states import StepKind
from deployments.steps import migrate, rollback, rollout, smoke

STEP_RUNNERS = {
    StepKind.MIGRATE: migrate.run,
    StepKind.ROLLOUT: rollout.run,
    StepKind.SMOKE: smoke.run,
    StepKind.ROLLBACK: rollback.run,
}


def runner_for(kind: str):
    return STEP_RUNNERS[kind]
