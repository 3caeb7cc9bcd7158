"""Where CI's result is shown (the deployment page's checklist, the API's deployment),
it names who reported it and which run it was, as the engine recorded it."""

import pytest

from api.tokens import issue_personal_token
from catalog.models import ChecklistPhase, CheckMode
from deployments import engine
from deployments.ci_results import report_ci
from deployments.models import ChecklistItem, Step
from deployments.states import ChecklistState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def checked(alice):
    """A production deployment waiting at its pre-deployment gate, whose "All tests
    passing" the engine checked after CI's run 1 failed and run 2 passed."""
    release = make_release(make_service("web"), "2.0.0")
    release.git_sha = SHA
    release.save(update_fields=["git_sha"])
    deployment = make_deployment(release, make_environment("production"), requested_by=alice)
    Step.objects.create(
        deployment=deployment, kind=StepKind.PRE_CHECKS, position=1, state=StepState.WAITING
    )
    Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=2)
    ChecklistItem.objects.create(
        deployment=deployment, position=1, phase=ChecklistPhase.PRE, mode=CheckMode.AUTOMATIC,
        check_kind="tests_passed", text="All tests passing",
    )  # fmt: skip
    report_ci(SHA, "failed", "https://ci.example/runs/1", reporter="ci-github")
    report_ci(SHA, "passed", "https://ci.example/runs/2", reporter="ci-github")
    engine.run_pre_checks(deployment.pk)
    item = deployment.checklist.get()
    assert item.state == ChecklistState.PASSED, item.evidence
    return deployment


def test_the_deployment_page_names_the_reporter_and_the_run(client, checked, bob):
    client.force_login(bob)
    page = client.get(f"/deployments/{checked.pk}/").content.decode()
    assert "CI run 2 passed after run 1 failed: commit 0123456789ab, reported by ci-github" in page


def test_the_api_s_deployment_names_the_reporter_and_the_run(client, checked, alice):
    token = issue_personal_token(alice, "script", 1)[1]
    answer = client.get(
        f"/api/v1/deployments/{checked.pk}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    (item,) = answer["checklist"]
    assert item["evidence"].startswith(
        "CI run 2 passed after run 1 failed: commit 0123456789ab, reported by ci-github at "
    )
