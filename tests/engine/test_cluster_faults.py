"""Faults outside the portal: each ends its step within its deadline with a reason a
person understands, and leaves nothing running."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from deployments.engine import request_deployment
from deployments.states import DeploymentState, StepKind, StepState
from environments.kube import ClusterClient
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import cluster_images, register, run_in_process
from tests.harness.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kubesim(tmp_path):
    """Slow enough that a -slow migration Job outlasts a one-second timeout."""
    with KubeSim(VIZORA_CONFIG, speed=2, workdir=tmp_path / "kubesim") as sim:
        yield sim


def deploy_with_kubeconfig(environment, service, version: str, edit, path: Path):
    """Deploy through a copy of the kubeconfig changed by `edit`; returns it ended."""
    path.write_text(edit(Path(environment.cluster.kubeconfig_path).read_text()))
    environment.cluster.kubeconfig_path = str(path)
    environment.cluster.save()
    register(service, version)
    deployment = request_deployment(service.name, version, environment.name)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    return deployment


def test_an_unreachable_cluster_fails_the_rollout_naming_it(development, web, tmp_path):
    port = free_port()  # nothing listens there
    deployment = deploy_with_kubeconfig(
        development, web, "5.0.0",
        lambda text: re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", text),
        tmp_path / "dead-kubeconfig",
    )  # fmt: skip
    assert deployment.state == DeploymentState.FAILED
    assert f"cluster development at http://127.0.0.1:{port} is unreachable" in deployment.reason
    assert deployment.steps.get().state == StepState.FAILED


def test_a_missing_namespace_fails_with_the_api_servers_words(development, web):
    development.namespace = "vizora-nowhere"
    development.save()
    register(web, "5.1.0")
    deployment = request_deployment("web", "5.1.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "cannot read deployment vizora-nowhere/vizora-web: 404" in deployment.reason


def test_a_missing_kubeconfig_fails_with_what_to_fix(development, web):
    development.cluster.kubeconfig_path = "/nonexistent/kubeconfig"
    development.cluster.save()
    register(web, "5.2.0")
    deployment = request_deployment("web", "5.2.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert (
        deployment.reason
        == "cluster development: kubeconfig /nonexistent/kubeconfig does not exist"
    )


def test_a_smoke_url_that_never_answers_fails_within_its_attempts_and_rolls_back(
    development_with_urls, middleware, settings
):
    settings.PORTAL_SMOKE_ATTEMPTS, settings.PORTAL_SMOKE_RETRY_SECONDS = 2, 0.05
    settings.PORTAL_SMOKE_TIMEOUT_SECONDS = 0.5
    development_with_urls.resolve = {"api.dev.vizora.com": f"127.0.0.1:{free_port()}"}
    development_with_urls.save()
    middleware.migration_command = []
    middleware.save()
    register(middleware, "5.3.0")
    deployment = request_deployment("middleware", "5.3.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert deployment.reason.startswith(
        "Smoke test failed: GET http://api.dev.vizora.com/health failed: ConnectError"
    )


def test_a_migration_that_never_ends_fails_at_its_timeout_and_leaves_workloads_alone(
    development_with_urls, middleware, settings
):
    settings.PORTAL_MIGRATION_TIMEOUT_SECONDS = 1
    register(middleware, "5.4.0-slow")
    deployment = request_deployment("middleware", "5.4.0-slow", "development")
    before = cluster_images(development_with_urls, "vizora-middleware")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert (
        "did not finish within 1s" in deployment.reason or "DeadlineExceeded" in deployment.reason
    )
    assert deployment.steps.get(kind=StepKind.ROLLOUT).state == StepState.SKIPPED
    assert cluster_images(development_with_urls, "vizora-middleware") == before
    with ClusterClient(development_with_urls.cluster) as kube:
        assert kube.batch.list_namespaced_job("vizora-dev").items == [], "nothing left running"
    assert deployment.finished_at - deployment.started_at < timedelta(seconds=30)


def test_a_kubeconfig_whose_credentials_are_refused_fails_saying_so(development, web, tmp_path):
    deployment = deploy_with_kubeconfig(
        development, web, "5.5.0",
        lambda text: text.replace("token: kubesim", "token: stolen-and-revoked"),
        tmp_path / "wrong-token-kubeconfig",
    )  # fmt: skip
    assert deployment.state == DeploymentState.FAILED
    assert "cannot read deployment vizora-dev/vizora-web: 401 Unauthorized" in deployment.reason
    assert "stolen-and-revoked" not in deployment.reason
