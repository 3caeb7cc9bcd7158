"""Production smoke checks over HTTPS, as in the demo: kubesim's production front door
speaks TLS with the CA it generates, and the smoke step trusts that CA only when
PORTAL_EXTRA_CA_FILE names it."""

import threading
from datetime import timedelta

import pytest
import yaml

from catalog.models import Cluster, Environment
from deployments.states import StepKind, StepState
from deployments.steps import StepContext, smoke
from integrations.kube.cluster import ClusterClient
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import register
from tests.factories import make_deployment
from tests.harness.worker import REPO

DEMO_CATALOG = REPO / "examples" / "vizora.yaml"


@pytest.fixture
def demo_kubesim(tmp_path):
    """The demo's clusters with their front doors as configured (production over TLS)."""
    with KubeSim(VIZORA_CONFIG, speed=20, tls=None, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def production(demo_kubesim, transactional_db):
    """The demo catalog's production URLs and resolve map, sent to this kubesim's port."""
    spec = next(
        env
        for env in yaml.safe_load(DEMO_CATALOG.read_text())["environments"]
        if env["name"] == "production"
    )
    front_door = demo_kubesim.front_door_url("production").split("://", 1)[1]
    cluster = Cluster.objects.create(
        name="production", kubeconfig_path=str(demo_kubesim.kubeconfig), context="production"
    )
    return Environment.objects.create(
        name="production", cluster=cluster, namespace=spec["namespace"], urls=spec["urls"],
        resolve={host: front_door for host in spec["resolve"]},
        rollout_timeout=timedelta(seconds=30),
    )  # fmt: skip


@pytest.fixture
def smoke_context(production, middleware, settings):
    """A running smoke step of middleware 1.1.0, which production already runs."""
    settings.PORTAL_SMOKE_ATTEMPTS = 1
    settings.PORTAL_SMOKE_RETRY_SECONDS = 0
    release = register(middleware, "1.1.0")
    with ClusterClient(production.cluster) as kube:
        kube.set_images(production.namespace, "vizora-middleware", {"middleware": release.image})
        status = kube.wait_for_rollout(
            production.namespace,
            "vizora-middleware",
            30,
            on_message=lambda line: None,
            check=lambda: None,
        )
    assert status.done, status.message
    deployment = make_deployment(release, production)
    step = deployment.steps.create(kind=StepKind.SMOKE, position=1, state=StepState.RUNNING)
    return StepContext(deployment, step, step.attempt, threading.Event())


def test_the_demo_serves_production_over_https_and_the_rest_over_http(demo_kubesim):
    assert demo_kubesim.front_door_url("production").startswith("https://")
    assert demo_kubesim.front_door_url("staging").startswith("http://")
    assert demo_kubesim.ca_file.parent == demo_kubesim.kubeconfig.parent


def test_production_smoke_check_passes_over_https_when_kubesim_ca_is_trusted(
    smoke_context, demo_kubesim, settings
):
    settings.PORTAL_EXTRA_CA_FILE = str(demo_kubesim.ca_file)
    outcome = smoke.run(smoke_context)
    assert outcome.ok, outcome.reason
    [check] = outcome.result["checks"]
    assert check["detail"] == "GET https://api.vizora.com/health answered 200 from version 1.1.0"


def test_production_smoke_check_fails_naming_the_certificate_when_the_ca_is_not_trusted(
    smoke_context, settings
):
    settings.PORTAL_EXTRA_CA_FILE = ""
    outcome = smoke.run(smoke_context)
    assert not outcome.ok
    assert "GET https://api.vizora.com/health failed: ConnectError" in outcome.reason
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.reason
