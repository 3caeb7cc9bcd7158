"""Builds on the real engine and registry, run in this process (`run_build` is the task's
body): the image is pushed and pinned by digest; a broken Dockerfile, a refused push, a
bad ref and a timeout fail with what went wrong; the cache is used; no credential leaks."""

import json

import pytest

from audit.models import AuditEvent
from integrations import docker_builds
from integrations import registry as registry_client
from releases import build_requests, builds
from releases.models import Release
from releases.states import ReleaseState
from tests.builds.conftest import DOCKERFILE, log_of, wait_until_not_running

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def build(version: str, ref: str) -> Release:
    release = build_requests.request_build("web", version, ref)
    builds.run_build(release.pk)
    release.refresh_from_db()
    return release


def test_a_build_pushes_the_image_and_records_its_digest_size_times_and_output(
    build_settings, web, repository
):
    sha = repository.commit("v1", tag="v1")
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.READY, release.reason
    digest = registry_client.resolve_digest(web.image_repository, "1.0.0")
    assert release.image == f"{web.image_repository}:1.0.0@{digest}"
    assert release.git_sha == sha  # the commit the ref pointed at
    assert release.image_size > 0
    assert release.build_started_at <= release.build_finished_at
    log = log_of(release)
    assert "greeting is hello" in log  # the catalog's build args reached the build
    assert f"v1 {repository.token}" in log and f"Pushed {release.image}" in log
    actions = AuditEvent.objects.filter(target="release:web:1.0.0").values_list("action", flat=True)
    assert list(actions.order_by("pk")) == [
        "release.build_requested", "release.build_started", "release.built",
    ]  # fmt: skip


@pytest.mark.parametrize("length", [40, 10], ids=["full sha", "short sha"])
def test_a_commit_sha_is_built_even_when_no_branch_or_tag_names_it(
    build_settings, web, repository, length
):
    first = repository.commit("v1")
    repository.commit("v2")
    release = build("1.0.0", first[:length])
    assert release.state == ReleaseState.READY, release.reason
    assert release.git_sha == first and f"v1 {repository.token}" in log_of(release)


CHATTY_DOCKERFILE = DOCKERFILE.replace(
    "CMD [",
    'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox yes build output line'
    ' | /bin/busybox head -c 3000000"]\nCMD [',
)


def test_a_build_printing_megabytes_stores_only_its_cap_and_its_ending(
    build_settings, web, repository
):
    build_settings.PORTAL_LOG_STEP_MAX_BYTES = 16 * 1024
    repository.commit("v1", tag="v1", dockerfile=CHATTY_DOCKERFILE)
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.READY, release.reason
    texts = list(release.build_log.order_by("seq").values_list("text", flat=True))
    notice = "[output truncated: this build reached its limit of 16384 bytes"
    assert [n for n, text in enumerate(texts) if text.startswith(notice)] == [len(texts) - 2]
    assert texts[-1].startswith("Built and pushed "), "the ending is stored past the cap"
    assert sum(len(text.encode()) + 1 for text in texts[:-2]) <= 16 * 1024
    assert release.log_bytes == 16 * 1024


def test_the_second_build_of_the_same_context_uses_the_cache(build_settings, web, repository):
    repository.commit("v1", tag="v1")
    first, second = build("1.0.0", "v1"), build("1.0.1", "v1")
    assert second.state == ReleaseState.READY, second.reason
    assert "Using cache" not in log_of(first).split("COPY www /www", 1)[1]
    assert "Using cache" in log_of(second).split("COPY www /www", 1)[1]


def test_a_broken_dockerfile_fails_with_the_failing_steps_output(build_settings, web, repository):
    broken = DOCKERFILE.replace(
        "/bin/busybox cat /www/health", "echo compiling assets; echo disk full >&2; exit 3"
    )
    repository.commit("v1", tag="v1", dockerfile=broken)
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED and release.image == ""
    assert release.reason.startswith("The build failed at Step 5/6 : RUN")
    assert "compiling assets" in release.reason and "disk full" in release.reason
    assert "returned a non-zero code: 3" in release.reason
    assert AuditEvent.objects.filter(action="release.build_failed").count() == 1


def test_a_registry_that_refuses_the_push_fails_the_release_with_its_message(
    build_settings, web, repository, read_only_registry
):
    web.image_repository = f"{read_only_registry.address}/vizora/web-{repository.token}"
    web.save()
    repository.commit("v1", tag="v1")
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED and release.image == ""
    assert release.reason.startswith(f"The registry refused the push of {web.image_repository}")
    assert "Method not allowed" in release.reason  # what the read-only registry answers


