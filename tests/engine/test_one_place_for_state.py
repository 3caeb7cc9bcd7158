"""Every change of a deployment's or a step's state goes through engine/transitions.py.

A static reading of the code: outside that module, no UPDATE sets `state` to a
DeploymentState or StepState, and no attribute `state` is assigned one. Creating a
row in its first state (a new deployment is `pending`) is not a change and is allowed.
"""

import ast
from pathlib import Path

import pytest

from deployments.engine import transitions
from deployments.engine.transitions import (
    DEPLOYMENT_TRANSITIONS,
    STEP_TRANSITIONS,
    IllegalTransition,
    move_deployment,
    move_step,
)
from deployments.models import Deployment, Step
from deployments.states import FINAL_DEPLOYMENT_STATES, DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service

REPO = Path(__file__).resolve().parents[2]
STATE_ENUMS = {"DeploymentState", "StepState"}
THE_ONE_PLACE = Path(transitions.__file__).resolve()


def _python_files():
    for folder in ("deployments", "environments", "portal", "tokens", "accounts", "kubesim"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "migrations" not in path.parts and path.resolve() != THE_ONE_PLACE:
                yield path


def _is_engine_state(node: ast.AST) -> bool:
    """`DeploymentState.X` or `StepState.X`."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in STATE_ENUMS
    )


def _sets_state_in_update(node: ast.AST) -> bool:
    """`….update(state=StepState.X, …)`"""
    return (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", "") == "update"
        and any(k.arg == "state" and _is_engine_state(k.value) for k in node.keywords)
    )


def _assigns_state(node: ast.AST) -> bool:
    """`x.state = DeploymentState.X`"""
    return (
        isinstance(node, ast.Assign)
        and _is_engine_state(node.value)
        and any(getattr(target, "attr", "") == "state" for target in node.targets)
    )


def _state_writes(tree: ast.AST) -> list[int]:
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if _sets_state_in_update(node) or _assigns_state(node)
    )


def test_no_module_but_transitions_writes_a_deployment_or_step_state():
    writers = [
        f"{path.relative_to(REPO)}:{line}"
        for path in _python_files()
        for line in _state_writes(ast.parse(path.read_text(), str(path)))
    ]
    assert writers == [], "state is written outside engine/transitions.py"


def test_the_reader_detects_a_state_written_by_hand():
    code = (
        "Step.objects.filter(pk=1).update(state=StepState.FAILED)\n"
        "deployment.state = DeploymentState.QUEUED\n"
        "Release.objects.update(state=ReleaseState.READY)\n"
    )
    assert _state_writes(ast.parse(code)) == [1, 2]


def test_every_ending_of_a_deployment_is_a_transition_and_every_state_is_reachable():
    targets = {t.target for t in DEPLOYMENT_TRANSITIONS.values()}
    assert targets >= FINAL_DEPLOYMENT_STATES
    assert targets | {DeploymentState.PENDING} == set(DeploymentState)
    step_targets = {t.target for t in STEP_TRANSITIONS.values()}
    assert step_targets | {StepState.PENDING} == set(StepState)
    # A final state is never left.
    for transition in DEPLOYMENT_TRANSITIONS.values():
        assert not transition.sources & FINAL_DEPLOYMENT_STATES


def _deployment(state: DeploymentState) -> Deployment:
    service = make_service()
    return make_deployment(make_release(service), make_environment(), state=state)


@pytest.mark.django_db
def test_a_transition_from_a_state_it_does_not_leave_is_refused():
    deployment = _deployment(DeploymentState.SUCCEEDED)
    with pytest.raises(IllegalTransition, match="start leaves only from queued"):
        move_deployment(deployment, "start")
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED


@pytest.mark.django_db
def test_a_transition_someone_else_took_first_writes_nothing():
    deployment = _deployment(DeploymentState.QUEUED)
    stale = Deployment.objects.get(pk=deployment.pk)
    assert move_deployment(deployment, "cancel", reason="first") is True
    assert move_deployment(stale, "start") is False
    stale.refresh_from_db()
    assert (stale.state, stale.reason) == (DeploymentState.CANCELLED, "first")


@pytest.mark.django_db
def test_a_fenced_step_transition_of_a_lost_attempt_writes_nothing():
    deployment = _deployment(DeploymentState.RUNNING)
    step = Step.objects.create(
        deployment=deployment, kind=StepKind.ROLLOUT, position=1, state=StepState.RUNNING,
        attempt=2,
    )  # fmt: skip
    old = Step.objects.get(pk=step.pk)
    old.attempt = 1  # the worker that lost its lease
    assert move_step(deployment, old, "succeed", fenced=True) is False
    assert move_step(deployment, step, "succeed", fenced=True) is True
