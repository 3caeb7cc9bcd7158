"""One clock: how a cluster's seconds map to wall-clock seconds.

The rule: at `speed: 1` every duration is a cluster's, in seconds, as the objects
state them or as a kubelet and the controllers apply them — `progressDeadlineSeconds`,
container restart back-off (10 s doubling to 300 s, reset after 10 minutes running),
image-pull back-off (likewise), a Job's pod-failure back-off, `backoffLimit` and
`activeDeadlineSeconds`, `terminationGracePeriodSeconds`, probe delays and periods.
`speed: S` divides all of them by S, and nothing else is scaled or shortened: a
600 s progress deadline lasts 600 s at speed 1, 60 s at speed 10, 3 s at speed 200.

The simulated start-up of a container takes plausible seconds of cluster time too
(`Timing`'s fields: scheduled at once, running after about 2 s, the app listening
about 1 s later), and those are divided by the same speed.

The controllers advance in ticks. A tick covers `BASE_TICK_SECONDS` of cluster time,
but ticks never come more often than every `MIN_TICK_WALL_SECONDS` of wall-clock
time, so at high speeds one tick covers more cluster time (speed 200: 4 s a tick).
Durations are compared in cluster seconds (`Controller.now`), never in ticks. On a
busy machine ticks come late and the cluster's clock runs slow rather than jumping, so
a deadline never fires early; tests assert lower bounds on wall time, not upper ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BASE_TICK_SECONDS = 0.2  # cluster seconds per tick, while the tick rate allows it
MIN_TICK_WALL_SECONDS = 0.02  # at most 50 ticks per wall-clock second
CRASH_BACKOFF_FIRST, CRASH_BACKOFF_CAP = 10.0, 300.0  # kubelet, per container
BACKOFF_RESET_SECONDS = 600.0  # a container running this long starts its back-off afresh
JOB_BACKOFF_FIRST, JOB_BACKOFF_CAP = 10.0, 360.0  # job controller, per Job


@dataclass(frozen=True)
class Timing:
    speed: float = 1.0
    schedule_seconds: float = 0.4  # created → scheduled, ContainerCreating
    start_seconds: float = 2.0  # → container running (pull, create, start)
    slow_start_seconds: float = 30.0  # … for a `-slow` image (a big image to pull)
    listen_seconds: float = 1.0  # running → the app answers on its port (for probes)
    crash_after_seconds: float = 1.0  # a `-crashloop` container runs this long, then exits 1
    report_seconds: float = 1.0  # a dead container shows `Error` this long before back-off
    pull_seconds: float = 1.0  # a pull that fails takes this long
    pull_report_seconds: float = 5.0  # ErrImagePull shows this long before ImagePullBackOff
    exit_seconds: float = 1.0  # an app exits this long after SIGTERM (within the grace period)
    job_run_seconds: float = 5.0  # a Job's container runs this long before it exits
    slow_job_seconds: float = 30.0  # … when its image is `-slow`

    @property
    def tick_wall_seconds(self) -> float:
        """Wall-clock seconds between ticks."""
        return max(BASE_TICK_SECONDS / self.speed, MIN_TICK_WALL_SECONDS)

    @property
    def tick_seconds(self) -> float:
        """Cluster seconds one tick covers."""
        return self.tick_wall_seconds * self.speed

    def wall_seconds(self, seconds: float) -> float:
        """How long `seconds` of cluster time last on the wall clock."""
        return seconds / self.speed

    def ticks(self, seconds: float) -> int:
        """Ticks until `seconds` of cluster time have passed (at least one)."""
        return max(1, math.ceil(seconds / self.tick_seconds - 1e-9))


def backoff(attempt: int, first: float, cap: float) -> float:
    """The pause before retry `attempt` (1 = the first retry): first, doubling, capped."""
    if attempt <= 0:
        return 0.0
    return min(first * 2 ** (attempt - 1), cap)
