"""Token scopes are spelled once, in accounts/scopes.py (`Scope`).

A static reading of the code: outside that module no string literal is a scope with
a colon in it ("deployments:write"), and no permission check (`allows`,
`ci_token_allows`, `require_scope`) is passed a scope as a string literal ("read" included).
"""

import ast
from pathlib import Path

from accounts import scopes
from accounts.scopes import Scope

REPO = Path(__file__).resolve().parents[1]
THE_ONE_PLACE = Path(scopes.__file__).resolve()
SPELLED_SCOPES = frozenset(value for value in Scope.values if ":" in value)
PERMISSION_CHECKS = frozenset({"allows", "ci_token_allows", "require_scope"})


def _python_files():
    for folder in ("deployments", "environments", "portal", "tokens", "accounts"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "migrations" not in path.parts and path.resolve() != THE_ONE_PLACE:
                yield path


def _called_name(node: ast.Call) -> str:
    return getattr(node.func, "attr", getattr(node.func, "id", ""))


def _checks_a_bare_scope(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and _called_name(node) in PERMISSION_CHECKS
        and any(isinstance(arg, ast.Constant) and arg.value in Scope.values for arg in node.args)
    )


def _contains_a_scope(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(scope in node.value for scope in SPELLED_SCOPES)
    )


def _docstrings(tree: ast.AST) -> set[int]:
    """Docstrings may name a scope: they are read by people, never compared."""
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners) and ast.get_docstring(node, clean=False) is not None
    }


def bare_scopes(source: str) -> list[int]:
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if id(node) not in docstrings and (_checks_a_bare_scope(node) or _contains_a_scope(node))
    )


def test_no_module_but_scopes_spells_a_scope():
    spelled = [
        f"{path.relative_to(REPO)}:{line}"
        for path in _python_files()
        for line in bare_scopes(path.read_text())
    ]
    assert spelled == [], "write Scope.X instead of the scope's name"


def test_the_scan_finds_a_bare_scope_in_a_check_and_in_text():
    source = 'token.allows("read")\nONLY = "a token with the ci:report scope"\n'
    assert bare_scopes(source) == [1, 2]


def test_the_scan_lets_docstrings_name_a_scope():
    source = (
        'def report():\n    """Only a token holding ci:report."""\n    return Scope.CI_REPORT\n'
    )
    assert bare_scopes(source) == []


def test_the_scan_leaves_the_enum_alone():
    assert bare_scopes('ci_token_allows(user, Scope.READ, "production")\n') == []
