"""The checklist as automatic gates: pre-deployment checks at the request and again
when the lane is claimed, post-deployment checks through the soak window, waivers.

These drive the engine in this process (as a worker would) against kubesim; the
`tests_passed` check needs no monitoring, so it stands in for every check kind here
(tests/checks/ tests each check against its real component)."""

import threading
from datetime import timedelta

import pytest

from audit.models import AuditEvent
from catalog.models import ChecklistTemplate, ChecklistTemplateItem
from deployments import engine
from deployments.ci_results import CIReportError, report_ci
from deployments.engine import request_deployment
from deployments.engine.claims import claim_next_step
from deployments.engine.runner import advance, record_with_retries, run_claimed
from deployments.models import Deployment
from deployments.states import ChecklistState, DeploymentState, StepKind, StepState, Verification
from deployments.steps import StepOutcome
from portal.refusals import ActionRefused
from tests.engine.conftest import cluster_images, register, run_in_process

pytestmark = pytest.mark.django_db(transaction=True)

SHA = "0123456789abcdef0123456789abcdef01234567"
CI = "ci-github"  # the CI identity that reports


def with_checklist(environment, *items):
    template = ChecklistTemplate.objects.create(name=f"{environment.name}-gates")
    for position, (phase, text, kind) in enumerate(items):
        ChecklistTemplateItem.objects.create(
            template=template, position=position, phase=phase, text=text,
            mode="automatic" if kind else "manual", check_kind=kind,
        )  # fmt: skip
    environment.checklist_template = template
    environment.save()
    return environment


def release_of(web, version: str, git_sha: str = SHA):
    release = register(web, version)
    release.git_sha = git_sha
    release.save(update_fields=["git_sha"])
    return release


def drive(deployment_id: int, rounds: int = 20) -> Deployment:
    """Advance and run the requested pre-deployment checks until nothing moves."""
    for _ in range(rounds):
        moved = advance(deployment_id, "test")
        if Deployment.objects.get(pk=deployment_id).state == DeploymentState.PENDING:
            engine.run_pre_checks(deployment_id)
        deployment = Deployment.objects.get(pk=deployment_id)
        if deployment.state == DeploymentState.RUNNING:  # past its gates: look by look
            run_in_process(deployment_id)
            break
        if deployment.is_final or (not moved and deployment.state == DeploymentState.PENDING):
            break
    return Deployment.objects.get(pk=deployment_id)


def item(deployment, text):
    return deployment.checklist.get(text=text)


@pytest.fixture
def gated(development):
    return with_checklist(development, ("pre", "All tests passing", "tests_passed"))


def test_without_a_ci_report_the_deployment_waits_and_goes_on_once_ci_reports_passed(
    gated, web, alice
):
    release_of(web, "2.0.0")
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    deployment = drive(deployment.pk)
    tests = item(deployment, "All tests passing")
    assert deployment.state == DeploymentState.PENDING
    assert tests.state == ChecklistState.PENDING
    assert tests.evidence.startswith("No CI result for commit 0123456789ab yet (checked ")
    assert "manage.py report_ci 0123456789ab --state passed" in deployment.reason

    report_ci(SHA[:12], "passed", "https://ci.example/runs/7", reporter=CI)
    deployment = drive(deployment.pk)
    tests.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert tests.state == ChecklistState.PASSED
    assert tests.evidence.startswith("CI passed for commit 0123456789ab, reported by ci-github at ")
    assert tests.evidence.endswith("(https://ci.example/runs/7).")
    assert [s.kind for s in deployment.steps.order_by("position")] == [
        StepKind.PRE_CHECKS, StepKind.RECHECK, StepKind.ROLLOUT,
    ]  # fmt: skip


