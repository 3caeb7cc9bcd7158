"""Faults the engine must survive: killed workers, stale leases, lost messages."""

from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from deployments.engine import reap_stale_steps, request_deployment
from deployments.engine.claims import claim_next_step
from deployments.engine.outcomes import record_outcome
from deployments.models import Step
from deployments.states import DeploymentState, NotificationEvent, NotificationState, StepState
from deployments.steps import StepOutcome
from tests.engine.conftest import cluster_images, register, wait_for, wait_until_final


def running_rollout(deployment_id: int) -> Step | None:
    return Step.objects.filter(
        deployment_id=deployment_id, kind="rollout", state=StepState.RUNNING
    ).first()


def started_sent(deployment) -> bool:
    return deployment.notifications.filter(
        event=NotificationEvent.STARTED, state=NotificationState.SENT
    ).exists()


@pytest.mark.worker
def test_a_worker_killed_during_a_rollout_is_replaced_and_nothing_is_sent_twice(
    development, web, start_worker, receiver
):
    release = register(web, "3.0.0-slow")
    first = start_worker()
    deployment = request_deployment("web", "3.0.0-slow", "development")
    wait_for(lambda: running_rollout(deployment.pk))
    wait_for(lambda: deployment.log.filter(text__contains="Waiting for deployment").exists())
    # Kill it mid-rollout, not mid-delivery: a POST that reached Slack before its worker
    # died cannot be known as sent (at-least-once), which is another test's concern.
    wait_for(lambda: started_sent(deployment), timeout=30)
    first.kill()
    start_worker()
    final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    rollout = final.steps.get(kind="rollout")
    assert rollout.attempt >= 2, "each look is a claim; the second worker took it on"
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    try:
        wait_for(lambda: "succeeded" in receiver.events(), timeout=30)
    except AssertionError:
        rows = list(final.notifications.values_list("event", "state", "attempts", "last_error"))
        raise AssertionError(f"received {receiver.events()}; outbox {rows}") from None
    assert Counter(receiver.events()) == {"requested": 1, "started": 1, "succeeded": 1}


@pytest.mark.django_db
def test_a_stale_lease_is_requeued_then_failed_after_the_limit_and_late_writes_are_fenced(
    development, web
):
    register(web, "3.1.0")
    deployment = request_deployment("web", "3.1.0", "development")
    claims = []
    for attempt in range(1, settings.PORTAL_STEP_MAX_ATTEMPTS + 1):
        claim = claim_next_step(deployment.pk, f"worker-{attempt}")
        assert claim is not None and claim.attempt == attempt
        claims.append(claim)
        _make_stale(claim.step_id)
        assert reap_stale_steps() == 1
    step = Step.objects.get(pk=claims[0].step_id)
    assert step.state == StepState.FAILED
    assert f"lost its worker {settings.PORTAL_STEP_MAX_ATTEMPTS} times" in step.reason
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "lost its worker" in deployment.reason
    late = record_outcome(deployment.pk, step.pk, claims[0].attempt, StepOutcome(True))
    assert late is False
    assert Step.objects.get(pk=step.pk).state == StepState.FAILED


@pytest.mark.django_db
def test_a_stale_workers_late_write_is_refused_after_another_worker_took_the_step(development, web):
    register(web, "3.2.0")
    deployment = request_deployment("web", "3.2.0", "development")
    stale = claim_next_step(deployment.pk, "worker-a")
    _make_stale(stale.step_id)
    reap_stale_steps()
    fresh = claim_next_step(deployment.pk, "worker-b")
    assert fresh.attempt == stale.attempt + 1
    assert record_outcome(deployment.pk, stale.step_id, stale.attempt, StepOutcome(True)) is False
    step = Step.objects.get(pk=fresh.step_id)
    assert (step.state, step.lease_owner) == (StepState.RUNNING, "worker-b")
    assert record_outcome(deployment.pk, fresh.step_id, fresh.attempt, StepOutcome(True)) is True


def _make_stale(step_id: int) -> None:
    old = timezone.now() - timedelta(seconds=settings.PORTAL_LEASE_TTL_SECONDS + 5)
    Step.objects.filter(pk=step_id).update(heartbeat_at=old)


@pytest.mark.worker
def test_a_deployment_whose_advance_message_was_dropped_is_finished_by_the_sweeper(
    development, web, start_worker
):
    register(web, "3.3.0")
    deployment = request_deployment("web", "3.3.0", "development")
    queue = settings.CELERY_QUEUES["deployments"]
    dropped = redis.Redis.from_url(settings.REDIS_URL).delete(queue)
    assert dropped == 1, "the advance message should have been waiting in Redis"
    start_worker()
    final = wait_until_final(deployment.pk, timeout=60)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
