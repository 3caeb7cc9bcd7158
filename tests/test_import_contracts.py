"""Imports point one way (pyproject.toml, [tool.importlinter]; `make lint` runs lint-imports):
the tree keeps every contract, and a wrong import planted in a copy of it breaks one."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("portal", "catalog", "integrations", "releases", "deployments", "web", "live", "api",
            "accounts", "portal_client", "kubesim", "demo")  # fmt: skip


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
