"""Registries that let no one in without credentials, by bearer token (distribution's token
flow, with a token service checking Basic credentials) and by Basic auth (htpasswd):
builds push and tags resolve with the credentials from PORTAL_REGISTRY_CREDENTIALS_FILE
(docker's config.json format); without them, or with wrong ones, the registry's refusal
is the reason. The password never shows."""

import base64
import json

import pytest

from audit.models import AuditEvent
from releases import build_requests, builds
from releases.registration import ReleaseError, register_from_registry
from releases.states import ReleaseState
from tests.builds.conftest import log_of
from tests.harness.docker_engine import Registry, TokenService

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-registry-password"
# bcrypt of PASSWORD (cost 4), made once with libcrypt: the registry's htpasswd needs bcrypt.
HTPASSWD = "ci-bot:$2b$04$/l5Lte5v1vYNhXxp0Ta4.eVF61LjQvoUL1jk3uKlXSf4Q3wVyEaiK"


@pytest.fixture
def token_service():
    with TokenService("ci-bot", PASSWORD) as service:
        yield service


@pytest.fixture(params=["bearer", "basic"])
def locked_registry(request, docker_host, tmp_path, token_service):
    if request.param == "bearer":
        options = {"token_realm": token_service.url}
    else:
        options = {"htpasswd": HTPASSWD}
    with Registry(tmp_path / "locked-registry", **options) as running:
        yield running


@pytest.fixture
def locked_web(web, locked_registry, repository):
    web.image_repository = f"{locked_registry.address}/vizora/web-{repository.token}"
    web.save()
    repository.commit("v1", tag="v1")
    return web


def credentials_file(settings, path, registry, password):
    auth = base64.b64encode(f"ci-bot:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry.address: {"auth": auth}}}))
    settings.PORTAL_REGISTRY_CREDENTIALS_FILE = str(path)


def build(version: str):
    release = build_requests.request_build("web", version, "v1")
    builds.run_build(release.pk)
    release.refresh_from_db()
    return release


def test_a_build_pushes_with_the_files_credentials_and_the_tag_resolves_with_them(
    build_settings, locked_web, locked_registry, token_service, tmp_path
):
    credentials_file(build_settings, tmp_path / "config.json", locked_registry, PASSWORD)
    release = build("1.0.0")
    assert release.state == ReleaseState.READY, release.reason
    path = locked_web.image_repository.split("/", 1)[1]
    if locked_registry.token_realm:
        assert f"repository:{path}:push,pull" in token_service.scopes  # dockerd used them
    registered = register_from_registry("web", "1.0.1", f"{locked_web.image_repository}:1.0.0")
    assert registered.image.split("@")[1] == release.image.split("@")[1]
    if locked_registry.token_realm:
        assert f"repository:{path}:pull" in token_service.scopes  # and so did the portal
    texts = [log_of(release), *(json.dumps(e.detail) for e in AuditEvent.objects.all())]
    assert not any(PASSWORD in text for text in texts)


def test_without_credentials_the_push_fails_with_the_registrys_refusal(
    build_settings, locked_web, locked_registry
):
    release = build("1.0.0")
    assert release.state == ReleaseState.FAILED and release.image == ""
    assert release.reason.startswith(
        f"The registry refused the push of {locked_web.image_repository}:1.0.0: "
    )
    refusal = "wrong credentials" if locked_registry.token_realm else "no basic auth credentials"
    assert release.reason.endswith(refusal)  # the registry's (or its token service's) words


def test_wrong_credentials_are_refused_by_the_token_service_without_showing_them(
    build_settings, locked_web, locked_registry, tmp_path
):
    credentials_file(build_settings, tmp_path / "config.json", locked_registry, "wrong-pass-123")
    with pytest.raises(ReleaseError) as refused:
        register_from_registry("web", "1.0.0", f"{locked_web.image_repository}:1.0.0")
    if locked_registry.token_realm:
        refusal = f"The token service of {locked_registry.address} refused a token (401)"
    else:
        refusal = f"The registry {locked_registry.address} refused access to vizora/web-"
    assert refusal in str(refused.value)
    assert "wrong-pass-123" not in str(refused.value)
    release = build("1.0.1")
    assert release.state == ReleaseState.FAILED
    assert "wrong-pass-123" not in release.reason + log_of(release)
