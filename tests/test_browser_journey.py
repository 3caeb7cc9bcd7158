"""The people's journey in real Chromium, by clicking as a person would.

alice (engineer) promotes middleware 1.1.0 development → staging → production from
the service page; production parks on its checklist and approval; the portal
decides the automatic pre-deployment items itself, each with its evidence; bob
(lead), in his own browser context, finds it under "Waiting for you", ticks the
manual items and approves; after the smoke tests the post-deployment checks watch
the release through its (shortened) soak window; alice's page then says Succeeded
with every automatic item passed, and kubesim's production cluster runs the
release by digest. Once with JavaScript (htmx swaps the forms) and once without
(every form posts and redirects back).

The Vizora catalog, demo releases (with their CI results) and a real Celery
worker; kubesim serves the demo's production front door over TLS and the worker
trusts its CA, so the certificates check and the smoke test pass over https as in
`make run`; a real Prometheus scrapes kubesim's front doors with the seed's alert
rules, for the alerts, error-rate and memory checks.
"""

import re
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from catalog.catalog_file import sync_catalog
from catalog.models import Cluster, Environment
from demo.seed import record_demo_baseline, register_demo_releases
from deployments.models import Deployment
from deployments.states import DeploymentState
from integrations.kube.cluster import ClusterClient
from kubesim.testing import VIZORA_CONFIG, KubeSim
from releases.models import Release
from tests.engine.conftest import FAST_ENGINE
from tests.harness.browser import launch
from tests.harness.prometheus import PrometheusServer, kubesim_targets, rules_for_tests
from tests.harness.worker import REPO, WorkerProcess

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

DEMO_CATALOG = REPO / "examples" / "vizora.yaml"
VERSION = "1.1.0"
# What a page says once a deployment has ended without succeeding.
ENDED_BADLY = ("Failed", "Rolled back", "Rejected", "Cancelled", "Superseded")


