"""A failed release in real Chromium: "Build again" under the same version, and the
earlier attempt kept on the page, on a desktop and a phone."""

import pytest

from releases import build_requests
from releases.build_log import emit_build_lines
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def failed_twice(settings, alice):
    settings.DOCKER_HOST = "unix:///run/portal-test-docker.sock"  # builds are offered
    web = make_service("web")
    web.repository, web.dockerfile = "/srv/git/web", "Dockerfile"
    web.save()
    release = build_requests.request_build("web", "2.1.0", "broken-dockerfile", actor=alice)
    emit_build_lines(release.pk, ["Step 3/5 : RUN make", "make: *** [all] Error 2"])
    Release.objects.filter(pk=release.pk).update(
        state=ReleaseState.FAILED, reason="Step 3/5 : RUN make\nmake: *** [all] Error 2"
    )
    build_requests.request_build("web", "2.1.0", "fix-make", actor=alice)
    Release.objects.filter(pk=release.pk).update(
        state=ReleaseState.FAILED, reason="Step 4/5 : COPY dist /www\nno such file: dist"
    )
    return release


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def test_an_engineer_builds_a_failed_version_again_from_its_page(
    live_server, failed_twice, browser_page, tmp_path
):
    page = browser_page
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/services/web/releases/2.1.0/")

    attempts = page.locator("#earlier-attempts li")
    assert attempts.count() == 1
    assert "Attempt 1 failed" in attempts.first.inner_text()
    assert "broken-dockerfile" in attempts.first.inner_text()
    assert page.locator("#status").inner_text().count("no such file: dist") == 1
    page.screenshot(path=str(tmp_path / "release-failed-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "release-failed-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.fill("#rebuild-ref", "main")
    page.click("text=Build 2.1.0 again")
    page.wait_for_url(f"{live_server.url}/services/web/releases/2.1.0/")
    assert "Building" in page.locator("#status h1").inner_text()
    assert page.locator("#earlier-attempts li").count() == 2
