"""Faults outside the portal: each ends its step within its deadline with a reason a
person understands, and leaves nothing running."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from catalog.models import Cluster
from deployments.engine import request_deployment
from deployments.states import DeploymentState, StepKind, StepState
from deployments.steps import StepStopped
from integrations.kube.cluster import ClusterClient
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import cluster_images, register, run_in_process
from tests.harness.http import LocalServer, QuietHandler
from tests.harness.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kubesim(tmp_path):
    """Slow enough that a -slow migration Job outlasts a one-second timeout."""
    with KubeSim(VIZORA_CONFIG, speed=8, workdir=tmp_path / "kubesim") as sim:
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


def api_at(port: int):
    """A kubeconfig edit: every cluster's API server is at `port` instead."""
    return lambda text: re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", text)


def test_an_unreachable_cluster_fails_the_rollout_after_the_retry_window_naming_it(
    development, web, tmp_path, settings
):
    settings.PORTAL_CLUSTER_RETRY_SECONDS = 1
    port = free_port()  # nothing listens there
    deployment = deploy_with_kubeconfig(
        development, web, "5.0.0", api_at(port), tmp_path / "dead-kubeconfig"
    )
    assert deployment.state == DeploymentState.FAILED
    assert re.fullmatch(
        rf"cluster development at http://127\.0\.0\.1:{port} unreachable for \d+ s "
        r"\(ConnectionRefused\)",
        deployment.reason,
    )
    assert deployment.steps.get().state == StepState.FAILED
    assert deployment.log.filter(text__endswith="(ConnectionRefused): retrying for up to 1 s")


@pytest.fixture
def busy_api_port():
    """An API server that answers every request 503, as one behind a failing-over balancer."""

    class Busy(QuietHandler):
        def do_GET(self):
            self.answer(
                503, b'{"kind": "Status", "message": "the server is currently unable to handle"}'
            )

    with LocalServer(Busy) as server:
        yield server.port


def test_a_cluster_answering_503_is_retried_until_the_window_ends(
    development, web, tmp_path, settings, busy_api_port
):
    settings.PORTAL_CLUSTER_RETRY_SECONDS = 1
    deployment = deploy_with_kubeconfig(
        development, web, "5.0.1", api_at(busy_api_port), tmp_path / "busy-kubeconfig"
    )
    assert deployment.state == DeploymentState.FAILED
    assert re.fullmatch(
        rf"cluster development at http://127\.0\.0\.1:{busy_api_port} unreachable for \d+ s "
        r"\(503 Service Unavailable\)",
        deployment.reason,
    )


def test_waiting_out_an_outage_stops_as_soon_as_the_step_loses_its_lease(development, tmp_path):
    """The default window is two minutes: only `check` can end this wait early."""
    kubeconfig = tmp_path / "dead-kubeconfig"
    kubeconfig.write_text(
        api_at(free_port())(Path(development.cluster.kubeconfig_path).read_text())
    )
    cluster = Cluster(name="development", kubeconfig_path=str(kubeconfig), context="development")
    checks = []

    def lease_lost_after_the_first_retry():
        checks.append(1)
        if len(checks) > 1:
            raise StepStopped("the step was taken over by another worker")

    kube = ClusterClient(cluster, check=lease_lost_after_the_first_retry)
    with kube, pytest.raises(StepStopped):
        kube.read_images("vizora-dev", "vizora-web")


def test_a_missing_namespace_fails_with_the_api_servers_words(development, web):
    development.namespace = "vizora-nowhere"
    development.save()
    register(web, "5.1.0")
    deployment = request_deployment("web", "5.1.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "cannot read deployment vizora-nowhere/vizora-web: 404" in deployment.reason
    assert not deployment.log.filter(text__contains="retrying"), "a 404 is not retried"


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
        "Smoke test GET http://api.dev.vizora.com/health failed twice: ConnectError"
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
    # The portal's own timeout, or the Job's activeDeadlineSeconds (the same 1 s, on
    # kubesim's clock: sooner at speed 8), whichever comes first.
    assert (
        "did not finish within 1s" in deployment.reason
        or "Job was active longer than specified deadline" in deployment.reason
    )
    assert deployment.steps.get(kind=StepKind.ROLLOUT).state == StepState.SKIPPED
    assert cluster_images(development_with_urls, "vizora-middleware") == before
    with ClusterClient(development_with_urls.cluster) as kube:
        # Deleted by the portal, or failed by its deadline (a cluster keeps a failed Job).
        jobs = kube.batch.list_namespaced_job("vizora-dev").items
        migrations = [j for j in jobs if "-migrate-" in j.metadata.name]  # not the backup's
        assert not [j for j in migrations if j.status.active], "nothing left running"
    assert deployment.finished_at - deployment.started_at < timedelta(seconds=30)


def test_a_kubeconfig_whose_credentials_are_refused_fails_saying_so(development, web, tmp_path):
    deployment = deploy_with_kubeconfig(
        development, web, "5.5.0",
        lambda text: text.replace("token: kubesim", "token: stolen-and-revoked"),
        tmp_path / "wrong-token-kubeconfig",
    )  # fmt: skip
    assert deployment.state == DeploymentState.FAILED
    assert deployment.reason.startswith(
        "development: cannot read deployment vizora-dev/vizora-web: 401 Unauthorized"
    )
    assert "stolen-and-revoked" not in deployment.reason
    # With the default two-minute window, a retried 401 would end "unreachable for 120 s".
    assert not deployment.log.filter(text__contains="retrying"), "a 401 fails at once"
