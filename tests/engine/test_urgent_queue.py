"""A click that stops or undoes something goes ahead of the looks (issue 21's benchmark:
a cancel acts in seconds however many looks are queued). The cancel's `advance` is
sent on the urgent queue, and the deployments worker takes from it before the
ordinary one, not in turn: the Redis transport's queues in the order the worker
names them (`queue_order_strategy` `priority`), urgent first."""

import json
import re

import pytest
import redis
from django.conf import settings

from deployments.engine import actions
from deployments.engine.enqueue import send_advance
from deployments.models import Deployment
from deployments.states import DeploymentState
from portal.workers import WorkerKind, queue_names
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.waiting import wait_for
from tests.harness.worker import WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queues():
    """This run's Redis queues, emptied before and after."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    names = [settings.CELERY_QUEUES["urgent"], settings.CELERY_QUEUES["deployments"]]
    client.delete(*names)
    yield client
    client.delete(*names)
    client.close()


def message_ids(client: redis.Redis, queue: str) -> list[str]:
    """The task ids waiting in `queue`, oldest first (kombu LPUSHes, BRPOP takes the tail)."""
    return [json.loads(raw)["headers"]["id"] for raw in reversed(client.lrange(queue, 0, -1))]


def deployments_in(state: DeploymentState, count: int) -> list[int]:
    environment, service = make_environment(), make_service()
    release = make_release(service)
    return [make_deployment(release, environment, state=state).pk for _ in range(count)]


def test_the_deployments_worker_names_the_urgent_queue_first():
    assert queue_names(WorkerKind.DEPLOYMENTS) == [
        settings.CELERY_QUEUES["urgent"],
        settings.CELERY_QUEUES["deployments"],
    ]
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] == "priority"


def test_a_cancel_sends_its_advance_on_the_urgent_queue(queues, django_capture_on_commit_callbacks):
    deployment_id = deployments_in(DeploymentState.RUNNING, 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel(None, deployment_id)
    assert Deployment.objects.get(pk=deployment_id).cancel_requested
    assert len(message_ids(queues, settings.CELERY_QUEUES["urgent"])) == 1
    assert message_ids(queues, settings.CELERY_QUEUES["deployments"]) == []


@pytest.mark.worker
def test_urgent_advances_are_taken_before_the_looks_queued_earlier(queues, tmp_path):
    # Deployments that ended already: an `advance` of one ends at once, a cheap message.
    ended = deployments_in(DeploymentState.CANCELLED, 5)
    ordinary, urgent = ended[:3], ended[3:]
    for deployment_id in ordinary:
        send_advance(deployment_id)
    for deployment_id in urgent:
        send_advance(deployment_id, urgent=True)
    urgent_ids = message_ids(queues, settings.CELERY_QUEUES["urgent"])
    ordinary_ids = message_ids(queues, settings.CELERY_QUEUES["deployments"])
    assert len(urgent_ids) == 2 and len(ordinary_ids) == 3
    worker = WorkerProcess(tmp_path / "deployments.log", concurrency=1, kind=WorkerKind.DEPLOYMENTS)
    worker.start()
    try:
        received = wait_for_received(worker, 5)
    finally:
        worker.stop()
    # Round-robin would take urgent, ordinary, urgent: here both urgent ones come first.
    assert received[:2] == urgent_ids
    assert sorted(received[2:]) == sorted(ordinary_ids)


def wait_for_received(worker: WorkerProcess, count: int) -> list[str]:
    """The task ids the worker's log says it received, in order, once there are `count`."""

    def received() -> list[str] | None:
        ids = re.findall(r"Task deployments\.tasks\.advance_deployment\[([0-9a-f-]+)\] received",
                         worker.log_text())  # fmt: skip
        return ids if len(ids) >= count else None

    return wait_for(received, timeout=30)
