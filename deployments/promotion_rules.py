"""Why a promotion may not go, once for the pages, the engine, the API and the CLI.

Each rule returns a `Refusal` (the sentence, what a disabled button says, and what to
do instead) or None. `promotion_choices` shows them on the service page and the
confirmation page; `engine.refusals` raises them (the API answers 409 with them).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from catalog.catalog_file.values import parse_freeze_time
from catalog.freeze import MINUTES_PER_WEEK, active_freeze, describe
from catalog.models import ChecklistPhase, Environment, PostItemPolicy
from deployments.models import Deployment
from deployments.states import ChecklistState, DeploymentState, Trigger
from releases.models import Release
from releases.order import is_older


class RefusalKind:
    """What a refusal is about (the API's `detail.kind`, the CLI's hint)."""

    FORBIDDEN = "forbidden"
    NOTHING = "nothing_to_promote"
    OFF_PATH = "off_path"
    LOCKED = "locked"
    FROZEN = "frozen"
    RUNS_ALREADY = "runs_already"
    ON_ITS_WAY = "on_its_way"
    OLDER = "older"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class Refusal:
    kind: str
    message: str  # the whole sentence: what is wrong and what to do
    button: str  # what a disabled control says; it names no release
    instead: str = ""  # a path to go instead (a rollback, a confirmation), or ""
    instead_label: str = ""

    def __str__(self) -> str:
        return self.message


def moment(when: datetime) -> str:
    """`6 Dec 23:59` in the portal's time zone, as the pages' `j M H:i`."""
    local = timezone.localtime(when)
    return f"{local.day} {local:%b %H:%M}"


# --- Who, where and when ----------------------------------------------------------


def may_not_deploy(user, environment: Environment) -> Refusal | None:
    if roles.can_deploy(user, environment):
        return None
    return Refusal(
        RefusalKind.FORBIDDEN,
        f"You may not deploy to {environment.name}; engineers, leads and admins may.",
        f"You may not deploy to {environment.name}",
    )


def locked(environment: Environment) -> Refusal | None:
    """A lock stops new promotions at once; the button says who locked it and why."""
    if not environment.locked:
        return None
    who = environment.locked_by.get_username() if environment.locked_by else ""
    by = f" by {who}" if who else ""
    since = f" (since {moment(environment.locked_at)})" if environment.locked_at else ""
    why = environment.lock_reason or "no reason given"
    return Refusal(
        RefusalKind.LOCKED,
        f"{environment.name} is locked{by}: {why}{since}. Wait for the unlock, or a lead "
        "or admin may break glass with a written reason.",
        f"Locked by {who or 'someone'}: {why}",
    )


@dataclass(frozen=True)
class Freeze:
    """A freeze window in force, and when it ends."""

    window: dict
    ends_at: datetime

    @property
    def label(self) -> str:
        return describe(self.window)


def freeze_in_force(environment: Environment, now: datetime) -> Freeze | None:
    window = active_freeze(environment.freeze_windows, now)
    return None if window is None else Freeze(window, _window_end(window, now))


def _window_end(window: dict, now: datetime) -> datetime:
    zone = ZoneInfo(window.get("timezone") or "UTC")
    end = parse_freeze_time(window["to"])
    if isinstance(end, datetime):
        return end if end.tzinfo else end.replace(tzinfo=zone)
    local = now.astimezone(zone).replace(second=0, microsecond=0)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    until = (end[0] * 1440 + end[1] * 60 + end[2] - minute) % MINUTES_PER_WEEK
    return local + timedelta(minutes=until)


def frozen(environment: Environment, freeze: Freeze | None) -> Refusal | None:
    if freeze is None:
        return None
    ends = f"{freeze.ends_at:%a} {freeze.ends_at.day} {freeze.ends_at:%b %H:%M %Z}"
    return Refusal(
        RefusalKind.FROZEN,
        f"{environment.name} is frozen until {ends} (freeze {freeze.label}); rollbacks still go.",
        f"Frozen until {ends}",
    )


# --- The release ------------------------------------------------------------------


def off_the_path(release: Release, environment: Environment) -> Refusal | None:
    """The promotion path (`promotion_path_refusal`)."""
    refusal = promotion_path_refusal(release, environment)
    if not refusal:
        return None
    assert environment.promotes_from is not None  # only a path has a refusal
    source = environment.promotes_from.name
    return Refusal(RefusalKind.OFF_PATH, refusal, f"Not through {source} yet")


def runs_already(release: Release, environment: Environment) -> Refusal:
    return Refusal(
        RefusalKind.RUNS_ALREADY,
        f"{release.service.name} {release.version} already runs in {environment.name}.",
        "Runs there already",
    )


def on_its_way(existing: Deployment) -> Refusal:
    release = existing.release
    return Refusal(
        RefusalKind.ON_ITS_WAY,
        f"{release.service.name} {release.version} is already on its way to "
        f"{existing.environment.name}: #{existing.pk} ({existing.get_state_display().lower()}); "
        "follow it or cancel it first.",
        f"On its way already (#{existing.pk})",
        instead=reverse("deployment-detail", args=[existing.pk]),
        instead_label=f"Follow #{existing.pk}",
    )


def older_than_running(
    release: Release, environment: Environment, running: Release | None, rollback_targets
) -> Refusal | None:
    """A promotion never goes back: an older release returns through a rollback."""
    if running is None or not is_older(release, running):
        return None
    said = f"{release.version} is older than {running.version}, which runs in {environment.name}"
    if release in rollback_targets:
        return Refusal(
            RefusalKind.OLDER,
            f"{said}: roll back instead.",
            "Older than what runs there",
            instead=rollback_url(release, environment),
            instead_label=f"Roll back to {release.version}…",
        )
    return Refusal(
        RefusalKind.OLDER,
        f"{said}, and it never succeeded there, so no rollback goes to it either; promote a "
        "newer release (or a lead breaks glass with a written reason).",
        "Older than what runs there",
    )


def rollback_url(release: Release, environment: Environment) -> str:
    query = urlencode({"environment": environment.name, "version": release.version})
    return f"{reverse('service-rollback-confirm', args=[release.service.name])}?{query}"


def confirm_url(release: Release, environment: Environment) -> str:
    path = reverse("service-promote-confirm", args=[release.service.name, environment.name])
    return f"{path}?{urlencode({'version': release.version})}"


# --- Rolled back before -----------------------------------------------------------


@dataclass(frozen=True)
class RolledBack:
    """A release was rolled back from an environment (by the engine or by hand) and has
    not succeeded there since."""

    release_id: int
    environment: Environment
    at: datetime
    reason: str  # the rolled-back deployment's failure reason as stored ("" by hand)
    by: str  # who rolled it back by hand; "" when the engine did
    deployment_id: int  # the deployment that was rolled back

    @property
    def short(self) -> str:
        """ "rolled back from production at 7 Dec 09:40": for a select's option."""
        return f"rolled back from {self.environment.name} at {moment(self.at)}"

    @property
    def text(self) -> str:
        """The whole mark: when, the failure's figure as stored, who did it by hand; no
        final full stop, as sentences go on after it."""
        reason = self.reason.rstrip(" .")
        text = self.short + (f": {reason}" if reason else "")
        return text + (f" (by hand, by {self.by})" if self.by else "")


