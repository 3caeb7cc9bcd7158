"""The deployment page says how long a step waited for a worker, and what Cancel will
do before the click (issue 21)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(alice):
    """A running deployment of web 1.2.0 to development, after 1.1.0 ran there."""
    web = make_service("web")
    development = make_environment("development")
    old = make_release(web, "1.1.0")
    make_release(web, "1.2.0")
    deployment = make_deployment(
        web.releases.get(version="1.2.0"), development, requested_by=alice,
        state=DeploymentState.RUNNING, started_at=timezone.now(),
        previous_images={"vizora-web": {"web": old.image}},
    )  # fmt: skip
    return deployment


def step(deployment, kind, position, state=StepState.PENDING, **fields):
    return Step.objects.create(
        deployment=deployment, kind=kind, position=position, state=state, **fields
    )


def page_of(client, user, deployment) -> str:
    client.force_login(user)
    response = client.get(f"/deployments/{deployment.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_step_that_waited_for_a_worker_says_how_long(client, alice, running):
    """The engine keeps a wait only when it is over 2 s (test_looks checks that)."""
    step(running, StepKind.ROLLOUT, 1, StepState.SUCCEEDED)
    step(running, StepKind.SMOKE, 2, StepState.RUNNING, worker_wait=timedelta(seconds=63))
    page = page_of(client, alice, running)
    assert "waited 1 min 3 s for a worker" in page
    assert page.count("for a worker") == 1, "only the step that waited says so"


def test_the_cancel_button_says_the_rollout_stops_and_what_is_put_back(client, alice, running):
    step(running, StepKind.ROLLOUT, 1, StepState.RUNNING, result={"applied": True})
    page = page_of(client, alice, running)
    assert "Cancel: the rollout stops and 1.1.0 is put back." in page
    assert 'hx-confirm="Cancel: the rollout stops and 1.1.0 is put back."' in page


def test_the_cancel_button_during_a_migration_says_its_job_is_deleted(client, bob, running):
    step(running, StepKind.MIGRATE, 1, StepState.RUNNING)
    step(running, StepKind.ROLLOUT, 2)
    page = page_of(client, bob, running)
    assert "Cancel: the migration Job is deleted; nothing else was changed yet." in page


def test_the_cancel_button_before_the_cluster_was_touched_says_nothing_changed(
    client, carol, running
):
    step(running, StepKind.RECHECK, 1, StepState.RUNNING)
    step(running, StepKind.ROLLOUT, 2)
    page = page_of(client, carol, running)
    assert "Cancel: it stops now; nothing was changed yet in development." in page


def test_someone_who_may_not_cancel_sees_no_cancel_button_nor_its_effect(client, oscar, running):
    step(running, StepKind.ROLLOUT, 1, StepState.RUNNING, result={"applied": True})
    client.force_login(oscar)
    response = client.get(f"/deployments/{running.pk}/")
    if response.status_code == 200:
        assert "is put back" not in response.content.decode()
    else:
        assert response.status_code in (302, 403)
