"""Simulated wall-clock time: it starts at the real now and runs `speed` times faster.

Schedules (CronJobs) run in simulated time, so at speed S a day of a cluster
passes in 86400/S wall seconds: simulated seconds = wall seconds * speed. It is
measured on the monotonic clock, independent of how long a controller tick is.
Object timestamps (creationTimestamp, a Job's startTime) stay on the wall clock;
`simulated()` maps one of those onto the simulated time line. At speed 1 both
clocks agree.
"""

from __future__ import annotations

import datetime as dt
import time

from .objects import now


class SimulatedClock:
    def __init__(self, speed: float):
        self.speed = speed
        self._start = now()
        self._start_monotonic = time.monotonic()

    def now(self) -> dt.datetime:
        elapsed = (time.monotonic() - self._start_monotonic) * self.speed
        return self._start + dt.timedelta(seconds=elapsed)

    def simulated(self, wall: dt.datetime) -> dt.datetime:
        """Where a wall-clock moment falls on the simulated time line."""
        return self._start + (wall - self._start) * self.speed
