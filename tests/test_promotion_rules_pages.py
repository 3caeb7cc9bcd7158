"""Issue 22, points 1 and 7 on the pages: a Promote control never offers a release older
than what runs as an ordinary promotion (it says so and links the rollback), a release
rolled back from an environment carries that wherever it is offered and promoting it
there again takes a written reason, a disabled control names no release, and the
confirmation page refuses first, with no form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import Environment
from deployments import engine
from deployments.models import Deployment
from deployments.states import DeploymentState, Trigger
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

ERROR_RATE = "Error rate 0.34/s, at most 0.05/s allowed"


def ended(release, environment, state=DeploymentState.SUCCEEDED, minutes_ago=0, **fields):
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    return make_deployment(release, environment, state=state, finished_at=finished, **fields)


@pytest.fixture
def path():
    """development → staging → production (one approval); web 1.0.0 ran everywhere,
    then 1.1.0 went through development and staging."""
    development = make_environment("development", position=0)
    staging = make_environment("staging", position=1, promotes_from=development)
    production = make_environment(
        "production", position=2, promotes_from=staging, required_approvals=1
    )
    web = make_service("web")
    old, new = make_release(web, "1.0.0"), make_release(web, "1.1.0")
    for environment in (development, staging, production):
        ended(old, environment, minutes_ago=60)
    for environment in (development, staging):
        ended(new, environment, minutes_ago=30)
    return web, old, new


def page(client, user) -> str:
    client.force_login(user)
    return client.get("/services/web/").content.decode()


def panel(html: str, environment: str) -> str:
    start = html.index(f'id="env-{environment}"')
    return html[start : html.index("</section>", start)]


def disabled_button(html: str) -> str:
    start = html.index('<button type="button" disabled')
    return html[html.index(">", start) + 1 : html.index("</button>", start)]


def confirmation(client, user, version: str, environment: str = "production") -> str:
    client.force_login(user)
    url = f"/services/web/promote/{environment}/confirm/?version={version}"
    return client.get(url).content.decode()


def rolled_back_by_hand(environment_name: str, to, undone, by) -> Deployment:
    environment = Environment.objects.get(name=environment_name)
    return ended(to, environment, trigger=Trigger.ROLLBACK, rollback_of=undone, requested_by=by)


# --- Never an accidental downgrade --------------------------------------------------


@pytest.fixture
def development_rolled_back(path, bob):
    """Development was rolled back by hand to 1.0.0: it is what staging would get."""
    _web, old, new = path
    undone = Deployment.objects.get(release=new, environment__name="development")
    rolled_back_by_hand("development", old, undone, bob)
    return path


def test_an_older_release_is_not_offered_to_staging_and_the_rollback_is_linked(
    client, alice, development_rolled_back
):
    staging = panel(page(client, alice), "staging")
    assert disabled_button(staging) == "Older than what runs there"  # names no release
    assert "1.0.0 is older than 1.1.0, which runs in staging: roll back instead." in staging
    link = "/services/web/rollback/confirm/?environment=staging&amp;version=1.0.0"
    assert f'<a href="{link}">Roll back to 1.0.0…</a>' in staging
    client.force_login(alice)
    rollback = client.get(link.replace("&amp;", "&")).content.decode()
    assert "Roll back staging from 1.1.0 to 1.0.0</button>" in rollback


def test_the_first_environment_does_not_offer_releases_older_than_what_runs(client, alice, path):
    web, *_ = path
    make_release(web, "1.2.0")
    make_release(web, "1.0.1")  # a hotfix of 1.0, registered last: still older than 1.1.0
    development = panel(page(client, alice), "development")
    options = [part.split('"')[1] for part in development.split("<option value=")[1:]]
    assert options == ["", "1.2.0"]
    assert "Not offered, older than what runs here: 1.0.1, 1.0.0." in development


def test_the_confirmation_of_an_older_release_refuses_at_the_top_without_a_form(
    client, alice, path
):
    html = confirmation(client, alice, "1.0.0", "staging")
    main = html.split("<main>")[1]
    refusal = main[main.index('class="refused-top"') : main.index('class="facts"')]
    assert "1.0.0 is older than 1.1.0, which runs in staging: roll back instead." in refusal
    assert "/services/web/rollback/confirm/?environment=staging&amp;version=1.0.0" in refusal
    assert "<form" not in main and "<h2>Gates</h2>" not in main


def test_a_forged_promotion_of_an_older_release_is_refused_and_records_nothing(client, alice, path):
    client.force_login(alice)
    response = client.post("/services/web/promote/development/", {"version": "1.0.0"})
    assert response.status_code == 302 and response.url == "/services/web/"
    shown = client.get("/services/web/").content.decode()
    assert "1.0.0 is older than 1.1.0, which runs in development: roll back instead." in shown
    assert not Deployment.objects.filter(state=DeploymentState.PENDING).exists()


# --- A locked environment ------------------------------------------------------------


def test_a_locked_environment_s_button_says_who_and_why_and_its_confirmation_refuses(
    client, alice, bob, path
):
    engine.lock(bob, "production", "INC-7 payment outage")
    production = panel(page(client, alice), "production")
    assert disabled_button(production) == "Locked by bob: INC-7 payment outage"
    assert "1.1.0" not in disabled_button(production)
    main = confirmation(client, alice, "1.1.0").split("<main>")[1]
    refusal = main[main.index('class="refused-top"') : main.index('class="facts"')]
    assert "production is locked by bob: INC-7 payment outage" in refusal
    assert "<form" not in main


# --- Rolled back: carried where it is offered, a reason to promote again ----------


@pytest.fixture
def rolled_back_in_production(path):
    """1.1.0 went to production and the engine rolled it back on the error rate."""
    web, old, new = path
    production = Environment.objects.get(name="production")
    failed = ended(new, production, DeploymentState.ROLLED_BACK, minutes_ago=5, reason=ERROR_RATE)
    return web, old, new, failed


def test_a_release_rolled_back_from_production_carries_it_where_it_is_offered(
    client, alice, rolled_back_in_production
):
    html = page(client, alice)
    production = panel(html, "production")
    assert "1.1.0 was rolled back from production at" in production
    assert f"{ERROR_RATE}. Promoting it again asks for a reason." in production
    # Production's promotion goes through the confirmation page, where the reason is asked.
    assert 'method="get" action="/services/web/promote/production/confirm/"' in production
    confirm = confirmation(client, alice, "1.1.0")
    assert "1.1.0 was rolled back from production at" in confirm and ERROR_RATE in confirm
    assert 'name="repromotion_reason" required' in confirm
    assert "Promote 1.1.0 to production again</button>" in confirm


def test_the_first_environment_s_select_names_where_a_release_was_rolled_back(
    client, alice, rolled_back_in_production
):
    web, *_ = rolled_back_in_production
    make_release(web, "1.2.0")
    Deployment.objects.filter(environment__name="development", release__version="1.1.0").delete()
    development = panel(page(client, alice), "development")
    assert ">1.1.0 (rolled back from production)</option>" in development
    assert "1.1.0 was rolled back from production at " in development


def test_promoting_it_again_without_a_reason_is_refused_and_with_one_it_is_kept(
    client, alice, rolled_back_in_production
):
    client.force_login(alice)
    url = "/services/web/promote/production/"
    refused = client.post(url, {"version": "1.1.0", "repromotion_reason": "   "})
    assert refused.status_code == 302 and refused.url == "/services/web/"
    assert (
        "takes an explicit confirmation with a reason" in client.get(refused.url).content.decode()
    )
    assert not Deployment.objects.filter(state=DeploymentState.PENDING).exists()

    done = client.post(url, {"version": "1.1.0", "repromotion_reason": "fixed by config PR 81"})
    deployment = Deployment.objects.get(state=DeploymentState.PENDING)
    assert done.url == f"/deployments/{deployment.pk}/"
    assert deployment.repromotion_reason == "fixed by config PR 81"
    requested = AuditEvent.objects.get(action="deployment.requested", deployment=deployment)
    assert requested.detail["repromotion_reason"] == "fixed by config PR 81"
    shown = client.get(done.url).content.decode()
    assert "promoted it again because: “fixed by config PR 81”" in shown
    timeline = client.get("/environments/production/timeline/").content.decode()
    assert "fixed by config PR 81" in timeline


def test_a_rollback_by_hand_marks_the_release_it_undid(client, alice, bob, path):
    _web, old, new = path
    production = Environment.objects.get(name="production")
    undone = ended(new, production, minutes_ago=10)
    rolled_back_by_hand("production", old, undone, bob)
    confirm = confirmation(client, alice, "1.1.0")
    assert "1.1.0 was rolled back from production at" in confirm
    assert "(by hand, by bob)" in confirm and 'name="repromotion_reason"' in confirm


def test_a_later_success_there_clears_the_mark(client, alice, rolled_back_in_production):
    _web, _old, new, _failed = rolled_back_in_production
    assert "rolled back from" in confirmation(client, alice, "1.1.0")
    ended(new, Environment.objects.get(name="production"))  # promoted again, and it held
    assert "rolled back from" not in confirmation(client, alice, "1.1.0")


# --- What changes: the releases between, and which succeeded upstream -------------


def test_what_changes_marks_the_releases_that_never_went_through_upstream(client, alice, path):
    web, old, _new = path
    skipped = make_release(web, "1.0.5")  # between by version, never deployed anywhere
    html = confirmation(client, alice, "1.1.0")
    rows = html[html.index('class="list changes cards"') : html.index("<h2>Gates</h2>")]
    newer, hotfix = rows.split("<tr>")[2:4]
    assert "1.1.0" in newer and "never deployed" not in newer
    assert skipped.version in hotfix and "never deployed to staging" in hotfix
    assert old.version not in rows


def test_what_changes_says_a_release_that_ran_upstream_and_failed_never_succeeded_there(
    client, alice, path
):
    web, _old, _new = path
    tried = make_release(web, "1.0.7")
    staging = Environment.objects.get(name="staging")
    ended(tried, staging, DeploymentState.ROLLED_BACK, reason=ERROR_RATE, started_at=timezone.now())
    html = confirmation(client, alice, "1.1.0")
    rows = html[html.index('class="list changes cards"') : html.index("<h2>Gates</h2>")]
    row = next(row for row in rows.split("<tr>") if "1.0.7" in row)
    assert "never succeeded in staging" in row and "never deployed" not in row


def test_a_mark_whose_stored_reason_ends_a_sentence_reads_with_one_full_stop(client, alice, path):
    _web, _old, new = path
    production = Environment.objects.get(name="production")
    ended(
        new, production, DeploymentState.ROLLED_BACK, reason=f"{ERROR_RATE}; rolled back to 1.0.0."
    )
    production_panel = panel(page(client, alice), "production")
    assert "rolled back to 1.0.0. Promoting it again asks for a reason." in production_panel
    assert ".." not in production_panel
