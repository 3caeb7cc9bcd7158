"""Only CI clears the CI gate: POST /api/v1/ci-results takes a CI identity's token with
the ci:report scope, never a person's (an admin's included). A person who disagrees
with CI asks a lead to waive "All tests passing"; every result names who reported it."""

import pytest

from audit.models import AuditEvent
from catalog.models import ChecklistPhase, CheckMode
from deployments.checks import tests_passed
from deployments.ci_results import report_ci
from deployments.models import ChecklistItem
from deployments.states import ChecklistState
from releases.models import CIResult
from tests.factories import make_deployment

SHA = "abc1234def5678abc1234def5678abc1234def56"
PASSED = {"git_sha": SHA, "state": "passed", "url": "https://ci.example/runs/2"}


@pytest.fixture
def failed_ci(world):
    """web 1.0.0 built from SHA, whose CI run failed: its production deployment's
    "All tests passing" item failed, saying so."""
    world.release.git_sha = SHA
    world.release.save(update_fields=["git_sha"])
    report_ci(SHA, "failed", "https://ci.example/runs/1", reporter="ci-github")
    deployment = make_deployment(world.release, world.production)
    verdict = tests_passed.check(deployment, {})
    item = ChecklistItem.objects.create(
        deployment=deployment, position=1, phase=ChecklistPhase.PRE, mode=CheckMode.AUTOMATIC,
        check_kind="tests_passed", text="All tests passing", state=ChecklistState.FAILED,
        evidence=verdict.evidence,
    )  # fmt: skip
    return item


@pytest.mark.parametrize("who,name", [("engineer", "alice"), ("lead", "bob"), ("admin", "carol")])
def test_a_person_s_token_cannot_report_ci_and_the_failed_gate_stays_failed(
    api, tokens, failed_ci, who, name
):
    before = ChecklistItem.objects.values().get(pk=failed_ci.pk)
    status, body = api.post("/ci-results", getattr(tokens, who), PASSED)
    assert status == 403, body
    assert body["error"] == (
        "CI results come only from CI identities (a CI token with the ci:report scope), "
        f"never from a person's token: {name} may not report them. If you disagree with "
        "CI's result, ask a lead to waive the “All tests passing” item with a reason."
    )
    assert list(CIResult.objects.values_list("state", "reported_by")) == [("failed", "ci-github")]
    assert ChecklistItem.objects.values().get(pk=failed_ci.pk) == before
    assert not tests_passed.check(failed_ci.deployment, {}).passed  # the gate still holds
    assert not AuditEvent.objects.filter(action="ci.reported", detail__state="passed").exists()


@pytest.mark.parametrize("who", ["ci_report", "ci_all"])
def test_a_ci_token_with_ci_report_is_taken_under_its_identity_s_name(api, tokens, failed_ci, who):
    status, body = api.post("/ci-results", getattr(tokens, who), PASSED)
    assert status == 201, body
    assert (body["state"], body["reported_by"]) == ("passed", "ci-github")
    newest = CIResult.objects.first()
    assert (newest.state, newest.reported_by) == ("passed", "ci-github")
    verdict = tests_passed.check(failed_ci.deployment, {})
    assert verdict.passed
    assert verdict.evidence.startswith("CI run 2 passed after run 1 failed: commit abc1234def56")
    assert "reported by ci-github at " in verdict.evidence


@pytest.mark.parametrize("who", ["ci_read", "ci_releases", "ci_deploy"])
def test_a_ci_token_without_ci_report_is_refused_naming_the_scope(api, tokens, failed_ci, who):
    status, body = api.post("/ci-results", getattr(tokens, who), PASSED)
    assert status == 403
    assert "lacks the scope ci:report" in body["error"]
    assert "Ask an admin for a token with ci:report" in body["error"]
    assert CIResult.objects.count() == 1


def test_the_document_says_only_ci_identities_report(db):
    from api.v1 import api

    document = api.get_openapi_schema(path_prefix="/api/v1/")
    operation = document["paths"]["/api/v1/ci-results"]["post"]
    assert operation["summary"] == (
        "Report CI's result for a commit (CI tokens with ci:report only; feeds 'All tests passing')"
    )
    assert "never from a person's token" in operation["description"]
    assert "ask a lead to waive" in operation["description"]
