"""The rollout step, as looks: the first records what runs now (and any drift from
what the portal last deployed) and applies the release's image; each later look reads
the Deployments once and waits, until kubectl's verdict, a doomed pod or the timeout;
a failure is explained from the pods and events.

Progress (the step's result): `applied` (saved before the cluster is changed: from
then on a failure needs a rollback), `patched` (this round's images were applied), the
round's start, the lines said, and the cluster outages met so far.
"""

from deployments.steps import StepContext, StepOutcome, StepStopped, Wait
from deployments.steps.drift import record_previous_images
from deployments.steps.looks import cluster_look, now
from deployments.steps.workloads import (
    PATCHED,
    ROUNDS,
    apply_round,
    desired_images,
    look_at_rollouts,
)
from integrations.kube.cluster import ClusterClient, RolloutStatus
from integrations.kube.diagnostics import diagnose_workload

APPLY_ATTEMPTS = 3
CHANGED_UNDER_US = (
    "Rollout failed: the workloads kept changing to other images while the portal rolled "
    "out (someone else is deploying, or the cluster lost its state)."
)


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One look at the rollout (see the module's docstring)."""
    return cluster_look(ctx, dict(ctx.step.result), lambda kube, p: _look(ctx, kube, p), _error)


def _error(reason: str, progress: dict) -> StepOutcome:
    return StepOutcome(False, reason, {"applied": progress.get("applied", False)})


def _look(ctx: StepContext, kube: ClusterClient, progress: dict) -> StepOutcome | Wait:
    images = desired_images(ctx)
    if not progress.get("applied"):
        record_previous_images(ctx, kube)
        if not ctx.save_result(applied=True, began=now()):  # a failure now needs a rollback
            raise StepStopped("the step was taken away before it changed the cluster")
        progress = {**ctx.step.result, **progress, "applied": True}
    if not progress.get(PATCHED):
        return apply_round(ctx, kube, images, progress)
    seen = look_at_rollouts(ctx, kube, list(images), progress)
    if seen.status.failed:
        return _failed(ctx, kube, seen.workload, seen.status, progress)
    if not seen.status.done:
        return Wait(seen.again_in, progress)
    if not still_applied(ctx, kube, images):
        if progress.get(ROUNDS, 0) >= APPLY_ATTEMPTS:
            return StepOutcome(False, CHANGED_UNDER_US, {"applied": True, **_drift(progress)})
        return apply_round(ctx, kube, images, progress)
    pods = new_pods(kube, ctx.deployment.environment.namespace, list(images))
    return StepOutcome(
        True, "", {"applied": True, "images": images, "pods": pods, **_drift(progress)}
    )


def new_pods(kube: ClusterClient, namespace: str, workloads: list[str]) -> dict[str, str]:
    """Each workload's pod-name prefix of what rolled out (`<name>-<pod-template-hash>`):
    the post-deployment checks look at these pods, not at the ones being replaced."""
    hashes = {name: kube.new_pod_template_hash(namespace, name) for name in workloads}
    return {name: f"{name}-{value}" for name, value in hashes.items() if value}


def still_applied(ctx: StepContext, kube: ClusterClient, images: dict) -> bool:
    """After "successfully rolled out", check it is *our* template that rolled out: a
    restarted API server or a `kubectl set image` meanwhile means applying again."""
    namespace = ctx.deployment.environment.namespace
    changed = [w for w, wanted in images.items() if kube.read_images(namespace, w) != wanted]
    for workload in changed:
        ctx.emit(f"{workload} no longer runs this release (changed meanwhile): applying it again")
    return not changed


def _failed(
    ctx: StepContext, kube: ClusterClient, workload: str, status: RolloutStatus, progress: dict
) -> StepOutcome:
    """The failed rollout's outcome: a doomed pod's headline when it failed fast (the
    diagnosis goes to the log), else kubectl's message and the diagnosis' summary."""
    namespace = ctx.deployment.environment.namespace
    doom = status.doom
    for line in doom.lines() if doom else ():
        ctx.emit(line)
    diagnosis = diagnose_workload(kube, namespace, workload, ctx.deployment.release.image)
    for line in diagnosis.lines:
        ctx.emit(line)
    if doom is not None:
        reason = f"Rollout failed: {doom.headline()}."
    else:
        why = f": {diagnosis.summary}" if diagnosis.summary else ""
        reason = f"Rollout failed: {status.message}{why}."
    result = {"applied": True, "diagnosis": diagnosis.lines, **_drift(progress)}
    if doom is not None:
        result["doom"] = doom.as_result()
    return StepOutcome(False, reason, result)


def _drift(progress: dict) -> dict:
    drift = progress.get("drift")
    return {"drift": drift} if drift else {}
