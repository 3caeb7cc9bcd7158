"""The rollback step, as looks: the first re-applies the images recorded before the
rollout, at once; each later look reads the Deployments until they are back."""

from deployments.steps import StepContext, StepOutcome, Wait
from deployments.steps.looks import cluster_look
from deployments.steps.workloads import PATCHED, apply_round, look_at_rollouts
from integrations.kube.cluster import ClusterClient


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One look at the rollback (see the module's docstring)."""
    previous = ctx.deployment.previous_images
    if not previous:
        return StepOutcome(False, "No images were recorded before the rollout; nothing to restore.")
    return cluster_look(
        ctx,
        dict(ctx.step.result),
        lambda kube, progress: _look(ctx, kube, previous, progress),
        lambda reason, progress: StepOutcome(False, reason),
    )


def _look(
    ctx: StepContext, kube: ClusterClient, previous: dict, progress: dict
) -> StepOutcome | Wait:
    if not progress.get(PATCHED):
        ctx.emit("Rolling back to the images that ran before this deployment")
        return apply_round(ctx, kube, previous, progress)
    seen = look_at_rollouts(ctx, kube, list(previous), progress)
    if seen.status.failed:
        return StepOutcome(False, f"Rollback rollout failed: {seen.status.message}.")
    if not seen.status.done:
        return Wait(seen.again_in, progress)
    return StepOutcome(True, "", {"restored": previous})
