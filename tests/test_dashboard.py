"""The dashboard (issue 9, item 5): what runs and, apart from it, the latest attempt
that did not succeed; what waits for the signed-in person; what is in flight; locks
and freezes in force; break-glass reviews outstanding; a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Environment
from deployments import engine
from deployments.models import Approval, ChecklistItem, Step
from deployments.states import DeploymentState, StepKind, StepState, Trigger, Verification
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    development = make_environment("development", position=0)
    production = make_environment(
        "production", position=1, promotes_from=development, required_approvals=1
    )
    return make_service("web"), development, production


def dashboard(client, user) -> str:
    client.force_login(user)
    return client.get("/").content.decode()


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def succeeded(release, environment, **fields):
    return make_deployment(
        release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now(), **fields
    )


def waiting_for_approval(release, environment, requester):
    """A production deployment whose approval gate has been reached (asked)."""
    deployment = make_deployment(release, environment, requested_by=requester)
    Step.objects.create(
        deployment=deployment, kind=StepKind.APPROVAL, position=1, state=StepState.WAITING
    )
    return deployment


def item(deployment, phase: str, text: str, mode: str = "manual", position: int = 1, **fields):
    return ChecklistItem.objects.create(
        deployment=deployment, position=position, phase=phase, text=text, mode=mode, **fields
    )


# --- The matrix --------------------------------------------------------------------


def test_a_failed_attempt_shows_apart_from_what_runs(client, alice, catalog):
    web, development, _ = catalog
    succeeded(make_release(web, "1.0.0"), development)
    failed = make_deployment(
        make_release(web, "1.1.0"), development, state=DeploymentState.FAILED,
        created_at=timezone.now() - timedelta(hours=2), finished_at=timezone.now(),
    )  # fmt: skip
    html = dashboard(client, alice)
    assert ">1.0.0</a>" in html  # still what runs
    assert ">Failed 1.1.0</a>" in html
    # When it ended, as the rolled-back marks say, not when it was asked for.
    ended = timezone.localtime(failed.finished_at)
    assert f"latest attempt, ended {ended:%-d %b %H:%M}" in html


def test_a_rolled_back_attempt_shows_when_nothing_ran_before(client, alice, catalog):
    web, development, _ = catalog
    make_deployment(make_release(web, "1.0.0"), development, state=DeploymentState.ROLLED_BACK)
    html = dashboard(client, alice)
    assert "nothing deployed yet" in html and ">Rolled back 1.0.0</a>" in html


def test_an_attempt_older_than_what_runs_is_not_shown(client, alice, catalog):
    web, development, _ = catalog
    make_deployment(make_release(web, "1.0.0"), development, state=DeploymentState.FAILED)
    succeeded(make_release(web, "1.1.0"), development)
    assert "latest attempt" not in dashboard(client, alice)


def test_a_waiting_deployment_shows_in_its_cell_with_its_reason(client, alice, catalog):
    web, _, production = catalog
    deployment = waiting_for_approval(make_release(web, "2.0.0"), production, alice)
    deployment.reason = "Waiting for 1 approval from lead."
    deployment.save()
    html = dashboard(client, alice)
    assert ">Pending 2.0.0</a>" in html and "Waiting for 1 approval from lead." in html


# --- Waiting for you ---------------------------------------------------------------


def test_a_lead_sees_the_approval_that_asks_for_them(client, alice, bob, catalog):
    web, _, production = catalog
    deployment = waiting_for_approval(make_release(web, "2.0.0"), production, alice)
    waiting = section(dashboard(client, bob), "waiting")
    assert "Waiting for you (1)" in waiting
    assert (
        f'href="/deployments/{deployment.pk}/">#{deployment.pk} web 2.0.0 → production' in waiting
    )


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_the_requester_and_outsiders_are_not_asked_to_approve(
    client, alice, catalog, persona, request
):
    web, _, production = catalog
    waiting_for_approval(make_release(web, "2.0.0"), production, alice)
    waiting = section(dashboard(client, request.getfixturevalue(persona)), "waiting")
    assert "Nothing waits for you" in waiting


def test_an_approval_not_asked_yet_or_decided_already_is_not_listed(
    client, alice, bob, carol, catalog
):
    web, _, production = catalog
    not_asked = make_deployment(make_release(web, "2.0.0"), production, requested_by=alice)
    Step.objects.create(deployment=not_asked, kind=StepKind.APPROVAL, position=1)
    decided = waiting_for_approval(make_release(web, "2.1.0"), production, alice)
    Approval.objects.create(deployment=decided, user=bob, decision="approve")
    assert "Nothing waits for you" in section(dashboard(client, bob), "waiting")
    assert "web 2.1.0 → production" in section(dashboard(client, carol), "waiting")


def test_checklist_items_are_listed_for_who_may_answer_them(client, alice, bob, catalog):
    web, _, production = catalog
    pending = make_deployment(make_release(web, "2.0.0"), production, requested_by=alice)
    backup = item(pending, "pre", "Database backup taken")
    item(pending, "pre", "Error rate below 1%", mode="automatic", position=2, state="failed",
         evidence="Error rate peaked at 0.2/s.")  # fmt: skip
    item(pending, "pre", "Secrets configured", mode="automatic", position=3)  # being checked
    done = succeeded(
        make_release(web, "1.9.0"), production, requested_by=alice, verification=Verification.OPEN
    )
    flows = item(done, "post", "Test critical user flows")
    lead = section(dashboard(client, bob), "waiting")
    assert "Waiting for you (3)" in lead
    assert f"/deployments/{pending.pk}/#item-{backup.pk}" in lead
    assert f"/deployments/{done.pk}/#item-{flows.pk}" in lead
    # A failed check holds the deployment: a lead may waive it, so it is listed for leads.
    assert "Error rate below 1%" in lead and "held: Error rate peaked at 0.2/s." in lead
    assert "Secrets configured" not in lead  # the portal is still checking it
    engineer = section(dashboard(client, alice), "waiting")  # she requested both
    assert "Test critical user flows" in engineer and "Database backup taken" not in engineer
    assert "Error rate below 1%" not in engineer


def test_answered_items_and_items_of_ended_deployments_are_not_listed(client, bob, catalog):
    web, _, production = catalog
    answered = make_deployment(make_release(web, "2.0.0"), production)
    backup = item(answered, "pre", "Database backup taken")
    ChecklistItem.objects.filter(pk=backup.pk).update(state="passed")
    failed = make_deployment(make_release(web, "2.1.0"), production, state=DeploymentState.FAILED)
    item(failed, "pre", "Announce in #deploys")
    assert "Nothing waits for you" in section(dashboard(client, bob), "waiting")


# --- In flight, in force, reviews --------------------------------------------------


def test_deployments_in_flight_are_listed_with_their_state(client, alice, catalog):
    web, development, _ = catalog
    running = make_deployment(make_release(web, "3.0.0"), development, state="running")
    succeeded(make_release(web, "2.9.0"), development)
    flight = section(dashboard(client, alice), "in-flight")
    assert f"#{running.pk}</a>" in flight and "Running</span>" in flight
    assert "2.9.0" not in flight


def test_locks_and_freezes_in_force_say_who_why_and_until_when(client, alice, bob, catalog):
    engine.lock(bob, "production", "INC-42 failover")
    end = timezone.now() + timedelta(days=2)
    Environment.objects.filter(name="development").update(
        freeze_windows=[{
            "name": "holidays", "timezone": "UTC",
            "from": (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "to": end.strftime("%Y-%m-%dT%H:%M"),
        }]
    )  # fmt: skip
    html = dashboard(client, alice)
    force = section(html, "in-force")
    assert "<strong>production</strong> by bob since" in force and "INC-42 failover" in force
    assert f"<strong>development</strong> until {end:%a %-d %b %H:%M} UTC" in force
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert "locked</span>" in head and "by bob at" in head and "INC-42 failover" in head


def test_outstanding_break_glass_reviews_are_listed_until_reviewed(client, bob, carol, catalog):
    web, _, production = catalog
    deployment = succeeded(
        make_release(web, "4.0.0"), production, requested_by=bob,
        trigger=Trigger.BREAK_GLASS, break_glass_reason="Payments down",
    )  # fmt: skip
    reviews = section(dashboard(client, carol), "reviews")
    assert f"#{deployment.pk} web 4.0.0 → production" in reviews and "Payments down" in reviews
    assert "you may review it" in reviews
    assert "you may review it" not in section(dashboard(client, bob), "reviews")  # his own
    waiting = section(dashboard(client, carol), "waiting")
    assert "review</span>" in waiting and f"#{deployment.pk} web 4.0.0" in waiting
    assert f"#{deployment.pk} web 4.0.0" not in section(dashboard(client, bob), "waiting")
    assert "⚠ break-glass" in dashboard(client, bob).split('id="reviews"')[0]  # the matrix
    engine.review_break_glass(carol, deployment.pk, "Checked the diff and the logs")
    assert 'id="reviews"' not in dashboard(client, carol)


# --- Query counts ------------------------------------------------------------------


def grow_history(alice, environments, services, start: int, n: int) -> None:
    for i in range(start, start + n):
        for service in services:
            release = make_release(service, f"1.{i}.0")
            for environment in environments:
                succeeded(release, environment, requested_by=alice)
                make_deployment(release, environment, state=DeploymentState.FAILED)
            pending = waiting_for_approval(release, environments[-1], alice)
            item(pending, "pre", "Database backup taken")
            done = succeeded(
                release, environments[-1], requested_by=alice, verification=Verification.OPEN
            )
            item(done, "post", "Test critical user flows")
            succeeded(
                release, environments[0], requested_by=alice,
                trigger=Trigger.BREAK_GLASS, break_glass_reason="hotfix",
            )  # fmt: skip


def test_dashboard_queries_do_not_grow_with_history(
    client, alice, bob, catalog, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web, *environments = catalog
    services = [web, make_service("api")]
    grow_history(alice, environments, services, 0, 1)
    client.force_login(bob)
    with CaptureQueriesContext(connection) as few:  # 2 approvals, 4 items, 2 reviews
        assert "Waiting for you (8)" in client.get("/").content.decode()
    grow_history(alice, environments, services, 1, 8)
    with django_assert_num_queries(len(few)):
        assert "Waiting for you (72)" in client.get("/").content.decode()


def test_a_break_glass_deployment_is_flagged_in_the_matrix(client, alice, catalog):
    web, _, production = catalog
    make_deployment(
        make_release(web, "5.0.0"), production, state=DeploymentState.RUNNING,
        trigger=Trigger.BREAK_GLASS, break_glass_reason="hotfix",
    )  # fmt: skip
    matrix = dashboard(client, alice).split("<tbody>")[1].split("</table>")[0]
    assert ">Running 5.0.0</a>" in matrix and "⚠ break-glass" in matrix


def test_a_held_checks_ci_run_is_a_link_for_the_lead(client, alice, bob, catalog):
    web, _, production = catalog
    pending = make_deployment(make_release(web, "2.0.0"), production, requested_by=alice)
    item(pending, "pre", "All tests passing", mode="automatic", state="failed",
         evidence="CI run 3 failed: commit 0123456789ab (https://ci.example/runs/3).")  # fmt: skip
    lead = section(dashboard(client, bob), "waiting")
    assert (
        'held: CI run 3 failed: commit 0123456789ab (<a href="https://ci.example/runs/3" '
        'rel="noopener noreferrer">https://ci.example/runs/3</a>).'
    ) in lead
