"""The lane (service, environment): queueing, superseding and starting, decided under
a `select_for_update` of the lane's row so concurrent decisions are serialised.

Lock order: the lane first, then a deployment. A claim may end *another*
deployment of its lane (superseding it); taking the lane lock before any
deployment row means two claims in one lane queue up instead of deadlocking.

The partial unique constraint `one_running_deployment_per_lane` is the last line of
defence; with the lane lock held, no caller ever meets its IntegrityError.
"""

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from audit import trail
from audit.actions import AuditAction
from catalog.freeze import active_freeze, describe
from deployments.engine.enqueue import advance_after_commit
from deployments.engine.next_in_line import first_in_line
from deployments.engine.transitions import finish, move_deployment
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState, Trigger
from live import announce
from portal.masking import mask_secrets

QUEUED, RUNNING = DeploymentState.QUEUED, DeploymentState.RUNNING


def join_lane(deployment: Deployment) -> bool:
    """Queue a deployment whose gates passed, superseding what it replaces, and start
    it at once when the lane is free and it is next; True when it now runs. The
    caller holds the lane lock (`lock_lane_of`).

    A newer request supersedes older queued ones (and an older one whose gates
    passed late is superseded by the newer one already queued or running); a
    rollback supersedes the promotions queued before it, and no promotion
    supersedes a rollback: it queues behind it.
    """
    members = _active_members(deployment)
    running = next((m for m in members if m.state == RUNNING), None)
    if running is not None and _replaces(running, deployment):
        supersede(deployment, by=running)  # never deploy an older request over a newer one
        return False
    if running is not None and _preempts(deployment, running) and not lane_blocker(deployment):
        # The promotion stops at its next look (claims.py), without touching the cluster
        # again; this rollback's own rollout then takes the workloads to its release.
        advance_after_commit(running.pk, urgent=True)
        trail.record(AuditAction.DEPLOYMENT_PREEMPTING, deployment=deployment, running=running.pk)
    waiting = []
    for other in (m for m in members if m.state == QUEUED):
        if _replaces(deployment, other):
            supersede(other, by=deployment)
        elif _replaces(other, deployment):
            supersede(deployment, by=other)
            return False
        else:
            waiting.append(other)
    now = timezone.now()
    deployment.queued_at = now
    first = first_in_line([*waiting, deployment])
    blocker = lane_blocker(deployment)
    if running is None and first is deployment and not blocker:
        _start(deployment, now, "start_at_once")
        return True
    if running is None and first is not deployment:
        advance_after_commit(first.pk)  # the lane is free: wake whoever is next
    reason = blocker or _waiting_reason(running, deployment)
    move_deployment(deployment, "queue", queued_at=now, reason=reason)
    return False


def try_start(deployment: Deployment) -> bool:
    """Take the lane for this queued deployment when nothing runs there and it is next."""
    members = _active_members(deployment)
    running = next((m for m in members if m.state == RUNNING), None)
    if running is not None:
        _set(deployment, reason=_waiting_reason(running, deployment))
        return False
    first = first_in_line([m for m in members if m.state == QUEUED] + [deployment])
    if first is not deployment:
        advance_after_commit(first.pk)  # the lane is free: wake whoever is next
        return False
    if blocker := lane_blocker(deployment):
        _set(deployment, reason=blocker)  # the sweeper asks again until it clears
        return False
    _start(deployment, timezone.now(), "start")
    return True


def lane_blocker(deployment: Deployment) -> str:
    """Why this deployment may not take the lane now, checked at the last moment
    (approval may have come hours after the request); "" when nothing stops it.

    A lock stops everything but break-glass; a freeze stops promotions only.
    """
    environment = deployment.environment
    if environment.locked and deployment.trigger != Trigger.BREAK_GLASS:
        # Masked when locked; masked again for a lock set before masking covered it.
        why = f": {mask_secrets(environment.lock_reason)}" if environment.lock_reason else ""
        return f"Environment {environment.name} is locked{why}; it starts once unlocked."
    if deployment.trigger in (Trigger.ROLLBACK, Trigger.BREAK_GLASS):
        return ""
    window = active_freeze(environment.freeze_windows, timezone.now())
    if window is not None:
        return f"Deployment freeze {describe(window)}; it starts when the freeze ends."
    return ""


