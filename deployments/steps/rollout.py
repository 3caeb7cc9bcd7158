"""The rollout step: record what runs now (and any drift from what the portal last
deployed), apply the release's image, wait for kubectl's verdict, explain a failure."""

from deployments.steps import StepContext, StepOutcome, StepStopped
from deployments.steps.drift import record_previous_images
from deployments.steps.workloads import apply_images, desired_images, wait_for_rollouts
from environments.diagnostics import diagnose_workload
from environments.kube import ClusterClient, ClusterError, RolloutStatus


def run(ctx: StepContext) -> StepOutcome:
    deployment = ctx.deployment
    try:
        with ClusterClient(deployment.environment.cluster, ctx.check, ctx.emit) as kube:
            record_previous_images(ctx, kube)
            images = desired_images(ctx)
            if not ctx.save_result(applied=True):  # from here on, a failure needs a rollback
                raise StepStopped("the step was taken away before it changed the cluster")
            for _ in range(APPLY_ATTEMPTS):
                apply_images(ctx, kube, images)
                workload, status = wait_for_rollouts(ctx, kube, list(images))
                if status.failed:
                    return _failed(ctx, kube, workload, status)
                if still_applied(ctx, kube, images):
                    break
            else:
                return StepOutcome(False, CHANGED_UNDER_US, {"applied": True})
            pods = new_pods(kube, deployment.environment.namespace, list(images))
    except ClusterError as error:
        return StepOutcome(False, str(error), {"applied": ctx.step.result.get("applied", False)})
    return StepOutcome(True, "", {"applied": True, "images": images, "pods": pods, **_drift(ctx)})


def new_pods(kube: ClusterClient, namespace: str, workloads: list[str]) -> dict[str, str]:
    """Each workload's pod-name prefix of what rolled out (`<name>-<pod-template-hash>`):
    the post-deployment checks look at these pods, not at the ones being replaced."""
    hashes = {name: kube.new_pod_template_hash(namespace, name) for name in workloads}
    return {name: f"{name}-{value}" for name, value in hashes.items() if value}


APPLY_ATTEMPTS = 3
CHANGED_UNDER_US = (
    "Rollout failed: the workloads kept changing to other images while the portal rolled "
    "out (someone else is deploying, or the cluster lost its state)."
)


def still_applied(ctx: StepContext, kube: ClusterClient, images: dict) -> bool:
    """After "successfully rolled out", check it is *our* template that rolled out: a
    restarted API server or a `kubectl set image` meanwhile means applying again."""
    namespace = ctx.deployment.environment.namespace
    changed = [w for w, wanted in images.items() if kube.read_images(namespace, w) != wanted]
    for workload in changed:
        ctx.emit(f"{workload} no longer runs this release (changed meanwhile): applying it again")
    return not changed


def _failed(
    ctx: StepContext, kube: ClusterClient, workload: str, status: RolloutStatus
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
    result = {"applied": True, "diagnosis": diagnosis.lines, **_drift(ctx)}
    if doom is not None:
        result["doom"] = doom.as_result()
    return StepOutcome(False, reason, result)


def _drift(ctx: StepContext) -> dict:
    drift = ctx.step.result.get("drift")
    return {"drift": drift} if drift else {}
