"""POST /api/v1/releases against a real registry (`docker-registry`, no engine needed):
a pushed tag is recorded by its digest, a missing tag and an unreachable registry are
refused saying so, a duplicate version is a 409; a git ref is accepted as building.
The build log and the deployment log page by `after_seq`."""

import hashlib
import json
import shutil
from urllib.parse import urljoin

import httpx
import pytest

from deployments.models import LogLine
from deployments.states import DeploymentState
from releases.models import BuildLogLine, Release
from releases.states import ReleaseState
from tests.factories import make_deployment
from tests.harness.docker_engine import Registry
from tests.harness.server import free_port

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    with Registry(tmp_path_factory.mktemp("api-registry")) as running:
        yield running


def push(registry: Registry, path: str, tag: str) -> str:
    """Put a one-config, no-layer image under `path:tag` through the registry API; its
    manifest digest."""
    base = f"http://{registry.address}/v2/{path}"
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    started = httpx.post(f"{base}/blobs/uploads/")
    location = urljoin(base, started.headers["Location"])
    joiner = "&" if "?" in location else "?"
    httpx.put(f"{location}{joiner}digest={config_digest}", content=config).raise_for_status()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST, "layers": [],
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": config_digest},
    }).encode()  # fmt: skip
    httpx.put(
        f"{base}/manifests/{tag}", content=manifest, headers={"Content-Type": MANIFEST}
    ).raise_for_status()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


@pytest.fixture
def web_in_registry(world, registry):
    world.web.image_repository = f"{registry.address}/vizora-web"
    world.web.save()
    return world.web


def test_a_pushed_tag_is_registered_ready_by_its_digest(api, tokens, registry, web_in_registry):
    digest = push(registry, "vizora-web", "2.0.0")
    image = f"{web_in_registry.image_repository}:2.0.0"
    status, body = api.post(
        "/releases", tokens.ci_releases,
        {"service": "web", "version": "2.0.0", "image": image, "git_sha": "abc1234"},
    )  # fmt: skip
    assert status == 201, body
    assert (body["state"], body["image"]) == ("ready", f"{image}@{digest}")
    assert body["url"] == "http://testserver/services/web/releases/2.0.0/"
    assert body["git_sha"] == "abc1234"
    release = Release.objects.get(version="2.0.0")
    assert (release.image, release.created_by.username) == (f"{image}@{digest}", "ci-github")
    assert api.get("/releases/web/2.0.0", tokens.ci_read)[1] == body


def test_a_tag_the_registry_does_not_have_is_refused(api, tokens, registry, web_in_registry):
    image = f"{web_in_registry.image_repository}:9.9.9"
    status, body = api.post("/releases", tokens.engineer, {"service": "web", "version": "9.9.9",
                                                           "image": image})  # fmt: skip
    assert status == 400
    assert f"{image} does not exist in the registry" in body["error"]
    assert not Release.objects.filter(version="9.9.9").exists()


def test_a_registry_that_cannot_be_reached_is_refused_clearly(api, tokens, world):
    world.web.image_repository = f"127.0.0.1:{free_port()}/vizora-web"
    world.web.save()
    image = f"{world.web.image_repository}:2.0.0"
    status, body = api.post("/releases", tokens.engineer, {"service": "web", "version": "2.0.0",
                                                           "image": image})  # fmt: skip
    assert status == 400 and "127.0.0.1" in body["error"]
    assert not Release.objects.filter(version="2.0.0").exists()


def test_a_version_that_exists_is_a_409(api, tokens, registry, web_in_registry):
    push(registry, "vizora-web", "1.0.0")
    image = f"{web_in_registry.image_repository}:1.0.0"
    status, body = api.post("/releases", tokens.engineer, {"service": "web", "version": "1.0.0",
                                                           "image": image})  # fmt: skip
    assert status == 409 and "already" in body["error"]


