"""The rollback step: re-apply the images recorded before the rollout and wait for them."""

from deployments.steps import StepContext, StepOutcome
from deployments.steps.workloads import apply_images, wait_for_rollouts
from environments.kube import ClusterClient, ClusterError


def run(ctx: StepContext) -> StepOutcome:
    previous = ctx.deployment.previous_images
    if not previous:
        return StepOutcome(False, "No images were recorded before the rollout; nothing to restore.")
    ctx.emit("Rolling back to the images that ran before this deployment")
    try:
        with ClusterClient(ctx.deployment.environment.cluster, ctx.check, ctx.emit) as kube:
            apply_images(ctx, kube, previous)
            _, status = wait_for_rollouts(ctx, kube, list(previous))
    except ClusterError as error:
        return StepOutcome(False, str(error))
    if status.failed:
        return StepOutcome(False, f"Rollback rollout failed: {status.message}.")
    return StepOutcome(True, "", {"restored": previous})
