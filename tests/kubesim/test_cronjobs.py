"""CronJobs run on their schedule in simulated time (at speed 60 a cluster minute is a second).

Python-client checks and kubectl transcripts against a small cluster holding the
seed's `postgres-backup` CronJob and its Secret.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
import yaml
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.kubesim.helpers import NAMESPACE, wait_for

SPEED = 60  # one simulated minute per wall second
MINUTE = 60 / SPEED
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def seed_objects(*kinds: str) -> list[dict]:
    with open(VIZORA_CONFIG, encoding="utf-8") as handle:
        seed = yaml.safe_load(handle)
    return [obj for obj in seed["x-vizora-objects"] if obj["kind"] in kinds]


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory):
    """One cluster with the seed's backup CronJob, fast enough for minutely schedules.

    The backup starts suspended: at this speed the module lasts simulated hours, and a
    02:00 run of its own would otherwise come at some times of day and not at others."""
    objects = seed_objects("Secret", "CronJob")
    for cronjob in (obj for obj in objects if obj["kind"] == "CronJob"):
        cronjob["spec"]["suspend"] = True
    config = {"clusters": [{"name": "production", "namespace": NAMESPACE, "objects": objects}]}
    with KubeSim(config, speed=SPEED, workdir=tmp_path_factory.mktemp("kubesim")) as sim:
        yield sim


def cronjob_manifest(name: str, image: str = "busybox:1.36", schedule: str = "* * * * *", **spec):
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"labels": {"cronjob": name}},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "work", "image": image}],
                        }
                    },
                },
            },
            **spec,
        },
    }


def jobs_of(batch, name: str) -> list:
    listed = batch.list_namespaced_job(NAMESPACE, label_selector=f"cronjob={name}").items
    return sorted(listed, key=lambda job: job.metadata.name)


def outcome(job) -> str:
    for condition in job.status.conditions or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition.type
    return ""


def events_of(core, name: str) -> list:
    selector = f"involvedObject.kind=CronJob,involvedObject.name={name}"
    return core.list_namespaced_event(NAMESPACE, field_selector=selector).items


def test_minutely_cronjob_starts_jobs_named_after_their_scheduled_minute(batch, core):
    created = batch.create_namespaced_cron_job(NAMESPACE, cronjob_manifest("every-minute"))
    wait_for(lambda: len([j for j in jobs_of(batch, "every-minute") if outcome(j)]) >= 2)
    jobs = jobs_of(batch, "every-minute")
    minutes = [int(job.metadata.name.rsplit("-", 1)[1]) for job in jobs]
    assert minutes == list(range(minutes[0], minutes[0] + len(jobs)))  # one a minute, none missed
    for job, minute in zip(jobs, minutes, strict=True):
        scheduled = dt.datetime.fromtimestamp(minute * 60, dt.UTC)
        assert job.metadata.annotations[SCHEDULED] == scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
        (owner,) = job.metadata.owner_references
        assert (owner.kind, owner.name, owner.uid) == (
            "CronJob",
            "every-minute",
            created.metadata.uid,
        )
        assert owner.controller is True
    cronjob = batch.read_namespaced_cron_job("every-minute", NAMESPACE)
    latest = max(minutes)
    assert cronjob.status.last_schedule_time >= dt.datetime.fromtimestamp(latest * 60, dt.UTC)
    assert cronjob.status.last_successful_time >= dt.datetime.fromtimestamp(minutes[0] * 60, dt.UTC)
    reasons = {e.reason for e in events_of(core, "every-minute")}
    assert {"SuccessfulCreate", "SawCompletedJob"} <= reasons
    batch.delete_namespaced_cron_job("every-minute", NAMESPACE)


def test_history_limits_keep_the_newest_finished_jobs(batch):
    batch.create_namespaced_cron_job(
        NAMESPACE,
        cronjob_manifest("short-history", successfulJobsHistoryLimit=1, failedJobsHistoryLimit=0),
    )
    first = wait_for(lambda: jobs_of(batch, "short-history"))[0].metadata.name
    wait_for(lambda: first not in {j.metadata.name for j in jobs_of(batch, "short-history")})
    time.sleep(2 * MINUTE)
    finished = [j for j in jobs_of(batch, "short-history") if outcome(j) == "Complete"]
    assert len(finished) <= 1
    batch.delete_namespaced_cron_job("short-history", NAMESPACE)


def test_failing_backups_keep_last_successful_time_stale(batch, core):
    """The seed's backup, made to fail (`-failing` tag) and minutely: it keeps being
    scheduled, its Jobs fail, one failed Job is kept, lastSuccessfulTime stays as seeded."""
    before = batch.read_namespaced_cron_job("postgres-backup", NAMESPACE)
    assert before.spec.schedule == "0 2 * * *"
    assert before.status.last_successful_time is not None  # from the config: its last 02:00
    containers = [{"name": "backup", "image": "postgres:16-alpine-failing"}]
    patch = {
        "spec": {
            "suspend": False,
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {"backoffLimit": 0, "template": {"spec": {"containers": containers}}}
            },
        }
    }
    batch.patch_namespaced_cron_job("postgres-backup", NAMESPACE, patch)

    def failed_jobs():
        jobs = batch.list_namespaced_job(NAMESPACE).items
        return [j for j in jobs if j.metadata.name.startswith("postgres-backup-") and outcome(j)]

    wait_for(lambda: len(events_named(core, "postgres-backup", "SuccessfulDelete")) >= 1)
    failed = failed_jobs()
    assert [outcome(j) for j in failed] == ["Failed"]  # failedJobsHistoryLimit 1
    after = batch.read_namespaced_cron_job("postgres-backup", NAMESPACE)
    assert after.status.last_successful_time == before.status.last_successful_time
    assert after.status.last_schedule_time > before.status.last_schedule_time
    batch.patch_namespaced_cron_job("postgres-backup", NAMESPACE, {"spec": {"suspend": True}})


def events_named(core, name: str, reason: str) -> list:
    return [e for e in events_of(core, name) if e.reason == reason]


def never_finishing(name: str, policy: str, **spec) -> dict:
    """A CronJob whose Jobs never finish: the image cannot be pulled."""
    return cronjob_manifest(name, "example/app:1.0.0-pullerror", concurrencyPolicy=policy, **spec)


def test_allow_runs_overlapping_jobs(batch):
    batch.create_namespaced_cron_job(NAMESPACE, never_finishing("overlap-allow", "Allow"))
    wait_for(lambda: len(jobs_of(batch, "overlap-allow")) >= 3)
    cronjob = batch.read_namespaced_cron_job("overlap-allow", NAMESPACE)
    assert len(cronjob.status.active) >= 3
    assert {ref.name for ref in cronjob.status.active} <= {
        j.metadata.name for j in jobs_of(batch, "overlap-allow")
    }
    batch.delete_namespaced_cron_job("overlap-allow", NAMESPACE)


def test_forbid_skips_runs_while_one_is_active(batch, core):
    batch.create_namespaced_cron_job(NAMESPACE, never_finishing("overlap-forbid", "Forbid"))
    wait_for(lambda: events_named(core, "overlap-forbid", "JobAlreadyActive"), timeout=5)
    time.sleep(MINUTE)
    (job,) = jobs_of(batch, "overlap-forbid")
    cronjob = batch.read_namespaced_cron_job("overlap-forbid", NAMESPACE)
    assert [ref.name for ref in cronjob.status.active] == [job.metadata.name]
    assert events_named(core, "overlap-forbid", "JobAlreadyActive")[0].message == (
        "Not starting job because prior execution is running and concurrency policy is Forbid"
    )
    batch.delete_namespaced_cron_job("overlap-forbid", NAMESPACE)


def test_replace_deletes_the_active_job_for_the_next_run(batch, core):
    batch.create_namespaced_cron_job(NAMESPACE, never_finishing("overlap-replace", "Replace"))
    first = wait_for(lambda: jobs_of(batch, "overlap-replace"))[0].metadata.name
    wait_for(lambda: events_named(core, "overlap-replace", "SuccessfulDelete"), timeout=5)
    names = [j.metadata.name for j in jobs_of(batch, "overlap-replace")]
    assert first not in names and len(names) == 1
    assert events_named(core, "overlap-replace", "SuccessfulDelete")[0].message == (
        f"Deleted job {first}"
    )
    cronjob = batch.read_namespaced_cron_job("overlap-replace", NAMESPACE)
    assert [ref.name for ref in cronjob.status.active] == names
    batch.delete_namespaced_cron_job("overlap-replace", NAMESPACE)


def test_suspended_cronjob_starts_nothing_until_resumed(batch):
    batch.create_namespaced_cron_job(NAMESPACE, cronjob_manifest("paused", suspend=True))
    time.sleep(2.5 * MINUTE)
    assert jobs_of(batch, "paused") == []
    assert batch.read_namespaced_cron_job("paused", NAMESPACE).status.last_schedule_time is None
    batch.patch_namespaced_cron_job("paused", NAMESPACE, {"spec": {"suspend": False}})
    # The most recent missed time runs at once (no startingDeadlineSeconds), well within a minute.
    assert len(wait_for(lambda: jobs_of(batch, "paused"), timeout=0.5 * MINUTE)) == 1
    batch.delete_namespaced_cron_job("paused", NAMESPACE)


def scheduled_minute(job) -> int:
    return int(job.metadata.name.rsplit("-", 1)[1])


def resume_late(batch, attempt: int) -> tuple[str, str, int] | None:
    """Resume a strict (10 s deadline) and a lenient CronJob some 24 simulated seconds
    after a scheduled minute; None when the machine was too slow to hit that window."""
    strict, lenient, metronome = (f"{n}-{attempt}" for n in ("strict", "lenient", "metronome"))
    batch.create_namespaced_cron_job(
        NAMESPACE, cronjob_manifest(strict, suspend=True, startingDeadlineSeconds=10)
    )
    batch.create_namespaced_cron_job(NAMESPACE, cronjob_manifest(lenient, suspend=True))
    batch.create_namespaced_cron_job(NAMESPACE, cronjob_manifest(metronome))
    (tick,) = wait_for(lambda: jobs_of(batch, metronome), interval=0.005)
    batch.delete_namespaced_cron_job(metronome, NAMESPACE)
    time.sleep(0.4 * MINUTE)
    for name in (strict, lenient):
        batch.patch_namespaced_cron_job(name, NAMESPACE, {"spec": {"suspend": False}})
    (first,) = wait_for(lambda: jobs_of(batch, lenient))
    if scheduled_minute(first) != scheduled_minute(tick):
        return None
    return strict, lenient, scheduled_minute(tick)


def test_starting_deadline_skips_a_run_missed_by_longer_than_it(batch, core):
    """Resumed half a minute after a scheduled time: with a 10 s deadline that run is
    missed (MissSchedule) and the next minute's runs; without one it runs at once."""
    for attempt in range(3):
        resumed = resume_late(batch, attempt)
        if resumed:
            break
    else:
        pytest.fail("could not resume within the scheduled minute three times (machine too busy)")
    strict, lenient, minute = resumed
    (first,) = wait_for(lambda: jobs_of(batch, strict))
    assert scheduled_minute(first) == minute + 1
    (missed,) = events_named(core, strict, "MissSchedule")
    at = dt.datetime.fromtimestamp(minute * 60, dt.UTC)
    assert missed.message == "Missed scheduled time to start a job: " + at.strftime(
        "%a, %d %b %Y %H:%M:%S +0000"
    )
    assert not events_named(core, lenient, "MissSchedule")
    for name in (strict, lenient):
        batch.delete_namespaced_cron_job(name, NAMESPACE)


