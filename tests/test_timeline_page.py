"""The environment timeline page: filters by service, person and kind (a GET form),
keyset pages without gaps or repeats, a fixed number of queries whatever the
history's length, people's text escaped, and a clear refusal of unknown filters."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from catalog.models import Environment
from deployments import engine
from deployments.engine.claims import claim_next_step
from tests.harness.personas import make_persona
from tests.timeline_world import (
    item,
    make_path,
    page_of,
    past_the_checklist,
    promoted_through_the_gates,
    run_steps,
)
from web.timeline import PAGE_SIZE
from web.timeline_kinds import EntryKind

pytestmark = pytest.mark.django_db
URL = "/environments/production/timeline/"


@pytest.fixture
def world(db):
    return make_path()


@pytest.fixture
def dave(db):
    return make_persona("dave", "lead")


def ids(page) -> list[int]:
    return [entry.order for entry in page.entries]


def entry_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li class="entry [^"]*" id="entry-(\d+)"', html)]


def history(world, alice, bob, repromotion_reason=""):
    """web promoted by alice (bob answers and approves), api's break-glass by bob, a lock.
    After a rollback of web, promoting it again takes `repromotion_reason`."""
    promoted_through_the_gates(alice, bob, repromotion_reason=repromotion_reason)
    glass = engine.break_glass(bob, "api", "1.1.0", "production", "api down")
    run_steps(past_the_checklist(bob, glass))
    engine.lock(bob, "production", "incident")
    return glass


def all_rows(environment, **filters) -> list[int]:
    return list(
        AuditEvent.objects.filter(environment=environment, **filters)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )


# --- filters -------------------------------------------------------------------------


def test_the_service_filter_keeps_that_service_and_the_environments_own_entries(world, alice, bob):
    history(world, alice, bob)
    page = page_of(world.production, "service=api&steps=shown")
    lock = AuditEvent.objects.get(action="environment.locked").pk
    api = AuditEvent.objects.filter(environment=world.production, service__name="api")
    assert set(ids(page)) == set(api.values_list("pk", flat=True)) | {lock}
    assert {e.service for e in page.entries} == {"api", ""}
    assert page.lanes == [world.production.lane_set.get(service__name="api").pk]


def test_the_person_filter_keeps_what_that_person_did(world, alice, bob):
    history(world, alice, bob)
    page = page_of(world.production, "person=alice")
    assert [(e.actor, e.sentence) for e in page.entries] == [
        ("alice", "alice requested a promotion")
    ]
    bobs = page_of(world.production, "person=bob")
    assert {e.actor for e in bobs.entries} == {"bob"}
    assert len(bobs.entries) == AuditEvent.objects.filter(actor__username="bob").count()


def test_the_kind_filter_takes_one_kind_or_several(world, alice, bob):
    history(world, alice, bob)
    approvals = page_of(world.production, "kind=approval")
    assert {EntryKind.APPROVAL} <= set().union(*(e.kinds for e in approvals.entries))
    assert all(EntryKind.APPROVAL in e.kinds for e in approvals.entries)
    both = page_of(world.production, "kind=approval&kind=lock")
    assert all({EntryKind.APPROVAL, EntryKind.LOCK} & e.kinds for e in both.entries)
    assert len(both.entries) == len(approvals.entries) + 1


def test_filters_combine(world, alice, bob):
    history(world, alice, bob)
    page = page_of(world.production, "service=api&person=bob&kind=break_glass&kind=lock")
    assert [(e.sentence, e.service) for e in page.entries] == [
        ("bob locked production", ""),
        ("bob requested a break-glass deployment", "api"),
    ]


def test_the_form_works_without_javascript_and_keeps_what_was_asked(world, alice, bob, client):
    history(world, alice, bob)
    client.force_login(alice)
    html = client.get(URL, {"service": "web", "person": "bob", "kind": "approval"}).content.decode()
    assert f'<form method="get" action="{URL}"' in html
    assert '<option value="web" selected>' in html and '<option value="bob" selected>' in html
    assert '<input type="checkbox" name="kind" value="approval" checked>' in html
    assert entry_ids(html) == [
        e.order for e in page_of(world.production, "service=web&person=bob&kind=approval").entries
    ]
    assert "bob approved it" in html and "alice requested" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"service": "nope"}, "There is no service “nope”; choose one from the list."),
        ({"person": "mallory"}, "Nobody is called “mallory”; choose a person from the list."),
        ({"kind": "gossip"}, "The timeline has no kind “gossip”; the kinds are deployment, "),
        ({"before": "yesterday"}, "“yesterday” is not a position on the timeline; start again"),
    ],
    ids=["service", "person", "kind", "position"],
)
def test_an_unknown_filter_value_is_refused_with_a_clear_message(
    world, alice, bob, client, query, message
):
    history(world, alice, bob)
    client.force_login(alice)
    response = client.get(URL, query)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and 'role="alert"' in html
    assert entry_ids(html) == []
    assert "No entries: the filter above could not be used." in html
    assert f'<a href="{URL}">Clear filters</a>' in html


def test_an_unknown_environment_is_404(client, alice, world):
    client.force_login(alice)
    assert client.get("/environments/nowhere/timeline/").status_code == 404


# --- pages ---------------------------------------------------------------------------


def many_rows(environment, count: int, same_moment: int = 0) -> None:
    """`count` rows of the environment, the last `same_moment` of them at one instant
    (ties are ordered by id)."""
    for number in range(count):
        trail.record("environment.noted", environment=environment, number=number)
    if same_moment:
        tied = all_rows(environment)[:same_moment]
        AuditEvent.objects.filter(pk__in=tied).update(created_at=timezone.now())


def follow_pages(environment, query: str = "", size: int = 7, **options) -> list[int]:
    seen, next_query = [], query
    for _ in range(100):
        page = page_of(environment, next_query, size=size, **options)
        assert len(page.entries) <= size
        seen += ids(page)
        if not page.older:
            return seen
        next_query = page.older
    raise AssertionError("more than 100 pages")


def test_older_pages_follow_without_gaps_or_repeats_also_for_entries_of_one_instant(world):
    many_rows(world.production, 40, same_moment=12)
    assert follow_pages(world.production) == all_rows(world.production)


def test_entries_written_while_someone_pages_back_neither_repeat_nor_push_entries_out(world):
    many_rows(world.production, 20)
    before = all_rows(world.production)
    first = page_of(world.production, size=7)
    many_rows(world.production, 9)  # written while the reader looks at page one
    rest = follow_pages(world.production, first.older)
    assert ids(first) + rest == before


def test_filtered_pages_keep_their_filters(world, alice, bob):
    history(world, alice, bob)
    engine.unlock(bob, "production")
    for number in range(2):
        engine.lock(bob, "production", f"incident {number}")
        engine.unlock(bob, "production")
    page = page_of(world.production, "kind=lock", size=2)
    assert page.older.startswith("kind=lock&before=")
    assert follow_pages(world.production, "kind=lock", size=2) == all_rows(
        world.production, action__startswith="environment."
    )


def test_freeze_boundaries_take_their_place_among_the_pages(world):
    weekly = {"name": "nightly", "from": "mon 00:00", "to": "mon 01:00", "timezone": "UTC"}
    Environment.objects.filter(pk=world.production.pk).update(freeze_windows=[weekly])
    production = Environment.objects.get(pk=world.production.pk)
    many_rows(production, 30)
    rows = all_rows(production)
    start = timezone.now() - timedelta(days=40)
    for index, pk in enumerate(reversed(rows)):  # one row a day and a bit, 40 days back
        AuditEvent.objects.filter(pk=pk).update(created_at=start + timedelta(hours=31 * index))
    seen = follow_pages(production, size=6)
    assert [order for order in seen if order > 0] == all_rows(production)
    assert sum(order < 0 for order in seen) >= 10, "a begin and an end on each Monday"
    single = page_of(production, size=500)
    assert [e.order for e in single.entries] == seen, "the pages add up to the whole history"


def test_the_page_links_to_older_entries_and_back_to_the_newest(world, client, alice):
    many_rows(world.production, PAGE_SIZE + 5)
    client.force_login(alice)
    first = client.get(URL).content.decode()
    older = re.search(r'href="\?(before=[^"]+)" rel="next">Older entries', first)
    assert older and len(entry_ids(first)) == PAGE_SIZE
    second = client.get(f"{URL}?{older.group(1)}").content.decode()
    assert len(entry_ids(second)) == 5
    assert set(entry_ids(first)).isdisjoint(entry_ids(second))
    assert f'<a href="{URL}">Back to the newest entries</a>' in second
    assert 'rel="next"' not in second and "The beginning of the recorded history" in second
    assert 'data-stream="' not in second, "only the first page is live"


def test_the_live_fetch_gets_only_the_newest_entries_and_what_is_in_force(world, client, alice):
    many_rows(world.production, 3)
    client.force_login(alice)
    html = client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<section id="timeline-now"')
    assert len(entry_ids(html)) == 3 and "<form" not in html and "<html" not in html


# --- queries -------------------------------------------------------------------------


def queries_of_the_page(client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{URL}?{query}")
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("query", ["", "service=web&kind=approval&kind=lock", "person=bob"])
def test_the_page_costs_the_same_queries_with_a_short_and_a_long_history(
    world, alice, bob, dave, client, query
):
    weekly = {"name": "nightly", "from": "mon 00:00", "to": "mon 01:00", "timezone": "UTC"}
    Environment.objects.filter(pk=world.production.pk).update(freeze_windows=[weekly])
    client.force_login(alice)
    promoted_through_the_gates(alice, bob)
    short = queries_of_the_page(client, query)
    for person in (make_persona(f"lead{n}", "lead") for n in range(3)):
        run_steps(engine.request_rollback("web", "production", to_version="1.0.0", actor=alice))
        glass = history(world, alice, person, repromotion_reason="the rollback was a drill")
        engine.unlock(person, "production")
        engine.review_break_glass(dave, glass.pk, "fine")
    assert AuditEvent.objects.filter(environment=world.production).count() > 2 * PAGE_SIZE
    assert queries_of_the_page(client, query) == short


# --- people's text stays text ---------------------------------------------------------


def test_comments_reasons_and_evidence_are_escaped(world, alice, bob, dave, client):
    script = "<script>alert(1)</script>"
    Environment.objects.filter(pk=world.production.pk).update(required_approvals=2)
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "w")
    engine.answer_item(bob, item(deployment, "Review changes").pk, "passed", f"ok {script}")
    engine.decide(bob, deployment.pk, "approve", f"fine {script}")
    engine.decide(dave, deployment.pk, "reject", f"no {script}")
    engine.lock(bob, "production", f"incident {script}")
    glass = engine.break_glass(bob, "api", "1.1.0", "production", f"down {script}")
    engine.review_break_glass(dave, glass.pk, f"seen {script}")
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "<script>alert" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for text in ("ok", "fine", "no", "Rejected by dave: no", "incident", "down", "seen"):
        assert f"{text} {escaped}" in html, text


def test_a_ci_run_in_an_answers_evidence_is_a_link_and_a_javascript_url_is_not(
    world, alice, bob, client
):
    Environment.objects.filter(pk=world.production.pk).update(required_approvals=2)
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "w")
    evidence = "run https://ci.example/runs/7 green; javascript:alert(1) stays text"
    engine.answer_item(bob, item(deployment, "Review changes").pk, "passed", evidence)
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert (
        'run <a href="https://ci.example/runs/7" rel="noopener noreferrer">'
        "https://ci.example/runs/7</a> green; javascript:alert(1) stays text"
    ) in html
    assert 'href="javascript' not in html


def test_the_dashboard_and_the_service_page_link_to_the_timeline(world, alice, client):
    client.force_login(alice)
    dashboard = client.get("/").content.decode()
    assert f'<a href="{URL}" title="Timeline of production">production</a>' in dashboard
    service = client.get("/services/web/").content.decode()
    assert f'<a href="{URL}?service=web">timeline</a>' in service


def test_a_rare_filter_searches_a_window_at_a_time_and_loses_nothing(world, bob):
    many_rows(world.production, 10)
    engine.lock(bob, "production", "one")
    many_rows(world.production, 25)
    engine.unlock(bob, "production")
    many_rows(world.production, 12)
    first = page_of(world.production, "kind=lock", window=10)
    assert first.entries == [] and first.searched_to is not None
    assert first.older.startswith("kind=lock&before=")
    seen = follow_pages(world.production, "kind=lock", size=7, window=10)
    locks = ["environment.locked", "environment.unlocked"]
    assert seen == all_rows(world.production, action__in=locks)


def test_a_filtered_page_says_how_far_back_it_searched(world, client, alice, bob):
    engine.lock(bob, "production", "one")
    client.force_login(alice)
    html = client.get(URL, {"kind": "lock"}).content.decode()
    assert "Searched back to" not in html, "the whole history fits in one window"
