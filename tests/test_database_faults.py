"""PostgreSQL restarting under the portal: a request whose connection breaks answers 503
with Retry-After (JSON under /api/, a short page elsewhere), never 500, and the pool
recovers by itself: the next requests succeed on fresh connections.

A restart is simulated by terminating the test database's backends from a separate
connection, as an administrator (or a failover) would: only those of this module's tests
(their own application_name), since the test database also serves whatever else this
test process shares between tests (servers, workers)."""

import os
import threading
import time

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.backends.signals import connection_created
from django.test import Client

from api.tokens import issue_personal_token
from portal.database_errors import RETRY_AFTER_SECONDS
from tests.harness.server import PortalServer
from tests.harness.worker import database_url

TERMINATE_ALL = (
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND application_name = %s"
)
APPLICATION_NAME = f"portal-restart-test-{os.getpid()}"


@pytest.fixture(autouse=True)
def own_connections(monkeypatch):
    """Every connection opened during the test (this process's pool, the servers it
    starts) carries APPLICATION_NAME (libpq reads PGAPPNAME): the pool is emptied
    before so that none of its connections predates the name, and after."""
    connection.close()
    connection.close_pool()
    monkeypatch.setenv("PGAPPNAME", APPLICATION_NAME)
    yield
    connection.close()
    connection.close_pool()


def terminate_every_backend() -> int:
    """What a PostgreSQL restart does to the open connections; how many it ended."""
    with psycopg.connect(database_url(), autocommit=True, application_name="") as admin:
        ended = len(admin.execute(TERMINATE_ALL, [APPLICATION_NAME]).fetchall())
    connection.close()  # the test's own, terminated too: its teardown borrows a fresh one
    return ended


class BreakNextConnection:
    """Terminates the next connection this process opens, right after it opened: the
    request that borrowed it then meets a broken connection on its first query."""

    def __init__(self):
        self.terminated: list[int] = []

    def __enter__(self):
        connection_created.connect(self.on_created, dispatch_uid=id(self))
        return self

    def __exit__(self, *exc_info):
        connection_created.disconnect(dispatch_uid=id(self))

    def on_created(self, sender, connection, **kwargs):
        if self.terminated:
            return
        pid = connection.connection.info.backend_pid
        self.terminated.append(pid)
        with psycopg.connect(database_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


@pytest.fixture
def token(transactional_db, alice):
    return issue_personal_token(alice, "alice's script", 30)[1]


def served(client: Client, path: str, **headers):
    """GET as a server's request cycle runs it, which Django's test client does not (it
    keeps one connection for the whole test): request_started and request_finished
    call close_old_connections, so a request borrows from the pool and gives back,
    and the pool drops a broken connection given back."""
    close_old_connections()
    try:
        return client.get(path, headers=headers)
    finally:
        close_old_connections()


def api_get(client: Client, token: str, path: str = "/api/v1/environments"):
    return served(client, path, Authorization=f"Bearer {token}")


def test_an_api_request_on_a_broken_connection_is_a_json_503_then_the_next_succeeds(token):
    client = Client()
    assert connection.pool is not None, "the test settings borrow from a pool"
    with BreakNextConnection() as breaker:
        response = api_get(client, token)
    assert breaker.terminated, "the request's connection was terminated"
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "error": f"The database is not answering; try again in {RETRY_AFTER_SECONDS} seconds.",
        "detail": None,
    }
    # The broken connection went back to the pool, which dropped it.
    assert api_get(client, token).status_code == 200


def test_a_page_on_a_broken_connection_is_a_short_503_page_then_the_next_succeeds(
    transactional_db, alice
):
    client = Client()
    client.force_login(alice)
    with BreakNextConnection() as breaker:
        response = served(client, "/")
    assert breaker.terminated
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert b"The database is not answering; try again in" in response.content
    assert served(client, "/").status_code == 200


def test_after_every_backend_is_terminated_the_pool_replaces_its_connections(token):
    client = Client()
    for _ in range(3):  # the pool now holds idle connections
        assert api_get(client, token).status_code == 200
    with psycopg.connect(database_url(), application_name="bystander") as bystander:
        assert terminate_every_backend() >= 1
        assert bystander.execute("SELECT 1").fetchone() == (1,), "others' connections live on"
    # Each idle connection is checked before it is lent: dead ones are replaced.
    statuses = [api_get(client, token).status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert connection.pool.get_stats().get("connections_lost", 0) >= 1


@pytest.mark.slow
def test_under_load_a_restart_costs_at_most_503s_and_the_pool_recovers(token, tmp_path):
    """Over uvicorn, four clients request while every backend is terminated three
    times: each answer is 200 or 503 (never a 500), and afterwards every request succeeds."""
    server = PortalServer(
        {
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "PORTAL_DB_POOL_MIN_SIZE": "4",
        },
        tmp_path / "uvicorn.log",
    ).start(timeout=90)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{server.url}/api/v1/environments"
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop():
        with httpx.Client(headers=headers, timeout=30) as client:
            while not stop.is_set():
                status = client.get(url).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(3):
            wait_for_answers(statuses, lock, at_least=len(statuses) + 8)
            assert terminate_every_backend() >= 1
        wait_for_answers(statuses, lock, at_least=len(statuses) + 8)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        with httpx.Client(headers=headers, timeout=30) as client:
            assert [client.get(url).status_code for _ in range(5)] == [200] * 5
    finally:
        stop.set()
        server.stop()


def wait_for_answers(statuses, lock, at_least: int) -> None:
    for _ in range(600):
        with lock:
            if len(statuses) >= at_least:
                return
        time.sleep(0.1)
    raise AssertionError(f"only {len(statuses)} answers; the clients stalled")
