"""One clock (issue 11): every duration is a cluster's, divided by the speed and
nothing else (the module's kubesim runs at conftest.SPEED)."""

from __future__ import annotations

import time

from kubesim.timing import Timing
from tests.kubesim.conftest import SPEED
from tests.kubesim.helpers import NAMESPACE, deployment_manifest, job_manifest, wait_for

CLOCK = Timing(speed=SPEED)


def progressing(apps, name: str):
    deployment = apps.read_namespaced_deployment(name, NAMESPACE)
    return next((c for c in deployment.status.conditions or [] if c.type == "Progressing"), None)


def test_a_progress_deadline_lasts_its_seconds_divided_by_the_speed(apps):
    began = time.monotonic()
    apps.create_namespaced_deployment(
        NAMESPACE,
        deployment_manifest(
            "clock-deadline", "example/app:1.0.0-crashloop", 1, progressDeadlineSeconds=45
        ),
    )
    condition = wait_for(
        lambda: (c := progressing(apps, "clock-deadline")) and c.status == "False" and c,
        timeout=15,
    )
    took = time.monotonic() - began
    assert condition.reason == "ProgressDeadlineExceeded"
    # Not before 45 cluster seconds (1.5 s); later only as far as a busy machine
    # makes kubesim's ticks late.
    assert took >= 0.9 * CLOCK.wall_seconds(45), took


def test_a_crash_loop_backs_off_ten_seconds_then_doubling(core, apps):
    """Started, ran 1 s, restarted at once; crashed again, then waits of 10 s, 20 s,
    40 s, each shown while restartCount says how many restarts came before."""
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("clock-backoff", "example/app:1.0.0-crashloop", 1)
    )
    seen = []

    def three_back_offs():
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=clock-backoff").items
        for status in (s for p in pods for s in p.status.container_statuses or []):
            waiting = status.state.waiting
            if waiting and waiting.reason == "CrashLoopBackOff":
                pause = (waiting.message.split()[1], status.restart_count)
                if not seen or seen[-1] != pause:
                    seen.append(pause)
        return len(seen) >= 3

    began = time.monotonic()
    wait_for(three_back_offs, timeout=20)
    assert seen == [("10s", 1), ("20s", 2), ("40s", 3)]
    # The 40 s pause began 36 cluster seconds after the container first started.
    assert time.monotonic() - began >= 0.9 * CLOCK.wall_seconds(36)


def test_a_job_past_its_active_deadline_fails_and_its_pod_goes(batch, core):
    manifest = job_manifest("clock-active-deadline", "example/app:1.0.0-slow", ["migrate"])
    manifest["spec"]["activeDeadlineSeconds"] = 6  # its -slow container runs 30 s
    batch.create_namespaced_job(NAMESPACE, manifest)

    def failed():
        job = batch.read_namespaced_job("clock-active-deadline", NAMESPACE)
        return next((c for c in job.status.conditions or [] if c.type == "Failed"), None)

    condition = wait_for(failed, timeout=10)
    assert (condition.reason, condition.message) == (
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    wait_for(
        lambda: (
            not core.list_namespaced_pod(
                NAMESPACE, label_selector="job-name=clock-active-deadline"
            ).items
        )
    )


def test_a_failed_job_pod_is_replaced_after_ten_seconds(batch, core):
    batch.create_namespaced_job(
        NAMESPACE, job_manifest("clock-job-backoff", "example/app:1.0.0", ["fail"], 1)
    )

    def pods():
        return core.list_namespaced_pod(
            NAMESPACE, label_selector="job-name=clock-job-backoff"
        ).items

    wait_for(lambda: any(p.status.phase == "Failed" for p in pods()))
    failed_at = time.monotonic()
    wait_for(lambda: len(pods()) == 2)
    assert time.monotonic() - failed_at >= 0.8 * CLOCK.wall_seconds(10)
