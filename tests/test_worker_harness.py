"""The harness later engine tests stand on: a real worker process on this run's queues."""

import uuid

import pytest
from django.conf import settings

from audit.models import AuditEvent
from portal.tasks import probe_worker
from tests.harness.waiting import wait_for


@pytest.mark.worker
def test_worker_runs_a_task_that_writes_a_row_the_test_reads(celery_worker_process):
    token = uuid.uuid4().hex
    probe_worker.delay(token)
    event = wait_for(lambda: AuditEvent.objects.filter(target=token).first())
    assert event.action == "worker.probe"
    assert event.actor is None


def test_queue_names_are_unique_to_this_test_process():
    prefix = settings.CELERY_QUEUE_PREFIX
    assert prefix.startswith("test-")
    assert set(settings.CELERY_QUEUES.values()) == {
        f"{prefix}.deployments",
        f"{prefix}.urgent",
        f"{prefix}.notifications",
        f"{prefix}.maintenance",
        f"{prefix}.builds",
    }
    route = settings.CELERY_TASK_ROUTES["portal.tasks.*"]
    assert route == {"queue": f"{prefix}.maintenance"}
