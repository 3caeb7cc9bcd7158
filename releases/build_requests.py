"""Asking for a release's build: recording it, building a failed version again, cancelling it.

`request_build` records a `building` release and enqueues `build_release` (the
`builds` queue) after commit; a version whose build failed is built again as the same
release, its failed attempt kept (`BuildAttempt`). `cancel_build` stops a build: one
still waiting for a slot ends at once, a running one is asked to stop. Running the
build is releases.builds.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from portal.masking import people_text
from portal.refusals import ActionRefused, forbidden
from releases.build_log import emit_build_line, release_changed
from releases.builds import CANCEL_REQUESTED, _end, _target, send_build_after_commit
from releases.models import BuildAttempt, Release
from releases.registration import (
    ReleaseError,
    active_release_service,
    check_git_sha,
    check_version,
    duplicate_message,
)
from releases.states import ReleaseState

GIT_REF_PROBLEMS = ("..", "@{", "//", "\\", "~", "^", ":", "?", "*", "[")


def request_build(
    service_name: str,
    version: str,
    git_ref: str,
    *,
    git_sha: str = "",
    notes: str = "",
    actor: User | None = None,
) -> Release:
    """Record a `building` release of `git_ref` and enqueue its build after commit.

    Raises ReleaseError for an unknown or archived service, one without a repository
    or Dockerfile in the catalog, a malformed version, ref or sha, or a version that
    exists and is building or ready (a version that was ever ready is never reused);
    ActionRefused (forbidden) when `actor` may not build it. A version whose build failed
    is built again: the same release, its failed attempt kept (`BuildAttempt`).
    """
    service = active_release_service(service_name)
    if actor is not None and not roles.can_build(actor, service):
        raise forbidden(f"{actor} may not build releases of {service.name}.")
    check_version(version)
    check_git_sha(git_sha)
    _check_git_ref(git_ref)
    if not service.repository or not service.dockerfile:
        missing = "repository" if not service.repository else "build.dockerfile"
        raise ReleaseError(
            f"{service.name} has no {missing} in the catalog, so the portal cannot build it; "
            "add it to the catalog, or register an image built elsewhere."
        )
    request = BuildRequest(git_ref, git_sha, notes, actor)
    failed = Release.objects.filter(
        service=service, version=version, state=ReleaseState.FAILED
    ).first()
    if failed is not None:
        return _rebuild(failed, request)
    try:
        with transaction.atomic():
            release = Release.objects.create(
                service=service,
                version=version,
                git_ref=git_ref,
                git_sha=git_sha,
                notes=people_text(notes),  # release pages show them to everyone
                state=ReleaseState.BUILDING,
                created_by=_person(actor),
                build_requested_at=timezone.now(),
            )
            trail.record(
                AuditAction.RELEASE_BUILD_REQUESTED,
                actor=actor,
                target=_target(release),
                ref=git_ref,
            )
            release_changed(release.pk)
            send_build_after_commit(release.pk)
    except IntegrityError:
        raise ReleaseError(duplicate_message(service, version, doing="build")) from None
    return release


@dataclass(frozen=True)
class BuildRequest:
    git_ref: str
    git_sha: str
    notes: str
    actor: User | None


def _rebuild(release: Release, request: BuildRequest) -> Release:
    """Build a failed release again under its version: keep the failed attempt, reset the
    release to `building` (claimed atomically from `failed`) and enqueue the build."""
    with transaction.atomic():
        locked = (
            # Only a failed release with no image: a version that was ever ready (it has
            # an image by digest) is never built again, whatever its state says.
            Release.objects.select_for_update()
            .filter(pk=release.pk, state=ReleaseState.FAILED, image="")
            .select_related("service")
            .first()
        )
        if locked is None:  # a racer rebuilt it first: it is building now
            raise ReleaseError(duplicate_message(release.service, release.version, doing="build"))
        earlier = _keep_failed_attempt(locked)
        number = earlier.number + 1
        Release.objects.filter(pk=locked.pk, state=ReleaseState.FAILED).update(
            state=ReleaseState.BUILDING,
            git_ref=request.git_ref,
            git_sha=request.git_sha,
            reason="",
            build_attempt=number,
            build_requested_at=timezone.now(),
            build_started_at=None,
            build_finished_at=None,
            build_cancel_requested_at=None,
            image_size=None,
            log_bytes=0,  # each attempt has the whole cap; the earlier output stays above
            created_by=_person(request.actor),  # who asked for this build (may cancel it)
            **({"notes": people_text(request.notes)} if request.notes else {}),
        )
        trail.record(
            AuditAction.RELEASE_REBUILD_REQUESTED,
            actor=request.actor,
            target=_target(locked),
            ref=request.git_ref,
            attempt=number,
        )
        emit_build_line(
            locked.pk,
            f"Build attempt {number} of {locked} from {request.git_ref} "
            f"(attempt {earlier.number} failed; its output is above)",
        )
        release_changed(locked.pk)
        send_build_after_commit(locked.pk)
    locked.refresh_from_db()
    return locked


def _keep_failed_attempt(release: Release) -> BuildAttempt:
    """Copy the release's failed attempt into its history, with the span of the log it wrote
    (from after the last line of the attempts before it to the last line now)."""
    kept_up_to = release.build_attempts.aggregate(last=Max("last_log_seq"))["last"] or 0
    last = release.next_log_seq - 1
    wrote = last > kept_up_to
    return BuildAttempt.objects.create(
        release=release,
        number=release.build_attempt,
        git_ref=release.git_ref,
        git_sha=release.git_sha,
        reason=release.reason,
        requested_by_id=release.created_by_id,
        requested_at=release.build_requested_at or release.created_at,
        started_at=release.build_started_at,
        finished_at=release.build_finished_at,
        first_log_seq=kept_up_to + 1 if wrote else None,
        last_log_seq=last if wrote else None,
    )


def earlier_attempts_output_end(release_id: int) -> int:
    """The `seq` of the last build log line of the release's earlier (failed) attempts; 0
    when this is its first attempt. Following a rebuild's output starts after it."""
    kept = BuildAttempt.objects.filter(release_id=release_id).aggregate(last=Max("last_log_seq"))
    return kept["last"] or 0


