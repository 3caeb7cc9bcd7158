"""backup_fresh against kubesim's CronJobs: the seed's postgres-backup, its Jobs run by
kubesim's Job controller (a `-failing` image fails), its status set through the API."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from deployments.checks import backup_fresh
from deployments.checks.evidence import utc
from integrations.kube.cluster import ClusterClient
from tests.harness.waiting import wait_for

NAMESPACE = "vizora-prod"
BACKUP = {"cronjob": "postgres-backup"}


@pytest.fixture
def batch(production):
    with ClusterClient(production.cluster) as kube:
        yield kube.batch


def succeeded_ago(batch, span: timedelta) -> datetime:
    """Set the CronJob's lastSuccessfulTime `span` ago, as its controller would."""
    moment = (datetime.now(UTC) - span).replace(microsecond=0)
    body = {"status": {"lastSuccessfulTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    batch.patch_namespaced_cron_job_status("postgres-backup", NAMESPACE, body)
    return moment


def run_backup_job(batch, image: str) -> object:
    """Start a Job of postgres-backup by hand (kubectl create job --from=cronjob/…) with
    `image`, and wait until it has finished."""
    cronjob = batch.read_namespaced_cron_job("postgres-backup", NAMESPACE)
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "postgres-backup",
             "uid": cronjob.metadata.uid, "controller": True}  # fmt: skip
    container = {"name": "backup", "image": image, "command": ["pg_dump"]}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "postgres-backup-manual", "ownerReferences": [owner]},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }
    batch.create_namespaced_job(NAMESPACE, job)

    def finished():
        read = batch.read_namespaced_job("postgres-backup-manual", NAMESPACE)
        done = [c for c in read.status.conditions or [] if c.type in ("Complete", "Failed")]
        return read if done else None

    return wait_for(finished)


def test_a_backup_within_the_rpo_passes_saying_when_it_succeeded(deployment, batch):
    moment = succeeded_ago(batch, timedelta(hours=6))
    result = backup_fresh.check(deployment, BACKUP)
    assert result.passed
    assert result.evidence == (
        f"CronJob vizora-prod/postgres-backup last succeeded {utc(moment)}, 6 h ago; "
        "RPO 24 h; no Job of it is left in the cluster."
    )


def test_the_last_job_that_completed_is_named(deployment, batch):
    run_backup_job(batch, "postgres:16-alpine")
    # Its controller saw the Job complete and moved lastSuccessfulTime (in kubesim's
    # simulated time, which runs ahead of the wall clock at test speed).

    def success_noted():
        cronjob = batch.read_namespaced_cron_job("postgres-backup", NAMESPACE)
        noted = cronjob.status.last_successful_time > datetime.now(UTC) - timedelta(hours=1)
        return cronjob if noted else None  # the seed's success was 3 h ago

    cronjob = wait_for(success_noted)
    result = backup_fresh.check(deployment, {**BACKUP, "max_age": "26h"})
    assert result.passed, result.evidence
    success = utc(cronjob.status.last_successful_time)
    assert re.fullmatch(
        rf"CronJob vizora-prod/postgres-backup last succeeded {success}, "
        r"\d+ (s|min|h) (ago|ahead of the portal's clock); max age 26 h; "
        r"its last Job postgres-backup-manual completed\.",
        result.evidence,
    ), result.evidence


def test_a_backup_older_than_max_age_fails(deployment, batch):
    moment = succeeded_ago(batch, timedelta(hours=30))
    result = backup_fresh.check(deployment, {**BACKUP, "max_age": "26h"})
    assert not result.passed
    assert result.evidence == (
        f"CronJob vizora-prod/postgres-backup last succeeded {utc(moment)}, 30 h ago: "
        "older than its max age 26 h; no Job of it is left in the cluster."
    )


def test_without_max_age_the_environments_rpo_is_the_limit(deployment, batch):
    deployment.environment.rpo = timedelta(hours=4)
    moment = succeeded_ago(batch, timedelta(hours=6))
    result = backup_fresh.check(deployment, BACKUP)
    assert not result.passed
    assert result.evidence.startswith(
        f"CronJob vizora-prod/postgres-backup last succeeded {utc(moment)}, 6 h ago: "
        "older than its RPO 4 h;"
    )


def test_a_failed_last_job_fails_naming_the_job_and_when(deployment, batch):
    moment = succeeded_ago(batch, timedelta(hours=3))  # fresh: only the Job is wrong
    job = run_backup_job(batch, "postgres:16-alpine-failing")
    [condition] = [c for c in job.status.conditions if c.type == "Failed"]
    result = backup_fresh.check(deployment, BACKUP)
    assert not result.passed
    assert result.evidence == (
        f"CronJob vizora-prod/postgres-backup last succeeded {utc(moment)}, 3 h ago; "
        f"RPO 24 h; its last Job postgres-backup-manual failed "
        f"{utc(condition.last_transition_time)} ({condition.reason}: {condition.message})."
    )
    assert condition.reason == "BackoffLimitExceeded"


def test_a_cronjob_that_never_succeeded_fails(deployment, batch):
    template = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "backup", "image": "postgres:16-alpine"}]}}}}  # fmt: skip
    batch.create_namespaced_cron_job(
        NAMESPACE,
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "mongodb-backup"},
            "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": template},
        },
    )
    result = backup_fresh.check(deployment, {"cronjob": "mongodb-backup"})
    assert not result.passed
    assert result.evidence == (
        "CronJob vizora-prod/mongodb-backup has never succeeded (RPO 24 h); "
        "no Job of it is left in the cluster."
    )


def test_a_missing_cronjob_fails_naming_it(deployment):
    result = backup_fresh.check(deployment, {"cronjob": "nightly-backup"})
    assert not result.passed
    assert result.evidence == "CronJob vizora-prod/nightly-backup not found in cluster production."


def test_an_unreachable_cluster_fails_fast_saying_which_and_where(unreachable, closed_address):
    began = time.monotonic()
    result = backup_fresh.check(unreachable, BACKUP)
    assert time.monotonic() - began < 1.5  # PORTAL_CHECK_TIMEOUT_SECONDS is 1 here
    assert not result.passed
    assert re.fullmatch(
        rf"Cannot check CronJob vizora-prod/postgres-backup: cluster production at "
        rf"http://{closed_address} unreachable for \d+ s \(ConnectionRefused\)\.",
        result.evidence,
    ), result.evidence


def test_a_malformed_max_age_fails_without_asking_the_cluster(unreachable):
    result = backup_fresh.check(unreachable, {**BACKUP, "max_age": "a day"})
    assert not result.passed
    assert result.evidence == (
        "Cannot check CronJob vizora-prod/postgres-backup: max_age: bad duration 'a day' "
        "(a number and unit like 30s, 5m, 1h30m, 26h or 2d)."
    )
