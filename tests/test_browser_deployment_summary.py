"""A production deployment's page, with the seed's whole checklist, read in Chromium at
1280x800 and 390x844: its summary — state, cause, the start of the steps and what waits
for whom — is in the first screen, and the checklist uses the page's width."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from catalog.models import ChecklistPhase, CheckMode
from deployments.models import ChecklistItem, Step
from deployments.states import ChecklistState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.browser import launch
from tests.test_browser_deployment_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = {"desktop": (1280, 800), "phone": (390, 844)}
SUMMARY = {
    "state": "#status h1 .badge",
    "cause": "#status .reason",
    "steps": "#steps li:first-child",
    "waiting for": "#approvals .status",
}
# The seed's checklist (examples/vizora.yaml): what a production page really carries.
SEED_ITEMS = [
    (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "All tests passing"),
    (ChecklistPhase.PRE, CheckMode.MANUAL, "Code review approved"),
    (ChecklistPhase.PRE, CheckMode.MANUAL, "Database migrations ready"),
    (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "Secrets configured"),
    (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "SSL certificates valid"),
    (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "Backup verified"),
    (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "No alerts firing"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Build Docker images"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Push to registry"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Run database migrations"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Deploy to Kubernetes"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Wait for rollout completion"),
    (ChecklistPhase.DEPLOY, CheckMode.AUTOMATIC, "Run smoke tests"),
    (ChecklistPhase.POST, CheckMode.AUTOMATIC, "Check application logs"),
    (ChecklistPhase.POST, CheckMode.MANUAL, "Verify metrics in Grafana"),
    (ChecklistPhase.POST, CheckMode.MANUAL, "Test critical user flows"),
    (ChecklistPhase.POST, CheckMode.AUTOMATIC, "Monitor error rates"),
    (ChecklistPhase.POST, CheckMode.AUTOMATIC, "Memory within limits"),
    (ChecklistPhase.POST, CheckMode.MANUAL, "Update documentation"),
]
EVIDENCE = (
    "CI run 2 passed after run 1 failed: commit 1a2b3c4, reported by ci-github at 14:02; "
    "asked https://ci.example/runs/2"
)


@pytest.fixture
def waiting_in_production(alice, bob):
    """middleware 1.1.0 in production: pre-deployment items answered, one approval from
    a lead missing — the page a lead opens from "Waiting for you"."""
    production = make_environment("production", required_approvals=1, approver_group="lead")
    deployment = make_deployment(
        make_release(make_service("middleware"), "1.1.0"), production, requested_by=alice,
        reason="Waiting for 1 approval from a lead (0 of 1 so far).",
    )  # fmt: skip
    started = timezone.now() - timedelta(minutes=4)
    kinds = [
        (StepKind.PRE_CHECKS, StepState.SUCCEEDED), (StepKind.APPROVAL, StepState.WAITING),
        (StepKind.RECHECK, StepState.PENDING), (StepKind.MIGRATE, StepState.PENDING),
        (StepKind.ROLLOUT, StepState.PENDING), (StepKind.SMOKE, StepState.PENDING),
        (StepKind.POST_CHECKS, StepState.PENDING),
    ]  # fmt: skip
    for position, (kind, state) in enumerate(kinds, start=1):
        done = state == StepState.SUCCEEDED
        Step.objects.create(
            deployment=deployment, kind=kind, position=position, state=state,
            attempt=1 if done else 0, started_at=started if done else None,
            finished_at=started + timedelta(seconds=12) if done else None,
        )  # fmt: skip
    for position, (phase, mode, text) in enumerate(SEED_ITEMS, start=1):
        answered = phase == ChecklistPhase.PRE
        ChecklistItem.objects.create(
            deployment=deployment, position=position, phase=phase, mode=mode, text=text,
            state=ChecklistState.PASSED if answered else ChecklistState.PENDING,
            answered_by=bob if answered and mode == CheckMode.MANUAL else None,
            answered_at=timezone.now() if answered else None,
            evidence=EVIDENCE if answered and mode == CheckMode.AUTOMATIC else "",
        )  # fmt: skip
    return deployment


@pytest.mark.parametrize("screen", SCREENS.values(), ids=SCREENS.keys())
@pytest.mark.parametrize("persona", ["bob", "alice"])
def test_the_summary_of_a_production_deployment_is_in_the_first_screen(
    live_server, waiting_in_production, persona, screen, tmp_path
):
    width, height = screen
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, live_server.url, persona)
        page.goto(f"{live_server.url}/deployments/{waiting_in_production.pk}/")
        expect(page.locator("#approvals .status")).to_contain_text("Waiting")
        page.screenshot(path=str(tmp_path / f"summary-{persona}-{width}.png"))
        page.screenshot(path=str(tmp_path / f"whole-{persona}-{width}.png"), full_page=True)
        below = {}
        for part, selector in SUMMARY.items():
            box = page.locator(selector).bounding_box()
            if box["y"] + box["height"] > height:
                below[part] = round(box["y"] + box["height"])
        assert not below, f"below the first {height} px at {width}: {below} ({tmp_path})"
        browser.close()


def test_the_checklist_uses_the_page_s_width_on_a_desktop(live_server, waiting_in_production):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        sign_in(page, live_server.url, "bob")
        page.goto(f"{live_server.url}/deployments/{waiting_in_production.pk}/")
        main = page.locator("main").evaluate(
            "m => m.clientWidth - 2 * parseFloat(getComputedStyle(m).paddingLeft)"
        )
        checklist = page.locator("#checklist").bounding_box()["width"]
        assert checklist >= 0.95 * main, f"the checklist is {checklist:.0f} px of {main:.0f}"
        browser.close()
