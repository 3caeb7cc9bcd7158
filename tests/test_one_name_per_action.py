"""Every audit action is spelled once, in audit/actions.py.

A static reading of the code: outside that module no string literal is an action's
name, and no f-string builds one from a family (`f"deployment.{state}"`), so renaming
an action is one edit and the recording and matching code cannot drift apart.
"""

import ast
from pathlib import Path

from audit import actions as audit_actions
from audit.actions import AuditAction
from deployments.engine.actions import DECISION_ACTIONS
from deployments.states import FINAL_DEPLOYMENT_STATES, Decision
from web.timeline_kinds import ENDINGS

REPO = Path(__file__).resolve().parents[1]
THE_ONE_PLACE = Path(audit_actions.__file__).resolve()
ACTION_NAMES = frozenset(AuditAction.values)
FAMILIES = frozenset(name.split(".")[0] + "." for name in ACTION_NAMES)


def _python_files():
    for folder in ("deployments", "environments", "portal", "tokens", "accounts"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "migrations" not in path.parts and path.resolve() != THE_ONE_PLACE:
                yield path


def _builds_a_name(node: ast.JoinedStr) -> bool:
    """`f"deployment.{x}"`: a family's prefix followed by a formatted part."""
    first = node.values[0] if node.values else None
    return isinstance(first, ast.Constant) and first.value in FAMILIES and len(node.values) > 1


def bare_action_names(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Constant) and node.value in ACTION_NAMES) or (
            isinstance(node, ast.JoinedStr) and _builds_a_name(node)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_module_but_audit_actions_spells_an_action_name():
    spelled = [
        f"{path.relative_to(REPO)}:{line}"
        for path in _python_files()
        for line in bare_action_names(path.read_text())
    ]
    assert spelled == [], "write AuditAction.X instead of the action's name"


def test_the_scan_finds_a_bare_name_and_a_built_one():
    source = 'audit.record("deployment.requested")\nQ(action=f"deployment.{state}")\n'
    assert bare_action_names(source) == [1, 2]


def test_the_scan_leaves_template_names_and_the_enum_alone():
    source = 'render(r, "deployment.html")\naudit.record(AuditAction.DEPLOYMENT_QUEUED)\n'
    assert bare_action_names(source) == []


def test_every_ending_of_a_deployment_has_its_action():
    assert {str(action) for action in ENDINGS} == {
        f"deployment.{state}" for state in FINAL_DEPLOYMENT_STATES
    }


def test_each_decision_records_its_own_action():
    assert set(DECISION_ACTIONS) == set(Decision)
    assert DECISION_ACTIONS[Decision.REJECT] == "deployment.rejected"
