"""Releases built by the portal: from a git ref to a pushed image pinned by its digest.

`request_build` records a `building` release and enqueues `build_release` (the
`builds` queue) after commit; `run_build` is that task's body: claim a build slot,
clone, build, push, and end the release `ready` (image `repo:tag@sha256:…`, size,
times) or `failed` (the reason: the failing step's output, the registry's refusal,
a clone error, "Cancelled by …", a timeout). Every transition is audited and
announced on `release:<id>`; the output goes to the release's build log.

Concurrency: at most PORTAL_BUILD_CONCURRENCY builds run at once, however many
workers consume the queue: a build claims its slot under one database lock (an
advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions serialize writers
anyway). A build that finds no free slot stays waiting; every build that ends, and
the beat sweeper, send the oldest waiting ones again.

Fencing: `build_started_at` is the claim's token. Every later write of the build is
`filter(pk=…, state=building, build_started_at=mine)`, so a build that the sweeper
gave up on (its worker looked lost) can never overwrite what was decided since.
"""

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from audit.models import AuditEvent
from integrations import docker_builds
from integrations.docker_builds import BuildFailed, BuildSpec, BuiltImage
from portal.masking import people_text
from portal.refusals import ActionRefused, forbidden
from releases.build_log import BuildLogWriter, emit_build_ending, emit_build_line, release_changed
from releases.build_secrets import BuildMasker
from releases.models import BuildAttempt, Release
from releases.registration import (
    ReleaseError,
    active_release_service,
    check_git_sha,
    check_version,
    duplicate_message,
)
from releases.states import ReleaseState

log = logging.getLogger(__name__)

BUILD_TASK = "deployments.tasks.build_release"
BUILD_SLOT_LOCK = 0x5649_4255  # "VIBU": the advisory lock id of the build slots
GIT_REF_PROBLEMS = ("..", "@{", "//", "\\", "~", "^", ":", "?", "*", "[")
CANCEL_REQUESTED = AuditAction.RELEASE_BUILD_CANCEL_REQUESTED


