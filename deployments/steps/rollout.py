"""The rollout step: record what runs now, apply the release's image, wait for kubectl's verdict."""

from deployments.models import Deployment
from deployments.steps import StepContext, StepOutcome
from deployments.steps.workloads import apply_images, desired_images, wait_for_rollouts
from environments.kube import ClusterClient, ClusterError


def run(ctx: StepContext) -> StepOutcome:
    deployment = ctx.deployment
    try:
        with ClusterClient(deployment.environment.cluster) as kube:
            record_previous_images(ctx, kube)
            images = desired_images(ctx)
            ctx.save_result(applied=True)  # from here on, a failure needs a rollback
            apply_images(ctx, kube, images)
            status = wait_for_rollouts(ctx, kube, list(images))
    except ClusterError as error:
        return StepOutcome(False, str(error), {"applied": ctx.step.result.get("applied", False)})
    if status.failed:
        return StepOutcome(False, f"Rollout failed: {status.message}.", {"applied": True})
    return StepOutcome(True, "", {"applied": True, "images": images})


def record_previous_images(ctx: StepContext, kube: ClusterClient) -> None:
    """Read what each workload runs before we change it, once per deployment.

    A retried rollout must not record our own half-applied images as "previous",
    so the first recording wins (the update only matches an empty value).
    """
    deployment = ctx.deployment
    if deployment.previous_images:
        return
    namespace = deployment.environment.namespace
    previous = {
        workload: kube.read_images(namespace, workload)
        for workload in deployment.service.workload_names
    }
    Deployment.objects.filter(pk=deployment.pk, previous_images={}).update(previous_images=previous)
    deployment.refresh_from_db(fields=["previous_images"])
    for workload, containers in deployment.previous_images.items():
        listed = ", ".join(f"{c}={i}" for c, i in containers.items())
        ctx.emit(f"{workload} runs {listed} before this deployment")
