"""The dashboard and service pages, rendered by the server for signed-in people."""

import re

import pytest
from django.utils import timezone

from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    development = make_environment("development", position=0)
    production = make_environment("production", position=1, promotes_from=development)
    web = make_service("web")
    return web, development, production


def test_pages_ask_anonymous_visitors_to_sign_in(client, catalog):
    for url in ["/", "/services/web/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")


def test_sign_in_leads_to_the_dashboard(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert response.status_code == 302
    assert response.url == "/"


def test_dashboard_shows_nothing_deployed_yet_for_an_empty_lane(client, alice, catalog):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "development" in page and "production" in page
    assert page.count("nothing deployed yet") == 2


def test_dashboard_shows_the_last_succeeded_release_of_each_cell(client, alice, catalog):
    web, development, production = catalog
    old, new = make_release(web, "1.0.0"), make_release(web, "1.1.0")
    make_deployment(old, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now())
    make_deployment(new, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now())
    make_deployment(old, production, state=DeploymentState.ROLLED_BACK)
    make_deployment(new, production, state=DeploymentState.RUNNING)
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert re.search(r'class="version" href="/deployments/\d+/">1.1.0</a>', page)
    assert ">1.0.0</a>" not in page
    assert "Running 1.1.0" in page
    assert page.count("nothing deployed yet") == 1  # the rolled-back production lane


def test_dashboard_queries_do_not_grow_with_the_number_of_lanes(
    client, alice, catalog, django_assert_max_num_queries
):
    _web, development, production = catalog
    for name in ["api", "realtime", "worker"]:
        service = make_service(name)
        for environment in (development, production):
            release = make_release(service, f"1.0.{environment.pk}")
            make_deployment(
                release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
            )
    client.force_login(alice)
    # 10, plus what the clusters run (the observations) and the steps of the deployments
    # that last wrote each lane (what the cluster is compared with).
    with django_assert_max_num_queries(12):
        client.get("/")


def test_dashboard_hides_archived_services(client, alice, catalog):
    web, *_ = catalog
    web.archived_at = timezone.now()
    web.save()
    client.force_login(alice)
    assert "/services/web/" not in client.get("/").content.decode()


def test_service_page_lists_releases_and_deployments(client, oscar, catalog):
    web, development, _ = catalog
    release = make_release(web, "2.0.0")
    make_deployment(release, development, state=DeploymentState.FAILED, reason="CrashLoopBackOff")
    client.force_login(oscar)
    page = client.get("/services/web/").content.decode()
    assert "2.0.0" in page
    assert "CrashLoopBackOff" in page
    assert release.image[:40] in page


def test_unknown_service_is_a_404(client, alice):
    client.force_login(alice)
    assert client.get("/services/nope/").status_code == 404


def test_pages_send_a_strict_content_security_policy(client, alice, catalog):
    client.force_login(alice)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_deployment_page_shows_who_what_where_steps_and_log(client, oscar, catalog, alice):
    from deployments.events import emit
    from deployments.models import Step

    web, development, _ = catalog
    deployment = make_deployment(
        make_release(web, "3.0.0"), development, requested_by=alice,
        state=DeploymentState.ROLLED_BACK, reason="Rollout failed: progress deadline exceeded.",
    )  # fmt: skip
    Step.objects.create(deployment=deployment, kind="rollout", position=1, state="failed")
    emit(deployment.pk, None, "Waiting for deployment <b>web</b> rollout")
    client.force_login(oscar)
    page = client.get(f"/deployments/{deployment.pk}/").content.decode()
    assert "Rolled back" in page and "Rollout failed: progress deadline exceeded." in page
    assert "alice" in page and "3.0.0" in page and "development" in page
    assert "Roll out" in page
    assert "Waiting for deployment &lt;b&gt;web&lt;/b&gt; rollout" in page  # escaped


def test_deployment_page_needs_sign_in_and_404s_for_unknown_ids(client, alice):
    assert client.get("/deployments/1/").status_code == 302
    client.force_login(alice)
    assert client.get("/deployments/999999/").status_code == 404
