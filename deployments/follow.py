"""Following a deployment from a terminal: steps and log lines as they are stored."""

import time
from collections.abc import Callable

from deployments.models import Deployment, LogLine
from deployments.notifications.messages import deployment_url

__all__ = ["deployment_url", "follow", "summary"]


def follow(
    deployment_id: int, write: Callable[[str], None], poll_seconds: float = 0.25,
    timeout: float | None = None,
) -> Deployment:  # fmt: skip
    """Print each step change and log line until the deployment ends (or `timeout`)."""
    last_seq = 0
    seen_steps: dict[int, str] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        deployment = Deployment.objects.get(pk=deployment_id)
        # Log lines first: a step's last lines belong before the line saying it ended.
        for seq, text in _lines_after(deployment_id, last_seq):
            write(f"  {text}")
            last_seq = seq
        for step in deployment.steps.order_by("position"):
            if seen_steps.get(step.pk) != step.state:
                seen_steps[step.pk] = step.state
                reason = f": {step.reason}" if step.reason else ""
                write(f"[{step.get_kind_display()}] {step.get_state_display().lower()}{reason}")
        if deployment.is_final or (deadline and time.monotonic() > deadline):
            return deployment
        time.sleep(poll_seconds)


def _lines_after(deployment_id: int, seq: int):
    lines = LogLine.objects.filter(deployment_id=deployment_id, seq__gt=seq).order_by("seq")
    return lines.values_list("seq", "text")


def summary(deployment: Deployment) -> str:
    reason = f": {deployment.reason}" if deployment.reason else ""
    return (
        f"#{deployment.pk} {deployment.service.name} {deployment.release.version} → "
        f"{deployment.environment.name} {deployment.get_state_display().lower()}{reason}"
    )
