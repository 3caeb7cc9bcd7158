"""Fixtures for engine tests: kubesim over HTTP, the Vizora catalog pointed at it,
and a real Celery worker with short leases."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Cluster, Environment, Service
from integrations.kube.cluster import ClusterClient
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.factories import digest_for
from tests.harness.receiver import WebhookReceiver
from tests.harness.waiting import wait_for  # noqa: F401 (re-exported for the engine tests)
from tests.harness.worker import WorkerProcess

# Short timings so faults resolve in seconds; production keeps the defaults.
FAST_ENGINE = {
    "PORTAL_HEARTBEAT_SECONDS": "0.2",
    "PORTAL_LEASE_TTL_SECONDS": "2",
    "PORTAL_STEP_MAX_ATTEMPTS": "3",
    "PORTAL_REAP_SECONDS": "0.5",
    "PORTAL_SWEEP_SECONDS": "1",
    "PORTAL_LOOK_SECONDS": "0.1",
    "PORTAL_LOOK_GRACE_SECONDS": "1",
    "PORTAL_NOTIFY_LEASE_SECONDS": "2",
    "PORTAL_NOTIFY_LOST_AFTER_SECONDS": "2",
    "PORTAL_NOTIFY_TIMEOUT_SECONDS": "1",
    # A worker frozen inside a transaction loses its session (and its row locks) after
    # this long, so the reaper can take its step back (test_maintenance_capacity.py).
    "PORTAL_DB_IDLE_TRANSACTION_SECONDS": "5",
}


# kubesim's one clock at speed 200: the seed's 600 s progress deadline lasts 3 s, well
# before the environments' 30 s rollout timeout (100 cluster minutes), so a crash-looping
# release fails on its deadline as it would with a long `kubectl rollout status --timeout`.
SPEED = 200


@pytest.fixture
def kubesim(tmp_path):
    with KubeSim(VIZORA_CONFIG, speed=SPEED, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def development(kubesim, transactional_db):
    cluster = Cluster.objects.create(
        name="development", kubeconfig_path=str(kubesim.kubeconfig), context="development"
    )
    return Environment.objects.create(
        name="development", cluster=cluster, namespace="vizora-dev",
        rollout_timeout=timedelta(seconds=30), auto_rollback=True,
    )  # fmt: skip


@pytest.fixture
def web(transactional_db):
    return Service.objects.create(
        name="web", image_repository="ghcr.io/your-org/vizora-web",
        workloads=[{"deployment": "vizora-web", "containers": ["web"]}],
    )  # fmt: skip


def register(service: Service, version: str):
    from releases.registration import register_release

    image = f"{service.image_repository}:{version}@{digest_for(service.name + version)}"
    return register_release(service.name, version, image)


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def start_worker(transactional_db, tmp_path, receiver):
    """Start real worker processes (with beat: reaper and sweeper) posting to `receiver`."""
    started = []

    def start(**env):
        settings = {**FAST_ENGINE, "NOTIFY_WEBHOOK_URL": receiver.url,
                    "PORTAL_NOTIFY_BACKOFF_SECONDS": "0.2", **env}  # fmt: skip
        process = WorkerProcess(
            tmp_path / f"worker-{len(started)}.log", extra_env=settings, beat=True
        )
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker()


def wait_until_final(deployment_id: int, timeout: float = 60.0):
    from deployments.models import Deployment

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment = Deployment.objects.get(pk=deployment_id)
        if deployment.is_final:
            return deployment
        time.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} still {deployment.state} after {timeout}s")


def cluster_images(environment: Environment, workload: str) -> dict[str, str]:
    with ClusterClient(environment.cluster) as kube:
        return kube.read_images(environment.namespace, workload)


@pytest.fixture
def development_with_urls(development, kubesim):
    """Development with the seed's URLs, resolved to kubesim's front door (like curl --resolve)."""
    front_door = kubesim.cluster("development").front_door_url.split("://", 1)[1]
    hosts = {"api": "api.dev.vizora.com", "app": "app.dev.vizora.com"}
    development.urls = {name: f"http://{host}" for name, host in hosts.items()}
    development.resolve = {host: front_door for host in hosts.values()}
    development.save()
    return development


@pytest.fixture
def middleware(transactional_db):
    return Service.objects.create(
        name="middleware", image_repository="ghcr.io/your-org/vizora-middleware",
        workloads=[{"deployment": "vizora-middleware", "containers": ["middleware"]}],
        smoke_checks=[{"url": "api", "path": "/health", "expect_status": 200}],
        migration_command=["npx", "prisma", "migrate", "deploy"],
    )  # fmt: skip


_between_looks = threading.Event()  # never set: its wait() is a pause


def run_in_process(deployment_id: int, worker: str = "test", timeout: float = 120.0) -> None:
    """Advance a deployment to its end in this process, as a worker would: each look
    when it is due (the test waits between looks, as the broker's countdown would)."""
    from deployments.engine import advance
    from deployments.models import Deployment, Step

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Deployment.objects.get(pk=deployment_id).is_final:
            return
        if not advance(deployment_id, worker):
            if Deployment.objects.get(pk=deployment_id).is_final:
                return  # that advance ended it without a look
            # One statement, so one snapshot: a worker process may be taking a look or
            # parking the step between two queries.
            steps = list(
                Step.objects.filter(deployment_id=deployment_id).values_list(
                    "kind", "state", "lease_owner", "next_look_at"
                )
            )
            due = next((step[3] for step in steps if step[3] is not None), None)
            if due is None and any(step[1] == "running" and step[2] for step in steps):
                due = timezone.now()  # a worker process is mid-look: look again shortly
            if due is None:
                raise AssertionError(f"deployment {deployment_id} stopped: {steps}")
            # Not time.sleep: a test may forbid it to prove that no step sleeps.
            _between_looks.wait(max(0.0, min(1.0, (due - timezone.now()).total_seconds())) + 0.01)
    raise AssertionError(f"deployment {deployment_id} did not end within {timeout:.0f} s")
