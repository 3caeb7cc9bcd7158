"""The pages in real Chromium: sign in, read the matrix, follow a service."""

import pytest
from django.utils import timezone

from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deployed_catalog():
    development = make_environment("development", position=0)
    staging = make_environment("staging", position=1, promotes_from=development)
    web = make_service("web")
    make_service("realtime")
    release = make_release(web, "2.1.0")
    make_deployment(
        release, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
    )
    return web, development, staging


def test_an_engineer_signs_in_and_sees_what_runs_where(
    live_server, alice, deployed_catalog, browser_page, tmp_path
):
    page = browser_page
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "What runs where"
    web_row = page.locator("tr", has=page.locator("th a", has_text="web"))
    assert web_row.locator("td").nth(0).inner_text().startswith("2.1.0")
    assert web_row.locator("td").nth(1).inner_text().startswith("nothing deployed yet")
    assert page.evaluate("typeof htmx") == "object", "vendored htmx did not load"
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.click("text=web")
    page.wait_for_url(f"{live_server.url}/services/web/")
    assert "2.1.0" in page.locator("table.list").first.inner_text()
    assert errors == [], f"console errors: {errors}"
