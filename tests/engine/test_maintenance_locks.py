"""A deployments worker frozen inside a transaction holds its rows locked: the reaper
and the sweeper do not wait behind it (they skip the locked step and take it back at a
later run), and PostgreSQL ends the frozen session after PORTAL_DB_IDLE_TRANSACTION_SECONDS,
which frees the rows."""

import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from deployments.engine.maintenance import reap_stale_steps, resend_overdue_looks
from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from portal.env import session_options
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.worker import database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deployment():
    return make_deployment(
        make_release(make_service("web")), make_environment("development"),
        state=DeploymentState.RUNNING,
    )  # fmt: skip


@contextmanager
def frozen_worker_holding(table: str, pk: int, **connect):
    """Another session that locked a row and then stopped, as a frozen worker would."""
    with psycopg.connect(database_url(), **connect) as frozen:
        frozen.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])
        yield frozen


def test_the_reaper_skips_a_step_whose_deployment_a_frozen_worker_holds_then_reaps_it(deployment):
    stale = timezone.now() - timedelta(minutes=5)
    step = Step.objects.create(
        deployment=deployment, kind=StepKind.ROLLOUT, position=1, state=StepState.RUNNING,
        attempt=1, lease_owner="frozen-worker", heartbeat_at=stale,
    )  # fmt: skip
    with frozen_worker_holding("deployments_deployment", deployment.pk):
        started = time.monotonic()
        assert reap_stale_steps() == 0
        assert time.monotonic() - started < 10, "it waited for the lock instead of moving on"
        assert Step.objects.get(pk=step.pk).lease_owner == "frozen-worker"
    assert reap_stale_steps() == 1  # the lock gone, the next run takes it back
    step.refresh_from_db()
    assert (step.lease_owner, step.lost_leases) == ("", 1)


def test_the_sweeper_skips_a_look_whose_step_a_frozen_worker_holds_then_sends_it(deployment):
    overdue = timezone.now() - timedelta(minutes=5)
    step = Step.objects.create(
        deployment=deployment, kind=StepKind.ROLLOUT, position=1, state=StepState.RUNNING,
        attempt=1, next_look_at=overdue, due_at=overdue,
    )  # fmt: skip
    with frozen_worker_holding("deployments_step", step.pk):
        assert resend_overdue_looks() == 0
    assert resend_overdue_looks() == 1
    assert Step.objects.get(pk=step.pk).next_look_at > overdue


def test_postgresql_ends_a_session_left_idle_inside_a_transaction(deployment, monkeypatch):
    monkeypatch.setenv("PORTAL_DB_IDLE_TRANSACTION_SECONDS", "1")
    assert session_options() == "-c idle_in_transaction_session_timeout=1000"
    with frozen_worker_holding(
        "deployments_deployment", deployment.pk, options=session_options()
    ) as frozen:
        pid = frozen.info.backend_pid
        with psycopg.connect(database_url(), autocommit=True) as watcher:
            for _ in range(100):  # the server's timer: at most ten seconds
                ended = not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
                if ended:
                    break
                time.sleep(0.1)
            assert ended, "the idle transaction's session still holds its locks"
            # Its row is free again: another session locks it at once.
            watcher.execute("SET lock_timeout = '1s'")
            with watcher.transaction():
                watcher.execute(
                    "SELECT 1 FROM deployments_deployment WHERE id = %s FOR UPDATE",
                    [deployment.pk],
                )
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            frozen.execute("SELECT 1")  # what the worker meets when it wakes


def test_every_portal_session_has_the_idle_transaction_timeout(settings):
    options = settings.DATABASES["default"]["OPTIONS"]["options"]
    assert options == "-c idle_in_transaction_session_timeout=60000"  # the default, 60 s
