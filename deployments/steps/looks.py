"""What every look that talks to a cluster shares: a client that never waits, an
outage of the API counted across looks, and time measured from a saved start.

A look never waits out an unreachable API on its worker (ClusterClient would sleep
between retries): it returns Wait, and the step's progress keeps when the outage
began. Times in progress are epoch seconds (JSON), so any worker can read them.
"""

from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from deployments.steps import StepContext, StepOutcome, Wait
from integrations.kube.adapter import ClusterError, ClusterUnreachable
from integrations.kube.cluster import ClusterClient

# (connect, read) seconds of one request in a look: a hung API server must not hold
# the worker for the 30 s a long watch allows.
LOOK_REQUEST_TIMEOUT = (2, 5)

OUTAGE_BEGAN, OUTAGE_SECONDS = "outage_began", "outage_seconds"


def now() -> float:
    return timezone.now().timestamp()


def look_client(ctx: StepContext) -> ClusterClient:
    """A client for the deployment's cluster that raises at once when the API is away."""
    return ClusterClient(
        ctx.deployment.environment.cluster, ctx.check, ctx.emit,
        retry_seconds=0, request_timeout=LOOK_REQUEST_TIMEOUT,
    )  # fmt: skip


def elapsed(progress: dict, since: str) -> float:
    """Seconds since `progress[since]` in which the cluster answered: outages (closed,
    and one still open) do not count, as a blip must not eat a rollout's timeout."""
    gone = progress.get(OUTAGE_SECONDS, 0.0)
    if progress.get(OUTAGE_BEGAN) is not None:
        gone += now() - progress[OUTAGE_BEGAN]
    return max(0.0, now() - progress.get(since, now()) - gone)


def cluster_look(
    ctx: StepContext,
    progress: dict,
    look: Callable[[ClusterClient, dict], StepOutcome | Wait],
    failed: Callable[[str, dict], StepOutcome],
) -> StepOutcome | Wait:
    """Run `look(kube, progress)` against the cluster.

    An unreachable API makes the look a Wait (the outage's start saved), until it has
    lasted PORTAL_CLUSTER_RETRY_SECONDS: then `failed(reason, progress)`. A refusal
    (401, 404, …) is `failed` at once. The first look that reaches the API again
    closes the outage, adding its length to `outage_seconds`.
    """
    try:
        with look_client(ctx) as kube:
            answer = look(kube, progress)
    except ClusterUnreachable as error:
        return _outage(ctx, progress, error, failed)
    except ClusterError as error:
        return failed(str(error), progress)
    if isinstance(answer, Wait):
        return Wait(answer.seconds, _reachable(ctx, answer.progress))
    _reachable(ctx, progress)  # say the cluster came back, if it was away
    return answer


def _outage(
    ctx: StepContext, progress: dict, error: ClusterUnreachable, failed
) -> StepOutcome | Wait:
    window = float(settings.PORTAL_CLUSTER_RETRY_SECONDS)
    began = progress.get(OUTAGE_BEGAN)
    if began is None:
        began = now()
        ctx.emit(f"{error.where} unreachable ({error.cause}): retrying for up to {window:.0f} s")
    lasted = now() - began
    if lasted >= window:
        return failed(f"{error.where} unreachable for {lasted:.0f} s ({error.cause})", progress)
    look_again = min(float(settings.PORTAL_LOOK_SECONDS), window - lasted)
    return Wait(look_again, {**progress, OUTAGE_BEGAN: began})


def _reachable(ctx: StepContext, progress: dict) -> dict:
    began = progress.get(OUTAGE_BEGAN)
    if began is None:
        return progress
    lasted = now() - began
    cluster = ctx.deployment.environment.cluster.name
    ctx.emit(f"cluster {cluster} reachable again after {lasted:.0f} s")
    progress = {k: v for k, v in progress.items() if k != OUTAGE_BEGAN}
    progress[OUTAGE_SECONDS] = progress.get(OUTAGE_SECONDS, 0.0) + lasted
    return progress
