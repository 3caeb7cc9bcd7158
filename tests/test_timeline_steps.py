"""The environment timeline reads as decisions and deployments by default; the steps'
own entries (each start and end, which worker ran it) come on request, by a plain link
that works without JavaScript and that the live page keeps."""

import pytest

from deployments import engine
from tests.test_timeline_page import URL, entry_ids, history
from tests.timeline_world import (
    make_path,
    page_of,
    past_the_checklist,
    promoted_through_the_gates,
    run_steps,
)
from web.timeline_kinds import EntryKind

pytestmark = pytest.mark.django_db

STEP_NOISE = ["Roll out: started (attempt 1)", "Roll out: succeeded", "Approval: succeeded"]
DECISIONS = ["alice requested a promotion", "bob approved it", "Ended: succeeded"]


@pytest.fixture
def world(db):
    return make_path()


def sentences(environment, query: str = "") -> list[str]:
    return [entry.sentence for entry in page_of(environment, query).entries]


def test_by_default_the_timeline_shows_decisions_and_leaves_the_steps_entries_out(
    world, alice, bob
):
    promoted_through_the_gates(alice, bob)
    shown = sentences(world.production)
    assert all(decision in shown for decision in DECISIONS), shown
    assert not any(noise in shown for noise in STEP_NOISE), shown
    every = sentences(world.production, "steps=shown")
    assert all(noise in every for noise in STEP_NOISE) and set(shown) < set(every)


def test_a_step_that_failed_is_news_and_stays_on_the_default_timeline(world, bob):
    deployment = engine.break_glass(bob, "web", "1.1.0", "production", "web is down")
    past_the_checklist(bob, deployment)
    run_steps(deployment, ok=False, reason="rollout timed out after 5m")
    shown = sentences(world.production)
    assert "Roll out: failed" in shown and "Roll out: started (attempt 1)" not in shown


def test_ticking_the_steps_kind_shows_them_whatever_the_default(world, alice, bob):
    promoted_through_the_gates(alice, bob)
    shown = sentences(world.production, f"kind={EntryKind.STEP}")
    assert "Roll out: succeeded" in shown and "bob approved it" not in shown


def test_a_plain_link_shows_the_steps_and_another_hides_them_again(world, alice, bob, client):
    promoted_through_the_gates(alice, bob)
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert '<a href="?steps=shown">Show every step and worker entry too</a>' in html
    assert "Roll out: succeeded" not in html
    shown = client.get(URL, {"steps": "shown"}).content.decode()
    assert "Roll out: succeeded" in shown and "bob approved it" in shown
    assert '<a href="?">Show decisions and deployments only</a>' in shown
    assert '<input type="hidden" name="steps" value="shown">' in shown  # the form keeps it


def test_the_link_keeps_the_filters_and_pages_keep_the_choice(world, alice, bob, client):
    history(world, alice, bob)
    client.force_login(alice)
    html = client.get(URL, {"service": "web"}).content.decode()
    assert '<a href="?service=web&amp;steps=shown">' in html
    page = page_of(world.production, "service=web&steps=shown", size=3)
    assert page.older.startswith("service=web&steps=shown&before=")


def test_the_live_fetch_of_a_page_showing_steps_brings_the_steps_entries(world, alice, bob, client):
    promoted_through_the_gates(alice, bob)
    client.force_login(alice)
    quiet = client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    full = client.get(URL, {"steps": "shown"}, HTTP_HX_REQUEST="true").content.decode()
    assert len(entry_ids(full)) > len(entry_ids(quiet)) and "Roll out: succeeded" in full


def test_an_unknown_steps_value_is_refused_saying_what_to_write(world, alice, bob, client):
    history(world, alice, bob)
    client.force_login(alice)
    response = client.get(URL, {"steps": "yes"})
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html
    assert "steps=yes is not a choice: steps=shown shows every step and worker entry" in html
    assert entry_ids(html) == []
