"""Applying images to a service's workloads and waiting for their rollouts."""

import time
from collections.abc import Callable

from deployments.lane_history import release_images
from deployments.steps import StepContext
from environments.doom import Doom, find_doomed_pod
from environments.kube import ClusterClient, RolloutStatus

# How often a rollout being waited for asks whether a new pod is doomed (krane's rules).
DOOM_LOOK_SECONDS = 1.0


def apply_images(ctx: StepContext, kube: ClusterClient, images: dict[str, dict[str, str]]) -> None:
    """Patch each workload to the given {container: image}; re-applying is harmless."""
    namespace = ctx.deployment.environment.namespace
    for workload, containers in images.items():
        ctx.check()
        kube.set_images(namespace, workload, containers)
        listed = ", ".join(f"{c}={i}" for c, i in containers.items())
        ctx.emit(f"deployment.apps/{workload} image updated: {listed}")


def wait_for_rollouts(
    ctx: StepContext, kube: ClusterClient, workloads: list[str]
) -> tuple[str, RolloutStatus]:
    """Wait for every workload in turn within the environment's rollout timeout;
    returns the last workload waited for (the failing one, if any) and its status."""
    namespace = ctx.deployment.environment.namespace
    # kube.clock() stands still while the API is unreachable: a blip does not eat the timeout.
    deadline = kube.clock() + ctx.deployment.environment.rollout_timeout.total_seconds()
    workload, status = "", None
    for workload in workloads:
        # One timeout for the whole service, as `kubectl rollout status --timeout` per
        # workload would exceed the step's deadline with several workloads.
        remaining = max(0.0, deadline - kube.clock())
        check = _failing_fast(ctx, kube, namespace, workload)
        try:
            status = kube.wait_for_rollout(namespace, workload, remaining, ctx.emit, check)
        except RolloutDoomed as doomed:
            status = RolloutStatus(False, True, doomed.doom.headline(), doomed.doom)
        if status.failed:
            break
    return workload, status


class RolloutDoomed(Exception):
    """A new pod of the rollout cannot become ready (environments/doom.py): stop waiting."""

    def __init__(self, doom: Doom):
        super().__init__(doom.headline())
        self.doom = doom


def _failing_fast(
    ctx: StepContext, kube: ClusterClient, namespace: str, workload: str
) -> Callable[[], None]:
    """The step's check, plus krane's rules over the rollout's new pods at most every
    DOOM_LOOK_SECONDS (the wait calls it on every event and at least every watch chunk):
    raises RolloutDoomed, so the timeout stays the backstop for everything else."""
    next_look = 0.0

    def check() -> None:
        nonlocal next_look
        ctx.check()
        if time.monotonic() < next_look:
            return
        next_look = time.monotonic() + DOOM_LOOK_SECONDS
        doom = find_doomed_pod(kube, namespace, workload)
        if doom is not None:
            raise RolloutDoomed(doom)

    return check


def desired_images(ctx: StepContext) -> dict[str, dict[str, str]]:
    """The release's image for every container the catalog lists, per workload."""
    return release_images(ctx.deployment.service, ctx.deployment.release.image)
