"""A failed build built again under its version, on the real engine and registry: the
second attempt pushes `repo:VERSION` and the release ends ready, with both attempts'
output in its log and the failed one in its history."""

import pytest

from integrations import registry as registry_client
from releases import build_requests, builds
from releases.models import Release
from releases.states import ReleaseState
from tests.builds.conftest import DOCKERFILE, log_of

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def build(version: str, ref: str) -> Release:
    release = build_requests.request_build("web", version, ref)
    builds.run_build(release.pk)
    release.refresh_from_db()
    return release


def test_a_failed_build_built_again_under_its_version_ends_ready(build_settings, web, repository):
    broken = DOCKERFILE.replace("/bin/busybox cat /www/health", "echo broken on purpose; exit 3")
    repository.commit("v1", tag="broken", dockerfile=broken)
    failed = build("2.1.0", "broken")
    assert failed.state == ReleaseState.FAILED
    repository.commit("v1 fixed", tag="fixed")

    again = build("2.1.0", "fixed")

    assert again.pk == failed.pk
    assert again.state == ReleaseState.READY, again.reason
    digest = registry_client.resolve_digest(web.image_repository, "2.1.0")
    assert again.image == f"{web.image_repository}:2.1.0@{digest}"
    log = log_of(again)
    assert log.index("broken on purpose") < log.index("Building web 2.1.0 from fixed (attempt 2)")
    kept = again.build_attempts.get()
    assert (kept.number, kept.git_ref) == (1, "broken") and "exit" in kept.reason.lower()
