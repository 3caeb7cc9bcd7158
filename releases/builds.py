"""Running a release's build: from a git ref to a pushed image pinned by its digest.

`run_build` is the body of the `build_release` task that releases.build_requests
enqueues: claim a build slot, clone, build, push, and end the release `ready` (image
`repo:tag@sha256:…`, size, times) or `failed` (the reason: the failing step's output,
the registry's refusal, a clone error, "Cancelled by …", a timeout). Every transition
is audited and announced on `release:<id>`; the output goes to the release's build log.

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
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import trail
from audit.actions import AuditAction
from audit.models import AuditEvent
from integrations import docker_builds, git_clone
from integrations.docker_builds import BuildFailed, BuildSpec, BuiltImage
from releases.build_log import BuildLogWriter, emit_build_ending, release_changed
from releases.build_secrets import BuildMasker
from releases.models import Release
from releases.states import ReleaseState

log = logging.getLogger(__name__)

BUILD_TASK = "deployments.tasks.build_release"
BUILD_SLOT_LOCK = 0x5649_4255  # "VIBU": the advisory lock id of the build slots
CANCEL_REQUESTED = AuditAction.RELEASE_BUILD_CANCEL_REQUESTED


def run_build(release_id: int) -> None:
    """The build task's body: claim a slot, build, push, and record how it ended."""
    started = _claim(release_id)
    if started is None:
        return
    release = Release.objects.select_related("service").get(pk=release_id)
    masker = BuildMasker.for_service(release.service)
    workdir = Path(tempfile.mkdtemp(prefix=f"release-{release_id}-", dir=_work_root()))
    outcome: dict[str, Any]
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


def sweep_builds(now: datetime | None = None) -> int:
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


def _claim(release_id: int) -> datetime | None:
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


def _finish(
    release: Release,
    started: datetime,
    state: str,
    reason: str = "",
    image: BuiltImage | None = None,
    sha: str = "",
) -> None:
    with transaction.atomic():
        if state == ReleaseState.READY:
            done = _end(release, started, state, image=image, sha=sha)
        else:
            done = _end(release, started, state, reason=reason)
    if not done:
        log.warning("build of release %s ended after it was taken from this worker", release.pk)


def _end(
    release: Release,
    started: datetime | None,
    state: str,
    *,
    reason: str = "",
    image: BuiltImage | None = None,
    sha: str = "",
) -> int:
    """End a building release (fenced by `started`); 1 when this call ended it."""
    now = timezone.now()
    fields: dict = {"state": state, "build_finished_at": now}
    if state == ReleaseState.READY:
        assert image is not None  # a build ends ready only with the image it pushed
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
    if image is not None:  # ended ready (above)
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


def _build(
    release: Release, started: datetime, workdir: Path, masker: BuildMasker
) -> tuple[BuiltImage, str]:
    """Clone, build and push; the BuiltImage and the commit sha. Raises BuildFailed.

    The output goes to the release's log in batches, bounded (BuildLogWriter); all of it
    is stored before this returns, so it precedes the build's ending in the log."""
    with BuildLogWriter(release.pk, mask=masker.mask) as build_log:
        return _clone_build_and_push(release, started, workdir, build_log.write)


def _clone_build_and_push(
    release: Release, started: datetime, workdir: Path, on_line: Callable[[str], None]
) -> tuple[BuiltImage, str]:
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
    sha = git_clone.clone(service.repository, release.git_ref, workdir / "src", on_line)
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


def _work_root() -> Path:
    root = Path(settings.PORTAL_BUILD_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _target(release: Release) -> str:
    return f"release:{release.service.name}:{release.version}"
