"""Builds through the queue on a real worker, then deployed by digest: two versions of a
service built from a local git repository run on kubesim in development, staging and
production as the very digest the registry holds; a cancelled build stops."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.template.defaultfilters import filesizeformat

from catalog.models import ChecklistTemplate, Cluster, Environment
from deployments.engine import request_deployment
from integrations import registry as registry_client
from kubesim.testing import VIZORA_CONFIG, KubeSim
from releases import build_requests
from releases.models import Release
from releases.states import ReleaseState
from tests.builds.conftest import DOCKERFILE, log_of, wait_until_not_running
from tests.engine.conftest import SPEED, cluster_images, run_in_process
from tests.harness.waiting import wait_for
from tests.harness.worker import WorkerProcess

pytestmark = [
    pytest.mark.docker, pytest.mark.worker, pytest.mark.django_db(transaction=True),
]  # fmt: skip

NAMESPACES = {"development": "vizora-dev", "staging": "vizora-staging",
              "production": "vizora-prod"}  # fmt: skip


@pytest.fixture
def build_worker(build_settings, tmp_path):
    # Every queue: the client's tests (tests/test_portal_client.py) deploy through it; the
    # deployments here are driven in this process too, and run_in_process waits while this
    # worker holds a look.
    worker = WorkerProcess(
        tmp_path / "worker.log",
        extra_env={
            "DOCKER_HOST": build_settings.DOCKER_HOST,
            "PORTAL_BUILD_WORK_DIR": str(tmp_path / "worker-builds"),
            "PORTAL_BUILD_POLL_SECONDS": "0.1",
        },
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def path(tmp_path, transactional_db):
    """development -> staging -> production on kubesim, no approvals or checklist."""
    with KubeSim(VIZORA_CONFIG, speed=SPEED, workdir=tmp_path / "kubesim") as sim:
        parent = None
        for name, namespace in NAMESPACES.items():
            cluster = Cluster.objects.create(
                name=name, kubeconfig_path=str(sim.kubeconfig), context=name
            )
            parent = Environment.objects.create(
                name=name, cluster=cluster, namespace=namespace, promotes_from=parent,
                rollout_timeout=timedelta(seconds=30),
            )  # fmt: skip
        yield sim


def with_build_items(environment: Environment) -> None:
    template = ChecklistTemplate.objects.create(name="build-items")
    for position, (text, kind) in enumerate(
        [("Build Docker images", "release_built"), ("Push to registry", "image_pushed")]
    ):
        template.items.create(
            position=position, phase="deploy", text=text, mode="automatic", check_kind=kind
        )
    environment.checklist_template = template
    environment.save()


def wait_until_built(release_id: int, timeout: float = 60.0) -> Release:
    def ended():
        release = Release.objects.get(pk=release_id)
        return release if release.state != ReleaseState.BUILDING else None

    return wait_for(ended, timeout)


def test_two_versions_built_from_git_refs_run_by_one_digest_in_every_environment(
    build_worker, web, repository, path
):
    repository.commit("v1", tag="v1")
    repository.commit("v2", tag="v2")
    first = build_requests.request_build("web", "1.0.0", "v1")
    second = build_requests.request_build("web", "2.0.0", "v2")
    first, second = wait_until_built(first.pk), wait_until_built(second.pk)
    assert (first.state, second.state) == (ReleaseState.READY, ReleaseState.READY), (
        first.reason, second.reason, build_worker.log_text()[-3000:],
    )  # fmt: skip
    digests = [release.image.split("@", 1)[1] for release in (first, second)]
    assert digests[0] != digests[1]
    assert digests == [registry_client.resolve_digest(web.image_repository, v)
                       for v in ("1.0.0", "2.0.0")]  # fmt: skip
    assert f"v2 {repository.token}" in log_of(second) and second.image_size > 0

    with_build_items(Environment.objects.get(name="development"))
    for name in NAMESPACES:
        deployment = request_deployment("web", "2.0.0", name)
        run_in_process(deployment.pk)
        deployment.refresh_from_db()
        assert deployment.state == "succeeded", deployment.reason
        if name == "development":
            evidence = dict(deployment.checklist.values_list("check_kind", "evidence"))
    running = {
        name: cluster_images(Environment.objects.get(name=name), "vizora-web")["web"]
        for name in NAMESPACES
    }
    assert set(running.values()) == {second.image}
    assert running["staging"].endswith(f"@{digests[1]}")
    assert running["production"] == running["staging"]
    # "Build Docker images" and "Push to registry" carry the build's evidence.
    assert evidence["release_built"].startswith(
        f"Built by the portal from v2 ({second.git_sha[:12]}) in "
    )
    size = filesizeformat(second.image_size)  # as the release page says it
    assert evidence["image_pushed"] == f"Pushed {second.image} ({size}, digest {digests[1]})."


def test_a_cancelled_build_stops_its_container_and_ends_failed(build_worker, web, repository, bob):
    slow = DOCKERFILE.replace("/bin/busybox cat /www/health", "echo waiting; /bin/busybox sleep 60")
    repository.commit("v1", tag="v1", dockerfile=slow)
    release = build_requests.request_build("web", "1.0.0", "v1")
    wait_for(lambda: "waiting" in log_of(release), timeout=60)
    build_requests.cancel_build(bob, release.pk)
    release = wait_until_built(release.pk, timeout=30)
    assert release.state == ReleaseState.FAILED and release.reason == "Cancelled by bob."
    container = log_of(release).split("Running in ", 1)[1].split()[0]
    wait_until_not_running(
        build_worker.extra_env["DOCKER_HOST"], lambda c: c.id.startswith(container)
    )


def test_manage_py_build_release_waits_for_the_build_and_fails_when_it_fails(
    build_worker, web, repository, capsys
):
    repository.commit("v1", tag="v1")
    with pytest.raises(CommandError, match=r"the build of web 0\.9\.0 failed: Cloning .* at nope"):
        call_command("build_release", "web", "0.9.0", "--ref", "nope", "--wait")
    call_command("build_release", "web", "1.0.0", "--ref", "v1", "--wait")
    release = Release.objects.get(version="1.0.0")
    assert release.state == ReleaseState.READY
    assert f"built web 1.0.0: {release.image}" in capsys.readouterr().out


def test_a_build_whose_worker_is_killed_ends_failed_instead_of_building_forever(
    build_settings, web, repository, tmp_path
):
    fast = {
        "DOCKER_HOST": build_settings.DOCKER_HOST,
        "PORTAL_BUILD_WORK_DIR": str(tmp_path / "worker-builds"),
        "PORTAL_BUILD_TIMEOUT_SECONDS": "8",  # the build after it must fit on a loaded machine
        "PORTAL_LEASE_TTL_SECONDS": "1",
        "PORTAL_HEARTBEAT_SECONDS": "0.2",
        "PORTAL_SWEEP_SECONDS": "0.5",
    }
    doomed = WorkerProcess(tmp_path / "doomed.log", extra_env=fast)
    doomed.start()
    slow = DOCKERFILE.replace("/bin/busybox cat /www/health", "echo waiting; /bin/busybox sleep 60")
    repository.commit("v1", tag="v1")
    repository.commit("v2", tag="v2", dockerfile=slow)
    release = build_requests.request_build("web", "1.0.0", "v2")
    wait_for(lambda: "waiting" in log_of(release), timeout=60)
    doomed.kill()
    rescuer = WorkerProcess(tmp_path / "rescuer.log", extra_env=fast, beat=True)
    rescuer.start()
    try:
        release = wait_until_built(release.pk, timeout=30)
        assert release.state == ReleaseState.FAILED
        assert release.reason.startswith("The build's worker was lost")
        # The sweeper freed the slot: the next build runs on the rescuing worker.
        following = wait_until_built(build_requests.request_build("web", "1.0.1", "v1").pk)
        assert following.state == ReleaseState.READY, following.reason
    finally:
        rescuer.stop()
