"""Asking for releases: a prebuilt tag registered by the digest the registry holds (a tag
it lacks, or a registry that cannot be reached, refused); build requests validated;
cancelling refused when there is nothing to cancel or for the wrong person; at most
PORTAL_BUILD_CONCURRENCY builds at once; a build whose worker was lost ends failed."""

import base64
import io
import json
import tarfile
from datetime import timedelta

import docker
import pytest
import redis
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import Service
from portal.refusals import ActionRefused
from releases import build_requests, builds
from releases.models import Release
from releases.registration import ReleaseError, register_from_registry
from releases.states import ReleaseState
from tests.builds.conftest import log_of
from tests.harness.server import free_port

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pushed(build_settings, web, repository):
    """web's repository:1.0.0 pushed straight through the docker SDK; its digest."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f"FROM scratch\nLABEL token={repository.token}\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    engine = docker.DockerClient(base_url=build_settings.DOCKER_HOST)
    for _ in engine.api.build(
        fileobj=context, custom_context=True, tag=f"{web.image_repository}:1.0.0", decode=True
    ):
        pass
    chunks = list(engine.api.push(web.image_repository, tag="1.0.0", stream=True, decode=True))
    engine.close()
    return next(c["aux"]["Digest"] for c in chunks if "Digest" in c.get("aux", {}))


def test_a_pushed_tag_is_registered_ready_with_the_digest_the_registry_holds(web, pushed, alice):
    release = register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0", actor=alice)
    assert release.state == ReleaseState.READY
    assert release.image == f"{web.image_repository}:1.0.0@{pushed}"
    assert release.created_by == alice
    event = AuditEvent.objects.get(action="release.registered")
    assert event.detail == {"image": release.image, "resolved_from_registry": True}


def test_a_digest_given_with_the_tag_must_be_the_one_the_registry_holds(web, pushed):
    other = "sha256:" + "0" * 64
    with pytest.raises(ReleaseError, match=f"is {pushed} in the registry, not {other}"):
        register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0@{other}")
    release = register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0@{pushed}")
    assert release.image.endswith(pushed)


def test_a_tag_the_registry_does_not_have_is_refused_and_nothing_recorded(web, pushed):
    with pytest.raises(
        ReleaseError, match=r"web-\w+:9\.9\.9 does not exist in the registry .*MANIFEST_UNKNOWN"
    ):
        register_from_registry("web", "9.9.9", f"{web.image_repository}:9.9.9")
    assert not Release.objects.exists()


def test_a_registry_that_cannot_be_reached_is_refused_saying_so(transactional_db):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    Service.objects.create(name="api", image_repository=f"{address}/vizora/api", workloads=[])
    with pytest.raises(ReleaseError, match=f"The registry {address} cannot be reached"):
        register_from_registry("api", "1.0.0", f"{address}/vizora/api:1.0.0")


def test_registering_a_version_that_exists_says_it_already_exists(web, pushed):
    register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0")
    with pytest.raises(ReleaseError, match=r"web 1\.0\.0 already exists"):
        register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0")


@pytest.mark.parametrize(
    ("service", "version", "ref", "message"),
    [
        ("nope", "1.0.0", "main", "There is no service 'nope'"),
        ("web", "1 0", "main", "'1 0' is not a valid version"),
        ("web", "1.0.0", "--upload-pack=evil", "is not a git branch, tag or commit"),
        ("web", "1.0.0", "main..other", "is not a git branch, tag or commit"),
        ("web", "1.0.0", "", "is not a git branch, tag or commit"),
    ],
)
def test_a_build_request_with_bad_input_is_refused_saying_what_is_wrong(
    web, service, version, ref, message
):
    with pytest.raises(ReleaseError, match=message):
        build_requests.request_build(service, version, ref)
    assert not Release.objects.exists()


def test_a_service_without_a_repository_cannot_be_built(web):
    web.repository = ""
    web.save()
    with pytest.raises(ReleaseError, match="web has no repository in the catalog"):
        build_requests.request_build("web", "1.0.0", "main")


def test_a_duplicate_build_request_says_the_version_already_exists(web):
    build_requests.request_build("web", "1.0.0", "main")
    says = r"web 1\.0\.0 already exists \(it is building now\); wait for its build to end \(if it "
    says += r"fails, 1\.0\.0 can be built again\), or build under a new version, e\.g\. 1\.0\.1\."
    with pytest.raises(ReleaseError, match=says):
        build_requests.request_build("web", "1.0.0", "other")


def test_only_people_who_may_build_can_request_a_build_and_nothing_is_recorded_otherwise(
    web, alice, oscar
):
    with pytest.raises(ActionRefused, match="oscar may not build releases of web") as refused:
        build_requests.request_build("web", "1.0.0", "main", actor=oscar)
    assert refused.value.forbidden
    assert not Release.objects.exists()
    assert build_requests.request_build("web", "1.0.0", "main", actor=alice).created_by == alice


def test_cancelling_a_build_that_waits_for_a_slot_ends_it_at_once(web, alice):
    release = build_requests.request_build("web", "1.0.0", "main", actor=alice)
    release = build_requests.cancel_build(alice, release.pk)
    assert release.state == ReleaseState.FAILED
    assert release.reason == "Cancelled by alice before it started."
    builds.run_build(release.pk)  # its message arrives late: nothing happens
    assert Release.objects.get(pk=release.pk).build_started_at is None


def test_only_the_requester_a_lead_or_an_admin_may_cancel_a_build(web, alice, bob, oscar):
    release = build_requests.request_build("web", "1.0.0", "main", actor=bob)
    for outsider in (alice, oscar):  # another engineer; someone in no role
        with pytest.raises(ActionRefused) as refused:
            build_requests.cancel_build(outsider, release.pk)
        assert refused.value.forbidden
    assert Release.objects.get(pk=release.pk).state == ReleaseState.BUILDING


def test_cancelling_a_release_that_is_not_building_is_refused(web, pushed, bob):
    release = register_from_registry("web", "1.0.0", f"{web.image_repository}:1.0.0")
    with pytest.raises(ActionRefused, match="is ready, not building: nothing to cancel"):
        build_requests.cancel_build(bob, release.pk)


def test_no_more_builds_run_at_once_than_the_concurrency_limit(build_settings, web, repository):
    build_settings.PORTAL_BUILD_CONCURRENCY = 1
    repository.commit("v1", tag="v1")
    running = build_requests.request_build("web", "1.0.0", "v1")
    Release.objects.filter(pk=running.pk).update(build_started_at=timezone.now())
    waiting = build_requests.request_build("web", "1.0.1", "v1")
    builds.run_build(waiting.pk)
    waiting.refresh_from_db()
    assert waiting.state == ReleaseState.BUILDING and waiting.build_started_at is None
    assert log_of(waiting) == ""
    Release.objects.filter(pk=running.pk).update(state=ReleaseState.FAILED, reason="test")
    builds.run_build(waiting.pk)  # a slot is free now
    assert Release.objects.get(pk=waiting.pk).state == ReleaseState.READY


def test_the_sweeper_fails_a_build_whose_worker_was_lost(build_settings, web):
    release = build_requests.request_build("web", "1.0.0", "main")
    long_ago = timezone.now() - timedelta(seconds=build_settings.PORTAL_BUILD_TIMEOUT_SECONDS + 60)
    Release.objects.filter(pk=release.pk).update(build_started_at=long_ago)
    fresh = build_requests.request_build("web", "1.0.1", "main")
    Release.objects.filter(pk=fresh.pk).update(build_started_at=timezone.now())
    assert builds.sweep_builds() == 1
    release.refresh_from_db()
    assert release.state == ReleaseState.FAILED
    assert release.reason.startswith("The build's worker was lost")
    assert Release.objects.get(pk=fresh.pk).state == ReleaseState.BUILDING


def test_a_build_request_sends_the_build_task_to_the_builds_queue_once_committed(web, settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = settings.CELERY_QUEUES["builds"]
    client.delete(queue)
    try:
        with transaction.atomic():
            release = build_requests.request_build("web", "1.0.0", "main")
            assert client.llen(queue) == 0  # not before the release is committed
        (raw,) = client.lrange(queue, 0, -1)
        message = json.loads(raw)
        assert message["headers"]["task"] == "deployments.tasks.build_release"
        assert json.loads(base64.b64decode(message["body"]))[0] == [release.pk]
    finally:
        client.delete(queue)
        client.close()


def test_manage_py_build_release_refuses_bad_input_with_the_reason(web):
    with pytest.raises(CommandError, match="'-x' is not a git branch, tag or commit"):
        call_command("build_release", "web", "1.0.0", "--ref=-x")
