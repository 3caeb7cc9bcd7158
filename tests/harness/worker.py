"""A real Celery worker process for transactional tests.

The worker is a separate OS process (as in production): it sees only committed
rows, and tests can kill it. It consumes the queues named with this test
process's CELERY_QUEUE_PREFIX, so parallel test runs never share a queue.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from portal.workers import WorkerKind, queue_names

REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    conf = connection.settings_dict
    password = f":{conf['PASSWORD']}" if conf["PASSWORD"] else ""
    return (
        f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:"
        f"{conf['PORT'] or 5432}/{conf['NAME']}"
    )


class WorkerProcess:
    def __init__(
        self, log_path: Path, extra_env: dict | None = None, concurrency: int | None = 2,
        beat: bool = False, kind: WorkerKind | None = None,
    ):  # fmt: skip
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.concurrency = concurrency  # None: Celery's default (one thread per CPU)
        self.beat = beat  # embed beat (-B): the reaper and the sweeper run too
        # None: every queue (one worker does it all); a kind: only that kind's queues,
        # as `python -m portal.workers KIND` starts it in production.
        self.kind = kind
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            SECRET_KEY=settings.SECRET_KEY,
            CELERY_QUEUE_PREFIX=settings.CELERY_QUEUE_PREFIX,
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "portal", "worker",
            "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]  # fmt: skip
        if self.concurrency is not None:
            command += ["--concurrency", str(self.concurrency)]
        if self.kind is not None:
            command += ["--queues", ",".join(queue_names(self.kind))]
        if self.beat:
            command.append("--beat")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_text()}")
            if " ready." in self.log_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def freeze(self) -> None:
        """SIGSTOP the worker: it holds its messages and threads and does nothing (a
        worker stuck in a step, swapped out, or starved of CPU)."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the whole worker process group, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.thaw()  # a frozen worker would not hear SIGTERM until the grace period ended
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)  # a warm shutdown waits for running steps
        except subprocess.TimeoutExpired:
            self.kill()
