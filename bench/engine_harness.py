"""Shared set-up for the engine benchmarks: a fresh PostgreSQL database, kubesim,
the catalog pointed at it, and real Celery worker processes on their own queues.

Loopback only; every process started here is stopped on exit.
"""

import os
import sys
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import bench_db

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# BENCH_DATABASE: another name when several checkouts benchmark on one PostgreSQL.
BENCH_DB = os.environ.get("BENCH_DATABASE", "portal_bench")
os.environ.update(
    DJANGO_SETTINGS_MODULE="portal.settings",
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
    REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    SECRET_KEY="bench-secret-key-" + "x" * 40,
    CELERY_QUEUE_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
    PORTAL_HEARTBEAT_SECONDS="1",
    LOG_LEVEL="WARNING",
)


def fresh_database() -> None:
    bench_db.fresh_database(BENCH_DB)


def catalog(kubesim, rollout_timeout: float = 120):
    """Cluster, environment `development` and service `web`, as the tests have them."""
    from catalog.models import Cluster, Environment, Service

    cluster = Cluster.objects.create(
        name="development", kubeconfig_path=str(kubesim.kubeconfig), context="development"
    )
    environment = Environment.objects.create(
        name="development", cluster=cluster, namespace="vizora-dev",
        rollout_timeout=timedelta(seconds=rollout_timeout),
    )  # fmt: skip
    service = Service.objects.create(
        name="web", image_repository="ghcr.io/your-org/vizora-web",
        workloads=[{"deployment": "vizora-web", "containers": ["web"]}],
    )  # fmt: skip
    return environment, service


def register(version: str):
    import hashlib

    from releases.registration import register_release

    digest = "sha256:" + hashlib.sha256(version.encode()).hexdigest()
    return register_release("web", version, f"ghcr.io/your-org/vizora-web:{version}@{digest}")


@contextmanager
def workers(count: int, workdir: Path, concurrency: int = 1):
    from tests.harness.worker import WorkerProcess

    started = []
    try:
        for index in range(count):
            process = WorkerProcess(workdir / f"worker-{index}.log", concurrency=concurrency)
            process.start()
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()


def resident_mb(pid: int) -> float:
    """VmRSS of a process and its children (a prefork worker's pool), in MiB."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        total += int(line.split()[1])
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    result = [int(child) for child in found]
    for child in list(result):
        result += _children(child)
    return result


def purge_queues() -> None:
    """Drop messages sent while the benchmark ran the engine in-process."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    for name in settings.CELERY_QUEUES.values():
        client.delete(name)
    client.close()
