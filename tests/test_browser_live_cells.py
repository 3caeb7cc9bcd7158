"""The dashboard and the service page live, in real Chromium (issue 10, items 3 and 4).

alice watches the dashboard in one tab and middleware's service page in another; in a
third she promotes middleware 1.1.0 to development. Without a reload, both pages show
it in flight and then what runs: the portal's record and the cluster's own answer (the
observer, a beat of the real worker). Then kubesim restarts, its clusters rebuilt at
their baseline, and both pages say plainly that development runs 1.0.0, not the 1.1.0
the portal deployed. Screenshots at 1280 px and 390 px of both pages.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect, sync_playwright

from tests import test_browser_journey as journey
from tests.harness.browser import launch
from tests.harness.server import PortalServer
from tests.harness.worker import database_url

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# The journey's fixtures: the demo's clusters and catalog, and a worker with beat.
demo_kubesim, vizora, portal_worker = journey.demo_kubesim, journey.vizora, journey.portal_worker
prometheus = journey.prometheus
sign_in = journey.sign_in

VERSION = "1.1.0"
BASELINE = "ghcr.io/your-org/vizora-middleware:1.0.0"  # what kubesim's clusters start with
WIDTHS = {"desktop": 1280, "phone": 390}
# The worker's beat reads the clusters every second here (10 s by default).
FAST_OBSERVER = {"PORTAL_OBSERVE_SECONDS": "1", "PORTAL_OBSERVE_RETRY_SECONDS": "0.5"}


@pytest.fixture
def observing_worker(portal_worker):
    """The journey's worker (with beat), which also runs the observer; see FAST_OBSERVER."""
    return portal_worker


@pytest.fixture(autouse=True)
def fast_observer(monkeypatch):
    for name, value in FAST_OBSERVER.items():
        monkeypatch.setenv(name, value)  # the worker process inherits os.environ


@pytest.fixture
def uvicorn(vizora, tmp_path):
    env = {
        # The test settings serve static files from the source folders (no collectstatic).
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "PORTAL_CHANNEL_PREFIX": settings.PORTAL_CHANNEL_PREFIX,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **FAST_OBSERVER,
    }
    server = PortalServer(env, tmp_path / "uvicorn.log")
    try:
        yield server.start(timeout=120)  # the machine is shared: a slow start is no failure
    finally:
        server.stop()  # also when it never answered: no uvicorn outlives the test


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where the screenshots go: PORTAL_TEST_SHOTS if set (to look at them), else tmp."""
    folder = Path(os.environ.get("PORTAL_TEST_SHOTS") or tmp_path / "shots")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def cell(page: Page, environment: str, service: str = "middleware"):
    return page.locator(f"#cell-{service}-{environment}")


def state(page: Page, environment: str):
    return page.locator(f"#env-{environment}-state")


def mark_loaded(page: Page) -> None:
    """A flag only this load of the page carries: a reload would lose it."""
    page.evaluate("window.loadedOnce = true")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.loadedOnce === true")


def screenshot_both(pages: dict[str, Page], shots: Path, moment: str) -> None:
    for name, page in pages.items():
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(shots / f"{name}-{moment}-{label}.png"), full_page=True)
        page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


def test_a_deployment_and_a_rebuilt_cluster_show_live_on_both_pages(
    alice,
    observing_worker,
    uvicorn,
    demo_kubesim,
    shots,
):
    base = uvicorn.url
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": WIDTHS["desktop"], "height": 900})
        errors: list[str] = []
        context.on("console", lambda m: m.type == "error" and errors.append(m.text))
        dashboard = context.new_page()
        sign_in(dashboard, base, "alice", "alice-password")
        service = context.new_page()
        service.goto(f"{base}/services/middleware/")
        pages = {"dashboard": dashboard, "service": service}

        # The observer has read the clusters: every cell says what its cluster runs.
        for page in pages.values():
            page.reload()
        expect(cell(dashboard, "development")).to_contain_text("runs 1.0.0", timeout=20_000)
        expect(state(service, "development")).to_contain_text("runs 1.0.0")
        for page in pages.values():
            mark_loaded(page)
        # alice has begun choosing a release on the service page: no refresh wipes it.
        choice = service.get_by_label("Version to promote to development")
        choice.select_option("1.2.0")

        promoter = context.new_page()
        promoter.goto(f"{base}/services/middleware/")
        development = promoter.get_by_role("region", name="development", exact=True)
        development.get_by_label("Version to promote to development").select_option(VERSION)
        development.get_by_role("button", name="to development").click()
        expect(promoter.get_by_text(f"Promoting middleware {VERSION}")).to_be_visible()

        # In flight, without a reload: the cell and the page's own deployments table.
        expect(cell(dashboard, "development")).to_contain_text(VERSION, timeout=20_000)
        expect(dashboard.locator("#live-in-flight")).to_contain_text("middleware")
        expect(state(service, "development")).to_contain_text(VERSION, timeout=20_000)
        expect(service.locator("#live-deployments")).to_contain_text(VERSION)

        # Done: the record says 1.1.0 and the cluster runs it, ready.
        for where in (cell(dashboard, "development"), state(service, "development")):
            expect(where.locator(".record .version")).to_have_text(VERSION, timeout=60_000)
            expect(where.locator(".badge.verdict-matches")).to_have_text("in sync", timeout=20_000)
            expect(where).to_contain_text(f"runs {VERSION}")
        expect(dashboard.locator("#live-in-flight")).to_contain_text("No deployment in flight")
        assert all(not_reloaded(page) for page in pages.values())
        expect(choice).to_have_value("1.2.0")  # her choice survived every refresh
        # She gives up: the form is reset and, once she leaves it, the controls catch up.
        choice.focus()
        choice.evaluate("select => select.form.reset()")
        service.locator("h1").click()
        expect(service.locator("#env-development-controls")).to_contain_text("Roll back to 1.0.0")
        screenshot_both(pages, shots, "1-deployed")

        # The clusters are rebuilt: development runs its baseline again.
        demo_kubesim.restart()
        for where in (cell(dashboard, "development"), state(service, "development")):
            expect(where.locator(".badge.verdict-drifted")).to_have_text("drift", timeout=20_000)
            expect(where).to_contain_text(
                f"Cluster runs 1.0.0 (middleware: {BASELINE}), not {VERSION} the portal deployed"
            )
            expect(where).to_contain_text("changed by hand or the cluster was rebuilt")
        expect(dashboard.locator(".trouble-note")).to_contain_text(
            "middleware in development (drift)"
        )
        # The fix is offered: promoting 1.1.0 again.
        expect(service.locator("#env-development-controls")).not_to_contain_text("already runs")
        assert all(not_reloaded(page) for page in pages.values())
        screenshot_both(pages, shots, "2-drift")

        # Cut off: the cluster cannot be reached, and the cells say since when.
        demo_kubesim.stop()
        for where in (cell(dashboard, "development"), state(service, "development")):
            expect(where.locator(".badge.verdict-unreachable")).to_be_visible(timeout=20_000)
            expect(where).to_contain_text("Cluster development unreachable since")
        screenshot_both(pages, shots, "3-unreachable")
        demo_kubesim.restart()
        assert not errors, errors
        browser.close()
