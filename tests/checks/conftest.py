"""Fixtures for the checks: kubesim's production cluster over HTTP, an environment and
a deployment pointed at it, and a cluster address where nothing listens; for the checks
that ask Prometheus, one real Prometheus for the session scraping an exporter each test
resets and fills, and a web deployment whose rollout has finished, in a namespace of
the test's own."""

import copy
import itertools
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from catalog.models import Cluster, Environment
from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.checks.prometheus_fixture import FAST_SEED_RULES, Exporter, PrometheusServer
from tests.factories import (
    make_deployment,
    make_environment,
    make_release,
    make_service,
)
from tests.harness.server import free_port

SPEED = 200  # a pod is Ready at once; CronJobs stay suspended (see production_only)


def production_only() -> dict:
    """The demo's production cluster alone (one process, less to start), its backup
    CronJob suspended so that no scheduled run changes what a test set up."""
    config = copy.deepcopy(yaml.safe_load(VIZORA_CONFIG.read_text(encoding="utf-8")))
    config["clusters"] = [c for c in config["clusters"] if c["name"] == "production"]
    for obj in config["clusters"][0]["objects"]:
        if obj["kind"] == "CronJob":
            obj["spec"]["suspend"] = True
    return config


def seed_secret_values() -> list[str]:
    objects = yaml.safe_load(VIZORA_CONFIG.read_text(encoding="utf-8"))["x-vizora-objects"]
    secret = next(obj for obj in objects if obj["kind"] == "Secret")
    return list(secret["stringData"].values())


@pytest.fixture
def kubesim(tmp_path):
    with KubeSim(production_only(), speed=SPEED, workdir=tmp_path / "kubesim") as sim:
        yield sim


def make_production(cluster: Cluster, **fields) -> Environment:
    return Environment.objects.create(
        name="production", cluster=cluster, namespace="vizora-prod",
        rollout_timeout=timedelta(seconds=30), rpo=timedelta(hours=24), **fields,
    )  # fmt: skip


@pytest.fixture
def production(kubesim, db):
    cluster = Cluster.objects.create(
        name="production", kubeconfig_path=str(kubesim.kubeconfig), context="production"
    )
    return make_production(cluster)


@pytest.fixture
def web(db):
    return make_service("web")


@pytest.fixture
def deployment(production, web):
    return make_deployment(make_release(web, "1.1.0"), production)


@pytest.fixture
def closed_address():
    """A loopback address nothing listens on (handed out once, never bound)."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def unreachable(tmp_path, db, web, closed_address, settings):
    """A deployment to production whose cluster API address answers nothing; checks
    get one second, so they fail fast."""
    settings.PORTAL_CHECK_TIMEOUT_SECONDS = 1.0
    kubeconfig = tmp_path / "unreachable-kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "production", "cluster": {"server": f"http://{closed_address}"}}
                ],
                "users": [{"name": "nobody", "user": {}}],
                "contexts": [
                    {"name": "production", "context": {"cluster": "production", "user": "nobody"}}
                ],
                "current-context": "production",
            }
        ),
        encoding="utf-8",
    )
    cluster = Cluster.objects.create(
        name="production", kubeconfig_path=str(kubeconfig), context="production"
    )
    return make_deployment(make_release(web, "1.1.0"), make_production(cluster))


# --- Prometheus: the checks error_rate, memory, no_alerts_firing ---

NAMESPACES = itertools.count(1)

# Beside the seed's rules, an alert that names no workload, only a namespace.
NAMESPACE_RULE = """
  - name: portal_tests
    rules:
      - alert: NamespaceQuotaExceeded
        expr: namespace_quota_used_ratio > 1
        labels: {severity: warning}
        annotations:
          summary: "Quota exceeded in {{ $labels.namespace }}"
"""


@pytest.fixture(scope="session")
def monitoring(tmp_path_factory):
    with Exporter() as exporter:
        workdir = tmp_path_factory.mktemp("prometheus")
        targets = [f"127.0.0.1:{exporter.port}"]
        with PrometheusServer(workdir, targets, FAST_SEED_RULES + NAMESPACE_RULE) as server:
            yield exporter, server


@pytest.fixture
def exporter(monitoring):
    exporter, _ = monitoring
    exporter.reset()
    return exporter


@pytest.fixture
def prometheus(monitoring, exporter):
    return monitoring[1]


@pytest.fixture
def namespace():
    """A namespace no other test's series use (they share one Prometheus)."""
    return f"vizora-dev{next(NAMESPACES)}"


@pytest.fixture
def rolled_out(db, namespace):
    """`rolled_out(prometheus_url)`: web (workload vizora-web) deployed to development
    (in `namespace`), its rollout finished just now."""

    def build(prometheus_url: str):
        service = make_service("web")
        environment = make_environment("development", prometheus_url=prometheus_url)
        environment.namespace = namespace
        environment.save()
        deployment = make_deployment(
            make_release(service), environment, state=DeploymentState.RUNNING
        )
        finished = timezone.now()
        Step.objects.create(
            deployment=deployment, kind=StepKind.ROLLOUT, position=1,
            state=StepState.SUCCEEDED, started_at=finished - timedelta(seconds=20),
            finished_at=finished,
        )  # fmt: skip
        return deployment

    return build
