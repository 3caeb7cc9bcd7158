"""The environment timeline in real Chromium, served by uvicorn: an approval made in
another browser context appears on the open timeline without a reload, in place and
once; an older page stays as it is. Screenshots at 1280 px and 390 px."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from deployments import engine
from deployments.engine.claims import claim_next_step
from tests.harness.browser import launch
from tests.timeline_world import item, make_path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The engine announces the approval on commit: well before the hub's safety poll (5 s),
# so this proves the push, not the poll.
NOTICED_WITHIN_MS = 3000


@pytest.fixture
def portal(start_portal):
    """uvicorn with the test settings: static files served from the source folders
    (production settings want `collectstatic`'s manifest)."""
    return start_portal(DJANGO_SETTINGS_MODULE="portal.settings_test")


@pytest.fixture
def waiting_for_approval(transactional_db, alice, bob):
    """web 1.1.0 on its way to production, its checklist answered, waiting for bob."""
    make_path()
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "worker-1")
    engine.answer_item(bob, item(deployment, "Review changes").pk, "passed", "read <b>it</b>")
    claim_next_step(deployment.pk, "worker-1")
    return deployment


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){name}(\s|$)")


def session_cookie(user, url: str) -> dict:
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": url}


def shots_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: TIMELINE_SHOTS when set (to look at them), else tmp."""
    folder = Path(os.environ.get("TIMELINE_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def entry_ids(page) -> list[str]:
    return page.locator("#timeline-entries li.entry").evaluate_all("els => els.map(e => e.id)")


def test_an_approval_in_another_context_appears_on_the_open_timeline(
    portal, waiting_for_approval, alice, bob, tmp_path
):
    timeline_url = f"{portal.url}/environments/production/timeline/"
    deployment_url = f"{portal.url}/deployments/{waiting_for_approval.pk}/"
    cookies = {who.username: session_cookie(who, portal.url) for who in (alice, bob)}
    shots = shots_dir(tmp_path)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        errors = []
        try:
            contexts = {}
            for who, width in (("alice", 1280), ("bob", 1280), ("phone", 390)):
                context = browser.new_context(viewport={"width": width, "height": 900})
                context.add_cookies([cookies["bob" if who == "bob" else "alice"]])
                contexts[who] = context.new_page()
                contexts[who].on(
                    "console",
                    lambda m, w=who: m.type == "error" and errors.append(f"{w}: {m.text}"),
                )
            watcher, lead, phone = contexts["alice"], contexts["bob"], contexts["phone"]
            watcher.goto(timeline_url)
            phone.goto(timeline_url)
            for page in (watcher, phone):
                expect(page.locator("#timeline-live")).to_contain_text("Live", timeout=10_000)
            before = entry_ids(watcher)
            expect(watcher.locator("#timeline-entries")).not_to_contain_text("bob approved it")

            lead.goto(deployment_url)
            lead.fill("#decision-comment", "ship it <script>alert(1)</script>")
            lead.get_by_role("button", name="✓ Approve").click()
            expect(lead.locator("#approvals")).to_contain_text("ship it", timeout=10_000)

            approved = watcher.locator("#timeline-entries li.entry", has_text="bob approved it")
            expect(approved).to_have_count(1, timeout=NOTICED_WITHIN_MS)
            expect(approved).to_contain_text("Comment: ship it <script>alert(1)</script>")
            expect(approved).to_have_class(has_class("new"))
            expect(watcher.locator("#timeline-live")).to_contain_text(
                "new since you opened the page"
            )
            expect(phone.locator("li.entry", has_text="bob approved it")).to_have_count(1)
            live = entry_ids(watcher)
            assert set(before) < set(live) and len(live) == len(set(live)), "once each"
            assert watcher.evaluate("performance.getEntriesByType('navigation').length") == 1

            fresh = browser.new_context(viewport={"width": 1280, "height": 900})
            fresh.add_cookies([cookies["alice"]])
            reloaded = fresh.new_page()
            reloaded.goto(timeline_url)
            assert entry_ids(reloaded) == live, "merged in the order a reload shows"

            watcher.screenshot(path=str(shots / "timeline-desktop.png"), full_page=True)
            phone.screenshot(path=str(shots / "timeline-phone.png"), full_page=True)
            assert errors == [], errors
        finally:
            browser.close()


def test_an_older_page_does_not_follow_the_stream(portal, waiting_for_approval, alice, tmp_path):
    cookie = session_cookie(alice, portal.url)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([cookie])
            page = context.new_page()
            streams = []
            page.on("request", lambda r: "/live/lanes/" in r.url and streams.append(r.url))
            page.goto(f"{portal.url}/environments/production/timeline/?before=99999999999999999_1")
            expect(page.locator("#timeline-live")).to_contain_text("Back to the newest entries")
            page.wait_for_timeout(500)
            assert streams == []
        finally:
            browser.close()
