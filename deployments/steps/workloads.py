"""Applying images to a service's workloads and looking at their rollouts, one read
of each Deployment per look (kubectl's rule, `rollout_status`): no watch is held
across looks, so a worker is free between them.

A look reads the new pods only when the Deployment's status leaves room for a doomed
one (integrations/kube/doom.py), and the next look comes at a fraction of the time the
rollout is expected to take still, from its pace so far (`look_again_in`), between
PORTAL_LOOK_SECONDS and PORTAL_LOOK_MAX_SECONDS: a rollout of minutes is not read
every second. A new pod in doubt (it died, or waits for anything but its start)
brings the next look to the shortest interval, so a crash loop fails the rollout
seconds after it shows.
"""

from dataclasses import dataclass

from django.conf import settings
from kubernetes import client

from deployments.lane_history import release_images
from deployments.steps import StepContext, Wait
from deployments.steps.looks import elapsed, now
from integrations.kube.cluster import ClusterClient, RolloutStatus, rollout_status
from integrations.kube.doom import NewPods, new_pods_may_be_doomed, see_new_pods

PATCHED, ROUND_BEGAN, ROUNDS, SAID = "patched", "round_began", "rounds", "said"
TEMPLATE_HASHES = "template_hashes"  # a revision's pod-template-hash, found once (doom.py)
# The next look comes after this share of the time the rollout should still take.
SHARE_OF_TIME_LEFT = 0.5


@dataclass(frozen=True)
class RolloutLook:
    """What a look at the workloads' rollouts found: the workload it is about (the first
    failed, else the first still rolling out, else the last), kubectl's verdict, and
    when to look again while it is not done."""

    workload: str
    status: RolloutStatus
    again_in: float = 0.0


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
) -> RolloutLook:
    """Read each workload's Deployment once and decide: the first failed one, else the
    first still rolling out, else the last (all done). One still rolling out fails at
    once when a new pod is doomed (krane's rules, integrations/kube/doom.py, given the
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
            return RolloutLook(workload, status)
        if pending is None and not status.done:
            pending = (workload, status, read)
    if pending is None:
        return RolloutLook(workload, status)
    workload, status, read = pending
    seen = NewPods()
    if new_pods_may_be_doomed(read):
        hashes = progress.setdefault(TEMPLATE_HASHES, {})
        seen = see_new_pods(kube, namespace, workload, read, template_hashes=hashes)
    if seen.doom is not None:
        return RolloutLook(workload, RolloutStatus(False, True, seen.doom.headline(), seen.doom))
    timed_out = rollout_timed_out(ctx, workload, progress)
    again_in = look_again_in(read, elapsed(progress, ROUND_BEGAN), seen.in_doubt)
    return RolloutLook(workload, timed_out or status, again_in)


def look_again_in(read: client.V1Deployment, seconds_so_far: float, in_doubt: bool) -> float:
    """Seconds until the next look at a rollout still under way: SHARE_OF_TIME_LEFT of
    the time it should still take at its pace so far, within PORTAL_LOOK_SECONDS and
    PORTAL_LOOK_MAX_SECONDS; the shortest when a new pod is in doubt or the controller
    has not seen the change yet."""
    shortest = float(settings.PORTAL_LOOK_SECONDS)
    longest = max(shortest, float(settings.PORTAL_LOOK_MAX_SECONDS))
    status = read.status or client.V1DeploymentStatus()
    assert read.metadata is not None  # an object read from the API server has its metadata
    if in_doubt or (read.metadata.generation or 0) > (status.observed_generation or 0):
        return shortest
    left = seconds_left(read, seconds_so_far)
    return min(longest, max(shortest, left * SHARE_OF_TIME_LEFT))


def seconds_left(read: client.V1Deployment, seconds_so_far: float) -> float:
    """How long the rollout should still take: the new pods not yet available, each at
    the pace of those that are (while none is, a pod takes at least the time so far).
    Unavailable pods are counted as new ones, as they are during a rollout."""
    status = read.status or client.V1DeploymentStatus()
    wanted = read.spec.replicas if read.spec.replicas is not None else 1
    new = min(status.updated_replicas or 0, wanted)
    available_new = max(0, new - (status.unavailable_replicas or 0))
    pods_left = wanted - available_new
    if pods_left <= 0:
        return 0.0  # old pods on their way out: the end is near
    return pods_left * seconds_so_far / max(available_new, 1)


def rollout_timed_out(ctx: StepContext, workload: str, progress: dict) -> RolloutStatus | None:
    """The environment's rollout timeout, from the round's apply (outages not counted)."""
    timeout = ctx.deployment.environment.rollout_timeout.total_seconds()
    if elapsed(progress, ROUND_BEGAN) <= timeout:
        return None
    return RolloutStatus(
        False, True, f'timed out after {timeout:.0f}s waiting for deployment "{workload}"'
    )


def desired_images(ctx: StepContext) -> dict[str, dict[str, str]]:
    """The release's image for every container the catalog lists, per workload."""
    return release_images(ctx.deployment.service, ctx.deployment.release.image)