def rolled_back_marks(releases) -> dict[int, list[RolledBack]]:
    """Per release id, the environments each was rolled back from and not promoted
    again with success since: three queries, whatever the number of releases."""
    ids = {release.pk for release in releases}
    if not ids:
        return {}
    marks: dict[tuple[int, int], RolledBack] = {}
    for mark in [*_automatic_rollbacks(ids), *_manual_rollbacks(ids)]:
        key = (mark.release_id, mark.environment.pk)
        if key not in marks or marks[key].at < mark.at:
            marks[key] = mark
    again = _last_successes(ids)
    found: dict[int, list[RolledBack]] = {}
    for (release_id, environment_id), mark in marks.items():
        succeeded = again.get((release_id, environment_id))
        if succeeded is None or succeeded < mark.at:
            found.setdefault(release_id, []).append(mark)
    return found


def _automatic_rollbacks(ids):
    ended = Deployment.objects.filter(
        release_id__in=ids, state=DeploymentState.ROLLED_BACK, finished_at__isnull=False
    ).select_related("environment")
    for d in ended:
        assert d.finished_at is not None  # filtered above
        yield RolledBack(d.release_id, d.environment, d.finished_at, d.reason, "", d.pk)


def _manual_rollbacks(ids):
    rollbacks = Deployment.objects.filter(
        trigger=Trigger.ROLLBACK,
        state=DeploymentState.SUCCEEDED,
        rollback_of__release_id__in=ids,
        finished_at__isnull=False,
    ).select_related("environment", "requested_by", "rollback_of")
    for r in rollbacks:
        undone = r.rollback_of
        assert undone is not None and r.finished_at is not None  # filtered above
        by = r.requested_by.get_username() if r.requested_by else "the system"
        yield RolledBack(
            undone.release_id, r.environment, r.finished_at, undone.reason, by, undone.pk
        )


def _last_successes(ids) -> dict[tuple[int, int], datetime]:
    rows = (
        Deployment.objects.filter(release_id__in=ids, state=DeploymentState.SUCCEEDED)
        .values_list("release_id", "environment_id")
        .annotate(last=Max("finished_at"))
    )
    return {(release_id, environment_id): last for release_id, environment_id, last in rows}


def rolled_back_from(marks: list[RolledBack], environment: Environment) -> RolledBack | None:
    return next((m for m in marks if m.environment.pk == environment.pk), None)


def repromotion_unconfirmed(
    release: Release, environment: Environment, mark: RolledBack | None, reason: str
) -> Refusal | None:
    """Promoting a release again where it was rolled back takes a written reason."""
    if mark is None or reason.strip():
        return None
    return Refusal(
        RefusalKind.ROLLED_BACK,
        f"{release.service.name} {release.version} was {mark.text}. Promoting it there "
        "again takes an explicit confirmation with a reason.",
        "Rolled back there: confirm with a reason",
        instead=confirm_url(release, environment),
        instead_label=f"Confirm promoting {release.version} again…",
    )


def promotion_path_refusal(release: Release, environment: Environment) -> str:
    """The promotion path: why `release` may not go to `environment` yet, "" when it may.

    A release reaches an environment only after it succeeded in the one it
    promotes from, and (where that environment's policy says so) after the manual
    post-deployment items of that success were answered.
    """
    source = environment.promotes_from
    if source is None:
        return ""
    success = (
        Deployment.objects.filter(
            release=release, environment=source, state=DeploymentState.SUCCEEDED
        )
        .order_by("-finished_at")
        .first()
    )
    if success is None:
        return (
            f"{release.service.name} {release.version} has not succeeded in {source.name} "
            f"yet; promote it to {source.name} first."
        )
    if source.post_item_policy == PostItemPolicy.BLOCK_PROMOTION:
        open_items = success.checklist.filter(
            phase=ChecklistPhase.POST, state=ChecklistState.PENDING
        ).values_list("text", flat=True)
        if open_items:
            return (
                f"{release.version} succeeded in {source.name}, but its verification is "
                f"open there (#{success.pk}: {', '.join(open_items)})."
            )
    return ""
