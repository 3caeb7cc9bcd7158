"""What a click on Cancel will do, said before the click, from where the deployment is.

The engine acts at the next look (engine/cancellation.py): before the cluster was
touched the deployment just ends; a migration's Job is deleted; once the rollout
began, the rollout stops and what ran before is put back at once.
"""

from deployments.lane_history import running_release
from deployments.models import Deployment, Step
from deployments.states import DeploymentState, StepKind, StepState
from releases.models import Release

CLUSTER_STEPS = (StepKind.ROLLOUT, StepKind.SMOKE, StepKind.POST_CHECKS)


def cancel_effect(deployment: Deployment, steps: list[Step]) -> str:
    """One sentence for beside the Cancel button: "Cancel: the rollout stops and 1.1.0
    is put back", "Cancel: the migration Job is deleted; nothing else was changed yet" …"""
    where = deployment.environment.name
    if deployment.state != DeploymentState.RUNNING:
        return f"Cancel: it has not started, so nothing changes in {where}."
    current = next((s for s in steps if s.state == StepState.RUNNING), None)
    kind = current.kind if current is not None else None
    if kind == StepKind.ROLLBACK:
        return f"It is rolling back already: {_previous(deployment)} is being put back."
    began = any(s.kind == StepKind.ROLLOUT and s.result.get("applied") for s in steps)
    if began or kind in CLUSTER_STEPS:
        return f"Cancel: the rollout stops and {_previous(deployment)} is put back."
    if kind == StepKind.MIGRATE:
        return "Cancel: the migration Job is deleted; nothing else was changed yet."
    return f"Cancel: it stops now; nothing was changed yet in {where}."


def _previous(deployment: Deployment) -> str:
    """The release that ran before, by the images recorded from the cluster; else the
    one the portal last left running in the lane."""
    images = {
        image for containers in deployment.previous_images.values() for image in containers.values()
    }
    release = (
        Release.objects.filter(service_id=deployment.service_id, image__in=images)
        .order_by("-created_at")
        .first()
        if images
        else running_release(deployment.lane)
    )
    return release.version if release is not None else "what ran before"
