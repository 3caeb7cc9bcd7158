"""The README's CI job ("CI hands over to the portal"), run as its runner would: its
`run:` steps as one bash script, from a folder holding only `portal_client/` (the
sparse checkout), with a CI token holding exactly the scopes and environments the
README prescribes. Against the portal under uvicorn, a real worker, kubesim, a Docker
engine and a registry. Production then waits for people: the test plays the lead."""

# ruff: noqa: F811 (the fixtures imported from tests/builds are parameters here)

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
import yaml

from accounts.scopes import Scope
from api.tokens import issue_ci_token
from catalog.models import ChecklistTemplate, Environment
from deployments.engine.actions import decide
from deployments.engine.answers import answer_item
from deployments.models import Deployment
from deployments.states import (
    FINAL_DEPLOYMENT_STATES,
    ChecklistState,
    Decision,
    DeploymentState,
)
from tests.builds.conftest import (  # noqa: F401 (fixtures)
    build_portal,
    build_settings,
    docker_host,
    registry,
    repository,
    web,
)
from tests.builds.test_build_pipeline import build_worker, path  # noqa: F401 (fixtures)
from tests.harness.waiting import wait_for
from tests.harness.worker import REPO

pytestmark = [pytest.mark.worker, pytest.mark.docker, pytest.mark.slow]

README = (REPO / "README.md").read_text()
TAG = "v2.1.0"
MANUAL_GATE = "Database migration tested on staging"


def readme_section(title: str) -> str:
    return README.split(title, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def ci_job() -> dict:
    section = readme_section("### CI hands over to the portal")
    block = re.search(r"^```yaml\n(.*?)^```", section, re.M | re.S)
    assert block, "no ```yaml block under 'CI hands over to the portal' in README.md"
    return yaml.safe_load(block[1])["deploy"]


def prescribed_token() -> tuple[list[str], list[str]]:
    """The scopes and environments the README tells an admin to give the job's token."""
    title = "**Issuing a CI token**"
    assert title in README, f"README.md no longer says how CI tokens are issued ({title})"
    paragraph = readme_section(title)
    assert "The job under" in paragraph, "the paragraph no longer names the job's scopes"
    named = re.findall(r"`([^`]+)`", paragraph.split("The job under", 1)[1])
    scopes = [name for name in named if name in Scope.values]
    environments = [name for name in named if name in ("development", "staging", "production")]
    return scopes, environments


def job_script(job: dict) -> str:
    """The `run:` steps in order, as GitHub's bash runs them (-e, -o pipefail). The
    `pip install` step is checked, not run: the pinned httpx is the one installed."""
    commands = []
    for step in job["steps"]:
        run = step.get("run")
        if run is None:
            continue
        if run.startswith("pip install"):
            pinned = re.search(r"httpx==(\S+)", run)
            assert pinned and pinned[1] == httpx.__version__, run
            continue
        commands.append(run)
    return "set -eo pipefail\n" + "\n".join(commands)


def job_environment(job: dict, url: str, token: str, sha: str) -> dict:
    expressions = {"${{ secrets.PORTAL_TOKEN }}": token, "${{ github.ref_name }}": TAG}
    env = {key: expressions.get(value, value) for key, value in job["env"].items()}
    assert set(env) >= {"PORTAL_URL", "PORTAL_TOKEN", "VERSION"}, job["env"]
    env["PORTAL_URL"] = url  # the live portal, not deploy.vizora.internal
    bin_dir = os.path.dirname(sys.executable)  # `python` as setup-python gives it
    return {**env, "PATH": f"{bin_dir}:/usr/bin:/bin", "GITHUB_SHA": sha,
            "GITHUB_REF_NAME": TAG, "PORTAL_POLL_SECONDS": "0.3"}  # fmt: skip


@pytest.fixture
def production_gates(path):
    """Production as the README describes it: a lead's approval and a manual item
    (tests_passed, fed by the job's report-ci, too)."""
    template = ChecklistTemplate.objects.create(name="release")
    template.items.create(
        position=0, phase="pre", text="All tests passing", mode="automatic",
        check_kind="tests_passed",
    )  # fmt: skip
    template.items.create(position=1, phase="pre", text=MANUAL_GATE, mode="manual")
    production = Environment.objects.get(name="production")
    production.checklist_template = template
    production.required_approvals = 1
    production.approver_group = "lead"
    production.rollout_timeout = timedelta(seconds=60)
    production.save()
    return production


def test_the_readme_ci_job_takes_a_tag_to_production_with_the_scopes_it_prescribes(
    build_portal, build_worker, web, repository, production_gates, carol, bob, tmp_path
):
    job = ci_job()
    scopes, environments = prescribed_token()
    token = issue_ci_token(carol, "github", scopes, environments, 30)[1]
    checkout = tmp_path / "checkout"  # actions/checkout with sparse-checkout: portal_client
    shutil.copytree(REPO / "portal_client", checkout / "portal_client")
    sha = repository.commit("v2.1.0", tag=TAG)

    result = subprocess.run(
        ["bash", "-c", job_script(job)], cwd=checkout,
        env=job_environment(job, build_portal.url, token, sha),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    by_environment = {
        d.environment.name: d for d in Deployment.objects.filter(release__version=TAG)
    }
    assert by_environment["development"].state == DeploymentState.SUCCEEDED
    assert by_environment["staging"].state == DeploymentState.SUCCEEDED
    production = by_environment["production"]
    assert production.state == DeploymentState.PENDING
    assert f"/deployments/{production.pk}/" in result.stdout  # the link people follow

    # The lead, in the portal: tick the manual item, approve.
    gate = wait_for(lambda: production.checklist.filter(text=MANUAL_GATE).first())
    answer_item(bob, gate.pk, "passed", "ran the migration on staging's copy")
    wait_for(
        lambda: production.checklist.get(text="All tests passing").state == ChecklistState.PASSED
    )
    decide(bob, production.pk, Decision.APPROVE, "")
    ended = wait_for(lambda: _ended(production.pk), timeout=180)
    assert ended.state == DeploymentState.SUCCEEDED, ended.reason


def _ended(deployment_id: int) -> Deployment | None:
    deployment = Deployment.objects.get(pk=deployment_id)
    return deployment if deployment.state in FINAL_DEPLOYMENT_STATES else None


def _state_of(item) -> str:
    item.refresh_from_db()
    return item.state
