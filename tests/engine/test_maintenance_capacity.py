"""Maintenance never waits behind deployments: with the deployments worker stuck in a
rollout, the maintenance worker (portal/workers.py) still observes the clusters, takes
the rollout back (the reaper, when the worker froze mid-look; the sweeper re-sending
its overdue look, when it froze between looks), delivers notifications, and never
takes a deployment's message itself."""

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import ObservedWorkloads
from deployments.engine import request_deployment
from deployments.models import Deployment, Notification, Step
from deployments.states import (
    FINAL_STEP_STATES,
    NotificationEvent,
    NotificationState,
    StepKind,
    StepState,
)
from kubesim.testing import VIZORA_CONFIG, KubeSim
from portal.workers import WorkerKind
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
    wait_for(lambda: rollout_running_on(first), timeout=60)

    deployments_worker.freeze()  # its one thread is stuck, mid-look or between looks
    frozen_at = timezone.now()

    # The observer reads the cluster and sees the release being rolled out.
    def observed_image():
        row = ObservedWorkloads.objects.filter(service=web, environment=development).first()
        if row is None or row.observed_at is None or row.observed_at <= frozen_at:
            return None
        return row.workloads["vizora-web"]["images"]["web"]

    assert wait_for(observed_image, timeout=30) == release.image
    # Frozen mid-look, the reaper takes the step back when its heartbeat stops; frozen
    # between looks, the sweeper re-sends the look once it is overdue (moving its due
    # time); frozen between two steps, the sweeper re-advances the idle deployment.
    grace = timedelta(seconds=float(FAST_ENGINE["PORTAL_LOOK_GRACE_SECONDS"]))

    def taken_back() -> dict | None:
        steps = list(Step.objects.filter(deployment=first))
        reaped = AuditEvent.objects.filter(action="step.requeued", deployment=first).exists()
        running = [s for s in steps if s.state == StepState.RUNNING]
        resent = any(s.next_look_at and s.next_look_at > frozen_at + grace for s in running)
        idle = not running and timezone.now() > frozen_at + grace * 2
        return {s.pk: s.attempt for s in steps} if reaped or resent or idle else None

    attempts = wait_for(taken_back, timeout=30)
    # A request made now is announced at once.
    register(web, "3.0.1")
    second = request_deployment("web", "3.0.1", "development")
    requested = Notification.objects.get(deployment=second, event=NotificationEvent.REQUESTED)
    wait_for(lambda: Notification.objects.get(pk=requested.pk).state == NotificationState.SENT)
    assert "requested" in receiver.events()

    # Nobody else took the deployments' messages: the rollout waits, unclaimed since it
    # was taken back, and the advances (the reaper's or the sweeper's, the new request's)
    # wait in the queue.
    steps = Step.objects.filter(deployment=first)
    assert {s.pk: s.attempt for s in steps} == attempts
    assert not steps.exclude(lease_owner="").exclude(state__in=FINAL_STEP_STATES).exists()
    assert Deployment.objects.get(pk=second.pk).steps.filter(attempt__gt=0).count() == 0
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        waiting = client.llen(settings.CELERY_QUEUES["deployments"])
    assert waiting >= 2
    maintenance_log = workers_by_kind[WorkerKind.MAINTENANCE].log_text()
    assert "Task deployments.tasks.advance_deployment[" not in maintenance_log
    assert "Task deployments.tasks.observe_clusters[" in maintenance_log
