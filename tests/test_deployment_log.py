"""The deployment page's log and live reads: the last lines at once, earlier ones by
`seq` on request (htmx and without JavaScript), grouped by step with timestamps, and
this person's sections out of band for the page to fetch when its stream says so."""

import re

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.events import emit, emit_lines
from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE_LINES = 5


@pytest.fixture(autouse=True)
def short_pages(settings):
    settings.PORTAL_LOG_PAGE_LINES = PAGE_LINES


@pytest.fixture
def running(alice):
    """A running deployment: its rollout step runs, its smoke tests wait their turn."""
    environment = make_environment("staging", required_approvals=1, approver_group="lead")
    deployment = make_deployment(
        make_release(make_service("web"), "2.0.0"), environment, requested_by=alice,
        state=DeploymentState.RUNNING, started_at=timezone.now(),
    )  # fmt: skip
    Step.objects.create(
        deployment=deployment, kind=StepKind.ROLLOUT, position=1, state=StepState.RUNNING,
        started_at=timezone.now(),
    )  # fmt: skip
    Step.objects.create(deployment=deployment, kind=StepKind.SMOKE, position=2)
    return deployment


def steps_of(deployment):
    return {step.kind: step for step in deployment.steps.all()}


def emit_numbered(deployment, step, count: int, start: int = 1) -> None:
    emit_lines(
        deployment.pk, step.pk if step else None, [f"line {n}" for n in range(start, start + count)]
    )


def rendered_seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'class="line" id="l\d+" data-seq="(\d+)"', html)]


def step_headers(html: str) -> list[str]:
    return re.findall(r'<span class="log-step" data-step="\d*">([^<\n]*)', html)