def test_deleting_a_cronjob_deletes_its_jobs(batch):
    batch.create_namespaced_cron_job(NAMESPACE, cronjob_manifest("short-lived"))
    wait_for(lambda: jobs_of(batch, "short-lived"))
    batch.delete_namespaced_cron_job("short-lived", NAMESPACE)
    wait_for(lambda: not jobs_of(batch, "short-lived"))


@pytest.mark.parametrize(
    ("spec", "cause"),
    [
        ({"schedule": "61 * * * *"}, 'spec.schedule: Invalid value: "61 * * * *"'),
        ({"schedule": "@fortnightly"}, 'spec.schedule: Invalid value: "@fortnightly"'),
        ({"timeZone": "Mars/Olympus"}, 'spec.timeZone: Invalid value: "Mars/Olympus"'),
    ],
    ids=["minute-out-of-range", "unknown-descriptor", "unknown-zone"],
)
def test_invalid_schedules_are_refused(batch, spec, cause):
    body = cronjob_manifest("bad-schedule")
    body["spec"].update(spec)
    with pytest.raises(client.ApiException) as raised:
        batch.create_namespaced_cron_job(NAMESPACE, body)
    assert raised.value.status == 422
    assert cause in json.loads(raised.value.body)["message"]


def test_a_time_zone_names_the_scheduled_time_in_that_zone(batch):
    batch.create_namespaced_cron_job(
        NAMESPACE, cronjob_manifest("kathmandu", timeZone="Asia/Kathmandu")
    )
    (job, *_) = wait_for(lambda: jobs_of(batch, "kathmandu"))
    scheduled = dt.datetime.fromtimestamp(scheduled_minute(job) * 60, dt.UTC)
    local = scheduled + dt.timedelta(hours=5, minutes=45)
    assert job.metadata.annotations[SCHEDULED] == local.strftime("%Y-%m-%dT%H:%M:%S+05:45")
    batch.delete_namespaced_cron_job("kathmandu", NAMESPACE)


