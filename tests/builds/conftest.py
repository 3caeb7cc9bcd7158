"""Fixtures for the build tests: a real Docker engine, real registries, a service whose
repository is a local git repository made here (FROM scratch + the static busybox)."""

import secrets
import shutil
import subprocess
from pathlib import Path

import docker
import pytest
from django.conf import settings

from catalog.models import Service
from tests.harness.docker_engine import Registry, engine_or_reason
from tests.harness.server import PortalServer
from tests.harness.waiting import wait_for
from tests.harness.worker import database_url

BUSYBOX = Path("/bin/busybox")

# `busybox httpd` serves /www: /health says which version runs.
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
ARG GREETING=none
COPY www /www
RUN ["/bin/busybox", "sh", "-c", "echo \\"greeting is $GREETING\\"; /bin/busybox cat /www/health"]
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


@pytest.fixture(scope="session")
def docker_host():
    host, reason = engine_or_reason()
    if host is None:
        pytest.skip(f"no Docker engine for the build tests: {reason}")
    return host


@pytest.fixture(scope="session")
def registry(docker_host, tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def read_only_registry(docker_host, tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("registry-ro"), read_only=True) as running:
        yield running


@pytest.fixture
def build_settings(settings, docker_host, tmp_path):
    settings.DOCKER_HOST = docker_host
    settings.PORTAL_BUILD_WORK_DIR = tmp_path / "builds"
    settings.PORTAL_BUILD_POLL_SECONDS = 0.1
    return settings


class ServiceRepository:
    """A git repository in a temporary folder; each commit can be tagged."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch", "main")
        shutil.copy(BUSYBOX, path / "busybox")
        # A token of this test's own: no other test's cache can match its layers.
        self.token = secrets.token_hex(8)

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=self.path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def commit(self, health: str, tag: str = "", dockerfile: str = DOCKERFILE) -> str:
        (self.path / "www").mkdir(exist_ok=True)
        (self.path / "www" / "health").write_text(f"{health} {self.token}\n")
        (self.path / "Dockerfile").write_text(dockerfile)
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", health)
        if tag:
            self.git("tag", tag)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repository(tmp_path):
    return ServiceRepository(tmp_path / "web-repo")


@pytest.fixture
def web(transactional_db, registry, repository):
    return Service.objects.create(
        name="web", repository=str(repository.path),
        image_repository=f"{registry.address}/vizora/web-{repository.token}",
        dockerfile="Dockerfile", build_context=".", build_args={"GREETING": "hello"},
        workloads=[{"deployment": "vizora-web", "containers": ["web"]}],
    )  # fmt: skip


def log_of(release) -> str:
    return "\n".join(release.build_log.order_by("seq").values_list("text", flat=True))


def wait_until_not_running(docker_host: str, is_ours, timeout: float = 20.0) -> None:
    """Wait (bounded) until no running container matches: the engine removes a stopped
    build's container on its own time, a moment after the build was left."""
    engine = docker.DockerClient(base_url=docker_host)
    try:
        wait_for(lambda: not any(is_ours(c) for c in engine.containers.list()), timeout)
    finally:
        engine.close()


@pytest.fixture
def build_portal(build_settings, tmp_path):
    """uvicorn with the test's Docker engine, so the service page offers builds
    and API clients can ask for them."""
    server = PortalServer(
        {
            # The test settings serve static files from the source folders (no collectstatic).
            "DJANGO_SETTINGS_MODULE": "portal.settings_test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "PORTAL_CHANNEL_PREFIX": settings.PORTAL_CHANNEL_PREFIX,
            "CELERY_QUEUE_PREFIX": settings.CELERY_QUEUE_PREFIX,
            "DOCKER_HOST": build_settings.DOCKER_HOST,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
        },
        tmp_path / "uvicorn.log",
    )
    try:
        yield server.start(timeout=90)
    finally:
        server.stop()
