"""How simulated time maps to wall-clock time.

Everything the controllers do is counted in ticks; one tick lasts
`BASE_TICK_SECONDS / speed`. At speed 1 (the demo) a pod starts in about a
second and a three-replica rollout takes several visible seconds; at speed 10
(the tests) the same rollout takes well under a second.

The progress deadline is scaled the same way: a Deployment's
`progressDeadlineSeconds` becomes `progressDeadlineSeconds / DEADLINE_DIVISOR`
ticks, i.e. `progressDeadlineSeconds * 0.02 s / speed` of wall-clock time
(the default 600 → 12 s at speed 1, 1.2 s at speed 10). The object itself still
shows the real value.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_TICK_SECONDS = 0.2
DEADLINE_DIVISOR = 10


@dataclass(frozen=True)
class Timing:
    speed: float = 1.0
    schedule_ticks: int = 1  # created → scheduled, ContainerCreating
    start_ticks: int = 2  # → container running
    ready_ticks: int = 4  # → Ready (normal images)
    slow_factor: int = 6  # `-slow` images take this many times longer to become Ready
    crash_after_ticks: int = 2  # a `-crashloop` container runs this long before exiting
    backoff_ticks: int = 3  # CrashLoopBackOff / ImagePullBackOff pause before the next try
    terminate_ticks: int = 2  # a deleted pod shows Terminating this long
    job_run_ticks: int = 5  # a Job's container runs this long before it exits
    job_retry_ticks: int = 2  # pause before a failed Job pod is replaced

    @property
    def tick_seconds(self) -> float:
        return BASE_TICK_SECONDS / self.speed

    def deadline_ticks(self, progress_deadline_seconds: int) -> int:
        return max(1, round(progress_deadline_seconds / DEADLINE_DIVISOR))

    def deadline_seconds(self, progress_deadline_seconds: int) -> float:
        return self.deadline_ticks(progress_deadline_seconds) * self.tick_seconds
