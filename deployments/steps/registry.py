"""Which function runs each step kind a worker executes (gates never reach a worker)."""

from deployments.states import StepKind
from deployments.steps import rollback, rollout

STEP_RUNNERS = {StepKind.ROLLOUT: rollout.run, StepKind.ROLLBACK: rollback.run}


def runner_for(kind: str):
    return STEP_RUNNERS[kind]
