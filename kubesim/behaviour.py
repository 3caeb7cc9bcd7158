"""What a simulated container does, chosen by its image tag (or a Job's command).

- `…-crashloop`: runs briefly, exits 1, restarts with back-off; never Ready.
- `…-pullerror`: ErrImagePull, then ImagePullBackOff; never starts.
- `…-slow`: becomes Ready `Timing.slow_factor` times later than usual (a Job's
  container runs that many times longer).
- `…-unhealthy`: Ready, but the front door's `/health` answers 500.
- `…-migrationfail` or `…-failing` (or a Job whose command/args hold the word
  `fail` as a separate token): the Job's pod exits 1, so the Job ends Failed
  (a migration, or a CronJob's backup, fails).
- anything else starts normally (a Job's pod exits 0).
A digest may follow the tag: `repo:2.1.0-crashloop@sha256:…`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .objects import parse_image
from .timing import Timing


class Mode(enum.StrEnum):
    NORMAL = "normal"
    SLOW = "slow"
    CRASHLOOP = "crashloop"
    PULLERROR = "pullerror"
    UNHEALTHY = "unhealthy"
    MIGRATIONFAIL = "migrationfail"
    FAILING = "failing"


SUFFIXES = [(f"-{mode.value}", mode) for mode in Mode if mode is not Mode.NORMAL]


def mode_of_image(image: str) -> Mode:
    tag = parse_image(image).tag
    for suffix, mode in SUFFIXES:
        if tag.endswith(suffix):
            return mode
    return Mode.NORMAL


def pod_mode(containers: list[dict]) -> Mode:
    """The most disruptive mode among a pod's containers decides what the pod does."""
    order = [
        Mode.PULLERROR,
        Mode.CRASHLOOP,
        Mode.MIGRATIONFAIL,
        Mode.FAILING,
        Mode.UNHEALTHY,
        Mode.SLOW,
    ]
    modes = {mode_of_image(c.get("image", "")) for c in containers}
    for mode in order:
        if mode in modes:
            return mode
    return Mode.NORMAL


def job_fails(containers: list[dict]) -> bool:
    for container in containers:
        words = [str(w) for w in container.get("command", []) + container.get("args", [])]
        tokens = " ".join(words).split()
        if "fail" in tokens or mode_of_image(container.get("image", "")) in (
            Mode.MIGRATIONFAIL,
            Mode.FAILING,
            Mode.CRASHLOOP,
        ):
            return True
    return False


@dataclass(frozen=True)
class PodView:
    """A pod's state at some age, computed from its mode; the stage names an event-worthy step."""

    stage: str
    phase: str = "Pending"
    scheduled: bool = False
    running: bool = False
    ready: bool = False
    waiting: str = ""  # ContainerCreating, CrashLoopBackOff, ErrImagePull, ImagePullBackOff
    terminated: str = ""  # Completed / Error (the current state)
    exit_code: int = 0
    restarts: int = 0
    crashed_before: bool = False  # lastState.terminated is set


def view_at(age: int, mode: Mode, is_job: bool, fails: bool, timing: Timing) -> PodView:
    if age < timing.schedule_ticks:
        return PodView("pending")
    if age < timing.start_ticks:
        return PodView("creating", scheduled=True, waiting="ContainerCreating")
    since_start = age - timing.start_ticks
    if mode is Mode.PULLERROR:
        return _pull_error(since_start, timing)
    if is_job:
        return _job(since_start, fails, timing, slow=mode is Mode.SLOW)
    if mode is Mode.CRASHLOOP:
        return _crash_loop(since_start, timing)
    ready_after = timing.ready_ticks - timing.start_ticks
    if mode is Mode.SLOW:
        ready_after = timing.ready_ticks * timing.slow_factor - timing.start_ticks
    if since_start < ready_after:
        return PodView("started", "Running", True, running=True)
    return PodView("ready", "Running", True, running=True, ready=True)


def _pull_error(since_start: int, timing: Timing) -> PodView:
    cycle = 2 + timing.backoff_ticks
    attempt, within = divmod(since_start, cycle)
    if within < 2:
        return PodView(f"pull-failed-{attempt}", scheduled=True, waiting="ErrImagePull")
    return PodView(f"pull-backoff-{attempt}", scheduled=True, waiting="ImagePullBackOff")


def _crash_loop(since_start: int, timing: Timing) -> PodView:
    """Run, crash, back off for a doubling pause (capped), run again: restarts keep rising."""
    attempt, elapsed = 0, since_start
    while True:
        backoff = timing.backoff_ticks * min(2**attempt, 8)
        if elapsed < timing.crash_after_ticks:
            return PodView(
                f"run-{attempt}",
                "Running",
                True,
                running=True,
                restarts=attempt,
                crashed_before=attempt > 0,
            )
        if elapsed < timing.crash_after_ticks + backoff:
            return PodView(
                f"crashed-{attempt}",
                "Running",
                True,
                waiting="CrashLoopBackOff",
                restarts=attempt + 1,
                crashed_before=True,
            )
        elapsed -= timing.crash_after_ticks + backoff
        attempt += 1


def _job(since_start: int, fails: bool, timing: Timing, slow: bool = False) -> PodView:
    # A `-slow` image makes a Job (a migration) run `slow_factor` times longer too.
    run_ticks = timing.job_run_ticks * (timing.slow_factor if slow else 1)
    if since_start < run_ticks:
        return PodView("started", "Running", True, running=True, ready=True)
    if fails:
        return PodView("failed", "Failed", True, terminated="Error", exit_code=1)
    return PodView("succeeded", "Succeeded", True, terminated="Completed")


def _app_name(container: dict) -> str:
    return parse_image(container.get("image", "")).repository.rsplit("/", 1)[-1]


def service_log(container: dict, pod_name: str, crashed: bool) -> list[str]:
    image = parse_image(container.get("image", ""))
    app = _app_name(container)
    lines = [
        f"> {app}@{image.version} start",
        "> node dist/main.js",
        f"[{app}] starting version {image.version} in pod {pod_name}",
        f"[{app}] image {container.get('image', '')}",
        f"[{app}] connected to PostgreSQL",
        f"[{app}] connected to Redis",
    ]
    if crashed:
        return [
            *lines,
            f"[{app}] FATAL: unhandled error during start-up",
            "Error: connect ECONNREFUSED 10.96.0.15:5432",
            "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)",
            f"[{app}] crashed: process exited with code 1",
        ]
    return [*lines, f"[{app}] listening on port 3000", f"[{app}] ready"]


def job_log(container: dict, fails: bool, finished: bool) -> list[str]:
    command = " ".join(str(w) for w in container.get("command", []) + container.get("args", []))
    lines = [f"+ {command or container.get('image', '')}", "Running migrations..."]
    if not finished:
        return lines
    if fails:
        return [
            *lines,
            "Applying 0042_add_device_index... FAILED",
            'Error: migration 0042_add_device_index failed: relation "devices" is locked',
            "exit status 1",
        ]
    return [*lines, "Applying 0042_add_device_index... OK", "Migrations complete."]
