"""Simulated wall-clock time: it starts at the real now and follows the cluster's
one clock (`Controller.now`, cluster seconds), so it runs `speed` times faster.

Schedules (CronJobs) run in simulated time, so at speed S a day of a cluster
passes in 86400/S wall seconds: simulated seconds = wall seconds * speed (slower
on a busy machine, as every other duration of the cluster).
Object timestamps (creationTimestamp, a Job's startTime) stay on the wall clock;
`simulated()` maps one of those onto the simulated time line. At speed 1 both
clocks agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .objects import now


class SimulatedClock:
    def __init__(self, speed: float, cluster_seconds: Callable[[], float]):
        self.speed = speed
        self._cluster_seconds = cluster_seconds
        self._start = now()
        self._start_seconds = cluster_seconds()

    def now(self) -> dt.datetime:
        elapsed = self._cluster_seconds() - self._start_seconds
        return self._start + dt.timedelta(seconds=elapsed)

    def simulated(self, wall: dt.datetime) -> dt.datetime:
        """Where a wall-clock moment falls on the simulated time line."""
        return self._start + (wall - self._start) * self.speed
