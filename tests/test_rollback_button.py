"""The "Roll back to this release" button on the service page."""

import pytest
from django.utils import timezone

from deployments.models import Deployment
from deployments.states import DeploymentState, StepKind, Trigger
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """web 1.0.0 then 1.1.0 succeeded in development; 1.1.0 runs there now."""
    development = make_environment("development")
    web = make_service("web")
    old, new = make_release(web, "1.0.0"), make_release(web, "1.1.0")
    for release in (old, new):
        make_deployment(
            release, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    return web, development, old


def press(client, version="1.0.0", environment="development"):
    return client.post("/services/web/rollback/", {"environment": environment, "version": version})


def test_the_service_page_offers_the_earlier_release_to_an_engineer(client, alice, history):
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    assert "Roll back to 1.0.0" in page
    assert "Roll back to 1.1.0" not in page  # it is what runs now


def test_an_engineer_presses_it_and_gets_a_rollback_with_the_fixed_plan(client, alice, history):
    client.force_login(alice)
    response = press(client)
    rollback = Deployment.objects.get(trigger=Trigger.ROLLBACK)
    assert response.status_code == 302
    assert response.url == f"/deployments/{rollback.pk}/"
    assert rollback.requested_by == alice
    assert rollback.release.version == "1.0.0"
    assert list(rollback.steps.values_list("kind", flat=True)) == [StepKind.ROLLOUT]
    assert rollback.rollback_of.release.version == "1.1.0"


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_leads_and_admins_may_press_it_too(client, history, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert press(client).status_code == 302
    assert Deployment.objects.filter(trigger=Trigger.ROLLBACK).count() == 1


def test_an_outsider_sees_no_button_and_a_forged_post_is_refused(client, oscar, history):
    client.force_login(oscar)
    page = client.get("/services/web/").content.decode()
    assert "Roll back to 1.0.0" not in page
    assert "you may not roll back" in page
    response = press(client)
    assert response.status_code == 403
    assert "oscar may not roll back in development" in response.content.decode()
    assert not Deployment.objects.filter(trigger=Trigger.ROLLBACK).exists()


def test_an_unknown_version_is_refused_with_what_to_do(client, alice, history):
    client.force_login(alice)
    press(client, version="9.9.9")
    page = client.get("/services/web/").content.decode()
    assert "web has no release &#x27;9.9.9&#x27;" in page
    assert not Deployment.objects.filter(trigger=Trigger.ROLLBACK).exists()


def test_the_button_needs_a_post_with_a_csrf_token(alice, history):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/services/web/rollback/", {"environment": "development"}).status_code == 403
    assert client.get("/services/web/rollback/").status_code == 405
    assert not Deployment.objects.filter(trigger=Trigger.ROLLBACK).exists()


@pytest.fixture
def production_history(history):
    """web 1.0.0 runs in production; 1.1.0 ran only in development; 1.2.0 ran nowhere."""
    web, _development, old = history
    production = make_environment("production")
    make_deployment(old, production, state=DeploymentState.SUCCEEDED, finished_at=timezone.now())
    make_release(web, "1.2.0")
    return production


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("1.1.0", "web 1.1.0 never succeeded in production, so it is not a rollback"),
        ("1.2.0", "web 1.2.0 never succeeded in production, so it is not a rollback"),
        ("1.0.0", "web 1.0.0 is what runs in production now"),
    ],
)
def test_a_forged_post_for_a_release_that_is_no_rollback_is_refused_on_the_server(
    client, alice, production_history, version, problem
):
    client.force_login(alice)
    response = press(client, version=version, environment="production")
    assert response.status_code == 302 and response.url == "/services/web/"
    assert not Deployment.objects.filter(trigger=Trigger.ROLLBACK).exists()
    page = client.get("/services/web/").content.decode()
    assert problem in page
    assert "promote it instead" in page or "runs in production now" in page


def test_production_offers_no_release_that_never_ran_there(client, alice, production_history):
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    forms = page.split('name="environment" value="production"')
    assert len(forms) == 1  # nothing to roll back to in production yet
    assert "Roll back to 1.0.0" in page  # development still offers it
