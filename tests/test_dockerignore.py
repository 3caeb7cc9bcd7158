"""The production image's build context (.dockerignore, read by docker-py's own rules):
what only development needs stays out, and what serving needs is in, so the Dockerfile's
`COPY . .` then `collectstatic` work on exactly those files, without demo/."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from docker.utils.build import exclude_paths

REPO = Path(__file__).resolve().parent.parent
# The Dockerfile's collectstatic step sets this key and nothing else.
COLLECTSTATIC_KEY = "collectstatic-only-key-not-used-at-run-time-0123456789"


def dockerignore_patterns() -> list[str]:
    """.dockerignore's patterns, skipping blanks and comments as the Docker CLI does."""
    lines = (line.strip() for line in (REPO / ".dockerignore").read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def context() -> set[str]:
    """Every path (files and folders, relative to the repository) the image build sees."""
    return exclude_paths(str(REPO), dockerignore_patterns())


LEFT_OUT = [".git", ".venv", "var", "demo", "tests", "bench", "docs", "bin", "kubesim",
            "portal_client", "Procfile", "requirements-dev.txt", ".ci"]  # fmt: skip


@pytest.mark.parametrize("name", LEFT_OUT)
def test_the_image_context_leaves_out_what_only_development_needs(context, name):
    assert not {path for path in context if path == name or path.startswith(f"{name}/")}


def test_the_image_context_leaves_out_caches_and_notes(context):
    caches = [path for path in context if "__pycache__" in path or path.endswith(".pyc")]
    notes = [path for path in context if path.endswith(".md")]
    assert (caches, notes) == ([], [])


def test_the_image_context_holds_every_app_of_the_portal_but_the_demo(context):
    first_party = [app for app in settings.INSTALLED_APPS if (REPO / app.split(".")[0]).is_dir()]
    assert "demo" in first_party  # listed here because this checkout has demo/
    for app in first_party:
        folder = app.split(".")[0]
        assert (f"{folder}/apps.py" in context) == (folder != "demo"), folder


def test_the_image_context_holds_what_collectstatic_and_the_server_read(context):
    needed = {"manage.py", "requirements.txt", "web/templates/base.html", "static/favicon.svg",
              "portal/settings.py", "portal/asgi.py", "portal/workers.py",
              "examples/vizora.yaml"}  # fmt: skip
    assert needed - context == set()


def test_the_image_files_collect_static_and_start_django_without_demo(tmp_path, context):
    app = tmp_path / "app"
    for path in sorted(context):
        source, target = REPO / path, app / path
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": COLLECTSTATIC_KEY}
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=app, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert collect.returncode == 0, collect.stderr
    assert (app / "staticfiles" / "favicon.svg").is_file()
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup();"
        "from django.conf import settings; print(' '.join(settings.INSTALLED_APPS))"
    )
    start = subprocess.run(
        [sys.executable, "-c", code], cwd=app, env={**env, "SECRET_KEY": COLLECTSTATIC_KEY * 2},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert start.returncode == 0, start.stderr
    assert "deployments" in start.stdout.split()
    assert "demo" not in start.stdout.split()