def test_a_ref_the_repository_does_not_have_fails_with_gits_message(
    build_settings, web, repository
):
    repository.commit("v1", tag="v1")
    release = build("1.0.0", "no-such-branch")
    assert release.state == ReleaseState.FAILED
    assert "at no-such-branch failed" in release.reason
    assert "not found in upstream origin" in release.reason


def test_a_build_past_its_timeout_is_stopped_and_its_container_killed(
    build_settings, web, repository
):
    # Long enough to reach the slow step on a loaded machine (clone and first steps).
    build_settings.PORTAL_BUILD_TIMEOUT_SECONDS = 5
    slow = DOCKERFILE.replace("/bin/busybox cat /www/health", "echo waiting; /bin/busybox sleep 60")
    repository.commit("v1", tag="v1", dockerfile=slow)
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED
    assert release.reason == "Timed out after 5s (PORTAL_BUILD_TIMEOUT_SECONDS)."
    container = log_of(release).split("Running in ", 1)[1].split()[0]
    wait_until_not_running(build_settings.DOCKER_HOST, lambda c: c.id.startswith(container))


def test_registry_and_git_credentials_never_reach_the_log_the_reason_or_the_audit(
    build_settings, web, repository, registry, tmp_path
):
    password, token = "regpass-9f8e7d6c5b", "gittoken-1a2b3c4d5e"
    credentials = tmp_path / "docker-config.json"
    credentials.write_text(
        json.dumps({"auths": {registry.address: {"username": "ci", "password": password}}})
    )
    (tmp_path / "git-credentials").write_text(f"https://ci:{token}@git.example.com\n")
    build_settings.PORTAL_REGISTRY_CREDENTIALS_FILE = str(credentials)
    build_settings.PORTAL_GIT_CREDENTIALS_FILE = str(tmp_path / "git-credentials")
    # A careless Dockerfile that prints them (the catalog handed them in as build args).
    web.build_args = {"GREETING": f"{password} {token}"}
    web.save()
    leaky = DOCKERFILE.replace("/bin/busybox cat /www/health", "exit 1")
    repository.commit("v1", tag="v1", dockerfile=leaky)
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED
    everything = [log_of(release), release.reason]
    everything += [json.dumps(e.detail) for e in AuditEvent.objects.all()]
    assert "greeting is *** ***" in log_of(release)
    assert not any(password in text or token in text for text in everything)


def test_an_engine_that_cannot_be_reached_fails_the_build_naming_it(
    build_settings, web, repository, tmp_path
):
    build_settings.DOCKER_HOST = f"unix://{tmp_path}/no-engine.sock"
    repository.commit("v1", tag="v1")
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED
    assert release.reason.startswith(
        f"The Docker engine at {build_settings.DOCKER_HOST} cannot be reached"
    )


def test_a_dockerfile_outside_the_repository_is_refused(build_settings, web, repository):
    web.dockerfile = "../../../etc/hostname"
    web.save()
    repository.commit("v1", tag="v1")
    release = build("1.0.0", "v1")
    assert release.state == ReleaseState.FAILED
    assert release.reason == "There is no Dockerfile at '../../../etc/hostname' in the repository."


def test_a_build_stopped_before_its_slow_step_starts_kills_that_step_when_it_starts(
    build_settings, web, repository
):
    slow = DOCKERFILE.replace(
        "/bin/busybox cat /www/health", f"echo {repository.token}; /bin/busybox sleep 60"
    )
    repository.commit("v1", dockerfile=slow)
    spec = docker_builds.BuildSpec(
        checkout=repository.path, dockerfile="Dockerfile", context=".", build_args={},
        repository=web.image_repository, tag="stopped",
    )  # fmt: skip
    build_settings.PORTAL_BUILD_POLL_SECONDS = 0.01  # stopped before the build is under way
    lines: list[str] = []
    with pytest.raises(docker_builds.BuildStopped, match="stop now"):
        docker_builds.build_and_push(spec, lines.append, lambda: "stop now")
    assert not any(line.startswith(("Successfully built", "Pushing")) for line in lines)
    # No step runs on: its 60 s sleep would outlast the wait.
    wait_until_not_running(
        build_settings.DOCKER_HOST,
        lambda c: repository.token in " ".join(c.attrs["Config"]["Cmd"] or []),
    )
