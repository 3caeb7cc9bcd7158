"""Applying images to a service's workloads and looking at their rollouts, one read
of each Deployment per look (kubectl's rule, `rollout_status`): no watch is held
across looks, so a worker is free between them."""

from django.conf import settings

from deployments.lane_history import release_images
from deployments.steps import StepContext, Wait
from deployments.steps.looks import elapsed, now
from environments.doom import find_doomed_pod
from environments.kube import ClusterClient, RolloutStatus, rollout_status

PATCHED, ROUND_BEGAN, ROUNDS, SAID = "patched", "round_began", "rounds", "said"


def apply_images(ctx: StepContext, kube: ClusterClient, images: dict[str, dict[str, str]]) -> None:
    """Patch each workload to the given {container: image}; re-applying is harmless."""
    namespace = ctx.deployment.environment.namespace
    for workload, containers in images.items():
        ctx.check()
        kube.set_images(namespace, workload, containers)
        listed = ", ".join(f"{c}={i}" for c, i in containers.items())
        ctx.emit(f"deployment.apps/{workload} image updated: {listed}")


def apply_round(
    ctx: StepContext, kube: ClusterClient, images: dict[str, dict[str, str]], progress: dict
) -> Wait:
    """Apply the images and look again soon: the rollout timeout counts from here."""
    apply_images(ctx, kube, images)
    rounds = progress.get(ROUNDS, 0) + 1
    progress = {**progress, PATCHED: True, ROUND_BEGAN: now(), ROUNDS: rounds, SAID: {}}
    return Wait(float(settings.PORTAL_LOOK_SECONDS), progress)


def look_at_rollouts(
    ctx: StepContext, kube: ClusterClient, workloads: list[str], progress: dict
) -> tuple[str, RolloutStatus]:
    """Read each workload's Deployment once and decide: the first failed one, else the
    first still rolling out, else the last (all done). One still rolling out fails at
    once when a new pod is doomed (krane's rules, environments/doom.py, given the
    Deployment just read) or the environment's rollout timeout has passed. Each new
    kubectl-like line is emitted once (the lines said are kept in `progress`)."""
    namespace = ctx.deployment.environment.namespace
    said = progress.setdefault(SAID, {})
    pending = None
    for workload in workloads:
        ctx.check()
        read = kube.read_deployment(namespace, workload)
        status = rollout_status(read)
        if said.get(workload) != status.message:
            ctx.emit(status.message)
            said[workload] = status.message
        if status.failed:
            return workload, status
        if pending is None and not status.done:
            pending = (workload, status, read)
    if pending is None:
        return workload, status
    workload, status, read = pending
    doom = find_doomed_pod(kube, namespace, workload, read)
    if doom is not None:
        return workload, RolloutStatus(False, True, doom.headline(), doom)
    return workload, rollout_timed_out(ctx, workload, progress) or status


def rollout_timed_out(ctx: StepContext, workload: str, progress: dict) -> RolloutStatus | None:
    """The environment's rollout timeout, from the round's apply (outages not counted)."""
    timeout = ctx.deployment.environment.rollout_timeout.total_seconds()
    if elapsed(progress, ROUND_BEGAN) <= timeout:
        return None
    return RolloutStatus(
        False, True, f'timed out after {timeout:.0f}s waiting for deployment "{workload}"'
    )


def look_again(progress: dict) -> Wait:
    return Wait(float(settings.PORTAL_LOOK_SECONDS), progress)


def desired_images(ctx: StepContext) -> dict[str, dict[str, str]]:
    """The release's image for every container the catalog lists, per workload."""
    return release_images(ctx.deployment.service, ctx.deployment.release.image)
