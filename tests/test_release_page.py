"""The release page (what one release is, its build and its live build log), its "Cancel
build" button and the service page's "Build release" form, for every role."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.states import DeploymentState
from releases.build_log import emit_build_lines
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.personas import make_persona
from web.build_form import DEMO_NO_ENGINE, NO_ENGINE

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def service():
    service = make_service("web")
    service.repository, service.dockerfile = "/srv/git/web", "Dockerfile"
    service.save()
    return service


@pytest.fixture
def docker(settings):
    settings.DOCKER_HOST = "unix:///run/portal-test-docker.sock"


def building(service, version="2.0.0", **fields) -> Release:
    started = timezone.now() - timedelta(seconds=12)
    return Release.objects.create(
        service=service, version=version, git_ref="main", state=ReleaseState.BUILDING,
        build_started_at=started, **fields,
    )  # fmt: skip


def built(service, version="1.0.0", **fields) -> Release:
    release = make_release(service, version)
    started = timezone.now() - timedelta(seconds=75)
    Release.objects.filter(pk=release.pk).update(
        git_ref="v1.0.0", git_sha="0123456789abcdef0123456789abcdef01234567",
        build_started_at=started, build_finished_at=started + timedelta(seconds=63),
        image_size=7_340_032, notes="Faster health checks", **fields,
    )  # fmt: skip
    release.refresh_from_db()
    return release


def page(client, release, **extra):
    return client.get(f"/services/{release.service.name}/releases/{release.version}/", **extra)


def signed_in(client, user):
    client.force_login(user)
    return client


# What the page shows


def test_a_built_release_shows_its_image_digest_git_build_and_who_asked(client, alice, service):
    release = built(service, created_by=alice)
    html = page(signed_in(client, alice), release).content.decode()
    name, digest = release.image.split("@")
    assert "state-ready" in html and "✓</span> Ready" in html
    assert f"<code>{name}</code>" in html and f"<code>{digest}</code>" in html
    assert f'value="{release.image}"' in html and 'data-copy="image-ref"' in html
    assert "<code>v1.0.0</code>" in html and "0123456789ab" in html
    assert "<dt>Asked by</dt><dd>alice at" in html
    assert "(1 min 3 s)" in html, "the build's duration"
    assert "7.0\xa0MB" in html, "the image's size"
    assert "Faster health checks" in html


def test_a_failed_build_shows_the_failing_steps_output_and_what_to_do(client, alice, service):
    reason = "Step 3/4 : RUN make\n/bin/sh: make: not found\nThe command returned 127"
    release = Release.objects.create(
        service=service, version="2.0.0", git_ref="main", state=ReleaseState.FAILED, reason=reason
    )
    html = page(signed_in(client, alice), release).content.decode()
    assert "state-failed" in html and "✗</span> Failed" in html
    assert "/bin/sh: make: not found\nThe command returned 127" in html, "output kept as lines"
    assert "then build it again: a failed build does not use up its version" in html
    assert "none: nothing was pushed" in html


def test_a_building_release_renders_its_whole_log_and_a_reload_hint_without_javascript(
    client, alice, service
):
    release = building(service)
    emit_build_lines(release.pk, [f"Step {n}/3" for n in range(1, 4)])
    html = page(signed_in(client, alice), release).content.decode()
    assert [f'id="l{n}"' in html for n in (1, 2, 3)] == [True] * 3
    assert "Step 3/3" in html
    assert "reload the page to see its progress" in html
    assert "data-events-url" not in html, "a WSGI page does not open a stream"
    assert "Building from <code>main</code>" in html


def test_a_long_log_shows_its_last_lines_and_earlier_ones_on_request(
    client, alice, service, settings
):
    settings.PORTAL_LOG_PAGE_LINES = 5
    release = building(service)
    emit_build_lines(release.pk, [f"output {n}" for n in range(1, 13)])
    signed_in(client, alice)
    html = page(client, release).content.decode()
    assert 'id="l8"' in html and 'id="l12"' in html and 'id="l7"' not in html
    log_url = f"/services/web/releases/{release.version}/log/"
    assert f'href="{log_url}?before=8#log"' in html
    earlier = client.get(f"{log_url}?before=8", **HTMX).content.decode()
    assert 'id="l3"' in earlier and 'id="l7"' in earlier and 'id="l8"' not in earlier
    assert f'href="{log_url}?before=3#log"' in earlier and 'hx-swap-oob="true"' in earlier
    without_js = client.get(f"{log_url}?before=8").content.decode()
    assert "Show later lines" in without_js and 'id="l7"' in without_js


def test_the_log_window_refuses_a_before_that_is_not_a_line_number(client, alice, service):
    release = building(service)
    url = f"/services/web/releases/{release.version}/log/?before=x"
    response = signed_in(client, alice).get(url)
    assert response.status_code == 400 and b"line number" in response.content


def test_the_page_says_where_the_release_runs_and_links_each_deployment(client, alice, service):
    release = built(service)
    development = make_environment("development")
    staging = make_environment("staging")
    ran = make_deployment(
        release, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
    )
    failed = make_deployment(release, staging, state=DeploymentState.FAILED)
    html = page(signed_in(client, alice), release).content.decode()
    assert "Runs now in <strong>development</strong>" in html
    assert "<strong>staging</strong>" not in html
    assert f'href="/deployments/{ran.pk}/"' in html and f'href="/deployments/{failed.pk}/"' in html


def test_a_registered_release_says_it_has_no_build_log(client, alice, service):
    release = make_release(service, "1.0.0")
    html = page(signed_in(client, alice), release).content.decode()
    assert "built elsewhere and registered from the registry" in html
    assert "Not running anywhere now" in html


def test_an_unknown_release_is_404_and_a_visitor_signs_in_first(client, alice, service):
    release = make_release(service, "1.0.0")
    assert page(client, release).status_code == 302
    signed_in(client, alice)
    assert client.get("/services/web/releases/9.9.9/").status_code == 404


def test_releases_on_the_service_and_deployment_pages_link_to_the_release_page(
    client, alice, service
):
    release = make_release(service, "1.0.0+build.5")
    deployment = make_deployment(release, make_environment("development"))
    signed_in(client, alice)
    url = "/services/web/releases/1.0.0+build.5/"
    assert f'href="{url}"' in client.get("/services/web/").content.decode()
    assert f'href="{url}"' in client.get(f"/deployments/{deployment.pk}/").content.decode()
    assert page(client, release).status_code == 200


# Cancel: who may


@pytest.mark.parametrize("persona", ["alice", "bob", "carol"])
def test_who_asked_for_the_build_leads_and_admins_get_the_cancel_button_while_it_builds(
    client, request, alice, persona, service
):
    release = building(service, created_by=alice)
    html = page(signed_in(client, request.getfixturevalue(persona)), release).content.decode()
    assert "⊘ Cancel build" in html
    assert f'action="/services/web/releases/{release.version}/cancel/"' in html


@pytest.mark.parametrize("persona", ["oscar", "erin"])
def test_an_outsider_or_another_engineer_gets_no_cancel_button_and_is_told_who_may(
    client, request, alice, persona, service
):
    user = (
        make_persona("erin", "engineer") if persona == "erin" else request.getfixturevalue(persona)
    )
    html = page(signed_in(client, user), building(service, created_by=alice)).content.decode()
    assert "Cancel build" not in html
    assert "alice (who asked for it), a lead or an admin may cancel this build." in html


def test_no_cancel_button_once_it_ended_or_a_cancel_was_asked(client, alice, service):
    signed_in(client, alice)
    assert "Cancel build" not in page(client, built(service)).content.decode()
    asked = building(service, "3.0.0", build_cancel_requested_at=timezone.now())
    html = page(client, asked).content.decode()
    assert "Cancel build" not in html and "Cancel requested at" in html


def test_the_details_say_how_far_the_build_got_as_the_headline_does(client, alice, service):
    signed_in(client, alice)
    assert "<dt>Build</dt><dd>started " in page(client, building(service)).content.decode()
    waiting = Release.objects.create(
        service=service, version="3.0.0", git_ref="main", state=ReleaseState.BUILDING
    )
    html = page(client, waiting).content.decode()
    assert "Waiting for a build worker" in html and "not started yet: waiting" in html
    Release.objects.filter(pk=waiting.pk).update(state=ReleaseState.FAILED)
    assert "<dd>never started</dd>" in page(client, waiting).content.decode()


def test_the_sections_an_event_asks_for_come_out_of_band(client, alice, service):
    release = building(service, created_by=alice)
    response = signed_in(client, alice).get(f"/services/web/releases/{release.version}/sections/")
    text = response.content.decode()
    assert '<section id="controls" hx-swap-oob="true">' in text and "Cancel build" in text
    assert '<div id="facts" hx-swap-oob="true">' in text
    assert '<section id="runs" hx-swap-oob="true"' in text


def test_an_outsider_may_not_cancel_a_build(client, alice, oscar, service):
    release = building(service, created_by=alice)
    response = signed_in(client, oscar).post(f"/services/web/releases/{release.version}/cancel/")
    assert response.status_code == 403
    release.refresh_from_db()
    assert release.build_cancel_requested_at is None and release.state == ReleaseState.BUILDING


def test_the_engineer_who_asked_cancels_the_build_from_its_page(client, alice, service):
    release = building(service, created_by=alice)
    url = f"/services/web/releases/{release.version}/"
    response = signed_in(client, alice).post(f"{url}cancel/")
    assert response.status_code == 302 and response["Location"] == url
    release.refresh_from_db()
    assert release.build_cancel_requested_at is not None, "a running build is asked to stop"
    html = page(client, release).content.decode()
    assert "Cancel requested at" in html and "⊘ Cancel build" not in html


def test_a_build_cancelled_before_it_started_ends_failed_saying_who(client, alice, service):
    release = Release.objects.create(
        service=service, version="2.0.0", git_ref="main", state=ReleaseState.BUILDING,
        created_by=alice,
    )  # fmt: skip
    signed_in(client, alice).post(f"/services/web/releases/{release.version}/cancel/")
    html = page(client, release).content.decode()
    assert "state-failed" in html and "Cancelled by alice before it started." in html


def test_cancelling_a_build_that_ended_says_why_and_changes_nothing(client, alice, service):
    release = built(service, created_by=alice)
    response = signed_in(client, alice).post(f"/services/web/releases/{release.version}/cancel/")
    assert response.status_code == 302
    message = str(next(iter(response.wsgi_request._messages)))
    assert message and "Cancel requested" not in message
    release.refresh_from_db()
    assert release.state == ReleaseState.READY


# The "Build release" form


def test_the_build_form_is_offered_to_engineers_with_main_as_the_default_ref(
    client, alice, service, docker
):
    html = signed_in(client, alice).get("/services/web/").content.decode()
    assert 'action="/services/web/build/#build"' in html
    assert 'name="git_ref" required maxlength="200" value="main"' in html
    assert "<fieldset>" in html, "enabled"


def test_an_outsider_sees_no_build_form_and_may_not_post_it(client, oscar, service, docker):
    signed_in(client, oscar)
    assert "Build release" not in client.get("/services/web/").content.decode()
    response = client.post("/services/web/build/", {"version": "2.0.0", "git_ref": "main"})
    assert response.status_code == 403
    assert not Release.objects.filter(version="2.0.0").exists()


def test_without_a_docker_engine_the_form_is_disabled_and_says_how_to_set_one(
    client, alice, service, settings
):
    settings.DOCKER_HOST, settings.DEV_MODE = "", False
    signed_in(client, alice)
    html = client.get("/services/web/").content.decode()
    assert "<fieldset disabled>" in html and "set DOCKER_HOST" in html
    response = client.post("/services/web/build/", {"version": "2.0.0", "git_ref": "main"})
    assert response.status_code == 400 and NO_ENGINE in response.content.decode()
    assert not Release.objects.filter(version="2.0.0").exists()
    assert DEMO_NO_ENGINE not in html
    settings.DEV_MODE = True
    assert DEMO_NO_ENGINE in client.get("/services/web/").content.decode(), "make run says how"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"version": "", "git_ref": "main"}, "build-version", "Give the new release a version"),
        ({"version": "2.0.0", "git_ref": ""}, "build-ref", "Name the branch, tag or commit"),
        ({"version": "2.0.0", "git_ref": "--upload-pack=x"}, "build-ref", "is not a git ref"),
        ({"version": "2.0.0", "git_ref": "my branch"}, "build-ref", "is not a git ref"),
    ],
)
def test_a_form_that_is_wrong_says_so_beside_the_field(
    client, alice, service, docker, form, field, message
):
    response = signed_in(client, alice).post("/services/web/build/", form)
    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="{field}-error" role="alert">' in html and message in html
    assert f'id="{field}" ' in html and 'aria-invalid="true"' in html
    assert not Release.objects.exists()


def test_building_a_release_records_it_building_and_opens_its_page(client, alice, service, docker):
    response = signed_in(client, alice).post(
        "/services/web/build/", {"version": "2.0.0", "git_ref": "main", "notes": "New login"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/services/web/releases/2.0.0/"
    release = Release.objects.get(service=service, version="2.0.0")
    assert (release.state, release.git_ref, release.notes) == (
        ReleaseState.BUILDING, "main", "New login",
    )  # fmt: skip
    assert release.created_by == alice
    flash = str(next(iter(response.wsgi_request._messages)))
    assert flash == "Build of web 2.0.0 from main requested.", "true however the build ends"


def test_a_cancel_from_htmx_says_so_in_a_flash_outside_the_refetched_sections(
    client, alice, service
):
    release = building(service, created_by=alice)
    url = f"/services/web/releases/{release.version}/cancel/"
    html = signed_in(client, alice).post(url, **HTMX).content.decode()
    assert html.strip().startswith('<section id="controls">')
    assert '<div id="flash" hx-swap-oob="true"><p class="message success" role="status">' in html
    assert "Cancel requested: the build stops within a second." in html


@pytest.mark.parametrize("version", ["1.0.0", "not a version!"])
def test_a_duplicate_or_malformed_version_is_refused_beside_the_version_field(
    client, alice, service, docker, version
):
    make_release(service, "1.0.0")
    response = signed_in(client, alice).post(
        "/services/web/build/", {"version": version, "git_ref": "main"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="build-version-error" role="alert">' in html
    assert Release.objects.count() == 1


def test_a_version_whose_build_failed_is_built_again_from_the_service_pages_form(
    client, alice, service, docker
):
    failed = Release.objects.create(
        service=service, version="9.0.1", git_ref="broken-dockerfile", state=ReleaseState.FAILED,
        reason="Step 2/4 RUN make failed",
    )  # fmt: skip
    response = signed_in(client, alice).post(
        "/services/web/build/", {"version": "9.0.1", "git_ref": "main"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/services/web/releases/9.0.1/"
    failed.refresh_from_db()
    assert (failed.state, failed.git_ref, failed.build_attempt) == ("building", "main", 2)
    html = page(client, failed).content.decode()
    assert 'id="earlier-attempts"' in html
    assert "Attempt 1 failed</span>" in html and "Step 2/4 RUN make failed" in html


def test_a_failed_release_offers_build_again_to_those_who_may_build(
    client, alice, oscar, service, docker
):
    failed = Release.objects.create(
        service=service, version="9.0.1", git_ref="broken-dockerfile", state=ReleaseState.FAILED
    )
    html = page(signed_in(client, alice), failed).content.decode()
    assert '<form method="post" action="/services/web/build/" class="inline rebuild">' in html
    assert '<input type="hidden" name="version" value="9.0.1">' in html
    assert 'value="broken-dockerfile"' in html
    assert "Build 9.0.1 again" in html
    assert "build it again: a failed build does not use up its version" in html
    assert "Build 9.0.1 again" not in page(signed_in(client, oscar), failed).content.decode()


def test_a_ready_release_offers_no_build_again(client, alice, service):
    assert "again</button>" not in page(signed_in(client, alice), built(service)).content.decode()


def test_the_page_reads_a_fixed_number_of_queries_whatever_its_log_and_history(
    client, alice, service
):
    release = built(service)
    signed_in(client, alice)
    development = make_environment("development")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert page(client, release).status_code == 200
        return len(captured)

    emit_build_lines(release.pk, ["one"])
    make_deployment(release, development, state=DeploymentState.SUCCEEDED)
    few = queries()
    emit_build_lines(release.pk, [f"line {n}" for n in range(200)])
    for _ in range(5):
        make_deployment(release, development, state=DeploymentState.FAILED)
    assert queries() == few
