"""Fixtures for the live streams: uvicorn on the test database, signed-in cookies, rows."""

import pytest
from django.conf import settings
from django.test import Client

from deployments.models import Step
from deployments.states import DeploymentState, StepKind
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.server import PortalServer
from tests.harness.sse import SSEClient
from tests.harness.worker import database_url


def portal_server(log_path, **env) -> PortalServer:
    """uvicorn on the test database (and this run's Redis prefix), with `env` on top."""
    base = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "PORTAL_CHANNEL_PREFIX": settings.PORTAL_CHANNEL_PREFIX,
    }
    return PortalServer({**base, **{k: str(v) for k, v in env.items()}}, log_path).start()


@pytest.fixture
def start_portal(transactional_db, tmp_path):
    """Start uvicorn processes with settings of the test's own; stopped after it."""
    servers = []

    def start(**env) -> PortalServer:
        servers.append(portal_server(tmp_path / f"uvicorn-{len(servers)}.log", **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_portal(django_db_setup, tmp_path_factory):
    """One uvicorn for a module's tests with the default settings (starting one is slow)."""
    server = portal_server(tmp_path_factory.mktemp("portal") / "uvicorn.log")
    yield server
    server.stop()


@pytest.fixture
def portal(shared_portal, transactional_db):
    return shared_portal


@pytest.fixture
def cookies(alice):
    """alice's session cookie, for requests to uvicorn."""
    client = Client()
    client.force_login(alice)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


@pytest.fixture
def streams():
    """Open SSE clients; every one is stopped after the test."""
    opened = []

    def open_stream(url: str, cookies=None, **headers) -> SSEClient:
        client = SSEClient(url, cookies=cookies, headers=headers).start()
        opened.append(client)
        return client

    yield open_stream
    for client in opened:
        client.stop()


@pytest.fixture
def deployment(transactional_db):
    release = make_release(make_service("web"))
    return make_deployment(release, make_environment("development"), state=DeploymentState.RUNNING)


@pytest.fixture
def rollout(deployment):
    return Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)
