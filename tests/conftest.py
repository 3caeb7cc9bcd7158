"""Fixtures every test module can use: personas, a catalog, a real Celery worker."""

import pytest

from tests.harness.personas import PERSONAS, make_persona
from tests.harness.worker import WorkerProcess


@pytest.fixture
def alice(db):
    """An engineer."""
    return make_persona("alice", PERSONAS["alice"])


@pytest.fixture
def bob(db):
    """A lead."""
    return make_persona("bob", PERSONAS["bob"])


@pytest.fixture
def carol(db):
    """An admin."""
    return make_persona("carol", PERSONAS["carol"])


@pytest.fixture
def oscar(db):
    """A signed-in user in no role group."""
    return make_persona("oscar", PERSONAS["oscar"])


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` process on this test run's own queues (see harness/worker.py)."""
    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()
