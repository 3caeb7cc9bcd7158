"""Fixtures for the checks that ask Prometheus: one real Prometheus for the session,
scraping an exporter each test resets and fills, and a web deployment whose rollout
has finished, in a namespace of the test's own."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from tests.checks.prometheus_fixture import FAST_SEED_RULES, Exporter, PrometheusServer
from tests.factories import make_deployment, make_environment, make_release, make_service

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
