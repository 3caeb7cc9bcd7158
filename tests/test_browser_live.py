"""The deployment page, live, in real Chromium against uvicorn (Django's test server
cannot stream): the demo's kubesim clusters, a real Celery worker, Redis, PostgreSQL.

- alice promotes and watches the steps and the log reach success without a reload;
- bob ticks a checklist item and approves in his browser context, and alice's page,
  in another, shows each within a second;
- the stream is cut server-side mid-deployment (uvicorn stopped and started again on
  the same port): every line appears exactly once;
- the log follows its tail, stops when the reader scrolls up, and "Jump to live"
  brings the reader back; a section refresh keeps a half-typed comment.
"""

import threading
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from deployments import engine
from deployments.events import emit_lines
from deployments.models import Deployment, LogLine
from deployments.states import DeploymentState
from releases.models import Release
from tests.factories import make_deployment
from tests.harness.browser import launch
from tests.harness.server import PortalServer
from tests.harness.worker import database_url
from tests.test_browser_journey import (  # noqa: F401 (fixtures)
    VERSION,
    demo_kubesim,
    portal_worker,
    prometheus,
    sign_in,
    vizora,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# ms, Playwright's timeout once the other person's action is done: a second, plus
# headroom for CI's 2 cores running another Chromium test alongside (the hub's
# safety poll is 5 s, so this still proves the push; bench_sse measures latency).
WITHIN_A_SECOND = 2000
PEOPLE = {"alice": "alice-password", "bob": "bob-password"}
STARTUP_SECONDS = 90  # uvicorn on a loaded 2-core machine
# Playwright hides the caret with an inline style, which the portal's CSP refuses (and
# the console reports): keep the caret.
SHOT = {"full_page": True, "caret": "initial"}


@pytest.fixture
def portal_server(transactional_db, tmp_path):
    """uvicorn on the test database, Redis and channel prefix, as production runs it."""
    server = PortalServer(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings_test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
        },
        tmp_path / "uvicorn.log",
    )
    try:
        yield server.start(timeout=STARTUP_SECONDS)
    finally:
        server.stop()  # also when it never came up: no uvicorn is left behind


@contextmanager
def browsers(base_url: str, people: dict[str, str]):
    """One Chromium, one signed-in context per person; console errors collected.

    Started after every fixture that writes rows: while Playwright runs, an event
    loop runs in this thread and Django refuses synchronous ORM calls here.
    """
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            pages, errors = {}, []
            for username in people:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.on(
                    "console",
                    lambda message, who=username: (
                        message.type == "error"
                        and errors.append(f"{who}: {message.text} at {message.location}")
                    ),
                )
                sign_in(page, base_url, username, people[username])
                pages[username] = page
            yield pages, errors
        finally:
            browser.close()


def in_thread(function, *args):
    """Run ORM code beside Playwright's event loop (Django refuses it in this thread)."""
    result = {}

    def run():
        try:
            result["value"] = function(*args)
        except Exception as error:  # raised again in the test's thread
            result["error"] = error
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def stored_seqs(deployment_id: int) -> list[int]:
    return list(
        LogLine.objects.filter(deployment_id=deployment_id)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def page_seqs(page: Page) -> list[int]:
    return page.eval_on_selector_all("#log .line", "lines => lines.map(l => Number(l.dataset.seq))")


def count_loads(page: Page) -> list[str]:
    """Whole-page loads from now on (none while the page is live)."""
    loads = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and loads.append(frame.url))
    return loads


def promote_to_development(alice: Page, base_url: str) -> int:
    alice.goto(f"{base_url}/services/middleware/")
    panel = alice.get_by_role("region", name="development", exact=True)
    panel.get_by_label("Version to promote to development").select_option(VERSION)
    panel.get_by_role("button", name="to development").click()
    expect(alice.get_by_text(f"Promoting middleware {VERSION} to development.")).to_be_visible()
    return int(alice.url.rstrip("/").rsplit("/", 1)[1])


@pytest.mark.usefixtures("vizora", "portal_worker")
def test_an_engineer_watches_the_steps_and_log_reach_success_without_a_reload(
    alice, portal_server, tmp_path
):
    with browsers(portal_server.url, {"alice": PEOPLE["alice"]}) as (pages, errors):
        page = pages["alice"]
        deployment_id = promote_to_development(page, portal_server.url)
        loads = count_loads(page)
        expect(page.locator("#live-state")).to_contain_text("Live")
        expect(page.get_by_text("reload the page to see its progress")).to_have_count(0)
        expect(page.locator("#log .line").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "alice-running.png"), **SHOT)
        expect(page.locator("h1 .badge")).to_have_text("✓ Succeeded", timeout=60_000)
        expect(page.locator("#live-state")).to_contain_text("Ended")
        for badge in page.locator("#steps .badge").all():
            expect(badge).to_contain_text("Succeeded")
        page.screenshot(path=str(tmp_path / "alice-succeeded.png"), **SHOT)
        seqs = page_seqs(page)
        assert loads == [], "the page reloaded"
        assert errors == []
    assert seqs == stored_seqs(deployment_id) and seqs
    assert Deployment.objects.get(pk=deployment_id).state == DeploymentState.SUCCEEDED


