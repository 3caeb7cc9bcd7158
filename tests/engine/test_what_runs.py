"""What really runs (issue 10, item 4): the observer reads every cluster (real kubesim
over HTTP) and the cells say what runs beside the portal's record, and plainly what is
off: drift by hand, a rebuilt cluster, a missing workload, an unreachable cluster."""

import time
from datetime import timedelta

import pytest

from catalog.models import Cluster, Environment, ObservedWorkloads
from deployments.engine import request_deployment
from deployments.matrix import dashboard_rows
from deployments.what_runs import ClusterVerdict
from integrations.kube.cluster import ClusterClient
from integrations.kube.observed import observe_clusters
from tests.engine.conftest import register, run_in_process

pytestmark = pytest.mark.django_db(transaction=True)

BASELINE = "ghcr.io/your-org/vizora-web:1.0.0"  # what kubesim's clusters start with


@pytest.fixture
def staging(kubesim, transactional_db):
    cluster = Cluster.objects.create(
        name="staging", kubeconfig_path=str(kubesim.kubeconfig), context="staging"
    )
    return Environment.objects.create(
        name="staging", cluster=cluster, namespace="vizora-staging",
        rollout_timeout=timedelta(seconds=30),
    )  # fmt: skip


@pytest.fixture
def web_in_staging(staging, web):
    """web 1.0.0 and 1.2.0 registered; the portal deployed 1.2.0 to staging."""
    register(web, "1.0.0")
    release = register(web, "1.2.0")
    deployment = request_deployment("web", "1.2.0", "staging")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == "succeeded", deployment.reason
    return release, deployment


def cell_of(service, environment):
    _environments, rows = dashboard_rows()
    row = next(r for r in rows if r.service == service)
    return next(c for c in row.cells if c.environment == environment)


def observe_until(predicate, timeout: float = 20.0):
    """Observe (as the beat does) until `predicate()` holds: pods take a moment to be Ready."""
    deadline = time.monotonic() + timeout
    while True:
        observe_clusters()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the observation never reached the expected state")
        time.sleep(0.3)


def test_the_cell_shows_the_images_and_replicas_the_cluster_runs(web_in_staging, web, staging):
    release, _deployment = web_in_staging
    observe_until(lambda: cell_of(web, staging).cluster.workloads[0].all_ready)
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.MATCHES and view.summary == "runs 1.2.0"
    (workload,) = view.workloads
    assert workload.name == "vizora-web" and workload.found
    assert [(c.name, c.image, c.label) for c in workload.containers] == [
        ("web", release.image, "1.2.0")
    ]
    with ClusterClient(staging.cluster) as kube:
        wanted = kube.read_deployment("vizora-staging", "vizora-web").spec.replicas
    assert workload.ready == workload.desired == wanted


def test_after_a_kubesim_restart_the_portal_no_longer_says_staging_runs_1_2_0(
    web_in_staging, web, staging, kubesim, client, alice
):
    _release, deployment = web_in_staging
    observe_clusters()
    assert cell_of(web, staging).cluster.summary == "runs 1.2.0"
    kubesim.restart()  # the cluster is rebuilt: back to its baseline, 1.0.0
    observe_clusters()
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.DRIFTED
    assert view.summary == "runs 1.0.0, not 1.2.0"
    assert view.problem == (
        f"Cluster runs 1.0.0 (web: {BASELINE}), not 1.2.0 the portal deployed "
        f"(#{deployment.pk}) — changed by hand or the cluster was rebuilt."
    )
    client.force_login(alice)
    matrix = client.get("/").content.decode().split("<tbody>")[1].split("</table>")[0]
    assert "runs 1.0.0, not 1.2.0" in matrix and "≠" not in matrix  # the symbol is CSS
    assert "verdict-drifted" in matrix and "runs 1.2.0<" not in matrix


def test_a_set_image_by_hand_is_drift_and_is_audited_like_a_rollouts(web_in_staging, web, staging):
    _release, deployment = web_in_staging
    observe_clusters()
    with ClusterClient(staging.cluster) as kube:
        kube.set_images(
            "vizora-staging", "vizora-web", {"web": "ghcr.io/your-org/vizora-web:hotfix"}
        )
    observe_clusters()
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.DRIFTED
    assert view.problem.startswith(
        "Cluster runs hotfix (web: ghcr.io/your-org/vizora-web:hotfix), not 1.2.0 the portal"
    )
    assert view.drift == [
        {"workload": "vizora-web", "container": "web",
         "running": "ghcr.io/your-org/vizora-web:hotfix",
         "deployed": deployment.release.image, "deployment": deployment.pk}
    ]  # fmt: skip


