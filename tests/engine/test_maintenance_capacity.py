"""Maintenance never waits behind deployments: with the deployments worker stuck in a
rollout, the maintenance worker (portal/workers.py) still observes the clusters, reaps
the stale step, sweeps and delivers notifications, and never takes a deployment's
message itself."""

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from deployments.engine import request_deployment
from deployments.models import AuditEvent, Deployment, Notification, Step
from deployments.states import NotificationEvent, NotificationState, StepKind, StepState
from environments.models import ObservedWorkloads
from kubesim.testing import VIZORA_CONFIG, KubeSim
from portal.workers import WorkerKind, queue_names
from tests.engine.conftest import FAST_ENGINE, register, wait_for
from tests.harness.worker import WorkerProcess

pytestmark = pytest.mark.worker


@pytest.fixture
def kubesim(tmp_path):
    """Slow enough that a `-slow` rollout still runs when the worker is frozen in it."""
    with KubeSim(VIZORA_CONFIG, speed=10, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def workers_by_kind(transactional_db, tmp_path, receiver):
    """A deployments worker with one thread, and a maintenance worker running beat."""
    env = {**FAST_ENGINE, "NOTIFY_WEBHOOK_URL": receiver.url, "PORTAL_OBSERVE_SECONDS": "0.5"}
    started = {}
    for kind in (WorkerKind.DEPLOYMENTS, WorkerKind.MAINTENANCE):
        beat = kind == WorkerKind.MAINTENANCE  # the beat's jobs land on the maintenance queue
        log = tmp_path / f"{kind}.log"
        started[kind] = WorkerProcess(log, env, concurrency=1, beat=beat, kind=kind)
    try:
        for process in started.values():
            process.start()
        yield started
    finally:
        for process in started.values():
            process.stop()


def rollout_running_on(deployment: Deployment) -> Step | None:
    """The deployment's rollout step once its images are patched and it follows the
    rollout on the deployments worker."""
    step = Step.objects.filter(deployment=deployment, kind=StepKind.ROLLOUT).first()
    patched = deployment.log.filter(text__contains="new replicas have been updated").exists()
    if step and patched and step.state == StepState.RUNNING and step.lease_owner:
        return step
    return None


def test_a_stuck_deployments_worker_delays_no_observation_reap_sweep_or_notification(
    development, web, workers_by_kind, receiver
):
    deployments_worker = workers_by_kind[WorkerKind.DEPLOYMENTS]
    release = register(web, "3.0.0-slow")
    first = request_deployment("web", "3.0.0-slow", "development")
    step = wait_for(lambda: rollout_running_on(first), timeout=60)

    deployments_worker.freeze()  # its one thread is stuck in the rollout
    frozen_at = timezone.now()

    # The observer reads the cluster and sees the release being rolled out.
    def observed_image():
        row = ObservedWorkloads.objects.filter(service=web, environment=development).first()
        if row is None or row.observed_at is None or row.observed_at <= frozen_at:
            return None
        return row.workloads["vizora-web"]["images"]["web"]

    assert wait_for(observed_image, timeout=30) == release.image
    # The reaper takes back the step whose heartbeat stopped.
    wait_for(
        lambda: AuditEvent.objects.filter(action="step.requeued", deployment=first).exists(),
        timeout=30,
    )
    # A request made now is announced at once.
    register(web, "3.0.1")
    second = request_deployment("web", "3.0.1", "development")
    requested = Notification.objects.get(deployment=second, event=NotificationEvent.REQUESTED)
    wait_for(lambda: Notification.objects.get(pk=requested.pk).state == NotificationState.SENT)
    assert "requested" in receiver.events()

    # Nobody else took the deployments' messages: the requeued rollout waits, unclaimed,
    # and the advances (the reaper's, the sweeper's, the new request's) wait in the queue.
    step.refresh_from_db()
    assert (step.state, step.attempt) == (StepState.PENDING, 1)
    assert Deployment.objects.get(pk=second.pk).steps.filter(attempt__gt=0).count() == 0
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        waiting = client.llen(queue_names(WorkerKind.DEPLOYMENTS)[0])
    assert waiting >= 2
    maintenance_log = workers_by_kind[WorkerKind.MAINTENANCE].log_text()
    assert "Task deployments.tasks.advance_deployment[" not in maintenance_log
    assert "Task deployments.tasks.observe_clusters[" in maintenance_log