def cancel_build(actor: User | None, release_id: int) -> Release:
    """Stop a release's build; it ends `failed` with "Cancelled by <actor>".

    A build still waiting for a slot ends at once; a running one is asked to stop and
    ends within about PORTAL_BUILD_POLL_SECONDS. Raises ActionRefused when the release
    is not building, or (forbidden) when the actor may not cancel it.
    """
    with transaction.atomic():
        release = Release.objects.select_for_update().select_related("service").get(pk=release_id)
        if actor is not None and not roles.can_cancel_build(actor, release):
            raise forbidden(
                "Only the person who asked for this build, a lead or an admin may cancel it."
            )
        if release.state != ReleaseState.BUILDING:
            state = release.get_state_display().lower()
            raise ActionRefused(f"{release} is {state}, not building: nothing to cancel.")
        if release.build_cancel_requested_at is not None:
            return release  # asked already; the build is stopping
        who = _name(actor)
        now = timezone.now()
        Release.objects.filter(pk=release.pk).update(build_cancel_requested_at=now)
        trail.record(CANCEL_REQUESTED, actor=actor, target=_target(release), by=who)
        if release.build_started_at is None:
            reason = f"Cancelled by {who} before it started."
            _end(release, None, ReleaseState.FAILED, reason=reason)
    release.refresh_from_db()
    return release


# -- small helpers ------------------------------------------------------------------------


def _check_git_ref(ref: str) -> None:
    if (
        not ref
        or len(ref) > 200
        or ref.startswith(("-", "/", "."))
        or ref.endswith(("/", ".", ".lock"))
        or any(ch.isspace() or ord(ch) < 32 for ch in ref)
        or any(problem in ref for problem in GIT_REF_PROBLEMS)
    ):
        raise ReleaseError(
            f"{ref!r} is not a git branch, tag or commit; use e.g. main, v2.1.0 or a commit sha."
        )


def _person(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


def _name(actor: User | None) -> str:
    if actor is None or not actor.is_authenticated:
        return "the system"
    return actor.get_username()
