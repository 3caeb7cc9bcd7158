"""Read model of the release page: what one release is, how it was built, its build
output, where it runs now and its deployments, and whether this person may cancel
its build (decided by `accounts.roles`).

A fixed number of queries whatever the length of the build log or the history.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from deployments.lane_history import lane_records
from deployments.models import Deployment, Lane
from releases.models import Release
from releases.states import ReleaseState
from web.log_window import build_log_window

# States are shown by word and symbol, never by colour alone (as deployments are).
SYMBOLS = {ReleaseState.BUILDING: "▶", ReleaseState.READY: "✓", ReleaseState.FAILED: "✗"}
DEPLOYMENTS_SHOWN = 50


@dataclass(frozen=True)
class ImageParts:
    """`repo:tag@sha256:…` cut where a reader looks: the name, and the digest."""

    full: str
    name: str  # repo:tag
    digest: str  # sha256:… ("" while building, or for a failed build)


def split_image(image: str) -> ImageParts:
    name, _, digest = image.partition("@")
    return ImageParts(full=image, name=name, digest=digest)


def release_for_page():
    return Release.objects.select_related("service", "created_by")


def release_url(release: Release) -> str:
    return reverse("release-detail", args=[release.service.name, release.version])


def build_duration(release: Release) -> timedelta | None:
    """How long the build ran (so far, while it runs); None when the portal did not build it."""
    if release.build_started_at is None:
        return None
    ended = release.build_finished_at or timezone.now()
    return ended - release.build_started_at


def live_context(release: Release) -> dict:
    """What the `status` partial needs: the same for every viewer, so the live hub
    renders it once for all (a release from `release_for_page`)."""
    return {
        "release": release,
        "symbol": SYMBOLS.get(release.state, ""),
        "building": release.state == ReleaseState.BUILDING,
        "built_here": bool(release.git_ref or release.build_started_at),
        "duration": build_duration(release),
    }


def release_context(release: Release, user, log_before: int | None = None) -> dict:
    """Everything the release page shows: the build log's last lines, or with
    `log_before` the window of lines before that `seq`."""
    log = build_log_window(release, before=log_before)
    building = release.state == ReleaseState.BUILDING
    return live_context(release) | {
        "page_url": settings.PORTAL_BASE_URL.rstrip("/") + release_url(release),
        "image": split_image(release.image),
        "log": log,
        # The stream follows the log's tail; an earlier window is read as it is.
        "live": building and log.is_tail,
        # The rule `build_requests.cancel_build` enforces, so the button is never refused.
        "may_cancel": (
            building
            and release.build_cancel_requested_at is None
            and roles.can_cancel_build(user, release)
        ),
        "runs_in": runs_in(release),
        "deployments": list(
            Deployment.objects.filter(release=release)
            .select_related("environment", "requested_by")
            .order_by("-created_at", "-pk")[:DEPLOYMENTS_SHOWN]
        ),
        "deployments_limit": DEPLOYMENTS_SHOWN,
        "earlier_attempts": list(release.build_attempts.select_related("requested_by")),
        # A failed build does not use up its version: build it again from this page.
        "may_rebuild": (
            release.state == ReleaseState.FAILED
            and not release.image
            and roles.can_build(user, release.service)
        ),
    }


def log_context(release: Release, before: int | None) -> dict:
    """What the `log_lines` partial needs for the window before `before` (one query)."""
    window = build_log_window(release, before=before)
    return {"release": release, "log": window, "lines": window.lines}


def runs_in(release: Release) -> list:
    """The environments where the portal last left this release running, in path order."""
    lanes = list(
        Lane.objects.filter(service_id=release.service_id)
        .select_related("environment")
        .order_by("environment__position", "environment__name")
    )
    records = lane_records(lanes)
    return [lane.environment for lane in lanes if records[lane.pk].running == release]
