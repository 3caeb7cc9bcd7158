"""The CLI: promote, rollback and cancel print the steps and log, and exit non-zero
unless the deployment succeeded; `--as USERNAME` acts as that person, by the same rules
as the browser; Ctrl-C while waiting stops only the following."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from deployments.models import Deployment
from deployments.states import DeploymentState
from tests.engine.conftest import cluster_images, register, wait_for
from tests.harness.signals import answering_ctrl_c
from tests.harness.worker import REPO, database_url

pytestmark = pytest.mark.worker


def test_promote_wait_prints_progress_and_the_page_link(development, web, worker, capsys):
    # -slow: its rollout (0.6 s at the engine's speed) outlasts the follower's 0.25 s poll.
    register(web, "6.0.0-slow")
    call_command("promote", "web", "6.0.0-slow", "--to", "development", "--wait")
    out = capsys.readouterr().out
    deployment = Deployment.objects.get()
    assert f"http://127.0.0.1:8000/deployments/{deployment.pk}/" in out
    assert "[Roll out] running" in out
    assert 'deployment "vizora-web" successfully rolled out' in out
    assert out.rstrip().endswith(f"#{deployment.pk} web 6.0.0-slow → development succeeded")


def test_promote_wait_exits_non_zero_when_the_release_rolls_back(development, web, worker):
    register(web, "6.1.0-crashloop")
    with pytest.raises(CommandError, match=r"did not succeed \(rolled_back\)"):
        call_command("promote", "web", "6.1.0-crashloop", "--to", "development", "--wait")


def test_rollback_reapplies_the_previous_successful_release(development, web, worker, capsys):
    first, _ = register(web, "7.0.0"), register(web, "7.1.0")
    call_command("promote", "web", "7.0.0", "--to", "development", "--wait")
    call_command("promote", "web", "7.1.0", "--to", "development", "--wait")
    call_command("rollback", "web", "--env", "development", "--wait")
    rollback = Deployment.objects.order_by("-created_at").first()
    assert (rollback.trigger, rollback.state) == ("rollback", DeploymentState.SUCCEEDED)
    assert rollback.release == first
    assert cluster_images(development, "vizora-web") == {"web": first.image}


def test_rollback_without_an_earlier_success_says_to_name_a_version(development, web, worker):
    with pytest.raises(CommandError, match="no earlier successful release in development"):
        call_command("rollback", "web", "--env", "development")


@pytest.fixture
def gated(development):
    """Development with an approval gate: a promotion parks there until a lead approves."""
    development.required_approvals = 1
    development.save()
    return development


def test_promote_as_a_person_records_them_as_the_requester(gated, web, alice, capsys):
    register(web, "8.0.0")
    call_command("promote", "web", "8.0.0", "--to", "development", "--as", "alice")
    deployment = Deployment.objects.get()
    assert deployment.requested_by == alice
    assert AuditEvent.objects.filter(deployment=deployment, actor=alice).exists()
    assert f"/deployments/{deployment.pk}/" in capsys.readouterr().out


def test_promote_without_as_is_requested_by_the_system(gated, web):
    register(web, "8.0.0")
    call_command("promote", "web", "8.0.0", "--to", "development")
    assert Deployment.objects.get().requested_by is None


def test_promote_as_an_outsider_is_refused_as_in_the_browser(development, web, oscar):
    register(web, "8.0.0")
    with pytest.raises(CommandError, match="oscar may not deploy to development"):
        call_command("promote", "web", "8.0.0", "--to", "development", "--as", "oscar")
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("username", ["nobody", "retired"])
def test_as_an_unknown_or_inactive_user_is_refused_naming_them(development, web, username):
    User.objects.create_user("retired", is_active=False)
    register(web, "8.0.0")
    with pytest.raises(CommandError, match=f"no active user '{username}'; "):
        call_command("promote", "web", "8.0.0", "--to", "development", "--as", username)
    assert not Deployment.objects.exists()


def test_rollback_as_an_outsider_is_refused_as_in_the_browser(development, web, oscar):
    with pytest.raises(CommandError, match="oscar may not roll back in development"):
        call_command("rollback", "web", "--env", "development", "--as", "oscar")
    assert not Deployment.objects.exists()


def test_cancel_as_the_requester_records_who_cancelled(gated, web, alice, capsys):
    register(web, "8.0.0")
    call_command("promote", "web", "8.0.0", "--to", "development", "--as", "alice")
    deployment = Deployment.objects.get()
    call_command("cancel", str(deployment.pk), "--as", "alice")
    deployment.refresh_from_db()
    assert (deployment.cancel_requested, deployment.cancel_requested_by) == (True, alice)
    assert "cancel requested" in capsys.readouterr().out


def test_cancel_as_an_outsider_is_refused_and_changes_nothing(gated, web, alice, oscar):
    register(web, "8.0.0")
    call_command("promote", "web", "8.0.0", "--to", "development", "--as", "alice")
    deployment = Deployment.objects.get()
    with pytest.raises(CommandError, match=f"oscar may not cancel deployment #{deployment.pk}"):
        call_command("cancel", str(deployment.pk), "--as", "oscar")
    deployment.refresh_from_db()
    assert not deployment.cancel_requested


def test_ctrl_c_while_waiting_says_where_to_follow_it_without_a_traceback(
    gated, web, worker, tmp_path
):
    register(web, "8.0.0")
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    env = {
        **os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY, "CELERY_QUEUE_PREFIX": settings.CELERY_QUEUE_PREFIX,
    }  # fmt: skip
    command = [sys.executable, "manage.py", "promote", "web", "8.0.0", "--to", "development"]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            answering_ctrl_c([*command, "--wait"]), cwd=REPO, env=env, stdout=stdout,
            stderr=stderr,
        )  # fmt: skip
    try:
        # Parked at the approval gate, and the command is following it.
        wait_for(lambda: "[Approval] waiting for people" in out.read_text(), timeout=30)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()  # reaped here, not by the garbage collector in a later test
    deployment = Deployment.objects.get()
    url = f"http://127.0.0.1:8000/deployments/{deployment.pk}/"
    assert f"#{deployment.pk} is still running; follow it at {url}" in out.read_text()
    assert "Traceback" not in err.read_text() + out.read_text()
    assert not deployment.is_final  # only the following stopped
