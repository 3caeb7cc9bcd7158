"""The Messages page and the deployment page's Messages section in real Chromium: an
admin reads what was sent and how each try went, on a desktop and a phone; an engineer
gets neither."""

import pytest

from deployments.states import NotificationEvent, NotificationState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.test_messages_page import sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def told(alice, carol):
    deployment = make_deployment(
        make_release(make_service("web"), "2.1.0"),
        make_environment("production"),
        requested_by=alice,
        state="failed",
    )
    sent(deployment, NotificationEvent.STARTED, answers=(500, 200))
    sent(deployment, NotificationEvent.FAILED, channel="webhook", answers=("timed out after 5s",),
         state=NotificationState.PENDING)  # fmt: skip
    return deployment


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def test_an_admin_reads_the_messages_on_desktop_and_phone(
    live_server, told, browser_page, tmp_path
):
    page = browser_page
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server.url, "carol")

    page.click("text=Messages")
    page.wait_for_url(f"{live_server.url}/messages/")
    first = page.locator(".sent-message").first
    assert "Failed" in first.locator(".sent-head").inner_text()
    assert "hooks.example.com" in first.inner_text()
    assert "timed out after 5s" in first.inner_text()
    started = page.locator(".sent-message").nth(1)
    assert "accepted after 2 tries" in started.inner_text()
    started.locator("summary", has_text="The body as posted").click()
    assert "web → production started" in started.locator("pre.body-json").inner_text()
    page.screenshot(path=str(tmp_path / "messages-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "messages-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a phone"

    page.select_option("select[name=state]", "pending")
    page.click("text=Show")
    page.wait_for_url("**/messages/?*state=pending*")
    assert page.locator(".sent-message").count() == 1

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/deployments/{told.pk}/")
    section = page.locator("#sent-messages")
    assert "hooks.slack.com" in section.inner_text()
    section.screenshot(path=str(tmp_path / "deployment-messages-desktop.png"))
    assert errors == [], f"console errors: {errors}"


def test_an_engineer_neither_sees_the_section_nor_opens_the_page(live_server, told, browser_page):
    page = browser_page
    sign_in(page, live_server.url, "alice")

    page.goto(f"{live_server.url}/deployments/{told.pk}/")
    assert page.locator("h2", has_text="Steps").count() == 1
    assert page.locator("#sent-messages").count() == 0
    assert page.locator("a", has_text="Messages").count() == 0
    response = page.goto(f"{live_server.url}/messages/")
    assert response.status == 403
    assert "Only admins see the messages" in page.inner_text("main")