@pytest.fixture
def demo_kubesim(tmp_path):
    """The demo's three clusters, production's front door over TLS as configured."""
    with KubeSim(VIZORA_CONFIG, speed=20, tls=None, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def prometheus(demo_kubesim, tmp_path):
    """Prometheus scraping the three front doors, with the seed's rules (firing fast)."""
    rules = rules_for_tests(directory=tmp_path)
    with PrometheusServer(kubesim_targets(demo_kubesim), rules, tmp_path / "prometheus") as server:
        yield server


@pytest.fixture
def vizora(demo_kubesim, prometheus, transactional_db):
    """The real catalog and demo releases, its clusters and URLs sent to this kubesim,
    production's monitoring to this Prometheus and its soak window shortened."""
    sync_catalog(str(DEMO_CATALOG))
    for cluster in Cluster.objects.all():
        cluster.kubeconfig_path = str(demo_kubesim.kubeconfig)
        cluster.context = demo_kubesim.cluster(cluster.name).context
        cluster.save()
    for environment in Environment.objects.all():
        front_door = demo_kubesim.front_door_url(environment.cluster.name).split("://", 1)[1]
        environment.resolve = {host: front_door for host in environment.resolve}
        # The catalog freezes production over the weekend; the journey must not
        # depend on the day the test runs (freezes have their own tests).
        environment.freeze_windows = []
        environment.prometheus_url = prometheus.url
        environment.soak = timedelta(seconds=4)
        environment.save()
    register_demo_releases()
    record_demo_baseline()
    return Environment.objects.select_related("cluster").get(name="production")


@pytest.fixture
def portal_worker(vizora, demo_kubesim, tmp_path):
    """A real worker (with beat) on short engine timings, trusting kubesim's CA."""
    worker = WorkerProcess(
        tmp_path / "worker.log",
        extra_env={
            **FAST_ENGINE,
            "PORTAL_EXTRA_CA_FILE": str(demo_kubesim.ca_file),
            "PORTAL_SOAK_INTERVAL_SECONDS": "1",
        },
        beat=True,
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()  # also when it never became ready: no worker is left behind


@contextmanager
def signed_in_contexts(base_url: str, people: dict[str, str], javascript: bool, shots: Path):
    """One Chromium, one browser context per person, each signed in on the login page.

    Started after every fixture that writes rows: while Playwright runs, an event
    loop runs in this thread and Django refuses synchronous ORM calls here.
    """
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            pages, console_errors = {}, []
            for username, password in people.items():
                context = browser.new_context(
                    viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
                )
                page = context.new_page()
                page.on(
                    "console",
                    lambda message, who=username: (
                        message.type == "error" and console_errors.append(f"{who}: {message.text}")
                    ),
                )
                sign_in(page, base_url, username, password)
                page.screenshot(path=str(shots / f"{username}-0-signed-in.png"), full_page=True)
                pages[username] = page
            yield pages, console_errors
        finally:
            browser.close()


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What runs where")).to_be_visible()


def state_badge(page: Page) -> str:
    return page.locator("h1 .badge").first.inner_text()


def reload_until(page: Page, condition, what: str, timeout: float = 60.0) -> None:
    """Reload (the pages are not live yet) until `condition(page)` holds, as a person would."""
    deadline = time.monotonic() + timeout
    while not condition(page):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout}s on {page.url}")
        time.sleep(0.5)
        page.reload()


def wait_for_success(page: Page, timeout: float = 60.0) -> None:
    """Reload the deployment page until it has ended; it must have succeeded."""

    def ended(page: Page) -> bool:
        badge = state_badge(page)
        assert not any(word in badge for word in ENDED_BADLY), (
            f"{page.url} ended {badge}: {page.locator('p.reason').all_inner_texts()}"
        )
        return "Succeeded" in badge

    reload_until(page, ended, "Succeeded", timeout)


def environment_panel(page: Page, name: str):
    return page.get_by_role("region", name=name, exact=True)


def promote_in_order(alice: Page, base_url: str, shots: Path) -> str:
    """development, then staging, then production (through its confirmation); returns
    the URL of the production deployment's page."""
    alice.goto(f"{base_url}/")
    alice.get_by_role("link", name="middleware", exact=True).click()
    expect(alice.get_by_role("heading", name="middleware", level=1)).to_be_visible()

    development = environment_panel(alice, "development")
    development.get_by_label("Version to promote to development").select_option(VERSION)
    development.get_by_role("button", name="to development").click()
    expect(alice.get_by_text(f"Promoting middleware {VERSION} to development.")).to_be_visible()
    wait_for_success(alice)
    alice.screenshot(path=str(shots / "alice-1-development-succeeded.png"), full_page=True)

    alice.get_by_role("link", name="middleware", exact=True).click()
    staging = environment_panel(alice, "staging")
    staging.get_by_role("button", name=f"Promote {VERSION} to staging").click()
    expect(alice.get_by_text(f"Promoting middleware {VERSION} to staging.")).to_be_visible()
    wait_for_success(alice)
    alice.screenshot(path=str(shots / "alice-2-staging-succeeded.png"), full_page=True)

    alice.get_by_role("link", name="middleware", exact=True).click()
    production = environment_panel(alice, "production")
    production.get_by_role("button", name=f"Promote {VERSION} to production…").click()
    expect(
        alice.get_by_role("heading", name=f"Promote middleware {VERSION} to production?")
    ).to_be_visible()
    changes = alice.locator("table.changes")
    expect(changes).to_contain_text(VERSION)
    expect(alice.locator("ul.gates")).to_contain_text("1 approval from the lead group")
    alice.screenshot(path=str(shots / "alice-3-production-confirmation.png"), full_page=True)
    alice.get_by_role("button", name=f"Promote {VERSION} to production", exact=True).click()
    expect(alice.get_by_text(f"Promoting middleware {VERSION} to production.")).to_be_visible()
    return alice.url


def parks_waiting_for_people(alice: Page, shots: Path) -> None:
    """Production waits for its pre-deployment checklist and then its approval."""
    reload_until(
        alice,
        lambda page: "Waiting for the pre-deployment checklist" in page.content(),
        "production waiting for its checklist",
        timeout=30,
    )
    assert "Pending" in state_badge(alice)
    approvals = alice.get_by_role("region", name="Approvals")
    expect(approvals).to_contain_text("Not asked yet")
    # alice may neither answer nor approve: the page says who can.
    expect(alice.get_by_role("button", name="Approve")).to_have_count(0)
    expect(alice.get_by_role("button", name="Passed")).to_have_count(0)
    alice.screenshot(path=str(shots / "alice-4-production-waits.png"), full_page=True)


def checklist_item(page: Page, text: str):
    return page.locator("#checklist li").filter(
        has=page.locator("strong", has_text=re.compile(f"^{re.escape(text)}$"))
    )


def open_pre_items(page: Page, mode: str) -> list[str]:
    """Texts of the pending pre-deployment items of `mode` this person may act on now."""
    rows = page.locator("#checklist li").filter(has_text=f"Pre-deployment · {mode}")
    return [
        row.locator("strong").inner_text()
        for row in rows.all()
        if row.get_by_role("button", name="Waive").count()
    ]


def lead_answers_the_checklist(bob: Page, deployment_url: str, shots: Path):
    """bob finds the deployment under "Waiting for you", ticks the manual pre items
    with a note and waives the automatic ones with a reason; returns what he waived,
    how many answers he gave and how many whole pages loaded meanwhile."""
    number = deployment_url.rstrip("/").rsplit("/", 1)[1]
    headline = f"#{number} middleware {VERSION} → production"
    bob.get_by_role("link", name="Vizora Deploy Portal").click()
    waiting = bob.get_by_role("region", name=re.compile("^Waiting for you"))
    reload_until(
        bob,
        lambda page: headline in waiting.inner_text(),
        "the production deployment's checklist under Waiting for you",
        timeout=30,
    )
    expect(waiting.get_by_role("link", name="“Code review approved”")).to_be_visible()
    bob.screenshot(path=str(shots / "bob-1-waiting-for-you.png"), full_page=True)
    waiting.get_by_role("link", name="“Code review approved”").click()
    expect(bob).to_have_title(re.compile(re.escape(headline)))

    reload_until(
        bob, automatic_pre_items_decided, "the automatic pre-deployment checks", timeout=30
    )
    loads = []  # whole-page loads while answering: none when htmx swaps the fragments

    def count_load(frame):
        if frame == bob.main_frame:
            loads.append(frame.url)

    bob.on("framenavigated", count_load)
    manual = open_pre_items(bob, "Manual")
    assert manual == ["Code review approved", "Database migrations ready"]
    for text in manual:
        item = checklist_item(bob, text)
        item.get_by_label("Note").fill(f"{text}: checked by bob before the release")
        item.get_by_role("button", name="Passed").click()
        expect(checklist_item(bob, text).locator(".badge")).to_contain_text("Passed")
        expect(checklist_item(bob, text)).to_contain_text("checked by bob before the release")

    assert open_pre_items(bob, "Manual") == []
    bob.remove_listener("framenavigated", count_load)
    # The portal decided the automatic ones itself: passed, with what it found.
    for text, found in AUTOMATIC_PRE_EVIDENCE.items():
        item = checklist_item(bob, text)
        expect(item.locator(".badge")).to_contain_text("Passed")
        expect(item).to_contain_text(found)
    assert open_pre_items(bob, "Automatic") == []
    bob.screenshot(path=str(shots / "bob-2-checklist-answered.png"), full_page=True)
    return len(manual), len(loads)


def automatic_pre_items_decided(page: Page) -> bool:
    """Every automatic pre-deployment item has its verdict; a failure stops the test
    with the evidence the page shows."""
    rows = page.locator("#checklist li").filter(has_text="Pre-deployment · Automatic").all()
    for row in rows:
        assert "Failed" not in row.locator(".badge").inner_text(), row.inner_text()
    return bool(rows) and all("Passed" in row.locator(".badge").inner_text() for row in rows)


# What the page shows for each automatic pre-deployment item of the demo catalog.
AUTOMATIC_PRE_EVIDENCE = {
    "All tests passing": "reported by ci-demo at",  # who reported CI's result
    "Secrets configured": "vizora-secrets",
    "SSL certificates valid": "api.vizora.com",
    "Backup verified": "postgres-backup",
    "No alerts firing": "No alert firing",
}


def lead_approves(bob: Page, deployment_url: str, shots: Path) -> None:
    """Back on the dashboard, the approval is waiting for bob; he approves with a comment."""
    number = deployment_url.rstrip("/").rsplit("/", 1)[1]
    headline = f"#{number} middleware {VERSION} → production"
    bob.get_by_role("link", name="All services").click()
    waiting = bob.get_by_role("region", name=re.compile("^Waiting for you"))
    approve = waiting.locator("li", has_text="approve").get_by_role("link", name=headline)
    reload_until(
        bob, lambda page: approve.count() == 1, "the approval under Waiting for you", timeout=30
    )
    bob.screenshot(path=str(shots / "bob-3-approval-waiting.png"), full_page=True)
    approve.click()
    approvals = bob.get_by_role("region", name="Approvals")
    expect(approvals).to_contain_text("Waiting for 1 approval from a lead")
    approvals.get_by_label("Comment").fill("Checklist done; go.")
    approvals.get_by_role("button", name="Approve").click()
    expect(bob.get_by_text(f"You approved deployment #{number}.")).to_be_visible()
    expect(bob.get_by_role("region", name="Approvals")).to_contain_text("by bob")
    bob.screenshot(path=str(shots / "bob-4-approved.png"), full_page=True)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_engineer_promotes_to_production_and_lead_answers_and_approves_in_the_browser(
    javascript, live_server, alice, bob, vizora, portal_worker, tmp_path
):
    production = vizora
    release = Release.objects.get(service__name="middleware", version=VERSION)
    assert "@sha256:" in release.image
    people = {"alice": "alice-password", "bob": "bob-password"}

    with signed_in_contexts(live_server.url, people, javascript, tmp_path) as session:
        pages, console_errors = session
        alice_page, bob_page = pages["alice"], pages["bob"]
        if javascript:
            assert alice_page.evaluate("typeof htmx") == "object", "vendored htmx did not load"

        deployment_url = promote_in_order(alice_page, live_server.url, tmp_path)
        parks_waiting_for_people(alice_page, tmp_path)
        # copy-link.js shows its button: a sign of which way the page was driven.
        copy = alice_page.get_by_role("button", name="Copy link")
        if javascript:
            expect(copy).to_be_visible()
        else:
            expect(copy).to_be_hidden()
        answers, loads = lead_answers_the_checklist(bob_page, deployment_url, tmp_path)
        # With htmx each answer swaps the checklist only; without, each posts and redirects.
        assert loads == (0 if javascript else answers)
        lead_approves(bob_page, deployment_url, tmp_path)

        alice_page.reload()
        wait_for_success(alice_page, timeout=90)
        expect(alice_page.get_by_role("region", name="Approvals")).to_contain_text("Approved")
        alice_page.screenshot(path=str(tmp_path / "alice-5-succeeded.png"), full_page=True)
        assert console_errors == []

    with ClusterClient(production.cluster) as kube:
        running = kube.read_images(production.namespace, "vizora-middleware")
    assert running == {"middleware": release.image}

    deployment = Deployment.objects.get(pk=int(deployment_url.rstrip("/").rsplit("/", 1)[1]))
    assert (deployment.state, deployment.requested_by) == (DeploymentState.SUCCEEDED, alice)
    assert [(a.user, a.decision) for a in deployment.approvals.all()] == [(bob, "approve")]
    pre = {item.text: item for item in deployment.checklist.filter(phase="pre")}
    for text in ("Code review approved", "Database migrations ready"):
        assert (pre[text].state, pre[text].answered_by) == ("passed", bob)
        assert "checked by bob" in pre[text].evidence
    automatic = deployment.checklist.filter(mode="automatic")
    assert {(i.text, i.state) for i in automatic if i.state != "passed"} == set()
    assert all(i.evidence and i.answered_by is None for i in automatic)
    assert deployment.verification == "open"  # the manual post items wait for people
