"""register_release: a ready release, or a refusal that says what to fix."""

import pytest
from django.core.management import CommandError, call_command

from deployments.models import AuditEvent, Release
from deployments.states import ReleaseState
from tests.factories import make_service

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"ghcr.io/your-org/vizora-web:2.1.0@{DIGEST}"


@pytest.fixture
def web():
    return make_service("web")


def register(*args):
    call_command("register_release", *args)


def test_register_release_creates_a_ready_release_with_its_digest(web, capsys):
    register("web", "2.1.0", "--image", IMAGE, "--git-sha", "abc1234", "--notes", "Fixes")
    release = Release.objects.get(service=web, version="2.1.0")
    assert release.state == ReleaseState.READY
    assert release.image == IMAGE
    assert (release.git_sha, release.notes) == ("abc1234", "Fixes")
    assert "registered web 2.1.0" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="release.registered", target="release:web:2.1.0")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("ghcr.io/your-org/vizora-web:2.1.0", "has no digest"),
        (f"ghcr.io/your-org/vizora-web@{DIGEST}", "has no tag"),
        ("ghcr.io/your-org/vizora-web:2.1.0@sha256:123", "is not a sha256 digest"),
        ("not an image", "is not an image reference"),
        (f"ghcr.io/your-org/vizora-api:2.1.0@{DIGEST}", "is not the image repository of web"),
    ],
)
def test_register_release_refuses_a_bad_image_reference(web, image, message):
    with pytest.raises(CommandError, match=message):
        register("web", "2.1.0", "--image", image)
    assert not Release.objects.exists()


def test_register_release_refuses_a_duplicate_version_and_keeps_the_first(web):
    register("web", "2.1.0", "--image", IMAGE)
    other = IMAGE.replace("0123456789abcdef" * 4, "f" * 64)
    with pytest.raises(CommandError, match="already registered; releases are immutable"):
        register("web", "2.1.0", "--image", other)
    assert Release.objects.get(version="2.1.0").image == IMAGE


def test_register_release_refuses_an_unknown_service_and_names_the_known_ones(web):
    with pytest.raises(CommandError, match=r"no service 'nope'; known services: web"):
        register("nope", "1.0.0", "--image", IMAGE)


def test_register_release_refuses_an_archived_service(web):
    from django.utils import timezone

    web.archived_at = timezone.now()
    web.save()
    with pytest.raises(CommandError, match="archived"):
        register("web", "1.0.0", "--image", IMAGE)


@pytest.mark.parametrize(("version", "git_sha"), [("2.1 beta", ""), ("2.1.0", "not-a-sha")])
def test_register_release_refuses_a_malformed_version_or_git_sha(web, version, git_sha):
    args = ["web", version, "--image", IMAGE]
    if git_sha:
        args += ["--git-sha", git_sha]
    with pytest.raises(CommandError, match=r"is not a valid version|is not a git sha"):
        register(*args)
    assert not Release.objects.exists()
