"""Applying images to a service's workloads and waiting for their rollouts."""

from deployments.lane_history import release_images
from deployments.steps import StepContext
from environments.kube import ClusterClient, RolloutStatus


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
        status = kube.wait_for_rollout(namespace, workload, remaining, ctx.emit, ctx.check)
        if status.failed:
            break
    return workload, status


def desired_images(ctx: StepContext) -> dict[str, dict[str, str]]:
    """The release's image for every container the catalog lists, per workload."""
    return release_images(ctx.deployment.service, ctx.deployment.release.image)
