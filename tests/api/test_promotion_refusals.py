"""Issue 22, point 1 through the API and the CLI: the same rules as the pages. An older
release than what runs, a release rolled back from there without a confirmed reason, a
locked environment: a 409 whose `detail` says the refusal and what to do instead; the
CLI prints both and exits 2. Nothing is recorded by a refusal."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from deployments.models import Deployment
from deployments.states import DeploymentState
from tests.api.test_portal_client_conflicts import Portal, run
from tests.factories import make_deployment, make_release

ERROR_RATE = "Error rate 0.34/s, at most 0.05/s allowed"
ROLLBACK_PAGE = "http://testserver/services/web/rollback/confirm/?environment=staging&version=1.0.0"


def ended(release, environment, state=DeploymentState.SUCCEEDED, **fields):
    return make_deployment(release, environment, state=state, finished_at=timezone.now(), **fields)


def request(api, token, version: str, environment: str, **extra):
    body = {"service": "web", "version": version, "environment": environment, **extra}
    return api.post("/deployments", token, body)


def nothing_pending() -> bool:
    return not Deployment.objects.filter(state=DeploymentState.PENDING).exists()


@pytest.fixture
def newer_in_staging(world):
    """1.1.0 went through development and staging after 1.0.0."""
    newer = make_release(world.web, "1.1.0")
    for environment in (world.development, world.staging):
        ended(newer, environment)
    return newer


@pytest.fixture
def rolled_back_in_production(world):
    """1.0.0 went to production and the engine rolled it back on the error rate."""
    finished = timezone.now() - timedelta(minutes=3)
    return make_deployment(
        world.release, world.production, state=DeploymentState.ROLLED_BACK,
        finished_at=finished, reason=ERROR_RATE,
    )  # fmt: skip


# --- The API ---------------------------------------------------------------------


def test_an_older_release_is_a_409_pointing_at_the_rollback(api, tokens, newer_in_staging):
    status, body = request(api, tokens.engineer, "1.0.0", "staging")
    assert status == 409
    assert body["error"] == "1.0.0 is older than 1.1.0, which runs in staging: roll back instead."
    assert body["detail"] == {"refusal": body["error"], "kind": "older", "instead": ROLLBACK_PAGE}
    assert nothing_pending()


def test_a_release_rolled_back_there_needs_a_confirmed_reason(
    api, tokens, rolled_back_in_production
):
    status, body = request(api, tokens.engineer, "1.0.0", "production")
    assert status == 409 and body["detail"]["kind"] == "rolled_back"
    assert "web 1.0.0 was rolled back from production at " in body["error"]
    assert f"{ERROR_RATE}. Promoting it there again takes an explicit confirmation" in body["error"]
    assert body["detail"]["instead"].startswith(
        "http://testserver/services/web/promote/production/confirm/?version=1.0.0"
    )
    assert nothing_pending()


def test_confirming_without_a_reason_is_a_422_naming_the_field(
    api, tokens, rolled_back_in_production
):
    status, body = request(
        api, tokens.engineer, "1.0.0", "production", confirm_repromotion=True,
        repromotion_reason=" ",
    )  # fmt: skip
    assert status == 422 and body["error"].startswith("body: repromotion_reason is required")
    assert nothing_pending()


def test_a_confirmed_repromotion_is_accepted_and_its_reason_kept_and_audited(
    api, tokens, alice, rolled_back_in_production
):
    status, body = request(
        api, tokens.engineer, "1.0.0", "production", confirm_repromotion=True,
        repromotion_reason="the error budget alert was a Prometheus misconfiguration",
    )  # fmt: skip
    assert status == 201, body
    assert body["repromotion_reason"].startswith("the error budget alert was")
    deployment = Deployment.objects.get(pk=body["id"])
    assert deployment.repromotion_reason.startswith("the error budget alert was")
    event = AuditEvent.objects.get(action="deployment.requested", deployment=deployment)
    assert event.actor == alice and "Prometheus" in event.detail["repromotion_reason"]


def test_a_locked_environment_is_a_409_saying_who_and_why(api, tokens, world, bob):
    from deployments import engine

    engine.lock(bob, "production", "database migration")
    status, body = request(api, tokens.ci_all, "1.0.0", "production")
    assert status == 409 and body["detail"]["kind"] == "locked"
    assert body["error"].startswith("production is locked by bob: database migration (since ")
    assert nothing_pending()


def test_break_glass_still_goes_past_the_rules(world, bob, rolled_back_in_production):
    from deployments import engine

    deployment = engine.break_glass(bob, "web", "1.0.0", "production", "INC-9: it is the fix")
    assert deployment.repromotion_reason == ""


# --- The CLI ---------------------------------------------------------------------


def test_the_cli_prints_the_refusal_and_the_rollback_to_use_instead(
    tokens, newer_in_staging, capsys
):
    code = run(tokens.ci_all, ["deploy", "web", "1.0.0", "staging"], Portal())
    err = capsys.readouterr().err
    assert code == 2
    assert "portal: 1.0.0 is older than 1.1.0, which runs in staging: roll back instead." in err
    assert f"Instead: {ROLLBACK_PAGE}" in err
    assert nothing_pending()


def test_the_cli_says_how_to_confirm_a_repromotion_and_then_does_it(
    tokens, rolled_back_in_production, capsys
):
    refused = run(tokens.ci_all, ["deploy", "web", "1.0.0", "production"], Portal())
    assert refused == 2
    err = capsys.readouterr().err
    assert "was rolled back from production at " in err and ERROR_RATE in err
    assert "add --confirm-repromotion 'REASON'" in err
    assert nothing_pending()

    argv = ["deploy", "web", "1.0.0", "production", "--confirm-repromotion", "alert fixed"]
    assert run(tokens.ci_all, argv, Portal()) == 0
    assert Deployment.objects.get(state=DeploymentState.PENDING).repromotion_reason == (
        "alert fixed"
    )


def test_the_cli_names_who_locked_the_environment(tokens, world, bob, capsys):
    from deployments import engine

    engine.lock(bob, "production", "INC-7 payment outage")
    code = run(tokens.ci_all, ["deploy", "web", "1.0.0", "production"], Portal())
    assert code == 2
    assert "portal: production is locked by bob: INC-7 payment outage" in capsys.readouterr().err


# --- manage.py promote (an operator on the portal's host) --------------------------


def test_the_promote_command_names_the_rollback_to_use_instead(newer_in_staging):
    with pytest.raises(CommandError) as refused:
        call_command("promote", "web", "1.0.0", "--to", "staging")
    assert str(refused.value) == (
        "1.0.0 is older than 1.1.0, which runs in staging: roll back instead. "
        "manage.py rollback web --env staging --to 1.0.0"
    )
    assert nothing_pending()


def test_the_promote_command_confirms_a_repromotion_with_its_reason(rolled_back_in_production):
    with pytest.raises(CommandError, match="Add --confirm-repromotion 'REASON'"):
        call_command("promote", "web", "1.0.0", "--to", "production")
    assert nothing_pending()
    call_command(
        "promote", "web", "1.0.0", "--to", "production", "--confirm-repromotion", "alert fixed"
    )
    assert Deployment.objects.get(state=DeploymentState.PENDING).repromotion_reason == (
        "alert fixed"
    )
