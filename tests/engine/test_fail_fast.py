"""Fail fast on the unmistakable (issue 21, point 4; krane's rules): a new pod that
waiting cannot cure fails the rollout at once with the cause, and the deployment
rolls back; old pods that crash are what the rollout replaces, not a reason to fail.

kubesim runs slower here than in the other engine tests (speed 20): the seed's 600 s
progress deadline lasts 30 s, and the environment waits 10 minutes for a rollout, so
a rollout that only failed on its deadline would end with the deadline's message,
which these tests refuse (and the pytest timeout catches a wait for the timeout)."""

from datetime import timedelta

import pytest

from deployments.engine import request_deployment
from deployments.models import Deployment
from deployments.states import DeploymentState, StepKind, StepState
from deployments.what_runs import image_tag
from integrations.kube.cluster import ClusterClient
from integrations.kube.doom import DoomKind, doom_of_pod, find_doomed_pod
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import (
    cluster_images,
    register,
    run_in_process,
    wait_for,
    wait_until_final,
)
from tests.kubesim.helpers import deployment_manifest

pytestmark = pytest.mark.django_db(transaction=True)

SPEED = 20
LONG_ROLLOUT_TIMEOUT = timedelta(minutes=10)
DEADLINE_OR_TIMEOUT = ("exceeded its progress deadline", "timed out after")


