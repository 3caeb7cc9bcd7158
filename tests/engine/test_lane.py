"""The lane: at most one running deployment, newest queued wins, rollbacks go first."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from deployments.engine import request_deployment, request_rollback
from deployments.engine.claims import claim_next_step
from deployments.models import Deployment
from deployments.states import DeploymentState, Trigger
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import register, wait_for


@pytest.fixture
def kubesim(tmp_path):
    """At normal speed, so the first -slow rollout is still running when all twenty queued."""
    with KubeSim(VIZORA_CONFIG, speed=1, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.mark.worker
def test_twenty_concurrent_promotions_leave_one_running_one_queued_and_the_rest_superseded(
    development, web, worker
):
    versions = [f"4.0.{n}-slow" for n in range(20)]
    for version in versions:
        register(web, version)
    errors, barrier = [], threading.Barrier(len(versions))

    def promote(version):
        try:
            barrier.wait()
            request_deployment("web", version, "development")
        except Exception as exc:  # any exception reaching a caller fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wait_for(lambda: not Deployment.objects.filter(state=DeploymentState.PENDING).exists())
    newest = Deployment.objects.order_by("-created_at").first()
    running = wait_for(lambda: Deployment.objects.filter(state=DeploymentState.RUNNING).first())
    if running.pk == newest.pk:
        # The newest won the lane outright: every older request is superseded by it.
        expected = {"running": 1, "superseded": 19}
    else:
        expected = {"running": 1, "queued": 1, "superseded": 18}
    try:
        wait_for(lambda: _states() == expected, timeout=30)
    except AssertionError:
        raise AssertionError(f"expected {expected}, found {_states()}") from None
    if running.pk != newest.pk:
        assert Deployment.objects.get(state=DeploymentState.QUEUED).pk == newest.pk
    for superseded in Deployment.objects.filter(state=DeploymentState.SUPERSEDED):
        # Each was superseded by a newer request (the chain ends at the newest).
        assert superseded.superseded_by.created_at > superseded.created_at


def _states() -> dict[str, int]:
    return dict(Counter(Deployment.objects.values_list("state", flat=True)))


@pytest.mark.django_db
def test_a_rollback_supersedes_queued_promotions_and_goes_first(development, web, alice):
    for version in ["4.8.0", "4.9.0", "5.0.0", "5.1.0"]:
        register(web, version)
    for version in ["4.8.0", "4.9.0"]:  # 4.8.0 ran here before 4.9.0: a rollback may go to it
        earlier = request_deployment("web", version, "development")
        Deployment.objects.filter(pk=earlier.pk).update(
            state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    running = request_deployment("web", "5.0.0", "development")
    assert claim_next_step(running.pk, "w") is not None  # takes the lane
    queued = request_deployment("web", "5.1.0", "development")
    claim_next_step(queued.pk, "w")
    rollback = request_rollback("web", "development", to_version="4.8.0", actor=alice)
    claim_next_step(rollback.pk, "w")
    queued.refresh_from_db()
    rollback.refresh_from_db()
    assert queued.state == DeploymentState.SUPERSEDED
    assert queued.superseded_by_id == rollback.pk
    assert rollback.state == DeploymentState.QUEUED
    assert rollback.trigger == Trigger.ROLLBACK
    late = request_deployment("web", "5.1.0", "development")
    claim_next_step(late.pk, "w")
    late.refresh_from_db()
    assert late.state == DeploymentState.QUEUED, "a promotion never supersedes a rollback"
    from deployments.engine.next_in_line import next_in_lane

    assert next_in_lane(rollback.lane_id) == rollback.pk
