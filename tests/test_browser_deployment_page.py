"""The deployment page in real Chromium, as rendered: with JavaScript disabled it is
complete (state, reason, steps with durations, the log by step with its times, the
checklist, approvals, the person's controls), and the log's "Show earlier lines"
link works as a plain link. Screenshots at 1280 and 390 px of a running deployment,
one waiting for approval and a finished one land in the test's folder."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from catalog.models import ChecklistPhase, CheckMode
from deployments.events import emit_lines
from deployments.models import Approval, ChecklistItem, Step
from deployments.states import ChecklistState, DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.browser import launch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}
ROLLOUT_LINES = [
    "deployment.apps/vizora-web image updated: web=ghcr.io/your-org/vizora-web:2.4.0",
    *(
        f'Waiting for deployment "vizora-web" rollout to finish: {n} of 6 updated replicas '
        "are available..."
        for n in range(0, 6)
    ),
]


def plan(deployment, states: list[tuple[str, str]], started):
    """Steps in order with their states; finished ones took a few seconds each."""
    steps = []
    for position, (kind, state) in enumerate(states, start=1):
        done = state in (StepState.SUCCEEDED, StepState.FAILED)
        begun = started + timedelta(seconds=20 * position)
        steps.append(
            Step.objects.create(
                deployment=deployment, kind=kind, position=position, state=state,
                attempt=1 if state != StepState.PENDING else 0,
                started_at=begun if state not in (StepState.PENDING, StepState.WAITING) else None,
                finished_at=begun + timedelta(seconds=3 + 7 * position) if done else None,
            )
        )  # fmt: skip
    return steps


def checklist(deployment, answered_by=None):
    items = [
        ("Code review approved", CheckMode.MANUAL),
        ("Database migrations ready", CheckMode.MANUAL),
        ("No open incident", CheckMode.AUTOMATIC),
    ]
    for position, (text, mode) in enumerate(items, start=1):
        ChecklistItem.objects.create(
            deployment=deployment, position=position, phase=ChecklistPhase.PRE, text=text,
            mode=mode, state=ChecklistState.PASSED if answered_by else ChecklistState.PENDING,
            answered_by=answered_by, answered_at=timezone.now() if answered_by else None,
            evidence="checked before the release" if answered_by else "",
        )  # fmt: skip


@pytest.fixture
def three_deployments(alice, bob):
    """web 2.4.0 running in staging (mid-rollout, a long log), 2.4.0 waiting for
    approval in production, and 2.3.0 that succeeded in production."""
    web = make_service("web")
    staging = make_environment("staging", required_approvals=0)
    production = make_environment("production", required_approvals=1, approver_group="lead")
    started = timezone.now() - timedelta(minutes=3)
    running = make_deployment(
        make_release(web, "2.4.0"), staging, requested_by=alice,
        state=DeploymentState.RUNNING, started_at=started,
    )  # fmt: skip
    pre, migrate, rollout, _smoke = plan(
        running,
        [(StepKind.PRE_CHECKS, StepState.SUCCEEDED), (StepKind.MIGRATE, StepState.SUCCEEDED),
         (StepKind.ROLLOUT, StepState.RUNNING), (StepKind.SMOKE, StepState.PENDING)],
        started,
    )  # fmt: skip
    emit_lines(running.pk, pre.pk, ["all pre-deployment items passed"])
    emit_lines(
        running.pk, migrate.pk, [f"migrate | Applying orders.{n:04d}... OK" for n in range(1, 420)]
    )
    emit_lines(running.pk, rollout.pk, ROLLOUT_LINES)

    waiting = make_deployment(
        running.release, production, requested_by=alice,
        reason="Waiting for 1 approval from a lead.",
    )  # fmt: skip
    plan(
        waiting,
        [(StepKind.PRE_CHECKS, StepState.SUCCEEDED), (StepKind.APPROVAL, StepState.WAITING),
         (StepKind.ROLLOUT, StepState.PENDING), (StepKind.SMOKE, StepState.PENDING)],
        started,
    )  # fmt: skip
    checklist(waiting, answered_by=bob)

    finished = make_deployment(
        make_release(web, "2.3.0"), production, requested_by=alice,
        state=DeploymentState.SUCCEEDED, started_at=started - timedelta(days=1),
        finished_at=started - timedelta(days=1) + timedelta(minutes=2),
    )  # fmt: skip
    steps = plan(
        finished,
        [(StepKind.PRE_CHECKS, StepState.SUCCEEDED), (StepKind.APPROVAL, StepState.SUCCEEDED),
         (StepKind.ROLLOUT, StepState.SUCCEEDED), (StepKind.SMOKE, StepState.SUCCEEDED)],
        started - timedelta(days=1),
    )  # fmt: skip
    checklist(finished, answered_by=bob)
    Approval.objects.create(deployment=finished, user=bob, decision="approve", comment="go")
    emit_lines(
        finished.pk,
        steps[2].pk,
        [*ROLLOUT_LINES, 'deployment "vizora-web" successfully rolled out'],
    )
    emit_lines(
        finished.pk, steps[3].pk, ["smoke (try 1 of 5): GET https://web.example/health → 200"]
    )
    return {"running": running, "waiting": waiting, "finished": finished}


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What runs where")).to_be_visible()


def test_without_javascript_the_page_renders_completely_and_pages_back_through_the_log(
    live_server, three_deployments, bob, tmp_path, settings
):
    settings.PORTAL_LOG_PAGE_LINES = 300
    running = three_deployments["running"]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=False
        )
        page = context.new_page()
        sign_in(page, live_server.url, "bob")
        page.goto(f"{live_server.url}/deployments/{running.pk}/")
        expect(page.locator("h1 .badge")).to_have_text("▶ Running")
        expect(page.locator("#status .now")).to_contain_text("step 3 of 4, Roll out (running)")
        steps = page.locator("#steps li")
        expect(steps).to_have_count(4)
        expect(steps.nth(0)).to_contain_text("Succeeded")
        expect(steps.nth(0).locator(".took")).to_have_text("10 s")
        expect(steps.nth(2)).to_contain_text("Running")
        expect(page.locator("#log .log-step")).to_have_text(["Run database migrations", "Roll out"])
        assert page.locator("#log .line").count() == 300
        # No box of its own without the script: the newest line is in the page's flow.
        assert page.locator("#log").evaluate("log => getComputedStyle(log).overflowY") == "visible"
        expect(page.get_by_text("This deployment has not ended; reload the page")).to_be_visible()
        expect(page.get_by_role("button", name="Jump to live")).to_be_hidden()
        expect(page.locator("#live-state")).to_be_hidden()

        page.get_by_role("link", name="Show earlier lines").click()
        expect(page.locator("#log .line").first).to_have_attribute("data-seq", "1")
        assert page.locator("#log .line").count() == 127  # 1 + 419 + 7 lines, 300 shown before
        expect(page.locator("#log .log-step").first).to_contain_text("Pre-deployment checks")
        page.get_by_role("link", name="Latest lines").click()
        expect(page.locator("#log .line").last).to_have_attribute("data-seq", "427")
        browser.close()


def assert_phone_order(page, pending: bool) -> None:
    """On a phone the steps come first; then the checklist while the deployment waits at
    its gates, or the log once it has passed them."""
    top = {
        name: page.locator(selector).bounding_box()["y"]
        for name, selector in (
            ("steps", "#steps"),
            ("checklist", "#checklist"),
            ("log", "#log-section"),
        )
    }
    expected = ["steps", "checklist", "log"] if pending else ["steps", "log", "checklist"]
    assert sorted(top, key=top.get) == expected, top


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_screenshots_of_a_running_a_waiting_and_a_finished_deployment(
    live_server, three_deployments, bob, tmp_path, width
):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        sign_in(page, live_server.url, "bob")
        for name, deployment in three_deployments.items():
            page.goto(f"{live_server.url}/deployments/{deployment.pk}/")
            expect(page.locator("h1")).to_contain_text(deployment.environment.name)
            page.screenshot(path=str(tmp_path / f"deployment-{name}-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (
                "no sideways scroll"
            )
            if width < 900 and page.locator("#checklist li").count():
                assert_phone_order(page, pending=deployment.state == DeploymentState.PENDING)
        browser.close()
    print(f"screenshots in {tmp_path}")
