"""`python -m portal_client`, as another repository's CI runs it: a subprocess with
PORTAL_URL and PORTAL_TOKEN against the portal under uvicorn, a real worker, kubesim and
(for the build) a real Docker engine and registry. The exit code says how it ended."""

# ruff: noqa: F811 (the fixtures imported from tests/builds are parameters here)

import subprocess
import sys

import pytest

from api.tokens import issue_ci_token
from catalog.models import Environment
from deployments.models import Deployment
from deployments.states import DeploymentState
from releases.models import Release
from releases.registration import register_release
from releases.states import ReleaseState
from tests.builds.conftest import (  # noqa: F401 (fixtures)
    build_portal,
    build_settings,
    docker_host,
    registry,
    repository,
    web,
)
from tests.builds.test_build_pipeline import build_worker, path  # noqa: F401 (fixtures)
from tests.factories import digest_for
from tests.harness.worker import REPO

LIVE = [pytest.mark.worker, pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def live(test):
    """Needs the portal under uvicorn, a worker, kubesim and the Docker engine."""
    for mark in LIVE:
        test = mark(test)
    return test


SCOPES = ["releases:write", "ci:report", "deployments:write", "read"]


@pytest.fixture
def client(build_portal, carol, development):
    """Runs the client with a CI token for development, as a CI job would."""
    token = issue_ci_token(carol, "github", SCOPES, ["development"], 30)[1]
    env = {"PATH": "/usr/bin:/bin", "PORTAL_URL": build_portal.url, "PORTAL_TOKEN": token,
           "PORTAL_POLL_SECONDS": "0.3", "GITHUB_SHA": "1a2b3c4d5e6f"}  # fmt: skip

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "portal_client", *args], cwd=REPO, env=env,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    return run


@pytest.fixture
def development(path):
    environment = Environment.objects.get(name="development")
    environment.auto_rollback = True
    environment.save()
    return environment


def test_the_client_needs_neither_django_nor_the_portal_s_code():
    code = (
        "import sys, portal_client.cli; portal_client.cli.parser();"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'deployments', 'environments', 'portal', 'tokens', 'kubesim'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@live
def test_a_ci_job_builds_reports_and_deploys_and_the_exit_codes_say_how_each_ended(
    client, build_worker, web, repository, development
):
    """One CI job's journey (one portal, worker and kubesim for all of it): a refused
    request exits 2, a build and a deployment that succeed exit 0, a rollback exits 1."""
    unknown = client("deploy", "web", "9.9.9", "development")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("portal: ") and "9.9.9" in unknown.stderr

    repository.commit("v1", tag="v1")
    built = client("release", "web", "1.0.0", "--git-ref", "v1", "--wait")
    release = Release.objects.get(version="1.0.0")
    assert built.returncode == 0, built.stdout + built.stderr
    assert release.state == ReleaseState.READY and release.git_sha == "1a2b3c4d5e6f"
    assert built.stdout.strip().endswith(release.image)  # the digest, for the next job

    reported = client("report-ci", "--state", "passed")
    assert reported.returncode == 0
    assert "reported 1a2b3c4d5e6f passed as ci-github" in reported.stdout  # its identity

    elsewhere = client("deploy", "web", "1.0.0", "staging")
    assert elsewhere.returncode == 2 and "staging" in elsewhere.stderr
    assert not Deployment.objects.exists()

    deployed = client("deploy", "web", "1.0.0", "development", "--wait")
    deployment = Deployment.objects.get(release=release)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert deployment.state == DeploymentState.SUCCEEDED
    assert f"deployment #{deployment.pk} succeeded" in deployed.stdout
    assert f"/deployments/{deployment.pk}/" in deployed.stdout  # the page, for people

    status = client("status")
    assert status.returncode == 0 and "development" in status.stdout
    assert "1.0.0" in status.stdout

    crashing = "1.1.0-crashloop"
    register_release("web", crashing, f"{web.image_repository}:{crashing}@{digest_for(crashing)}")
    result = client("deploy", "web", crashing, "development", "--wait")
    rolled_back = Deployment.objects.get(release__version=crashing)
    assert rolled_back.state == DeploymentState.ROLLED_BACK
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"deployment #{rolled_back.pk} rolled_back" in result.stdout


def test_without_a_portal_address_the_client_says_what_to_set(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "portal_client", "status"], cwd=REPO,
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "PORTAL_URL is not set" in result.stderr
