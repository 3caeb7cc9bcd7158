"""What a simulated container does, chosen by its image tag (or a Job's command).

- `…-crashloop`: runs briefly, exits 1, restarts with back-off; never Ready.
- `…-pullerror`: ErrImagePull, then ImagePullBackOff; never starts (the registry has
  no such image: `failed to resolve reference "…": not found`).
- `…-cannotrun`: its entrypoint does not exist, as on a node whose runtime is Docker
  (cri-dockerd): terminated `ContainerCannotRun`, exit 127, with the runtime's message;
  restarted with back-off like any dead container (containerd would say `StartError`).
- `…-slow`: its container takes `Timing.slow_start_seconds` to start (a big image; a
  Job's container runs `Timing.slow_job_seconds`).
- `…-unhealthy`: its health paths (and every other) answer 500: a readiness probe on
  one keeps it out of Ready, a liveness probe gets it restarted.
- `…-broken`: its health paths answer 200, every other path 500 (a smoke test of a
  real page catches it, probes do not).
- `…-erroring`: its health paths answer 200, every other path 500 on every third
  request a pod serves (a smoke test that retries passes; steady traffic shows an
  error rate of a third of the requests to pages).
- `…-leaky`: its memory grows with the container's age, past 90% of its memory limit
  after `LEAK_WARN_SECONDS`, up to the limit at `LEAK_OOM_SECONDS`, when the kernel
  kills it (exit 137, `OOMKilled`) and the kubelet restarts it with back-off (see
  memory.py). Without a limit it grows for ever and is never killed.
- `…-expiring`: runs normally, but while any pod of a Deployment runs it, a TLS front
  door serves that Deployment's hosts a certificate that expires in 3 days.
- `…-failing`: a Job's container exits 1 (as `-migrationfail`).
- `…-migrationfail` (or a Job whose command/args hold the word `fail` as a
  separate token): the Job's pod exits 1, so the Job ends Failed.
- anything else starts normally (a Job's pod exits 0).
A digest may follow the tag: `repo:2.1.0-crashloop@sha256:…`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from .objects import parse_image
from .timing import (
    BACKOFF_RESET_SECONDS,
    CRASH_BACKOFF_CAP,
    CRASH_BACKOFF_FIRST,
    Timing,
    backoff,
)


class Mode(enum.StrEnum):
    NORMAL = "normal"
    SLOW = "slow"
    CRASHLOOP = "crashloop"
    PULLERROR = "pullerror"
    CANNOTRUN = "cannotrun"
    UNHEALTHY = "unhealthy"
    BROKEN = "broken"
    MIGRATIONFAIL = "migrationfail"
    FAILING = "failing"
    ERRORING = "erroring"
    LEAKY = "leaky"
    EXPIRING = "expiring"


HEALTH_PATHS = ("/health", "/health/ready", "/health/live", "/healthz")


ERRORING_EVERY = 3  # an `-erroring` app fails every third request off its health paths


def http_status(mode: Mode, path: str, served: int = 1) -> int:
    """What the app answers on `path`: `-unhealthy` 500 everywhere, `-broken` 500 off
    its health paths, `-erroring` 500 off them when `served` (the pod's count of such
    requests, this one included) is a multiple of three, anything else 200."""
    if mode is Mode.UNHEALTHY:
        return 500
    if path in HEALTH_PATHS:
        return 200
    if mode is Mode.BROKEN or (mode is Mode.ERRORING and served % ERRORING_EVERY == 0):
        return 500
    return 200


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
        Mode.CANNOTRUN,
        Mode.CRASHLOOP,
        Mode.MIGRATIONFAIL,
        Mode.FAILING,
        Mode.UNHEALTHY,
        Mode.BROKEN,
        Mode.ERRORING,
        Mode.LEAKY,
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
    """A pod's state at some age, computed from its mode; the stage names an event-worthy step.

    `restarts` is the index of the newest container (a cluster's restartCount); a
    container that died shows `terminated` for a moment, then waits in back-off.
    `last_run` is (started, finished) in cluster seconds since the pod's start of
    the container before the current one, when there is one (lastState.terminated),
    and `last_reason` the reason it ended with; `end_message` is the runtime's message
    for a container that ended (this one or the last), when it gives one.
    """

    stage: str
    phase: str = "Pending"
    scheduled: bool = False
    running: bool = False
    ready: bool = False
    waiting: str = ""  # ContainerCreating, CrashLoopBackOff, ErrImagePull, ImagePullBackOff
    message: str = ""  # the waiting reason's message, when kubesim words it at the source
    backoff: float = 0.0  # the back-off being waited out, in cluster seconds
    terminated: str = ""  # Completed / Error (the current state)
    exit_code: int = 0
    restarts: int = 0
    run_age: float = 0.0  # cluster seconds the current container has run
    last_run: tuple[float, float] | None = None
    last_exit_code: int = 1
    last_reason: str = "Error"
    end_message: str = ""

    @property
    def crashed_before(self) -> bool:
        return self.last_run is not None


def start_delay(mode: Mode, is_job: bool, timing: Timing) -> float:
    """Cluster seconds from a pod's creation until its container may start."""
    if mode is Mode.SLOW and not is_job:
        return timing.slow_start_seconds
    return timing.start_seconds


def view_at(
    age: float,
    mode: Mode,
    is_job: bool,
    fails: bool,
    timing: Timing,
    checks=None,
    oom_after: float = math.inf,
) -> PodView:
    """The pod `age` cluster seconds after it was created; `checks` (probes.PodChecks)
    decide when a running container is Ready and whether a liveness probe restarts it;
    a container that has run `oom_after` cluster seconds is OOM-killed."""
    start_at = start_delay(mode, is_job, timing)
    if age < timing.schedule_seconds:
        return PodView("pending")
    if age < start_at:
        return PodView("creating", scheduled=True, waiting="ContainerCreating")
    since_start = age - start_at
    if mode is Mode.PULLERROR:
        return _pull_error(since_start, timing)
    if is_job:
        return _job(since_start, fails, timing, slow=mode is Mode.SLOW)
    if mode is Mode.CRASHLOOP:
        return _crash_loop(since_start, timing)
    if mode is Mode.CANNOTRUN:
        return restarting(
            since_start, timing, lambda _index: 0.0, CANNOT_RUN_EXIT_CODE,
            "ContainerCannotRun", CANNOT_RUN_MESSAGE,
        )  # fmt: skip
    run = checks.run_length(timing.exit_seconds) if checks else math.inf
    exit_code, reason = LIVENESS_EXIT_CODE, "Error"
    if oom_after < run:
        run, exit_code, reason = oom_after, OOM_EXIT_CODE, "OOMKilled"
    view = restarting(since_start, timing, lambda _index: run, exit_code, reason)
    if not view.running or (checks and not checks.ready(view.run_age)):
        return view
    return replace(view, stage=f"ready-{view.restarts}", ready=True)


LIVENESS_EXIT_CODE = 143  # a Node app stopped by SIGTERM after a failed liveness probe
OOM_EXIT_CODE = 137  # SIGKILL from the kernel's OOM killer (128 + 9)
CANNOT_RUN_EXIT_CODE = 127  # Docker: the command to run was not found
CANNOT_RUN_MESSAGE = (
    "failed to create task for container: failed to create shim task: OCI runtime create "
    'failed: runc create failed: unable to start container process: exec: "node": '
    "executable file not found in $PATH: unknown"
)


def _pull_error(since_start: float, timing: Timing) -> PodView:
    """ErrImagePull, then ImagePullBackOff until 10 s, 20 s, … (capped at 300 s) have
    passed since the failure, then a pull that fails again."""
    attempt, elapsed = 0, since_start
    while True:
        pause = backoff(attempt + 1, CRASH_BACKOFF_FIRST, CRASH_BACKOFF_CAP)
        if elapsed < timing.pull_report_seconds:
            return PodView(f"pull-failed-{attempt}", scheduled=True, waiting="ErrImagePull")
        if elapsed < pause + timing.pull_seconds:
            return PodView(
                f"pull-backoff-{attempt}",
                scheduled=True,
                waiting="ImagePullBackOff",
                backoff=pause,
            )
        elapsed -= pause + timing.pull_seconds
        attempt += 1


def _crash_loop(since_start: float, timing: Timing) -> PodView:
    """Run, exit 1, show Error, back off (none before the first restart, then 10 s
    doubling to 300 s), run again: the restart count keeps rising."""
    return restarting(since_start, timing, lambda _index: timing.crash_after_seconds, 1)


def restarting(
    since_start: float, timing: Timing, run_length, exit_code: int, reason: str = "Error",
    message: str = "",
) -> PodView:  # fmt: skip
    """Containers restarted by the kubelet: container `index` runs `run_length(index)`
    cluster seconds, then dies with `exit_code`, `reason` and the runtime's `message`;
    its back-off starts afresh once a container ran for 10 minutes."""
    index, begun, elapsed, streak = 0, 0.0, since_start, 0
    last_run = None
    while True:
        run = run_length(index)
        if elapsed < run:
            return PodView(
                f"run-{index}",
                "Running",
                True,
                running=True,
                restarts=index,
                run_age=elapsed,
                last_run=last_run,
                last_exit_code=exit_code,
                last_reason=reason,
                end_message=message,
            )
        streak = 0 if run >= BACKOFF_RESET_SECONDS else streak
        pause = backoff(streak, CRASH_BACKOFF_FIRST, CRASH_BACKOFF_CAP)
        died = (begun, begun + run)
        dead = max(pause, timing.report_seconds)
        if elapsed < run + timing.report_seconds:
            return PodView(
                f"crashed-{index}",
                "Running",
                True,
                terminated=reason,
                exit_code=exit_code,
                restarts=index,
                last_run=last_run,
                last_exit_code=exit_code,
                last_reason=reason,
                end_message=message,
            )
        if elapsed < run + dead:
            return PodView(
                f"backoff-{index}",
                "Running",
                True,
                waiting="CrashLoopBackOff",
                backoff=pause,
                restarts=index,
                last_run=died,
                last_exit_code=exit_code,
                last_reason=reason,
                end_message=message,
            )
        elapsed -= run + dead
        begun += run + dead
        last_run, index, streak = died, index + 1, streak + 1


def _job(since_start: float, fails: bool, timing: Timing, slow: bool = False) -> PodView:
    run = timing.slow_job_seconds if slow else timing.job_run_seconds
    if since_start < run:
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