def request_build(
    service_name: str,
    version: str,
    git_ref: str,
    *,
    git_sha: str = "",
    notes: str = "",
    actor=None,
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
    actor: object


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


def cancel_build(actor, release_id: int) -> Release:
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


def run_build(release_id: int) -> None:
    """The build task's body: claim a slot, build, push, and record how it ended."""
    started = _claim(release_id)
    if started is None:
        return
    release = Release.objects.select_related("service").get(pk=release_id)
    masker = BuildMasker.for_service(release.service)
    workdir = Path(tempfile.mkdtemp(prefix=f"release-{release_id}-", dir=_work_root()))
    try:
        image, sha = _build(release, started, workdir, masker)
    except BuildFailed as failure:
        outcome = {"state": ReleaseState.FAILED, "reason": masker.mask(str(failure))}
    except Exception as error:  # a bug or an outage must not leave the release building
        log.exception("the build of release %s crashed", release_id)
        reason = f"The build crashed ({type(error).__name__}: {error}); see the worker's log."
        outcome = {"state": ReleaseState.FAILED, "reason": masker.mask(reason)}
    else:
        outcome = {"state": ReleaseState.READY, "image": image, "sha": sha}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _finish(release, started, **outcome)
    send_waiting_builds()


def sweep_builds(now=None) -> int:
    """The beat's part for builds: fail builds whose worker was lost, resend waiting ones.

    A build running longer than its timeout plus a lease (its worker would have stopped it)
    or not stopping a lease after it was cancelled lost its worker: it ends failed.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.PORTAL_LEASE_TTL_SECONDS)
    running = Release.objects.filter(state=ReleaseState.BUILDING, build_started_at__isnull=False)
    lost = running.filter(
        build_started_at__lt=now - timedelta(seconds=settings.PORTAL_BUILD_TIMEOUT_SECONDS) - lease
    ) | running.filter(build_cancel_requested_at__lt=now - lease)
    count = 0
    for release in lost.select_related("service"):
        reason = (
            f"The build's worker was lost: no result within the build timeout of "
            f"{settings.PORTAL_BUILD_TIMEOUT_SECONDS}s (or a lease after it was cancelled); "
            "build it again (a failed build does not use up its version)."
        )
        with transaction.atomic():
            count += _end(release, release.build_started_at, ReleaseState.FAILED, reason=reason)
    send_waiting_builds()
    return count


# -- claiming a slot and ending ---------------------------------------------------------


def _claim(release_id: int):
    """Take a build slot for the release; its start time (the fencing token), or None when
    it is not waiting (taken, ended, cancelled) or every slot is busy."""
    with transaction.atomic():
        _lock_build_slots()
        busy = Release.objects.filter(
            state=ReleaseState.BUILDING, build_started_at__isnull=False
        ).count()
        if busy >= settings.PORTAL_BUILD_CONCURRENCY:
            return None
        now = timezone.now()
        taken = Release.objects.filter(
            pk=release_id,
            state=ReleaseState.BUILDING,
            build_started_at__isnull=True,
            build_cancel_requested_at__isnull=True,
        ).update(build_started_at=now)
        if not taken:
            return None
        release = Release.objects.select_related("service").get(pk=release_id)
        trail.record(
            AuditAction.RELEASE_BUILD_STARTED, target=_target(release), ref=release.git_ref
        )
        release_changed(release_id)
    return now


def _lock_build_slots() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_SLOT_LOCK])


def _finish(release: Release, started, state, reason: str = "", image=None, sha: str = ""):
    with transaction.atomic():
        if state == ReleaseState.READY:
            done = _end(release, started, state, image=image, sha=sha)
        else:
            done = _end(release, started, state, reason=reason)
    if not done:
        log.warning("build of release %s ended after it was taken from this worker", release.pk)


def _end(release: Release, started, state, *, reason="", image: BuiltImage | None = None, sha=""):
    """End a building release (fenced by `started`); 1 when this call ended it."""
    now = timezone.now()
    fields: dict = {"state": state, "build_finished_at": now}
    if state == ReleaseState.READY:
        fields.update(image=image.reference, image_size=image.size)
        if sha and not release.git_sha:
            fields["git_sha"] = sha
    else:
        fields["reason"] = reason
    ended = Release.objects.filter(
        pk=release.pk, state=ReleaseState.BUILDING, build_started_at=started
    ).update(**fields)
    if not ended:
        return 0
    if state == ReleaseState.READY:
        trail.record(
            AuditAction.RELEASE_BUILT,
            target=_target(release),
            image=image.reference,
            size=image.size,
        )
        message = f"Built and pushed {image.reference} ({image.size} bytes)"
    else:
        trail.record(AuditAction.RELEASE_BUILD_FAILED, target=_target(release), reason=reason)
        message = f"Build failed: {reason}"
    # In the ending's own transaction: a page that sees the build end has its last line.
    emit_build_ending(release.pk, message)
    release_changed(release.pk)
    return 1


# -- the build itself -----------------------------------------------------------------


def _build(release: Release, started, workdir: Path, masker: BuildMasker):
    """Clone, build and push; the BuiltImage and the commit sha. Raises BuildFailed.

    The output goes to the release's log in batches, bounded (BuildLogWriter); all of it
    is stored before this returns, so it precedes the build's ending in the log."""
    with BuildLogWriter(release.pk, mask=masker.mask) as build_log:
        return _clone_build_and_push(release, started, workdir, build_log.write)


def _clone_build_and_push(release: Release, started, workdir: Path, on_line):
    deadline = time.monotonic() + settings.PORTAL_BUILD_TIMEOUT_SECONDS

    def should_stop() -> str | None:
        if time.monotonic() > deadline:
            limit = settings.PORTAL_BUILD_TIMEOUT_SECONDS
            return f"Timed out after {limit}s (PORTAL_BUILD_TIMEOUT_SECONDS)."
        if Release.objects.filter(pk=release.pk, build_cancel_requested_at__isnull=False).exists():
            return f"Cancelled by {_canceller(release)}."
        mine = Release.objects.filter(
            pk=release.pk, state=ReleaseState.BUILDING, build_started_at=started
        )
        if not mine.exists():
            return "Stopped: this build was ended elsewhere."
        return None

    service = release.service
    attempt = f" (attempt {release.build_attempt})" if release.build_attempt > 1 else ""
    on_line(f"Building {service.name} {release.version} from {release.git_ref}{attempt}")
    sha = docker_builds.clone(service.repository, release.git_ref, workdir / "src", on_line)
    if reason := should_stop():
        raise docker_builds.BuildStopped(reason)
    spec = BuildSpec(
        checkout=workdir / "src",
        dockerfile=service.dockerfile,
        context=service.build_context,
        build_args=service.build_args,
        repository=service.image_repository,
        tag=_image_tag(release.version),
    )
    return docker_builds.build_and_push(spec, on_line, should_stop), sha


def _image_tag(version: str) -> str:
    return version.replace("+", "_")  # image tags cannot hold `+`


def _canceller(release: Release) -> str:
    event = (
        AuditEvent.objects.filter(action=CANCEL_REQUESTED, target=_target(release))
        .order_by("-pk")
        .first()
    )
    return event.detail.get("by", "someone") if event else "someone"


# -- sending the task -------------------------------------------------------------------


def send_build_after_commit(release_id: int) -> None:
    transaction.on_commit(lambda: send_build(release_id))


def send_build(release_id: int) -> None:
    """Send the build task; a broker outage loses it, and the sweeper sends it again."""
    try:
        current_app.send_task(BUILD_TASK, args=(release_id,))
    except Exception:
        log.exception("could not send the build of release %s; the sweeper will", release_id)


def send_waiting_builds() -> None:
    """Send the oldest waiting builds again, as many as there are free slots."""
    busy = Release.objects.filter(state=ReleaseState.BUILDING, build_started_at__isnull=False)
    free = settings.PORTAL_BUILD_CONCURRENCY - busy.count()
    if free <= 0:
        return
    waiting = Release.objects.filter(
        state=ReleaseState.BUILDING, build_started_at__isnull=True
    ).order_by("created_at", "pk")
    for release_id in waiting.values_list("pk", flat=True)[:free]:
        send_build(release_id)


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


def _work_root() -> Path:
    root = Path(settings.PORTAL_BUILD_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _target(release: Release) -> str:
    return f"release:{release.service.name}:{release.version}"


def _person(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _name(actor) -> str:
    if actor is None or not actor.is_authenticated:
        return "the system"
    return actor.get_username()
