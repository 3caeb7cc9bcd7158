"""What ran before a rollout, and whether someone changed it behind the portal's back."""

from audit import trail
from audit.actions import AuditAction
from deployments.lane_history import drift_from, last_applied
from deployments.models import Deployment
from deployments.steps import StepContext
from integrations.kube.cluster import ClusterClient


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
    recorded = Deployment.objects.filter(pk=deployment.pk, previous_images={}).update(
        previous_images=previous
    )
    deployment.refresh_from_db(fields=["previous_images"])
    for workload, containers in deployment.previous_images.items():
        listed = ", ".join(f"{c}={i}" for c, i in containers.items())
        ctx.emit(f"{workload} runs {listed} before this deployment")
    if recorded:
        detect_drift(ctx, deployment.previous_images)


def detect_drift(ctx: StepContext, running: dict[str, dict[str, str]]) -> None:
    """Compare the cluster with what the portal last wrote in this lane (a release, or
    the images a rollback restored); a difference (a `kubectl set image` by hand) is
    logged, audited and kept."""
    deployment = ctx.deployment
    applied = last_applied(deployment.lane_id, exclude=deployment.pk)
    if applied is None:
        return
    drift = drift_from(running, applied)
    if not drift:
        return
    for item in drift:
        ctx.emit(
            f"DRIFT: {item['workload']}/{item['container']} runs {item['running']}, but the "
            f"portal last deployed {item['deployed']} (#{item['deployment']}); "
            "this deployment replaces it"
        )
    ctx.save_result(drift=drift)
    trail.record(AuditAction.DEPLOYMENT_DRIFT_DETECTED, deployment=deployment, drift=drift)
