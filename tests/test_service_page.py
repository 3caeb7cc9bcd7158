"""The service page's controls (issue 9, item 3): Promote VERSION to ENV with its
reasons, the confirmations of production promotions and rollbacks, lock and unlock,
break-glass; each without JavaScript and as an htmx fragment, per persona."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import ChecklistTemplate, ChecklistTemplateItem, Environment
from deployments.models import Deployment
from deployments.states import DeploymentState, Trigger
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def path():
    """development → staging → production (one lead's approval and a checklist)."""
    development = make_environment("development", position=0)
    staging = make_environment("staging", position=1, promotes_from=development)
    checklist = ChecklistTemplate.objects.create(name="production-checklist")
    for position, (phase, text) in enumerate(
        [("pre", "Database backup taken"), ("post", "Test critical user flows")], start=1
    ):
        ChecklistTemplateItem.objects.create(
            template=checklist, position=position, phase=phase, text=text, mode="manual"
        )
    production = make_environment(
        "production", position=2, promotes_from=staging, required_approvals=1,
        approver_group="lead", checklist_template=checklist,
    )  # fmt: skip
    return make_service("web"), development, staging, production


def succeeded(release, environment, **fields):
    return make_deployment(
        release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now(), **fields
    )


@pytest.fixture
def in_development(path):
    """web 1.1.0 succeeded in development; 1.0.0 runs in staging and production."""
    web, development, staging, production = path
    old = make_release(web, "1.0.0")
    for environment in (development, staging, production):
        succeeded(old, environment)
    new = make_release(web, "1.1.0")
    new.git_sha, new.notes = "abcdef1234567890", "Faster dashboards"
    new.save()
    succeeded(new, development)
    return web, old, new


def page(client, user):
    client.force_login(user)
    return client.get("/services/web/").content.decode()


def panel(html: str, environment: str) -> str:
    """The part of the page that is one environment's box."""
    start = html.index(f'id="env-{environment}"')
    return html[start : html.index("</section>", start)]


# --- Promote: the candidate and the reasons it may not go --------------------------


def test_staging_offers_what_last_succeeded_in_development(client, alice, in_development):
    staging = panel(page(client, alice), "staging")
    assert "Promote 1.1.0 to staging</button>" in staging
    assert 'action="/services/web/promote/staging/"' in staging and "disabled" not in staging
    assert "1.1.0 is what last succeeded in development." in staging


def test_the_first_environment_offers_any_ready_release_newest_first(client, alice, path):
    web, *_ = path
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        make_release(web, version)
    development = panel(page(client, alice), "development")
    options = [part.split('"')[1] for part in development.split("<option value=")[1:5]]
    assert options == ["", "1.2.0", "1.1.0", "1.0.0"]  # nothing chosen until someone chooses
    assert "Promote to development</button>" in development
    assert 'action="/services/web/promote/development/"' in development


def test_on_phones_each_release_and_deployment_field_says_what_it_is(client, alice, in_development):
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    assert page.count('<table class="list cards labelled">') == 2
    for label in ("State", "Image", "Git", "Registered", "Environment", "Requested by", "When"):
        assert f'data-label="{label}"' in page


def test_nothing_succeeded_upstream_disables_promote_and_says_so(client, alice, path):
    staging = panel(page(client, alice), "staging")
    assert '<button type="button" disabled' in staging
    assert "Nothing has succeeded in development yet" in staging


def test_an_outsider_is_told_they_may_not_deploy(client, oscar, in_development):
    staging = panel(page(client, oscar), "staging")
    assert "disabled" in staging
    assert "You may not deploy to staging; engineers, leads and admins may." in staging


def test_what_already_runs_there_is_not_offered_again(client, alice, in_development):
    _web, _old, new = in_development
    succeeded(new, Environment.objects.get(name="staging"))
    staging = panel(page(client, alice), "staging")
    assert "1.1.0 already runs in staging." in staging and "disabled" in staging


def test_a_lock_says_who_when_and_why_where_the_deploy_would_start(
    client, alice, bob, in_development
):
    from deployments import engine

    engine.lock(bob, "staging", "INC-42 database failover")
    staging = panel(page(client, alice), "staging")
    assert "disabled" in staging
    assert "staging is locked by bob: INC-42 database failover (since" in staging
    assert "Locked by <strong>bob</strong>" in staging
    # The disabled button says who locked it and why, and names no release.
    button = staging[staging.index('<button type="button" disabled') :]
    assert button[: button.index("</button>")].endswith(">Locked by bob: INC-42 database failover")


def test_a_freeze_says_until_when(client, alice, in_development):
    now = timezone.now()
    window = {
        "name": "release-freeze", "timezone": "UTC",
        "from": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "to": (now + timedelta(days=1)).replace(hour=8, minute=0).strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    Environment.objects.filter(name="staging").update(freeze_windows=[window])
    staging = panel(page(client, alice), "staging")
    ends = (now + timedelta(days=1)).strftime("%a %-d %b 08:00")
    assert f"staging is frozen until {ends} UTC" in staging
    assert "Frozen until" in staging and "disabled" in staging


def test_an_engineer_promotes_to_staging_without_javascript(client, alice, in_development):
    client.force_login(alice)
    response = client.post("/services/web/promote/staging/", {"version": "1.1.0"})
    deployment = Deployment.objects.get(environment__name="staging", release__version="1.1.0")
    assert response.status_code == 302 and response.url == f"/deployments/{deployment.pk}/"
    assert deployment.requested_by == alice and deployment.trigger == Trigger.PROMOTE
    assert "Promoting web 1.1.0 to staging." in client.get(response.url).content.decode()


def test_a_forged_promotion_off_the_path_is_refused_with_a_message(client, alice, in_development):
    web, *_ = in_development
    make_release(web, "1.2.0")
    client.force_login(alice)
    response = client.post("/services/web/promote/staging/", {"version": "1.2.0"})
    assert response.status_code == 302 and response.url == "/services/web/"
    assert (
        "web 1.2.0 has not succeeded in development yet"
        in client.get("/services/web/").content.decode()
    )
    assert not Deployment.objects.filter(release__version="1.2.0").exists()


def test_an_outsiders_forged_promotion_is_403_with_the_reason(client, oscar, in_development):
    client.force_login(oscar)
    response = client.post("/services/web/promote/staging/", {"version": "1.1.0"})
    assert response.status_code == 403
    assert "may not deploy to staging" in response.content.decode()
    assert not Deployment.objects.filter(environment__name="staging", requested_by=oscar).exists()


# --- The confirmation of a production promotion -----------------------------------


@pytest.fixture
def in_staging(in_development):
    web, old, new = in_development
    between = make_release(web, "1.0.5")  # registered after 1.1.0, never deployed
    succeeded(new, Environment.objects.get(name="staging"))
    return web, old, new, between


def test_production_promote_goes_through_a_confirmation_page(client, alice, in_staging):
    production = panel(page(client, alice), "production")
    assert 'method="get" action="/services/web/promote/production/confirm/"' in production
    assert "Promote 1.1.0 to production…</button>" in production


def test_the_confirmation_shows_the_changes_and_the_gates(client, alice, in_staging):
    client.force_login(alice)
    html = client.get("/services/web/promote/production/confirm/?version=1.1.0").content.decode()
    assert 'Promote web <span class="version">1.1.0</span> to production?' in html
    assert "What changes (2 releases)" in html
    changes = html[html.index('class="list changes cards"') : html.index("<h2>Gates</h2>")]
    assert "1.1.0" in changes and "abcdef123456" in changes and "Faster dashboards" in changes
    assert "1.0.0" not in changes  # it runs there now
    # 1.0.5 comes between 1.0.0 and 1.1.0 by version, but never went through staging.
    newer, hotfix = changes.split("<tr>")[2:4]
    assert "1.1.0" in newer and "never deployed" not in newer
    assert "1.0.5" in hotfix and "never deployed to staging" in hotfix
    assert "Database backup taken" in html and "Test critical user flows" in html
    assert "1 approval from the lead group (or an admin), never from you" in html
    assert 'action="/services/web/promote/production/"' in html


def test_confirming_promotes_and_the_deployment_waits_for_its_gates(client, alice, in_staging):
    client.force_login(alice)
    response = client.post("/services/web/promote/production/", {"version": "1.1.0"})
    deployment = Deployment.objects.get(environment__name="production", release__version="1.1.0")
    assert response.url == f"/deployments/{deployment.pk}/"
    assert deployment.state == DeploymentState.PENDING
    assert list(deployment.checklist.values_list("text", flat=True)) == [
        "Database backup taken", "Test critical user flows",
    ]  # fmt: skip


def test_the_confirmation_says_why_a_release_may_not_go(client, alice, in_staging):
    client.force_login(alice)
    html = client.get("/services/web/promote/production/confirm/?version=1.0.5").content.decode()
    refusal = html[html.index('class="refused-top"') : html.index('class="facts"')]
    assert "web 1.0.5 has not succeeded in staging yet" in refusal
    assert "<form" not in html.split("<main>")[1]  # no form at all, not even a disabled one


def test_an_outsider_sees_the_confirmation_disabled_with_the_reason(client, oscar, in_staging):
    client.force_login(oscar)
    html = client.get("/services/web/promote/production/confirm/?version=1.1.0").content.decode()
    assert "You may not deploy to production" in html and 'class="refused-top"' in html
    assert 'action="/services/web/promote/production/"' not in html


def test_the_confirmation_of_an_unknown_version_is_a_404(client, alice, in_staging):
    client.force_login(alice)
    assert client.get("/services/web/promote/production/confirm/?version=9").status_code == 404


# --- Rollback: a confirmation naming what runs now --------------------------------


def test_rollback_links_to_a_confirmation_naming_what_runs_now(client, alice, in_development):
    development = panel(page(client, alice), "development")
    link = "/services/web/rollback/confirm/?environment=development&amp;version=1.0.0"
    assert f'href="{link}">Roll back to 1.0.0…</a>' in development
    client.force_login(alice)
    html = client.get(link.replace("&amp;", "&")).content.decode()
    runs_now = html[html.index("Runs now") : html.index("Comes back")]
    assert "1.1.0" in runs_now
    assert "Roll back development from 1.1.0 to 1.0.0</button>" in html
    assert 'action="/services/web/rollback/"' in html


def test_rollback_confirmation_refuses_what_is_no_rollback(client, alice, in_development):
    client.force_login(alice)
    url = "/services/web/rollback/confirm/?environment=development&version=1.1.0"
    html = client.get(url).content.decode()
    assert "1.1.0 is not a release to roll back to in development" in html
    assert 'action="/services/web/rollback/"' not in html


def test_rollback_confirmation_tells_an_outsider_they_may_not(client, oscar, in_development):
    client.force_login(oscar)
    url = "/services/web/rollback/confirm/?environment=development&version=1.0.0"
    html = client.get(url).content.decode()
    assert "You may not roll back in development" in html
    assert 'action="/services/web/rollback/"' not in html


# --- Lock and unlock ---------------------------------------------------------------


def test_a_lead_locks_with_a_reason_and_unlocks_without_javascript(client, bob, in_development):
    client.force_login(bob)
    assert "Lock staging</button>" in panel(page(client, bob), "staging")
    response = client.post("/services/web/environments/staging/lock/", {"reason": "INC-7"})
    assert response.status_code == 302 and response.url == "/services/web/"
    staging = Environment.objects.get(name="staging")
    assert staging.locked and staging.locked_by == bob and staging.lock_reason == "INC-7"
    html = client.get("/services/web/").content.decode()
    assert "staging is locked: no deployment starts there but break-glass." in html
    assert "Unlock staging</button>" in panel(html, "staging")
    client.post("/services/web/environments/staging/unlock/")
    assert not Environment.objects.get(name="staging").locked


def test_a_lock_without_a_reason_is_refused_with_what_to_do(client, bob, in_development):
    client.force_login(bob)
    client.post("/services/web/environments/staging/lock/", {"reason": "  "})
    assert not Environment.objects.get(name="staging").locked
    assert "Say why you lock it" in client.get("/services/web/").content.decode()


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_engineers_and_outsiders_get_no_lock_control_and_a_forged_post_is_403(
    client, in_development, persona, request
):
    user = request.getfixturevalue(persona)
    assert "Lock staging" not in page(client, user)
    response = client.post("/services/web/environments/staging/lock/", {"reason": "mine"})
    assert response.status_code == 403
    assert f"{persona} may not lock or unlock staging" in response.content.decode()
    assert not Environment.objects.get(name="staging").locked


def test_with_htmx_a_lock_swaps_only_the_environment_box(client, carol, in_development):
    client.force_login(carol)
    response = client.post(
        "/services/web/environments/staging/lock/", {"reason": "DB migration"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="env-staging"' in html and 'id="env-production"' not in html
    assert "staging is locked: no deployment starts there but break-glass." in html
    assert "Locked by <strong>carol</strong>" in html and "Unlock staging</button>" in html
    assert "disabled" in html  # Promote is off now, and says why
    # The message was shown in the fragment, so the next full page does not repeat it.
    assert "no deployment starts there" not in client.get("/services/web/").content.decode()


def test_with_htmx_a_refused_unlock_answers_409_with_the_message(client, bob, in_development):
    client.force_login(bob)
    response = client.post("/services/web/environments/staging/unlock/", **HTMX)
    assert response.status_code == 409
    assert "staging is not locked." in response.content.decode()


# --- Break-glass -------------------------------------------------------------------


def test_break_glass_form_is_for_leads_and_admins_only(client, alice, bob, in_development):
    assert "Break glass in production" in page(client, bob)
    assert "Break glass in production" not in page(client, alice)
    response = client.post(
        "/services/web/break-glass/production/", {"version": "1.1.0", "reason": "mine"}
    )
    assert response.status_code == 403
    assert "alice may not break glass in production" in response.content.decode()


def test_a_lead_breaks_glass_through_a_lock_and_it_is_flagged(client, bob, in_development):
    from deployments import engine

    engine.lock(bob, "production", "INC-9")
    client.force_login(bob)
    response = client.post(
        "/services/web/break-glass/production/",
        {"version": "1.1.0", "reason": "Payments down; 1.1.0 has the fix"},
    )
    deployment = Deployment.objects.get(trigger=Trigger.BREAK_GLASS)
    assert response.url == f"/deployments/{deployment.pk}/"
    assert deployment.break_glass_reason == "Payments down; 1.1.0 has the fix"
    history = client.get("/services/web/").content.decode().split("<h2>Deployments</h2>")[1]
    assert "⚠ break-glass</span>" in history and "not reviewed yet" in history


def test_break_glass_without_a_reason_is_refused_with_a_message(client, bob, in_development):
    client.force_login(bob)
    response = client.post("/services/web/break-glass/production/", {"version": "1.1.0"})
    assert response.status_code == 302 and response.url == "/services/web/"
    assert "Break-glass needs a written reason" in client.get("/services/web/").content.decode()
    assert not Deployment.objects.filter(trigger=Trigger.BREAK_GLASS).exists()
    assert not AuditEvent.objects.filter(action="deployment.requested").exists()


# --- Query counts ------------------------------------------------------------------


def grow_history(web, environments, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        release = make_release(web, f"2.{i}.0")
        for environment in environments:
            succeeded(release, environment)
            make_deployment(release, environment, state=DeploymentState.FAILED)


def count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_service_page_queries_do_not_grow_with_history(
    client, bob, path, django_assert_num_queries
):
    web, *environments = path
    client.force_login(bob)
    grow_history(web, environments, 2)
    few = count_queries(client, "/services/web/")
    grow_history(web, environments, 12, start=2)
    with django_assert_num_queries(few):
        client.get("/services/web/")


def test_confirmation_queries_do_not_grow_with_history(
    client, alice, path, django_assert_num_queries
):
    web, *environments = path
    client.force_login(alice)
    grow_history(web, environments, 2)
    url = "/services/web/promote/production/confirm/?version=2.1.0"
    few = count_queries(client, url)
    grow_history(web, environments[:2], 12, start=2)
    with django_assert_num_queries(few):
        client.get(url)
