"""The seed's probes: /health answers while the process lives, /health/ready only when
the database and the broker answer."""

import httpx
import pytest
from django.conf import settings

from tests.harness.server import PortalServer

UNREACHABLE_DATABASE = "postgres://postgres@127.0.0.1:1/portal"  # nothing listens on port 1
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_ready_when_database_and_broker_answer(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_liveness_answers_without_touching_anything(client):
    # No django_db mark: any database access here would raise.
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def server_with(tmp_path):
    servers = []

    def start(**env):
        base = {"SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1"}
        server = PortalServer({**base, **env}, tmp_path / "uvicorn.log").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_ready_answers_503_naming_the_database_when_it_is_unreachable(server_with):
    """The pool cannot give a connection: readiness says so within its own short wait."""
    server = server_with(
        DATABASE_URL=UNREACHABLE_DATABASE, REDIS_URL=settings.REDIS_URL, PORTAL_DB_POOL_TIMEOUT="1"
    )
    assert httpx.get(f"{server.url}/health").status_code == 200
    response = httpx.get(f"{server.url}/health/ready", timeout=10)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "database unreachable (PoolTimeout)",
    }


@pytest.mark.django_db
def test_ready_borrows_from_the_pool_and_gives_the_connection_back(client):
    from django.db import connection

    pool = connection.pool
    client.get("/health/ready")  # the pool is open and warm
    before = pool.get_stats()
    response = client.get("/health/ready")
    after = pool.get_stats()
    assert response.json() == {"status": "ready"}
    assert after["requests_num"] == before["requests_num"] + 1
    assert (
        after["pool_size"] - after["pool_available"]
        == before["pool_size"] - before["pool_available"]
    ), "nothing is left checked out"


def test_ready_answers_503_when_every_pooled_connection_is_busy(client, settings, monkeypatch):
    """A pool that cannot lend within the wait: PoolTimeout, named."""
    from psycopg_pool import PoolTimeout

    from portal import health

    class ExhaustedPool:
        timeout = 10.0

        def open(self):
            pass

        def connection(self, timeout):
            assert timeout == health.READY_POOL_WAIT_SECONDS
            raise PoolTimeout(f"couldn't get a connection after {timeout} sec")

    monkeypatch.setattr(health, "connection", type("C", (), {"pool": ExhaustedPool()})())
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "database unreachable (PoolTimeout)",
    }


@pytest.mark.slow
def test_ready_answers_503_naming_the_broker_when_redis_is_unreachable(server_with):
    # Readiness only asks for SELECT 1: the maintenance database answers it on any
    # machine (the settings' own database exists only once a test created it).
    database_url = "postgres://postgres@127.0.0.1:5432/postgres"
    server = server_with(DATABASE_URL=database_url, REDIS_URL=UNREACHABLE_REDIS)
    response = httpx.get(f"{server.url}/health/ready")
    assert response.status_code == 503
    assert response.json()["reason"] == "broker unreachable (ConnectionError)"