def test_a_git_ref_is_accepted_as_building_with_a_log_to_follow(api, tokens, world, tmp_path):
    world.web.repository, world.web.dockerfile = str(tmp_path), "Dockerfile"
    world.web.save()
    status, body = api.post(
        "/releases", tokens.ci_releases, {"service": "web", "version": "2.1.0", "git_ref": "main"}
    )
    assert status == 202, body
    assert (body["state"], body["git_ref"], body["image"]) == ("building", "main", "")
    assert body["log_url"] == "http://testserver/api/v1/releases/web/2.1.0/log"
    assert api.get("/releases/web/2.1.0/log", tokens.ci_read)[1] == {
        "lines": [], "last_seq": 0, "is_final": False, "has_more": False,
    }  # fmt: skip


def test_a_service_the_portal_cannot_build_is_a_400_saying_what_is_missing(api, tokens):
    status, body = api.post(
        "/releases", tokens.engineer, {"service": "web", "version": "2.1.0", "git_ref": "main"}
    )
    assert status == 400 and "web has no repository in the catalog" in body["error"]


def test_the_build_log_pages_by_after_seq_until_final(api, tokens, world):
    release = world.release
    BuildLogLine.objects.bulk_create(
        BuildLogLine(release=release, seq=n, text=f"step {n}") for n in range(1, 1006)
    )
    first = api.get("/releases/web/1.0.0/log", tokens.engineer)[1]
    assert (len(first["lines"]), first["last_seq"], first["has_more"]) == (1000, 1000, True)
    assert first["is_final"] is False  # more to read, though the release is ready
    rest = api.get(f"/releases/web/1.0.0/log?after_seq={first['last_seq']}", tokens.engineer)[1]
    assert [line["seq"] for line in rest["lines"]] == [1001, 1002, 1003, 1004, 1005]
    assert (rest["is_final"], rest["has_more"], rest["lines"][0]["text"]) == (
        True, False, "step 1001",
    )  # fmt: skip
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.BUILDING)
    building = api.get("/releases/web/1.0.0/log?after_seq=1005", tokens.engineer)[1]
    assert building["is_final"] is False


def test_the_deployment_log_pages_and_names_each_line_step(api, tokens, world):
    deployment = make_deployment(world.release, world.production, state=DeploymentState.RUNNING)
    step = deployment.steps.create(kind="rollout", position=1)
    LogLine.objects.bulk_create(
        [LogLine(deployment=deployment, seq=1, text="requested")]
        + [LogLine(deployment=deployment, seq=n, step=step, text=f"pod {n}") for n in range(2, 4)]
    )
    body = api.get(f"/deployments/{deployment.pk}/log?after_seq=1", tokens.ci_read)[1]
    assert [(line["seq"], line["step"], line["text"]) for line in body["lines"]] == [
        (2, "rollout", "pod 2"), (3, "rollout", "pod 3"),
    ]  # fmt: skip
    assert (body["last_seq"], body["is_final"]) == (3, False)
    first = api.get(f"/deployments/{deployment.pk}/log", tokens.ci_read)[1]["lines"][0]
    assert first["step"] is None


def test_a_failed_build_is_built_again_under_its_version_202(api, tokens, world, tmp_path):
    world.web.repository, world.web.dockerfile = str(tmp_path), "Dockerfile"
    world.web.save()
    failed = Release.objects.create(
        service=world.web, version="2.1.0", git_ref="broken", state=ReleaseState.FAILED,
        reason="Step 2/4 failed",
    )  # fmt: skip
    status, body = api.post(
        "/releases", tokens.ci_releases, {"service": "web", "version": "2.1.0", "git_ref": "main"}
    )
    assert status == 202, body
    assert (body["state"], body["git_ref"], body["reason"]) == ("building", "main", "")
    assert failed.build_attempts.get().reason == "Step 2/4 failed"


def test_a_version_that_was_ready_is_a_409_saying_to_build_a_new_version(
    api, tokens, world, tmp_path
):
    world.web.repository, world.web.dockerfile = str(tmp_path), "Dockerfile"
    world.web.save()
    status, body = api.post(
        "/releases", tokens.ci_releases, {"service": "web", "version": "1.0.0", "git_ref": "main"}
    )
    assert status == 409
    assert (
        "a version that was ever ready is never reused — build under a new version, e.g. "
        in (body["error"])
    )
    assert Release.objects.get(service=world.web, version="1.0.0").state == ReleaseState.READY