@pytest.fixture
def production_waiting(request, alice):
    """middleware VERSION, which succeeded in staging, promoted to production by alice:
    it waits for its pre-deployment checklist, then for a lead's approval."""
    staging = request.getfixturevalue("vizora").promotes_from
    release = Release.objects.get(service__name="middleware", version=VERSION)
    make_deployment(
        release, staging, state=DeploymentState.SUCCEEDED, requested_by=alice,
        finished_at=timezone.now(),
    )  # fmt: skip
    return engine.promote(alice, "middleware", VERSION, "production")


def answered(page: Page, path: str):
    """Until the server has answered the form's POST: the second counts from the moment
    the tick or the approval is recorded, not from the click (the POST's own time on a
    loaded machine is not the page's doing)."""
    return page.expect_response(
        lambda response: path in response.url and response.request.method == "POST"
    )


def item(page: Page, text: str):
    return page.locator("#checklist li").filter(has=page.locator("strong", has_text=text))


@pytest.mark.usefixtures("portal_worker")
def test_a_tick_and_an_approval_in_one_context_show_in_the_other_within_a_second(
    alice, bob, production_waiting, portal_server, tmp_path
):
    url = f"{portal_server.url}/deployments/{production_waiting.pk}/"
    with browsers(portal_server.url, PEOPLE) as (pages, errors):
        alice_page, bob_page = pages["alice"], pages["bob"]
        for page in (alice_page, bob_page):
            page.goto(url)
            expect(page.locator("#live-state")).to_contain_text("Live")
        loads = count_loads(alice_page)
        code_review = "Code review approved"
        expect(item(alice_page, code_review).locator(".badge")).to_contain_text("Pending")
        bob_item = item(bob_page, code_review)
        bob_item.get_by_label("Note").fill("diff reviewed")
        with answered(bob_page, "/checklist/"):
            bob_item.get_by_role("button", name="Passed").click()
        expect(item(alice_page, code_review).locator(".badge")).to_contain_text(
            "Passed", timeout=WITHIN_A_SECOND
        )
        expect(item(alice_page, code_review)).to_contain_text("diff reviewed")

        for text in ("Database migrations ready",):
            bob_item = item(bob_page, text)
            bob_item.get_by_role("button", name="Passed").click()
            expect(item(bob_page, text).locator(".badge")).to_contain_text("Passed")
        # The automatic items are the portal's: their verdicts reach both pages too.
        approvals = bob_page.get_by_role("region", name="Approvals")
        expect(approvals).to_contain_text("Waiting for 1 approval from a lead", timeout=30_000)
        expect(alice_page.get_by_role("region", name="Approvals")).to_contain_text(
            "Waiting for 1 approval", timeout=WITHIN_A_SECOND
        )
        alice_page.screenshot(path=str(tmp_path / "alice-waiting-for-approval.png"), **SHOT)
        approvals.get_by_label("Comment").fill("go")
        with answered(bob_page, "/decide/"):
            approvals.get_by_role("button", name="Approve").click()
        expect(alice_page.get_by_role("region", name="Approvals")).to_contain_text(
            "by bob", timeout=WITHIN_A_SECOND
        )
        expect(alice_page.locator("h1 .badge")).to_have_text("✓ Succeeded", timeout=90_000)
        alice_page.screenshot(path=str(tmp_path / "alice-production-succeeded.png"), **SHOT)
        seqs = page_seqs(alice_page)
        assert loads == [] and errors == []
    assert seqs == stored_seqs(production_waiting.pk)


