"""Types (pyproject.toml, [tool.mypy]; `make lint` runs mypy with the django-stubs plugin):
the checked packages keep their types."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MYPY = Path(sys.executable).parent / "mypy"
CHECKED = {"deployments", "api", "audit", "releases", "accounts"}


def test_make_lint_runs_mypy():
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert "$(BIN)/mypy" in recipe.group(1)


def test_mypy_checks_the_domain_and_the_api_with_the_django_plugin():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    mypy = config["tool"]["mypy"]
    assert set(mypy["files"]) >= CHECKED
    assert "mypy_django_plugin.main" in mypy["plugins"]
    assert config["tool"]["django-stubs"]["django_settings_module"] == "portal.settings_test"


@pytest.mark.slow  # a cold mypy run: 20 to 30 s
def test_the_checked_packages_pass_mypy(tmp_path):
    # As `make lint` runs it from a bare shell: the settings module sets what it needs.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(MYPY), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.search(r"Success: no issues found in (\d+) source files", result.stdout)
    assert checked and int(checked.group(1)) >= 100, result.stdout