def test_a_deleted_workload_is_missing_and_says_what_the_portal_deployed_there(
    web_in_staging, web, staging
):
    _release, deployment = web_in_staging
    with ClusterClient(staging.cluster) as kube:
        kube.apps.delete_namespaced_deployment("vizora-web", "vizora-staging")
    observe_clusters()
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.MISSING and view.summary == "vizora-web missing"
    assert view.problem == (
        "Workload vizora-web is missing from staging/vizora-staging, where the portal "
        f"deployed 1.2.0 (#{deployment.pk}) — deleted by hand or the cluster was rebuilt."
    )


def test_an_unreachable_cluster_says_since_when_and_what_it_ran_when_last_seen(
    web_in_staging, web, staging, kubesim, settings
):
    settings.PORTAL_OBSERVE_RETRY_SECONDS = 0
    observe_clusters()
    last_seen = ObservedWorkloads.objects.get(service=web, environment=staging).observed_at
    kubesim.stop()
    assert observe_clusters() == [(web.pk, staging.pk)]
    first = ObservedWorkloads.objects.get(service=web, environment=staging)
    assert first.unreachable_since is not None and first.observed_at == last_seen
    assert observe_clusters() == []  # still unreachable: nothing new to announce
    again = ObservedWorkloads.objects.get(service=web, environment=staging)
    assert again.unreachable_since == first.unreachable_since
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.UNREACHABLE
    assert view.problem.startswith("Cluster staging unreachable since ")
    assert "; last seen at " in view.problem and view.problem.endswith(" running 1.2.0.")
    assert view.summary.startswith("since ") and "ConnectionRefused" in view.error
    kubesim.start()  # same kubeconfig, new ports: the portal reads the file each time
    assert observe_clusters() == [(web.pk, staging.pk)]
    assert cell_of(web, staging).cluster.verdict != ClusterVerdict.UNREACHABLE


def test_an_observation_that_changed_nothing_announces_nothing(web_in_staging, web, staging):
    observe_until(lambda: cell_of(web, staging).cluster.workloads[0].all_ready)
    time.sleep(0.2)
    assert observe_clusters() == []
    with ClusterClient(staging.cluster) as kube:
        kube.set_images(
            "vizora-staging", "vizora-web", {"web": "ghcr.io/your-org/vizora-web:hotfix"}
        )
    assert (web.pk, staging.pk) in observe_clusters()


def test_a_lane_the_portal_never_deployed_shows_what_the_cluster_runs(staging, web):
    observe_clusters()
    view = cell_of(web, staging).cluster
    assert view.verdict == ClusterVerdict.RUNS and view.summary == "runs 1.0.0"
    assert view.problem == ""


@pytest.fixture
def announced():
    """Every channel announced (the hub's own hook), without Redis in between."""
    from live import announce

    heard: list[str] = []
    observer = lambda channel, payload: heard.append(channel)  # noqa: E731
    announce.observers.append(observer)
    yield heard
    announce.observers.remove(observer)


def test_a_rebuilt_cluster_is_announced_once_and_audited_as_drift(
    web_in_staging, web, staging, kubesim, announced
):
    from audit.models import AuditEvent
    from deployments.observing import observe_and_announce
    from live.announce import lane_channel

    _release, deployment = web_in_staging
    observe_and_announce()
    announced.clear()
    kubesim.restart()
    assert observe_and_announce() == [(web.pk, staging.pk)]
    assert announced == [lane_channel(deployment.lane_id)]
    event = AuditEvent.objects.get(action="deployment.drift_detected")
    assert event.deployment == deployment and event.detail["found_by"] == "observer"
    assert event.detail["drift"][0]["running"] == BASELINE
    announced.clear()
    assert observe_and_announce() == [] and announced == []  # nothing changed since
    assert AuditEvent.objects.filter(action="deployment.drift_detected").count() == 1


def test_observed_drift_shows_on_the_service_page_with_the_rollouts(
    web_in_staging, staging, kubesim, client, alice
):
    from deployments.observing import observe_and_announce

    _release, deployment = web_in_staging
    kubesim.restart()
    observe_and_announce()
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    drift = page.split('id="live-drift"')[1].split("</div>")[0]
    assert "the cluster of staging ran" in drift and f">{BASELINE}</code>" in drift
    assert f">#{deployment.pk}</a> (changed by hand, or the cluster was rebuilt)" in drift


def test_every_pair_observed_gets_a_lane_the_pages_can_follow(staging, web, announced):
    from deployments.models import Lane
    from deployments.observing import observe_and_announce
    from live.announce import lane_channel

    observe_and_announce()
    lane = Lane.objects.get(service=web, environment=staging)
    assert announced == [lane_channel(lane.pk)]