def supersede(deployment: Deployment, *, by: Deployment) -> None:
    """End `deployment` in favour of `by`, the request that replaces it."""
    finish(
        deployment,
        "supersede",
        f"Superseded by #{by.pk} ({by.release.version}, {by.get_trigger_display().lower()}).",
        superseded_by=by,
    )


def lock_lane_of(deployment_id: int) -> None:
    """Lock the lane row of a deployment (one statement); callers of join_lane and
    try_start hold it."""
    Lane.objects.select_for_update(of=("self",)).filter(deployments=deployment_id).values_list(
        "pk", flat=True
    ).first()


def _active_members(deployment: Deployment) -> list[Deployment]:
    return list(
        Deployment.objects.filter(lane_id=deployment.lane_id, state__in=(QUEUED, RUNNING))
        .exclude(pk=deployment.pk)
        .select_related("release")
    )


def with_rollback_waiting(deployments: QuerySet) -> QuerySet:
    """The deployments, each with `rollback_waiting`: whether a rollback is queued in its
    lane. Read with the deployment's row, it spares `preempting_rollback` a query in the
    common case (none is), which every look asks twice."""
    queued = Deployment.objects.filter(
        lane_id=OuterRef("lane_id"), state=QUEUED, trigger=Trigger.ROLLBACK
    )
    return deployments.annotate(rollback_waiting=Exists(queued))


def preempting_rollback(deployment: Deployment) -> Deployment | None:
    """The rollback queued in this running promotion's lane, which preempts it; None
    when nothing preempts it (a rollback is never preempted: the next one waits)."""
    if deployment.state != RUNNING or deployment.trigger == Trigger.ROLLBACK:
        return None
    if getattr(deployment, "rollback_waiting", None) is False:
        return None  # read by `with_rollback_waiting`, under the same locks: none is queued
    rollback = (
        Deployment.objects.filter(
            lane_id=deployment.lane_id, state=QUEUED, trigger=Trigger.ROLLBACK
        )
        .select_related("release", "environment")
        .order_by("queued_at")
        .first()
    )
    if rollback is None or lane_blocker(rollback):  # a locked lane keeps what runs there
        return None
    return rollback


def _preempts(newer: Deployment, running: Deployment) -> bool:
    """A manual rollback does not queue behind a running promotion: it preempts it."""
    return newer.trigger == Trigger.ROLLBACK and running.trigger != Trigger.ROLLBACK


def _replaces(newer: Deployment, older: Deployment) -> bool:
    """Whether `newer` supersedes `older`."""
    if older.trigger == Trigger.ROLLBACK and newer.trigger != Trigger.ROLLBACK:
        return False  # a promotion asked for after a rollback waits behind it
    return newer.created_at > older.created_at


def _start(deployment: Deployment, now, transition: str) -> None:
    queued_at = deployment.queued_at or now
    move_deployment(deployment, transition, queued_at=queued_at, started_at=now, reason="")


def _set(deployment: Deployment, **fields) -> None:
    """Change what a deployment waiting in line says (never its state: transitions)."""
    if all(getattr(deployment, name) == value for name, value in fields.items()):
        return
    Deployment.objects.filter(pk=deployment.pk).update(**fields)
    announce.deployment_changed(deployment.pk, deployment.lane_id)
    for name, value in fields.items():
        setattr(deployment, name, value)


def _waiting_reason(running: Deployment | None, waiting: Deployment | None = None) -> str:
    if running is None:
        return "Waiting for its turn in this lane."
    if waiting is not None and _preempts(waiting, running):
        return f"Stopping #{running.pk} ({running.release.version}) at its next look; then it runs."
    return f"Waiting for #{running.pk} ({running.release.version}) to finish in this lane."
