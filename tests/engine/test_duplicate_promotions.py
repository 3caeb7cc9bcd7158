"""Two quick Promote clicks: the database, not a check before the transaction, keeps one
active promotion of a release per environment; the loser is told which deployment to
follow, on the page, in the API and on the command line."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from deployments.engine import DeploymentRequestError, request_deployment
from deployments.models import Deployment
from deployments.states import DeploymentState, Trigger
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.waiting import wait_for

REFUSAL = (
    "web 1.1.0 is already on its way to staging: #{pk} ({state}); follow it or cancel it first."
)


@pytest.fixture
def path(db):
    """development → staging; web 1.1.0 succeeded in development, 1.0.0 runs in staging."""
    development = make_environment("development")
    staging = make_environment("staging", promotes_from=development)
    web = make_service("web")
    old, new = make_release(web, "1.0.0"), make_release(web, "1.1.0")
    for release, environment in ((old, development), (old, staging), (new, development)):
        make_deployment(
            release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    return new, staging


def active(release, environment, trigger=Trigger.PROMOTE, state=DeploymentState.QUEUED):
    return make_deployment(release, environment, trigger=trigger, state=state)


# --- The constraint ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("second", [Trigger.PROMOTE, Trigger.API])
@pytest.mark.parametrize("state", [DeploymentState.PENDING, DeploymentState.RUNNING])
def test_the_database_refuses_a_second_active_promotion_of_a_release(path, second, state):
    release, staging = path
    active(release, staging, state=state)
    with pytest.raises(IntegrityError), transaction.atomic():
        active(release, staging, trigger=second)


@pytest.mark.django_db
@pytest.mark.parametrize("trigger", [Trigger.ROLLBACK, Trigger.BREAK_GLASS])
def test_a_rollback_or_break_glass_of_a_release_on_its_way_is_not_held_by_the_constraint(
    path, trigger
):
    release, staging = path
    active(release, staging)
    active(release, staging, trigger=trigger)
    assert Deployment.objects.filter(release=release, environment=staging).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ended", [DeploymentState.SUPERSEDED, DeploymentState.CANCELLED, DeploymentState.FAILED]
)
def test_a_promotion_that_ended_does_not_hold_the_next_one(path, ended):
    release, staging = path
    active(release, staging, state=ended)
    active(release, staging)  # no IntegrityError
    assert Deployment.objects.filter(release=release, environment=staging).count() == 2


# --- Two requests at once -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_promotions_requested_at_once_create_one_deployment_and_the_other_is_told_which(
    path, alice, bob
):
    """Both requests pass every check before either commits (the first holds its
    transaction open until the second waits on the unique index): the constraint alone
    decides, and the loser's answer names the winner."""
    inserted, answers = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                answers["first"] = request_deployment("web", "1.1.0", "staging", actor=alice)
                inserted.set()
                wait_for(lambda: _waiting_on_a_lock() or "second" in answers)
        except Exception as exc:
            answers["first"] = exc
            inserted.set()
        finally:
            connection.close()

    def second():
        inserted.wait()
        try:
            answers["second"] = request_deployment("web", "1.1.0", "staging", actor=bob)
        except Exception as exc:
            answers["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winner = Deployment.objects.get(environment__name="staging", release__version="1.1.0")
    assert answers["first"] == winner
    assert isinstance(answers["second"], DeploymentRequestError), answers["second"]
    assert str(answers["second"]) == REFUSAL.format(pk=winner.pk, state="pending")
    assert answers["second"].existing.pk == winner.pk


def _waiting_on_a_lock() -> bool:
    """Another session of this database waits on a lock (the second INSERT)."""
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views keep their first snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


# --- What people, scripts and the command line are told --------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "bob", "carol"])
def test_a_second_promote_click_is_refused_naming_the_deployment_to_follow(
    client, path, persona, request
):
    client.force_login(request.getfixturevalue(persona))
    first = client.post("/services/web/promote/staging/", {"version": "1.1.0"})
    again = client.post("/services/web/promote/staging/", {"version": "1.1.0"})

    deployment = Deployment.objects.get(environment__name="staging", release__version="1.1.0")
    assert first.url == f"/deployments/{deployment.pk}/"
    assert again.status_code == 302 and again.url == "/services/web/"
    page = client.get(again.url).content.decode()
    assert REFUSAL.format(pk=deployment.pk, state="pending") in page


@pytest.mark.django_db
def test_an_outsiders_duplicate_promotion_is_403_for_not_being_allowed(client, path, oscar):
    release, staging = path
    active(release, staging)
    client.force_login(oscar)
    response = client.post("/services/web/promote/staging/", {"version": "1.1.0"})
    assert response.status_code == 403
    assert "oscar may not deploy to staging" in response.content.decode()
    assert Deployment.objects.filter(release=release, environment=staging).count() == 1


@pytest.mark.django_db
def test_the_promote_command_refuses_a_duplicate_naming_the_deployment(path):
    release, staging = path
    existing = active(release, staging)
    with pytest.raises(CommandError) as refused:
        call_command("promote", "web", "1.1.0", "--to", "staging")
    assert str(refused.value) == REFUSAL.format(pk=existing.pk, state="queued")


@pytest.mark.django_db
def test_the_migration_names_duplicates_left_from_before_instead_of_failing_blindly(path):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("deployments.migrations.0012_one_active_promotion_per_release")
    release, staging = path
    constraint = next(
        c for c in Deployment._meta.constraints if c.name == "one_active_promotion_per_release"
    )
    with connection.schema_editor() as editor:  # rolled back with the test's transaction
        editor.remove_constraint(Deployment, constraint)
    first, second = active(release, staging), active(release, staging, trigger=Trigger.API)

    with pytest.raises(RuntimeError) as refused:
        migration.refuse_duplicates(apps, None)
    assert f"(#{first.pk}, #{second.pk})" in str(refused.value)
    assert "Cancel all but one of each group" in str(refused.value)
