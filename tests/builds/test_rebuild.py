"""A failed build does not burn its version: it is built again under the same version, its
failed attempt kept in the release's history (reason, ref, who, its span of the log); a
version that was ever ready, or is building, is refused saying what to do."""

import io

import pytest

from audit.models import AuditEvent
from deployments.management.commands import build_release
from releases import build_requests
from releases.build_log import emit_build_lines
from releases.models import BuildAttempt, Release
from releases.registration import ReleaseError, register_release
from releases.states import ReleaseState
from tests.builds.conftest import log_of
from tests.factories import digest_for, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(db):
    service = make_service("web")
    service.repository, service.dockerfile = "/srv/git/web", "Dockerfile"
    service.save()
    return service


def failed_build(service, alice, version="2.1.0", ref="broken-dockerfile") -> Release:
    release = build_requests.request_build(service.name, version, ref, actor=alice)
    emit_build_lines(release.pk, ["Step 3/5 : RUN make", "make: *** [all] Error 2"])
    Release.objects.filter(pk=release.pk).update(
        state=ReleaseState.FAILED, reason="Step 3/5 RUN make failed (exit 2)"
    )
    return release


def test_a_failed_build_is_built_again_under_the_same_version_keeping_the_failed_attempt(
    web, alice, bob
):
    failed = failed_build(web, alice)

    again = build_requests.request_build("web", "2.1.0", "main", actor=bob)

    assert again.pk == failed.pk
    assert (again.state, again.git_ref, again.reason) == (ReleaseState.BUILDING, "main", "")
    assert (again.build_attempt, again.created_by) == (2, bob)
    divider = "Build attempt 2 of web 2.1.0 from main (attempt 1 failed; its output is above)"
    assert again.log_bytes == len(divider) + 1  # the new attempt's cap counts only its own
    assert again.build_started_at is None and again.build_finished_at is None
    (kept,) = BuildAttempt.objects.filter(release=again)
    assert (kept.number, kept.git_ref, kept.requested_by) == (1, "broken-dockerfile", alice)
    assert kept.reason == "Step 3/5 RUN make failed (exit 2)"
    assert (kept.first_log_seq, kept.last_log_seq) == (1, 2)
    assert log_of(again).splitlines() == [
        "Step 3/5 : RUN make",
        "make: *** [all] Error 2",
        divider,
    ]
    actions = AuditEvent.objects.filter(target="release:web:2.1.0").values_list("action", flat=True)
    assert list(actions.order_by("pk")) == ["release.build_requested", "release.rebuild_requested"]


def test_each_failed_attempt_keeps_its_own_span_of_the_log(web, alice, bob):
    release = failed_build(web, alice)
    build_requests.request_build("web", "2.1.0", "fix-1", actor=bob)
    emit_build_lines(release.pk, ["still broken"])
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.FAILED, reason="again")

    third = build_requests.request_build("web", "2.1.0", "fix-2", actor=alice)

    attempts = BuildAttempt.objects.filter(release=release).order_by("number")
    spans = [(a.number, a.git_ref, a.first_log_seq, a.last_log_seq) for a in attempts]
    assert spans == [(1, "broken-dockerfile", 1, 2), (2, "fix-1", 3, 4)]
    assert third.build_attempt == 3 and third.git_ref == "fix-2"


def test_a_ready_version_is_never_built_again(web, alice):
    ready = make_release(web, "2.1.0")

    with pytest.raises(ReleaseError) as refused:
        build_requests.request_build("web", "2.1.0", "main", actor=alice)

    assert str(refused.value) == (
        "web 2.1.0 already exists (it is already registered); a version that was ever ready "
        "is never reused — build under a new version, e.g. 2.1.1."
    )
    ready.refresh_from_db()
    assert ready.state == ReleaseState.READY and ready.image.endswith(digest_for("2.1.0"))
    assert not BuildAttempt.objects.exists()


def test_a_failed_release_that_carries_an_image_is_never_built_again(web, alice):
    # Defence in depth: an image by digest means it was ready once, whatever its state.
    release = failed_build(web, alice)
    Release.objects.filter(pk=release.pk).update(image=f"{web.image_repository}:2.1.0@x")

    with pytest.raises(ReleaseError, match="already exists"):
        build_requests.request_build("web", "2.1.0", "main", actor=alice)

    release.refresh_from_db()
    assert release.state == ReleaseState.FAILED and not BuildAttempt.objects.exists()


def test_a_version_building_now_is_refused_saying_to_wait(web, alice):
    build_requests.request_build("web", "2.1.0", "main", actor=alice)

    with pytest.raises(ReleaseError) as refused:
        build_requests.request_build("web", "2.1.0", "other", actor=alice)

    assert "wait for its build to end (if it fails, 2.1.0 can be built again)" in str(refused.value)
    assert Release.objects.get(version="2.1.0").git_ref == "main"


def test_a_rebuild_that_lost_the_race_is_refused_and_changes_nothing(web, alice, bob):
    stale = failed_build(web, alice)
    build_requests.request_build("web", "2.1.0", "main", actor=bob)  # the racer won

    request = build_requests.BuildRequest("other", "", "", alice)
    with pytest.raises(ReleaseError, match=r"already exists \(it is building now\)"):
        build_requests._rebuild(stale, request)

    release = Release.objects.get(pk=stale.pk)
    assert (release.git_ref, release.build_attempt) == ("main", 2)
    assert BuildAttempt.objects.count() == 1


def test_registering_an_image_under_a_failed_version_says_it_can_be_built_again(web, alice):
    failed_build(web, alice)
    image = f"{web.image_repository}:2.1.0@{digest_for('2.1.0')}"

    with pytest.raises(ReleaseError) as refused:
        register_release("web", "2.1.0", image)

    assert "already exists (its build failed); build it again under 2.1.0" in str(refused.value)


def test_following_a_rebuild_prints_only_this_attempts_output(web, alice, bob):
    release = failed_build(web, alice)
    build_requests.request_build("web", "2.1.0", "main", actor=bob)
    emit_build_lines(release.pk, ["Step 1/5 : FROM scratch"])
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.FAILED, reason="x")
    out = io.StringIO()

    command = build_release.Command(stdout=out)
    command.follow(release.pk)

    assert out.getvalue().splitlines() == [
        "Build attempt 2 of web 2.1.0 from main (attempt 1 failed; its output is above)",
        "Step 1/5 : FROM scratch",
    ]
