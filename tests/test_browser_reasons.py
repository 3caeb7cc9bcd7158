"""In real Chromium: a failed deployment's reason is read whole on the dashboard and the
service page, wrapped inside its cell at a desktop and a phone width."""

import pytest
from django.utils import timezone

from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.test_browser_deployment_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = (
    "Rollout failed: Container middleware crashed repeatedly (exit 1): Error: connect "
    "ECONNREFUSED 10.96.0.15:5432; rolled back to 1.0.0."
)


@pytest.fixture
def rolled_back(alice):
    development = make_environment("development", position=0)
    make_environment("staging", position=1, promotes_from=development)
    service = make_service("middleware")
    make_deployment(
        make_release(service, "1.0.0"), development, state=DeploymentState.SUCCEEDED,
        finished_at=timezone.now(),
    )  # fmt: skip
    return make_deployment(
        make_release(service, "1.7.0-crashloop"), development,
        state=DeploymentState.ROLLED_BACK, reason=REASON, requested_by=alice,
        finished_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.parametrize("width", [1280, 390])
def test_the_reason_is_shown_whole_and_wrapped_on_the_dashboard_and_service_page(
    live_server, rolled_back, width, browser_page, tmp_path
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "alice")
    for path, name in (("/", "dashboard"), ("/services/middleware/", "service")):
        page.goto(f"{live_server.url}{path}")
        reason = page.locator(".reason", has_text="rolled back to 1.0.0").first
        assert " ".join(reason.inner_text().split()) == REASON
        box = reason.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
