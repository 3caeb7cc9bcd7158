"""A build watched live in real Chromium: alice asks for a release on the service page,
lands on its page while it builds on a real Docker engine (a real Celery worker, the
registry, Redis, PostgreSQL, uvicorn), and the build log, then Ready, arrive without a
reload; every stored line is on the page exactly once. Skipped, with the reason, when
no Docker engine can run here."""

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from releases.models import Release
from releases.states import ReleaseState
from tests.builds.conftest import (  # noqa: F401 (fixtures)
    DOCKERFILE,
    build_portal,
    build_settings,
    docker_host,
    registry,
    repository,
    web,
)
from tests.builds.test_build_pipeline import build_worker  # noqa: F401 (fixture)
from tests.harness.browser import chromium_path, launch
from tests.test_browser_journey import sign_in
from tests.test_browser_live import count_loads, in_thread, page_seqs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# A build that takes a few seconds, printing as it goes: its lines arrive one by one.
SLOW_DOCKERFILE = DOCKERFILE.replace(
    "CMD [",
    'RUN ["/bin/busybox", "sh", "-c", '
    '"for n in 1 2 3 4 5 6; do echo tick $n; /bin/busybox sleep 1; done"]\nCMD [',
)
LIVE_TIMEOUT = 120_000  # ms: the whole build on a loaded 2-core machine


@pytest.fixture
def chromium():
    """Skips (with the reason) before the engine, worker and uvicorn start."""
    return chromium_path()


def stored_seqs(release_id: int) -> list[int]:
    return list(
        Release.objects.get(pk=release_id).build_log.order_by("seq").values_list("seq", flat=True)
    )


def test_a_build_log_arrives_live_on_the_release_page_until_ready(
    chromium,
    alice,
    web,  # noqa: F811
    repository,  # noqa: F811
    build_worker,  # noqa: F811
    build_portal,  # noqa: F811
):
    repository.commit("slow build", dockerfile=SLOW_DOCKERFILE)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            sign_in(page, build_portal.url, "alice", "alice-password")
            page.goto(f"{build_portal.url}/services/web/")
            expect(page.locator("#build-ref")).to_have_value("main")
            page.locator("#build-version").fill("2.0.0")
            page.locator("#build-notes").fill("watched live")
            page.get_by_role("button", name="Build release", exact=True).click()

            # The redirect lands on the build log (#build).
            expect(page).to_have_url(
                re.compile(
                    re.escape(f"{build_portal.url}/services/web/releases/2.0.0/") + "(#build)?$"
                )
            )
            expect(page.locator("h1 .badge")).to_contain_text("Building")
            expect(page.locator("#live-state")).to_contain_text("Live")
            loads = count_loads(page)
            log = page.locator("#log")
            expect(log).to_contain_text("tick 1", timeout=LIVE_TIMEOUT)
            expect(log).to_contain_text("tick 6", timeout=LIVE_TIMEOUT)
            # The facts agree with the headline "Building from main since …".
            expect(page.locator("#facts")).to_contain_text(", running")
            expect(page.locator("main .message")).to_have_text(
                "Build of web 2.0.0 from main requested."
            )  # true whatever happens next
            expect(page.locator("h1 .badge")).to_contain_text("Ready", timeout=LIVE_TIMEOUT)
            expect(page.locator("#live-state")).to_contain_text("Ended (ready)")
            expect(page.locator("#facts")).to_contain_text("sha256:")  # sections refetched
            expect(page.get_by_role("button", name="Copy image")).to_be_visible()
            shown = page_seqs(page)
            release = in_thread(lambda: Release.objects.get(service__name="web", version="2.0.0"))
            page.screenshot(path=str(build_portal.log_path.parent / "release-live.png"))
        finally:
            browser.close()
    assert release.state == ReleaseState.READY
    assert shown == in_thread(stored_seqs, release.pk), "every line once, in order"
    assert loads == [], "the page never reloaded"
    assert errors == []
