"""Fixtures every test module can use: personas, a catalog, a real Celery worker."""

import pytest

from tests.harness.clock import FakeClock, forget_cached_keys
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


@pytest.fixture(autouse=True)
def _no_throttles_from_earlier_tests():
    """The throttles' counters live in Redis under this process's cache prefix: each test
    starts without another test's failures."""
    forget_cached_keys()


@pytest.fixture
def throttle_clock():
    """The throttles read the time from this clock; `advance` moves it (no sleeping)."""
    from accounts import throttling

    clock = FakeClock()
    previous = throttling.set_clock(clock)
    yield clock
    throttling.set_clock(previous)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` process on this test run's own queues (see harness/worker.py)."""
    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def browser_page():
    """A fresh Chromium page; closed with its browser after the test.

    Request it after every fixture that writes rows: while Playwright runs, an event
    loop is running in this thread and Django refuses synchronous ORM calls.
    """
    from playwright.sync_api import sync_playwright

    from tests.harness.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        yield page
        browser.close()


def pytest_collection_modifyitems(config, items):
    """Run the slowest modules (browser, whole processes) first: pytest-xdist hands out
    whole files in this order, so a long file left for last keeps one worker busy alone
    while the other is idle. Every worker sorts the same way (a stable sort)."""

    def weight(item) -> int:
        return (
            0 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow") else 2
        )

    items.sort(key=weight)
