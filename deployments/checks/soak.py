"""The soak window a post-deployment check watches: from the rollout's end until now."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from deployments.checks.evidence import clock, utc
from deployments.states import StepKind

# Points per series a range query asks for: fine enough to catch a spike of a
# 5-minute soak at 3 s resolution, far below Prometheus's 11,000-point limit.
POINTS = 100


@dataclass(frozen=True)
class SoakWindow:
    start: datetime
    end: datetime

    @property
    def step_seconds(self) -> int:
        return max(1, math.ceil((self.end - self.start).total_seconds() / POINTS))

    def __str__(self) -> str:
        return f"between {utc(self.start)} and {clock(self.end)}"


def soak_window(deployment) -> SoakWindow:
    """From the last rollout's end (its start while it runs) until now.

    Without a started rollout the window is the environment's soak up to now, so the
    check still judges real data rather than nothing.
    """
    now = timezone.now()
    rollout = deployment.steps.filter(kind=StepKind.ROLLOUT).order_by("-position").first()
    start = rollout and (rollout.finished_at or rollout.started_at)
    if start is None:
        start = now - deployment.environment.soak
    return SoakWindow(start=min(start, now), end=now)