def get_page(client, deployment, **headers) -> str:
    response = client.get(f"/deployments/{deployment.pk}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_renders_the_last_lines_and_a_link_to_the_earlier_ones(client, oscar, running):
    emit_numbered(running, steps_of(running)["rollout"], 12)
    client.force_login(oscar)
    page = get_page(client, running)
    assert rendered_seqs(page) == [8, 9, 10, 11, 12]
    assert f'href="/deployments/{running.pk}/log/?before=8#log"' in page
    assert "Show earlier lines" in page
    # The stream resumes after the last line rendered.
    assert 'data-after="12"' in page


def test_a_short_log_has_no_earlier_link(client, oscar, running):
    emit_numbered(running, steps_of(running)["rollout"], PAGE_LINES)
    client.force_login(oscar)
    page = get_page(client, running)
    assert rendered_seqs(page) == [1, 2, 3, 4, 5]
    assert "Show earlier lines" not in page


def test_each_line_has_its_time_and_each_step_group_a_header(client, oscar, running):
    steps = steps_of(running)
    emit_numbered(running, steps["rollout"], 2)
    emit_numbered(running, steps["smoke"], 2, start=3)
    client.force_login(oscar)
    page = get_page(client, running)
    assert step_headers(page) == ["Roll out", "Smoke tests"]
    line = re.search(
        r'<span class="line" id="l1"[^>]*><time datetime="([^"]+)">(\d\d:\d\d:\d\d)</time> line 1',
        page,
    )
    assert line, "a line carries its timestamp"
    assert timezone.datetime.fromisoformat(line.group(1)).strftime("%H:%M:%S") == line.group(2)


def test_the_window_starts_with_its_steps_header_even_mid_step(client, oscar, running):
    emit_numbered(running, steps_of(running)["rollout"], 12)
    client.force_login(oscar)
    assert step_headers(get_page(client, running)) == ["Roll out"]


def test_log_text_stays_text(client, oscar, running):
    emit(running.pk, None, "</pre><script>alert(1)</script>")
    client.force_login(oscar)
    page = get_page(client, running)
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_htmx_asks_for_the_lines_before_a_seq_and_gets_them_with_the_next_link(
    client, oscar, running
):
    emit_numbered(running, steps_of(running)["rollout"], 12)
    client.force_login(oscar)
    response = client.get(f"/deployments/{running.pk}/log/?before=8", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert rendered_seqs(body) == [3, 4, 5, 6, 7]
    assert step_headers(body) == ["Roll out"]
    assert re.search(r'id="log-earlier"[^>]* hx-swap-oob="true" href="[^"]*\?before=3#log"', body)
    first = client.get(f"/deployments/{running.pk}/log/?before=3", **HTMX).content.decode()
    assert rendered_seqs(first) == [1, 2]
    assert '<span id="log-earlier" hx-swap-oob="true" hidden>' in first  # nothing earlier


def test_without_javascript_the_earlier_link_shows_the_page_with_that_window(
    client, oscar, running
):
    emit_numbered(running, steps_of(running)["rollout"], 12)
    client.force_login(oscar)
    response = client.get(f"/deployments/{running.pk}/log/?before=8")
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert rendered_seqs(page) == [3, 4, 5, 6, 7]
    assert "?before=3#log" in page  # still earlier
    assert "?before=13#log" in page and "Latest lines" in page  # and back towards the tail
    # An earlier window is read as it is: the page does not stream onto it.
    assert 'id="live-bar"' not in page


@pytest.mark.parametrize("before", ["", "abc", "0", "-4"])
def test_a_before_that_is_not_a_line_number_is_a_400(client, oscar, running, before):
    client.force_login(oscar)
    response = client.get(f"/deployments/{running.pk}/log/?before={before}")
    assert response.status_code == 400
    assert "line number" in response.content.decode()


def test_the_log_of_an_unknown_deployment_is_a_404(client, oscar):
    client.force_login(oscar)
    assert client.get("/deployments/999999/log/?before=3").status_code == 404
    assert client.get("/deployments/999999/sections/").status_code == 404


def test_the_page_queries_do_not_grow_with_the_log(
    client, oscar, alice, django_assert_num_queries, settings
):
    settings.PORTAL_LOG_PAGE_LINES = 300
    environment = make_environment("production")
    service = make_service("api")
    sizes = {}
    for count, version in ((10, "1.0.0"), (5000, "1.0.1")):
        deployment = make_deployment(
            make_release(service, version), environment, requested_by=alice
        )
        step = Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)
        emit_lines(deployment.pk, step.pk, [f"line {n}" for n in range(count)])
        sizes[count] = deployment
    client.force_login(oscar)
    get_page(client, sizes[10])  # warm the session
    with CaptureQueriesContext(connection) as small:
        page = get_page(client, sizes[10])
    assert len(rendered_seqs(page)) == 10
    with django_assert_num_queries(len(small.captured_queries)):
        page = get_page(client, sizes[5000])
    assert rendered_seqs(page) == list(range(4701, 5001))


# Sections: this person's partials, out of band


def test_sections_are_this_persons_partials_swapped_out_of_band(client, bob, running):
    running.state = DeploymentState.PENDING
    running.save()
    Step.objects.filter(deployment=running).delete()
    Step.objects.create(
        deployment=running, kind=StepKind.PRE_CHECKS, position=1, state=StepState.SUCCEEDED
    )
    Step.objects.create(
        deployment=running, kind=StepKind.APPROVAL, position=2, state=StepState.WAITING
    )
    client.force_login(bob)
    response = client.get(f"/deployments/{running.pk}/sections/", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    for element in (
        '<div id="status" data-state="pending" hx-swap-oob="true"',
        '<section id="controls" hx-swap-oob="true"',
        '<section id="approvals" hx-swap-oob="true"',
        '<div id="checklist" hidden hx-swap-oob="true"',  # a place for it, should it appear
    ):
        assert element in body
    assert 'value="approve"' in body  # bob, a lead, may approve alice's deployment
    assert "⊘ Cancel deployment" in body  # and cancel it
    client.force_login(running.requested_by)
    body = client.get(f"/deployments/{running.pk}/sections/", **HTMX).content.decode()
    assert 'value="approve"' not in body  # alice may not approve her own
    assert "You requested it, so a lead (or an admin) other than you approves it." in body


def test_sections_carry_no_flash_message_and_leave_it_for_the_page(client, bob, running):
    client.force_login(bob)
    response = client.post(f"/deployments/{running.pk}/cancel/")
    assert response.status_code == 302, response.content.decode()[:3000]
    body = client.get(f"/deployments/{running.pk}/sections/", **HTMX).content.decode()
    assert "Cancel requested by bob" in body  # the controls say so
    assert 'class="message' not in body
    assert 'class="message success"' in get_page(client, running)


def test_sections_carry_the_facts_that_change_as_it_runs(client, oscar, running):
    running.started_at = timezone.now()
    running.previous_images = {"vizora-api": {"api": "registry.local/api:1.0.0"}}
    running.save()
    client.force_login(oscar)
    body = client.get(f"/deployments/{running.pk}/sections/", **HTMX).content.decode()
    facts = body[body.index('<dl class="facts" id="facts" hx-swap-oob="true"') :]
    assert "<dt>Started</dt>" in facts and "api=registry.local/api:1.0.0" in facts


def test_sections_include_a_break_glass_review_out_of_band(client, bob, running):
    running.trigger = "break_glass"
    running.break_glass_reason = "checkout is down"
    running.save()
    client.force_login(bob)
    body = client.get(f"/deployments/{running.pk}/sections/", **HTMX).content.decode()
    assert '<section id="break-glass" hx-swap-oob="true"' in body
    assert "checkout is down" in body


def test_a_live_page_served_over_asgi_has_the_stream_and_sections_urls_and_a_hint(oscar, running):
    client = AsyncClient()
    client.force_login(oscar)
    response = async_to_sync(client.get)(f"/deployments/{running.pk}/")
    page = response.content.decode()
    assert f'data-events-url="/deployments/{running.pk}/events/"' in page
    assert f'data-sections-url="/deployments/{running.pk}/sections/"' in page
    assert "reload the page to see its progress" in page
    assert "Now: step 1 of 2, <strong>Roll out</strong> (running)" in page


def test_a_live_page_served_over_wsgi_keeps_its_reload_hint_and_opens_no_stream(
    client, oscar, running
):
    """A WSGI server (runserver, a test's live_server) cannot stream: no stream URL."""
    client.force_login(oscar)
    page = get_page(client, running)
    assert "data-events-url" not in page
    assert "reload the page to see its progress" in page


def test_a_finished_page_does_not_stream(client, oscar, running):
    running.state = DeploymentState.SUCCEEDED
    running.finished_at = timezone.now()
    running.save()
    client.force_login(oscar)
    page = get_page(client, running)
    assert 'id="live-bar"' not in page and "reload the page" not in page
    assert "Now:" not in page