# --- kubectl ------------------------------------------------------------------------------


@pytest.mark.kubectl
def test_kubectl_create_job_from_cronjob_updates_the_cronjob_when_it_completes(
    kubectl, batch, core
):
    kubectl("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *")
    before = batch.read_namespaced_cron_job("nightly", NAMESPACE)
    assert before.status.last_successful_time is None
    created = kubectl("create", "job", "--from=cronjob/nightly", "nightly-manual")
    assert (created.returncode, created.stdout) == (0, "job.batch/nightly-manual created\n"), (
        created.stderr
    )
    job = batch.read_namespaced_job("nightly-manual", NAMESPACE)
    assert job.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job.metadata.owner_references[0].uid == before.metadata.uid
    wait_for(lambda: outcome(batch.read_namespaced_job("nightly-manual", NAMESPACE)) == "Complete")
    cronjob = wait_for(
        lambda: (
            batch.read_namespaced_cron_job("nightly", NAMESPACE).status.last_successful_time
            and batch.read_namespaced_cron_job("nightly", NAMESPACE)
        )
    )
    assert cronjob.status.last_schedule_time is None  # the controller never scheduled it
    assert not cronjob.status.active  # a Job it did not start is not one of its own runs
    unexpected = events_named(core, "nightly", "UnexpectedJob")
    assert (
        unexpected[0].message
        == "Saw a job that the controller did not create or forgot: nightly-manual"
    )
    jobs = kubectl("get", "jobs", "nightly-manual")
    assert re.fullmatch(
        r"NAME +STATUS +COMPLETIONS +DURATION +AGE\nnightly-manual +Complete +1/1 +\d+s +\d+s\n",
        jobs.stdout,
    ), jobs.stdout


@pytest.mark.kubectl
def test_kubectl_get_cronjob_shows_active_runs_and_last_schedule(kubectl, batch):
    batch.create_namespaced_cron_job(NAMESPACE, never_finishing("stuck", "Allow"))
    wait_for(
        lambda: len(batch.read_namespaced_cron_job("stuck", NAMESPACE).status.active or []) >= 2
    )
    batch.patch_namespaced_cron_job("stuck", NAMESPACE, {"spec": {"suspend": True}})
    active = len(batch.read_namespaced_cron_job("stuck", NAMESPACE).status.active)
    result = kubectl("get", "cronjob", "stuck")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST",
        "SCHEDULE",
        "AGE",
    ]
    assert re.fullmatch(rf"stuck +\* \* \* \* \* +<none> +True +{active} +\S+ +\S+", lines[1]), (
        lines
    )
    batch.delete_namespaced_cron_job("stuck", NAMESPACE)
