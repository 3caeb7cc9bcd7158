"""register_release: a ready release, or a refusal that says what to fix."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from releases.models import Release
from releases.registration import ReleaseError, register_release
from releases.states import ReleaseState
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


@pytest.mark.parametrize(
    ("version", "git_sha"),
    [("5.0.4\n", ""), ("2.1.0", "abc1234\n"), ("\n2.1.0", ""), ("2.1.0", "\nabc1234")],
    ids=["version-newline", "git-sha-newline", "version-leading-newline", "git-sha-leading"],
)
def test_register_release_refuses_a_line_break_in_the_version_or_git_sha(web, version, git_sha):
    with pytest.raises(ReleaseError, match=r"is not a valid version|is not a git sha"):
        register_release("web", version, IMAGE, git_sha=git_sha)
    assert not Release.objects.exists()


def test_register_release_refuses_an_image_reference_with_a_line_break_inside(web):
    image = IMAGE.replace("@sha256:", "\n@sha256:")
    with pytest.raises(CommandError, match="is not an image reference"):
        register("web", "2.1.0", "--image", image)
    assert not Release.objects.exists()


def test_register_release_warns_when_the_image_tag_does_not_contain_the_version(web, capsys):
    register("web", "2.2.0", "--image", IMAGE)
    out, err = capsys.readouterr()
    assert "registered web 2.2.0" in out
    assert err == (
        "warning: the image tag '2.1.0' does not contain the version '2.2.0'; check that "
        f"{IMAGE} is the image of web 2.2.0.\n"
    )
    assert Release.objects.get(version="2.2.0").image == IMAGE


@pytest.mark.parametrize(
    ("version", "tag"), [("2.1.0", "2.1.0"), ("2.1.0", "v2.1.0-alpine"), ("2.1.0+5", "2.1.0_5")]
)
def test_register_release_does_not_warn_when_the_tag_contains_the_version(
    web, capsys, version, tag
):
    register("web", version, "--image", IMAGE.replace(":2.1.0@", f":{tag}@"))
    assert capsys.readouterr().err == ""