@pytest.fixture
def kubesim(tmp_path):
    """Overrides the engine tests' kubesim (speed 200) for this module."""
    with KubeSim(VIZORA_CONFIG, speed=SPEED, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture(autouse=True)
def long_rollout_timeout(development):
    development.rollout_timeout = LONG_ROLLOUT_TIMEOUT
    development.save()


def steps_of(deployment) -> list[tuple[str, str]]:
    return [(s.kind, s.state) for s in deployment.steps.order_by("position")]


def log_of(deployment) -> str:
    return "\n".join(deployment.log.order_by("seq").values_list("text", flat=True))


def ended(deployment_id: int) -> Deployment:
    run_in_process(deployment_id)
    return Deployment.objects.get(pk=deployment_id)


def assert_failed_fast_and_rolled_back(deployment: Deployment, environment, workload, before):
    assert deployment.state == DeploymentState.ROLLED_BACK, deployment.reason
    assert not any(words in deployment.reason for words in DEADLINE_OR_TIMEOUT), deployment.reason
    assert steps_of(deployment)[-2:] == [
        (StepKind.ROLLOUT, StepState.FAILED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ] or steps_of(deployment)[-3:] == [
        (StepKind.ROLLOUT, StepState.FAILED),
        (StepKind.SMOKE, StepState.SKIPPED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]
    assert cluster_images(environment, workload) == before


def test_a_crash_looping_release_fails_its_rollout_at_once_and_is_rolled_back(
    development, web, worker
):
    """With a real worker: the reason names the container, the crash, the exit code and
    the last log line, where before it waited for the deadline."""
    register(web, "2.1.0-crashloop")
    before = cluster_images(development, "vizora-web")
    deployment = request_deployment("web", "2.1.0-crashloop", "development")
    final = wait_until_final(deployment.pk, timeout=120)
    assert_failed_fast_and_rolled_back(final, development, "vizora-web", before)
    assert final.reason == (
        "Rollout failed: Container web crashed repeatedly (exit 1): "
        f"Error: connect ECONNREFUSED 10.96.0.15:5432; rolled back to {image_tag(before['web'])}."
    )
    rollout = final.steps.get(kind=StepKind.ROLLOUT)
    doom = rollout.result["doom"]
    assert (doom["kind"], doom["container"], doom["reason"], doom["exit_code"]) == (
        DoomKind.CRASH_LOOP, "web", "CrashLoopBackOff", 1,
    )  # fmt: skip
    assert doom["pod"].startswith("vizora-web-")
    log = log_of(final)
    assert f"failing fast: pod {doom['pod']} container web: CrashLoopBackOff" in log
    assert "Error: connect ECONNREFUSED 10.96.0.15:5432" in log  # the log's last lines
    assert "pod vizora-web-" in log and "event Warning BackOff" in log  # the diagnosis


def test_a_release_whose_image_was_never_pushed_fails_at_once_naming_the_image(development, web):
    release = register(web, "2.4.0-pullerror")
    before = cluster_images(development, "vizora-web")
    deployment = ended(request_deployment("web", "2.4.0-pullerror", "development").pk)
    assert_failed_fast_and_rolled_back(deployment, development, "vizora-web", before)
    assert deployment.reason == (
        f"Rollout failed: Container web cannot start: the image {release.image} "
        f"was never pushed or does not exist; rolled back to {image_tag(before['web'])}."
    )
    doom = deployment.steps.get(kind=StepKind.ROLLOUT).result["doom"]
    assert doom["kind"] == DoomKind.IMAGE_NOT_FOUND
    assert doom["reason"] in ("ErrImagePull", "ImagePullBackOff")
    assert "not found" in log_of(deployment)


def test_a_release_held_by_a_missing_secret_fails_at_once_naming_it(
    development_with_urls, middleware
):
    """Someone deleted the Secret the pods' env reads: CreateContainerConfigError."""
    with ClusterClient(development_with_urls.cluster) as kube:
        kube.core.delete_namespaced_secret("vizora-secrets", "vizora-dev")
    register(middleware, "2.5.0")
    before = cluster_images(development_with_urls, "vizora-middleware")
    deployment = ended(request_deployment("middleware", "2.5.0", "development").pk)
    assert_failed_fast_and_rolled_back(
        deployment, development_with_urls, "vizora-middleware", before
    )
    assert deployment.reason == (
        'Rollout failed: Container middleware cannot start: secret "vizora-secrets" not found; '
        f"rolled back to {image_tag(before['middleware'])}."
    )
    assert 'Error: secret "vizora-secrets" not found' in log_of(deployment)  # the events


def test_a_container_that_cannot_run_fails_at_once_with_the_runtimes_message(development, web):
    register(web, "2.6.0-cannotrun")
    before = cluster_images(development, "vizora-web")
    deployment = ended(request_deployment("web", "2.6.0-cannotrun", "development").pk)
    assert_failed_fast_and_rolled_back(deployment, development, "vizora-web", before)
    assert deployment.reason.startswith("Rollout failed: Container web could not run (exit 127): ")
    assert deployment.reason.endswith(
        'exec: "node": executable file not found in $PATH: unknown; rolled back to '
        f"{image_tag(before['web'])}."
    )
    doom = deployment.steps.get(kind=StepKind.ROLLOUT).result["doom"]
    assert (doom["kind"], doom["reason"]) == (DoomKind.CANNOT_RUN, "ContainerCannotRun")


def test_a_release_its_liveness_probe_keeps_killing_fails_at_once_saying_what_the_probe_saw(
    development_with_urls, middleware
):
    """-unhealthy: /health answers 500, the kubelet kills and restarts it until it backs
    off; its log's last line ("ready") would mislead, so the probe's words are shown."""
    register(middleware, "2.8.0-unhealthy")
    before = cluster_images(development_with_urls, "vizora-middleware")
    deployment = ended(request_deployment("middleware", "2.8.0-unhealthy", "development").pk)
    assert_failed_fast_and_rolled_back(
        deployment, development_with_urls, "vizora-middleware", before
    )
    assert deployment.reason == (
        "Rollout failed: Container middleware crashed repeatedly (exit 143): "
        "Liveness probe failed: HTTP probe failed with statuscode: 500; rolled back to "
        f"{image_tag(before['middleware'])}."
    )
    assert "container middleware killed: Liveness probe failed" in log_of(deployment)


def test_crash_looping_old_pods_do_not_fail_the_rollout_of_a_good_release(development, web):
    """What runs now crash-loops (set by hand): the release that replaces it rolls out."""
    with ClusterClient(development.cluster) as kube:
        broken = {"web": "ghcr.io/your-org/vizora-web:hotfix-crashloop"}
        kube.set_images("vizora-dev", "vizora-web", broken)
        wait_for(lambda: find_doomed_pod(kube, "vizora-dev", "vizora-web"), timeout=30)
    release = register(web, "2.7.0")
    deployment = ended(request_deployment("web", "2.7.0", "development").pk)
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    assert "failing fast" not in log_of(deployment)


def test_find_doomed_pod_looks_only_at_the_new_pods_while_old_ones_crash(development):
    """A slow new release starting beside crash-looping old pods (maxUnavailable 0):
    the old pods are doomed by the rules, the rollout is not."""
    manifest = deployment_manifest(
        "doom-old", "example/app:1.0.0-crashloop", 2,
        strategy={"type": "RollingUpdate",
                  "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
    )  # fmt: skip
    with ClusterClient(development.cluster) as kube:
        kube.apps.create_namespaced_deployment("vizora-dev", manifest)
        doom = wait_for(lambda: find_doomed_pod(kube, "vizora-dev", "doom-old"), timeout=30)
        assert (doom.kind, doom.container, doom.exit_code) == (DoomKind.CRASH_LOOP, "app", 1)
        assert doom.log and doom.log[-1] == "[app] crashed: process exited with code 1"

        kube.set_images("vizora-dev", "doom-old", {"app": "example/app:1.1.0-slow"})
        wait_for(lambda: observed(kube, "doom-old"), timeout=30)
        old_doomed = []
        for _ in range(200):
            assert find_doomed_pod(kube, "vizora-dev", "doom-old") is None
            new_hash = kube.new_pod_template_hash("vizora-dev", "doom-old")
            pods = kube.list_pods("vizora-dev", {"app": "doom-old"})
            old = [p for p in pods if p.metadata.labels["pod-template-hash"] != new_hash]
            if old_doomed := [p for p in old if doom_of_pod(p)]:
                break
        assert old_doomed, "no old pod was seen crash-looping beside the new ones"


def test_find_doomed_pod_reads_a_pull_error_from_the_events_during_the_back_off(development):
    """kubesim is a 1.31 cluster: `ImagePullBackOff` says only "Back-off pulling image";
    the pod's `Failed` event keeps the registry's "not found"."""
    image = "example/app:1.0.0-pullerror"
    with ClusterClient(development.cluster) as kube:
        kube.apps.create_namespaced_deployment(
            "vizora-dev", deployment_manifest("doom-pull", image, 1)
        )

        def backing_off():
            pods = kube.list_pods("vizora-dev", {"app": "doom-pull"})
            statuses = [s for p in pods for s in p.status.container_statuses or []]
            return any(
                s.state.waiting and s.state.waiting.reason == "ImagePullBackOff"
                and "not found" not in (s.state.waiting.message or "")
                for s in statuses
            )  # fmt: skip

        wait_for(backing_off, timeout=30)
        doom = find_doomed_pod(kube, "vizora-dev", "doom-pull")
    assert doom is not None and doom.kind is DoomKind.IMAGE_NOT_FOUND
    assert doom.image == image and doom.log == ()


def observed(kube: ClusterClient, name: str) -> bool:
    deployment = kube.read_deployment("vizora-dev", name)
    return deployment.status.observed_generation >= deployment.metadata.generation
