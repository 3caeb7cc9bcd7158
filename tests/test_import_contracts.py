"""Imports point one way (pyproject.toml, [tool.importlinter]; `make lint` runs lint-imports):
the tree keeps every contract, and a wrong import planted in a copy of it breaks one."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
APPS = ("portal", "audit", "catalog", "integrations", "releases", "deployments", "web", "live",
        "api", "accounts")  # fmt: skip
PACKAGES = (*APPS, "portal_client", "kubesim", "demo")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(cwd / "pyproject.toml")],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def copy_of_the_packages(target: Path) -> Path:
    shutil.copy2(REPO / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    return target


def test_make_lint_runs_the_import_contracts():
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert "$(BIN)/lint-imports" in recipe.group(1)


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        ("web/views.py", "from demo import seed", "web.views -> demo.seed"),
        ("portal/settings.py", "import demo.builds", "portal.settings -> demo.builds"),
        ("kubesim/timing.py", "from portal import env", "kubesim.timing -> portal.env"),
        ("kubesim/timing.py", "import django.conf", "kubesim.timing -> django ("),
        ("portal_client/api.py", "import django.conf", "portal_client.api -> django ("),
        ("portal_client/api.py", "from api import models", "portal_client.api -> api.models"),
        # The layers: each import below points up (or sideways between web and api).
        (
            "catalog/models.py",
            "from deployments import models",
            "catalog.models -> deployments.models",
        ),
        ("audit/trail.py", "from catalog import models", "audit.trail -> catalog.models"),
        (
            "releases/order.py",
            "from deployments import states",
            "releases.order -> deployments.states",
        ),
        (
            "deployments/engine/gates.py",
            "from web import overview",
            "deployments.engine.gates -> web.overview",
        ),
        ("web/views.py", "from api import tokens", "web.views -> api.tokens"),
        (
            "live/announce.py",
            "from deployments import models",
            "live.announce -> deployments.models",
        ),
        (
            "integrations/registry.py",
            "from releases import models",
            "integrations.registry -> releases.models",
        ),
        ("portal/masking.py", "from audit import actions", "portal.masking -> audit.actions"),
        (
            "deployments/checks/tests_passed.py",
            "from deployments.ci_results import report_ci",
            "deployments.checks.tests_passed -> deployments.ci_results",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, module, wrong_import, broken):
    tree = copy_of_the_packages(tmp_path)
    with (tree / module).open("a") as source:
        source.write(f"\n{wrong_import}  # planted by the test\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout


def function_level_imports_of_apps() -> list[str]:
    """Every import of one of the portal's apps inside a function (where one would hide an
    import cycle), except in AppConfig.ready (which runs once the apps are loaded)."""
    found = []
    for package in APPS:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if function.name == "ready":
                    continue
                for node in ast.walk(function):
                    module = (
                        getattr(node, "module", None) if isinstance(node, ast.ImportFrom) else None
                    )
                    names = (
                        [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                    )
                    for name in [module, *names]:
                        if name and name.split(".")[0] in APPS:
                            found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
    return found


def test_no_import_of_an_app_hides_in_a_function():
    assert function_level_imports_of_apps() == []


def test_a_planted_function_level_import_is_found(tmp_path, monkeypatch):
    tree = copy_of_the_packages(tmp_path)
    with (tree / "web" / "views.py").open("a") as source:
        source.write("\n\ndef planted():\n    from deployments import engine  # planted\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tree)
    assert function_level_imports_of_apps() == [
        f"web/views.py:{_last_line(tree / 'web' / 'views.py')} deployments"
    ]


def _last_line(path: Path) -> int:
    return len(path.read_text().splitlines())
