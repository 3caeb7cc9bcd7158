"""The CLI: promote, rollback and cancel print the steps and log, and exit non-zero
unless the deployment succeeded."""

import pytest
from django.core.management import CommandError, call_command

from deployments.models import Deployment
from deployments.states import DeploymentState
from tests.engine.conftest import cluster_images, register

pytestmark = pytest.mark.worker


def test_promote_wait_prints_progress_and_the_page_link(development, web, worker, capsys):
    register(web, "6.0.0")
    call_command("promote", "web", "6.0.0", "--to", "development", "--wait")
    out = capsys.readouterr().out
    deployment = Deployment.objects.get()
    assert f"http://127.0.0.1:8000/deployments/{deployment.pk}/" in out
    assert "[Roll out] running" in out
    assert 'deployment "vizora-web" successfully rolled out' in out
    assert out.rstrip().endswith(f"#{deployment.pk} web 6.0.0 → development succeeded")


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
