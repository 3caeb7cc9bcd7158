"""tests_passed's evidence: who reported CI's result, and which run of the commit it was
(a pass that follows a failure says so on the item)."""

import pytest
from django.core.management import call_command

from deployments.checks import tests_passed
from deployments.ci_results import CIReportError, report_ci
from releases.models import CIResult
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def deployment():
    release = make_release(make_service("web"), "2.0.0")
    release.git_sha = SHA
    release.save(update_fields=["git_sha"])
    return make_deployment(release, make_environment("production"))


def reports(*states: str, sha: str = SHA, reporter: str = "ci-github") -> None:
    for run, state in enumerate(states, start=1):
        report_ci(sha, state, f"https://ci.example/runs/{run}", reporter=reporter)


def test_the_evidence_names_who_reported_the_result(deployment):
    reports("passed")
    verdict = tests_passed.check(deployment, {})
    assert verdict.passed
    assert verdict.evidence.startswith(
        "CI passed for commit 0123456789ab, reported by ci-github at "
    )
    assert verdict.evidence.endswith("(https://ci.example/runs/1).")


def test_a_failure_names_its_reporter_and_says_what_to_do(deployment):
    reports("failed", reporter="ci-buildkite")
    verdict = tests_passed.check(deployment, {})
    assert not verdict.passed and not verdict.waits
    assert verdict.evidence.startswith(
        "CI failed for commit 0123456789ab, reported by ci-buildkite at "
    )
    assert verdict.evidence.endswith(
        "(https://ci.example/runs/1); push a fix and let CI report its run."
    )


def test_a_pass_after_a_failure_says_run_2_passed_after_run_1_failed(deployment):
    reports("failed", "passed")
    verdict = tests_passed.check(deployment, {})
    assert verdict.passed
    assert verdict.evidence.startswith(
        "CI run 2 passed after run 1 failed: commit 0123456789ab, reported by ci-github at "
    )
    assert verdict.evidence.endswith("(https://ci.example/runs/2).")


def test_a_pass_after_two_failures_names_both(deployment):
    reports("failed", "failed", "passed")
    assert tests_passed.check(deployment, {}).evidence.startswith(
        "CI run 3 passed after runs 1 and 2 failed: "
    )


def test_a_pass_after_many_failures_names_them_as_a_range(deployment):
    reports("failed", "failed", "failed", "failed", "passed")
    assert tests_passed.check(deployment, {}).evidence.startswith(
        "CI run 5 passed after runs 1 to 4 failed: "
    )


def test_only_the_failures_since_the_last_pass_are_named(deployment):
    reports("failed", "passed", "failed", "passed")
    assert tests_passed.check(deployment, {}).evidence.startswith(
        "CI run 4 passed after run 3 failed: "
    )


def test_a_failure_after_a_pass_says_so_too(deployment):
    reports("passed", "failed")
    verdict = tests_passed.check(deployment, {})
    assert not verdict.passed
    assert verdict.evidence.startswith("CI run 2 failed after run 1 passed: ")


def test_a_repeated_result_is_numbered_without_an_after(deployment):
    reports("passed", "passed")
    assert tests_passed.check(deployment, {}).evidence.startswith(
        "CI run 2 passed: commit 0123456789ab, reported by ci-github at "
    )


def test_runs_are_counted_per_commit_and_a_short_sha_counts_as_the_same_commit(deployment):
    reports("failed", "failed", sha=OTHER)  # another commit's runs are not this one's
    report_ci(SHA[:7], "failed", reporter="ci-github")
    report_ci(SHA, "passed", reporter="ci-github")
    assert tests_passed.check(deployment, {}).evidence.startswith(
        "CI run 2 passed after run 1 failed: "
    )


def test_an_operator_s_report_names_the_reporter_they_gave(deployment):
    call_command("report_ci", SHA, "--state", "passed", "--reporter", "ops-erin")
    assert "reported by ops-erin at " in tests_passed.check(deployment, {}).evidence


def test_a_report_that_names_no_reporter_is_refused(deployment):
    with pytest.raises(CIReportError, match="Say who reports this result"):
        report_ci(SHA, "passed", reporter="  ")
    assert not CIResult.objects.exists()


def test_a_result_recorded_without_a_reporter_says_it_is_unknown(deployment):
    CIResult.objects.create(git_sha=SHA, state="passed", reported_by="")  # older rows
    assert "reported by an unrecorded reporter at " in tests_passed.check(deployment, {}).evidence