def test_a_stream_cut_server_side_mid_deployment_loses_and_repeats_no_line(
    alice, production_waiting, portal_server, tmp_path
):
    """Lines keep coming while uvicorn is down: the page reconnects and shows each once.

    The lines are emitted by the test, before, during and after the cut, so the cut
    surely falls mid-deployment whatever the machine's speed (a real worker's short
    deployment could end before the server is stopped)."""
    deployment = production_waiting
    step = deployment.steps.order_by("position").first()
    emit = lambda prefix, n: in_thread(  # noqa: E731
        emit_lines, deployment.pk, step.pk, [f"{prefix} {i}" for i in range(n)]
    )
    emit("before the page", 30)
    with browsers(portal_server.url, {"alice": PEOPLE["alice"]}) as (pages, errors):
        page = pages["alice"]
        page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
        expect(page.locator("#live-state")).to_contain_text("Live")
        emit("while watching", 20)
        expect(page.locator("#log .line").last).to_contain_text("while watching 19")
        portal_server.stop()
        expect(page.locator("#live-state")).to_contain_text("Reconnecting", timeout=10_000)
        emit("during the cut", 40)
        lines_at_cut = len(page_seqs(page))
        portal_server.start(timeout=STARTUP_SECONDS)  # the same port
        expect(page.locator("#log .line").last).to_contain_text("during the cut 39", timeout=30_000)
        expect(page.locator("#live-state")).to_contain_text("Live")
        emit("after the cut", 10)
        expect(page.locator("#log .line").last).to_contain_text("after the cut 9")
        seqs = page_seqs(page)
        # The cut itself: the stream broke off, and reconnects were refused while it was down.
        cut = ("ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION_REFUSED")
        assert [error for error in errors if not any(word in error for word in cut)] == []
    stored = stored_seqs(deployment.pk)
    assert lines_at_cut < len(stored), "no line was written while the stream was cut"
    assert len(seqs) == len(set(seqs)), "a line appears twice"
    assert seqs == stored


def test_the_log_follows_its_tail_until_the_reader_scrolls_up(
    alice, production_waiting, portal_server, tmp_path
):
    deployment = production_waiting
    step = deployment.steps.order_by("position").first()
    emit_lines(deployment.pk, step.pk, [f"earlier line {n}" for n in range(120)])
    with browsers(portal_server.url, {"alice": PEOPLE["alice"]}) as (pages, errors):
        page = pages["alice"]
        page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
        expect(page.locator("#live-state")).to_contain_text("Live")
        at_bottom = "l => l.scrollHeight - l.scrollTop - l.clientHeight <= 24"
        log = page.locator("#log")
        assert log.evaluate(at_bottom), "the page opens on the log's tail"
        in_thread(emit_lines, deployment.pk, step.pk, ["new line A"])
        expect(page.locator("#log .line").last).to_contain_text("new line A")
        assert log.evaluate(at_bottom), "a new line keeps a following reader at the bottom"

        log.evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
        jump = page.get_by_role("button", name="Jump to live")
        expect(jump).to_be_visible()
        in_thread(emit_lines, deployment.pk, step.pk, ["new line B"])
        expect(page.locator("#log .line").last).to_contain_text("new line B")
        assert log.evaluate("l => l.scrollTop") == 0, "the reader's place is kept"
        jump.click()
        assert log.evaluate(at_bottom)
        expect(jump).to_be_hidden()
        assert errors == []


def test_a_section_refresh_keeps_what_the_person_is_typing(
    bob, carol, production_waiting, portal_server
):
    deployment = production_waiting
    migrations = deployment.checklist.get(text="Database migrations ready")
    with browsers(portal_server.url, {"bob": PEOPLE["bob"]}) as (pages, errors):
        page = pages["bob"]
        page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
        expect(page.locator("#live-state")).to_contain_text("Live")
        note = item(page, "Code review approved").get_by_label("Note")
        note.fill("half-typed: checked the di")
        # carol answers another item meanwhile: bob's checklist is refreshed under him.
        in_thread(engine.answer_item, carol, migrations.pk, "passed", "ran them in staging")
        expect(item(page, "Database migrations ready")).to_contain_text(
            "ran them in staging", timeout=WITHIN_A_SECOND * 3
        )
        expect(note).to_have_value("half-typed: checked the di")
        expect(note).to_be_focused()
        assert errors == []


def hide(page: Page) -> None:
    """As when the person switches to another tab (headless pages never are hidden)."""
    page.evaluate(
        """() => {
            window.visibleStream.hiddenGraceMs = 0;
            Object.defineProperty(document, "hidden", { value: true, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )


def show(page: Page) -> None:
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { value: false, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )


def test_hidden_tabs_let_their_streams_go_so_the_next_page_still_loads(
    alice, production_waiting, portal_server
):
    """A browser holds six connections per host over HTTP/1.1; each live page's stream
    takes one. Six live tabs in the background must not stop a seventh page loading."""
    url = f"{portal_server.url}/deployments/{production_waiting.pk}/"
    with browsers(portal_server.url, {"alice": PEOPLE["alice"]}) as (pages, errors):
        context = pages["alice"].context
        tabs = []
        for _ in range(6):
            tab = context.new_page()
            tab.goto(url)
            expect(tab.locator("#live-state")).to_contain_text("Live")
            hide(tab)
            tabs.append(tab)
        seventh = context.new_page()
        seventh.goto(url, timeout=15_000)
        expect(seventh.locator("#live-state")).to_contain_text("Live")
        show(tabs[0])  # back in view: a new stream, and the page catches up
        expect(tabs[0].locator("#live-state")).to_contain_text("Live")
        dashboard = context.new_page()
        dashboard.goto(f"{portal_server.url}/", timeout=15_000)
        assert errors == []
