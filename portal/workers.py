"""The kinds of Celery worker the portal runs, and which queues each one consumes.

Deployments never share a worker with maintenance: the cluster observer, the reaper,
the sweeper and notifications have a worker (and threads) of their own, so however
many deployments keep the deployments worker busy, the observer still reads every
cluster on time and a lost `advance` is still re-sent. Builds, which hold a thread for
minutes, have their own worker too.

Start one with `python -m portal.workers KIND [celery worker options]`: it runs
`celery -A portal worker --queues <the kind's queues> --hostname KIND@%h` with the
options given (`--concurrency`, `--loglevel`, …), the queue names carrying
CELERY_QUEUE_PREFIX as every producer's do. Procfile, docker-compose.yml and
k8s/portal.yaml start every worker this way, so the split is written once: here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum


class WorkerKind(StrEnum):
    DEPLOYMENTS = "deployments"
    MAINTENANCE = "maintenance"
    BUILDS = "builds"


# Keys of settings.CELERY_QUEUES. Every queue is consumed by exactly one kind.
WORKER_QUEUES: dict[WorkerKind, tuple[str, ...]] = {
    # Urgent first: a worker takes from its queues in this order (the broker's
    # `queue_order_strategy` is `priority`), so a cancel or a rollback clicked while
    # hundreds of looks are queued is taken next (deployments/engine/enqueue.py).
    WorkerKind.DEPLOYMENTS: ("urgent", "deployments"),
    # Notifications ride with maintenance: a delivery is one bounded HTTP request per
    # channel (PORTAL_NOTIFY_TIMEOUT_SECONDS), and "failed" must not wait behind the
    # rollouts of other deployments to reach Slack.
    WorkerKind.MAINTENANCE: ("maintenance", "notifications"),
    WorkerKind.BUILDS: ("builds",),
}

# The kind decides these; a caller naming them would undo the split.
RESERVED_OPTIONS = ("-Q", "--queues", "-X", "--exclude-queues")


class UsageError(Exception):
    """A command line this launcher refuses, with what to do instead."""


def queue_names(kind: WorkerKind | str, queues: Mapping[str, str] | None = None) -> list[str]:
    """The broker's names of the queues `kind` consumes (CELERY_QUEUE_PREFIX included)."""
    if queues is None:
        from django.conf import settings

        queues = settings.CELERY_QUEUES
    return [queues[key] for key in WORKER_QUEUES[WorkerKind(kind)]]


def worker_command(
    kind: str, options: Sequence[str], queues: Mapping[str, str] | None = None
) -> list[str]:
    """The `celery worker` command line for `kind`; raises UsageError for an unknown kind
    or for options that would choose the queues themselves."""
    if kind not in WorkerKind:
        known = ", ".join(WorkerKind)
        raise UsageError(f"unknown worker kind {kind!r}: choose one of {known}")
    for option in options:
        if option.split("=", 1)[0] in RESERVED_OPTIONS:
            raise UsageError(
                f"{option} is not allowed: the kind {kind!r} decides its queues "
                "(portal/workers.py); start another kind instead"
            )
    names = ",".join(queue_names(kind, queues))
    # Options given later win (click keeps an option's last value): --hostname may be
    # overridden, e.g. by the test harness.
    return [
        sys.executable, "-m", "celery", "-A", "portal", "worker",
        "--queues", names, "--hostname", f"{kind}@%h", *options,
    ]  # fmt: skip


# Connections one task may hold at once from its process's pool: its own thread's and
# its step's heartbeat (or its build log's flusher).
CONNECTIONS_PER_TASK = 2


def concurrency(options: Sequence[str], cpu_count: int | None) -> int:
    """The worker's --concurrency (-c) from its options; Celery's default: the cores."""
    value = None
    for index, option in enumerate(options):
        name, equals, inline = option.partition("=")
        if name in ("-c", "--concurrency"):
            value = inline if equals else (options[index + 1] if index + 1 < len(options) else "")
        elif option.startswith("-c") and len(option) > 2 and not option.startswith("--"):
            value = option[2:]
    if value is None:
        return max(1, cpu_count or 1)
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--concurrency {value!r} is not a whole number of threads (1 or more)")
    return int(value)


def check_pool(options: Sequence[str], pool: Mapping | None, cpu_count: int | None) -> None:
    """Refuse a concurrency the process's database pool cannot serve: its threads would
    wait for connections (PORTAL_DB_POOL_TIMEOUT), then fail their tasks."""
    if not pool:  # SQLite: no pool
        return
    threads = concurrency(options, cpu_count)
    needed = threads * CONNECTIONS_PER_TASK
    if pool["max_size"] < needed:
        raise UsageError(
            f"PORTAL_DB_POOL_MAX_SIZE={pool['max_size']} is too small for --concurrency "
            f"{threads}: each task may hold {CONNECTIONS_PER_TASK} connections; set "
            f"PORTAL_DB_POOL_MAX_SIZE to at least {needed} or lower --concurrency"
        )


def main(argv: Sequence[str]) -> int:
    """Replace this process with the worker (same pid: signals from the demo supervisor, Docker or
    the kubelet reach Celery directly)."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    try:
        command = worker_command(argv[0], argv[1:])
        from django.conf import settings

        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
        check_pool(argv[1:], pool, os.cpu_count())
    except UsageError as error:
        print(f"portal.workers: {error}", file=sys.stderr)
        return 2
    print(f"portal.workers: {' '.join(command[2:])}", file=sys.stderr, flush=True)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
