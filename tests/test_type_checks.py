"""Types (pyproject.toml, [tool.mypy]): `make lint` runs mypy with the django-stubs plugin
on the domain and the API, and `.ci/run` runs `make lint` before the tests, so a type
error fails CI there (a second, cold mypy run here would only cost `make test` 30 s)."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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


def test_ci_runs_make_lint_before_the_tests():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert lines.index("make lint") < lines.index("make test")