def test_a_failed_check_holds_the_deployment_until_a_lead_waives_it_with_a_reason(
    gated, web, alice, bob
):
    release = release_of(web, "2.0.0")
    report_ci(SHA, "failed", "https://ci.example/runs/8", reporter=CI)
    deployment = drive(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    tests = item(deployment, "All tests passing")
    assert deployment.state == DeploymentState.PENDING
    assert tests.state == ChecklistState.FAILED
    assert "CI failed for commit 0123456789ab, reported by ci-github" in tests.evidence
    assert deployment.reason.startswith("Pre-deployment check failed. All tests passing: CI")
    assert "a lead may waive it with a reason" in deployment.reason

    with pytest.raises(ActionRefused, match="alice may not waive items"):
        engine.waive_item(alice, tests.pk, "flaky")
    with pytest.raises(ActionRefused, match="Say why"):
        engine.waive_item(bob, tests.pk, "   ")
    engine.waive_item(bob, tests.pk, "known flaky test, INC-12")
    deployment = drive(deployment.pk)
    tests.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert (tests.state, tests.answered_by, tests.waiver_reason) == (
        ChecklistState.WAIVED, bob, "known flaky test, INC-12",
    )  # fmt: skip
    assert "CI failed for commit 0123456789ab" in tests.evidence  # kept beside the waiver
    assert cluster_images(gated, "vizora-web") == {"web": release.image}


def test_a_check_that_failed_at_the_request_passes_when_ci_reports_again(gated, web, alice):
    release_of(web, "2.0.0")
    report_ci(SHA, "failed", reporter=CI)
    deployment = drive(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    assert item(deployment, "All tests passing").state == ChecklistState.FAILED
    report_ci(SHA, "passed", reporter=CI)  # a re-run passed: the newest report counts
    deployment = drive(deployment.pk)
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    checked = AuditEvent.objects.filter(deployment=deployment, action="checklist.checked")
    states = checked.order_by("pk").values_list("detail__state", flat=True)
    assert list(states) == ["failed", "passed"]
    passing = item(deployment, "All tests passing").evidence
    assert passing.startswith(
        "CI run 2 passed after run 1 failed: commit 0123456789ab, reported by"
    )


def test_the_checks_run_again_when_the_lane_is_claimed_and_a_failure_there_ends_it(
    gated, web, alice
):
    release_of(web, "2.0.0")
    before = cluster_images(gated, "vizora-web")
    report_ci(SHA, "passed", reporter=CI)
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    advance(deployment.pk, "test")  # the gate asks for the checks
    engine.run_pre_checks(deployment.pk)  # they pass: the deployment takes the lane
    assert Deployment.objects.get(pk=deployment.pk).state == DeploymentState.RUNNING
    report_ci(
        SHA, "failed", "https://ci.example/runs/9", reporter=CI
    )  # hours later, a re-run failed
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.reason.startswith(
        "Pre-deployment check failed when the lane was claimed: All tests passing: CI run 2 "
        "failed after run 1 passed: commit 0123456789ab, reported by ci-github"
    )
    assert item(deployment, "All tests passing").state == ChecklistState.FAILED
    assert deployment.steps.get(kind=StepKind.ROLLOUT).state == StepState.SKIPPED
    assert cluster_images(gated, "vizora-web") == before  # nothing was rolled out


def test_a_waived_item_is_not_checked_again_when_the_lane_is_claimed(gated, web, alice, bob):
    release_of(web, "2.0.0")
    report_ci(SHA, "failed", reporter=CI)
    deployment = drive(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    engine.waive_item(bob, item(deployment, "All tests passing").pk, "INC-12")
    deployment = drive(deployment.pk)
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    recheck = deployment.steps.get(kind=StepKind.RECHECK)
    assert recheck.result == {"checks": []}
    assert "each was waived" in "\n".join(deployment.log.values_list("text", flat=True))


def test_check_again_runs_the_failing_checks_for_whoever_may_deploy(gated, web, alice, oscar):
    release_of(web, "2.0.0")
    report_ci(SHA, "failed", reporter=CI)
    deployment = drive(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    with pytest.raises(ActionRefused, match="oscar may not deploy"):
        engine.check_again(oscar, deployment.pk)
    engine.check_again(alice, deployment.pk)
    gate = deployment.steps.get(kind=StepKind.PRE_CHECKS)
    assert "checks_requested_at" not in gate.result  # the gate asks again at once
    assert AuditEvent.objects.filter(action="checklist.check_again", actor=alice).exists()


def test_check_again_is_refused_when_nothing_is_left_to_check(gated, web, alice):
    release_of(web, "2.0.0")
    report_ci(SHA, "passed", reporter=CI)
    deployment = drive(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    with pytest.raises(ActionRefused, match="no pre-deployment check to run again"):
        engine.check_again(alice, deployment.pk)


@pytest.fixture
def soaked(development, settings):
    settings.PORTAL_SOAK_INTERVAL_SECONDS = 0.2
    development.soak = timedelta(seconds=1)
    development.save()
    return with_checklist(
        development,
        ("post", "All tests still passing", "tests_passed"),
        ("post", "Test critical user flows", ""),
    )


def test_a_failing_post_deployment_check_rolls_the_release_back(soaked, web, alice):
    before = cluster_images(soaked, "vizora-web")
    release_of(web, "2.0.0")
    report_ci(SHA, "failed", "https://ci.example/runs/10", reporter=CI)
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert deployment.reason.startswith(
        "Post-deployment check failed: All tests still passing: CI failed for commit"
    )
    post = item(deployment, "All tests still passing")
    assert post.state == ChecklistState.FAILED and "failed" in post.evidence
    assert [(s.kind, s.state) for s in deployment.steps.order_by("position")][-2:] == [
        (StepKind.POST_CHECKS, StepState.FAILED), (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]  # fmt: skip
    assert cluster_images(soaked, "vizora-web") == before


def test_post_checks_watch_the_soak_window_and_manual_items_leave_verification_open(
    soaked, web, alice
):
    release_of(web, "2.0.0")
    report_ci(SHA, "passed", reporter=CI)
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert deployment.verification == Verification.OPEN
    watched = deployment.steps.get(kind=StepKind.POST_CHECKS)
    assert (watched.finished_at - watched.started_at).total_seconds() >= 1.0  # the soak
    assert item(deployment, "All tests still passing").state == ChecklistState.PASSED
    log = "\n".join(deployment.log.values_list("text", flat=True))
    assert "Watching the new release for 1 s: All tests still passing." in log


def test_a_post_checks_step_taken_away_mid_soak_writes_no_answer(soaked, web, alice):
    release_of(web, "2.0.0")
    report_ci(SHA, "passed", reporter=CI)
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    pause = threading.Event()
    while True:  # roll out, then look at the post checks until their last round
        claim = claim_next_step(deployment.pk, "test")
        if claim is None:  # between looks: the next is not due yet
            pause.wait(0.05)
            continue
        outcome = run_claimed(claim)
        if claim.kind == StepKind.POST_CHECKS and isinstance(outcome, StepOutcome):
            break
        record_with_retries(claim, outcome)
    deployment.steps.filter(kind=StepKind.POST_CHECKS).update(attempt=claim.attempt + 1)
    record_with_retries(claim, outcome)  # fenced: the reaper gave the step to another
    assert item(deployment, "All tests still passing").state == ChecklistState.PENDING


def test_report_ci_refuses_what_it_cannot_record_and_keeps_what_it_has(db):
    report_ci(SHA, "passed", reporter=CI)
    for sha, state, url, message in (
        ("main", "passed", "", "'main' is not a git commit sha"),
        (SHA, "green", "", "'green' is not a CI state; use passed or failed"),
        (SHA, "passed", "ftp://ci", "'ftp://ci' is not a link to the CI run"),
    ):
        with pytest.raises(CIReportError, match=message):
            report_ci(sha, state, url, reporter=CI)
    from releases.models import CIResult

    assert list(CIResult.objects.values_list("state", flat=True)) == ["passed"]


def test_a_metric_check_without_data_through_the_soak_fails_and_rolls_back(
    development, web, alice, settings
):
    """No Prometheus series for the service from the rollout to the end of the soak:
    not a low error rate. Here no Prometheus answers at all, which fails at once."""
    settings.PORTAL_SOAK_INTERVAL_SECONDS = 0.2
    development.soak = timedelta(seconds=1)
    development.prometheus_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    development.save()
    with_checklist(development, ("post", "Monitor error rates", "error_rate"))
    release_of(web, "2.0.0")
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert deployment.reason.startswith(
        "Post-deployment check failed: Monitor error rates: Could not check the error rate of "
        "vizora-web in vizora-dev: No Prometheus answers at http://127.0.0.1:9"
    )


def test_manage_py_report_ci_records_the_result_and_refuses_bad_input(db):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from releases.models import CIResult

    out = StringIO()
    call_command("report_ci", SHA, "--state", "passed", "--url", "https://ci.example/1", stdout=out)
    assert out.getvalue().strip() == f"recorded: commit {SHA} passed"
    with pytest.raises(CommandError, match="'HEAD' is not a git commit sha; give 7 to 40"):
        call_command("report_ci", "HEAD", "--state", "passed")
    stored = CIResult.objects.get()
    assert (stored.state, stored.url, stored.reported_by) == (
        "passed", "https://ci.example/1", "manage.py report_ci",
    )  # fmt: skip


def test_an_item_that_follows_a_step_the_plan_lacks_says_so_instead_of_waiting(
    development, web, alice
):
    template = ChecklistTemplate.objects.create(name="steps")
    ChecklistTemplateItem.objects.create(
        template=template, position=1, phase="deploy", text="Run database migrations",
        mode="automatic", check_kind="step", params={"step": "migrate"},
    )  # fmt: skip
    development.checklist_template = template
    development.save()
    register(web, "2.0.0")
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    migrations = item(deployment, "Run database migrations")
    assert migrations.state == ChecklistState.PASSED
    assert migrations.evidence == (
        "Not part of this deployment: web has no migration command in the catalog, so none ran."
    )
