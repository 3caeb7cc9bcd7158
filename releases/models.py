"""Releases: one immutable image of a service each, its build output, the failed builds
it replaced, and what CI reported for the commits they were built from.

The tables keep the names they had when these models lived in deployments/.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Service
from releases.states import CIState, ReleaseState

IMAGE_WITH_DIGEST = r"^[a-z0-9][^@\s]*@sha256:[0-9a-f]{64}$"


class Release(models.Model):
    """One immutable image of one service, deployable everywhere by its digest."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=100)
    git_sha = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    image = models.CharField(max_length=500, blank=True, help_text="repo:tag@sha256:…")
    state = models.CharField(
        max_length=10, choices=ReleaseState.choices, default=ReleaseState.BUILDING
    )
    reason = models.TextField(blank=True, help_text="Why the build failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A release built by the portal: from which ref, how long, how big, its output.
    git_ref = models.CharField(
        max_length=200, blank=True, help_text="The branch, tag or commit it was built from."
    )
    build_started_at = models.DateTimeField(null=True, blank=True)
    build_finished_at = models.DateTimeField(null=True, blank=True)
    image_size = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Bytes of the built image."
    )
    build_cancel_requested_at = models.DateTimeField(null=True, blank=True)
    next_log_seq = models.PositiveBigIntegerField(default=1)
    log_bytes = models.PositiveBigIntegerField(
        default=0, help_text="Build output stored so far (capped at PORTAL_LOG_STEP_MAX_BYTES)."
    )
    build_attempt = models.PositiveIntegerField(
        default=1, help_text="Which build of this version this is (a failed build may be redone)."
    )
    build_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When this attempt's build was asked for."
    )

    class Meta:
        db_table = "deployments_release"
        ordering = ["service", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="release_version_unique"),
            models.CheckConstraint(
                condition=~Q(state=ReleaseState.READY) | Q(image__regex=IMAGE_WITH_DIGEST),
                name="ready_release_image_has_digest",
            ),
        ]
        # lane_history.running_release finds the release whose image the portal last wrote.
        indexes = [
            models.Index(fields=["service", "image"], name="release_by_image"),
            models.Index(fields=["service", "created_at"], name="release_newest"),  # its page
        ]

    def __str__(self) -> str:
        return f"{self.service.name} {self.version}"

    @property
    def is_deployable(self) -> bool:
        return self.state == ReleaseState.READY


class BuildLogLine(models.Model):
    """One line of a release's build output; `seq` is gap-free per release."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="build_log")
    seq = models.PositiveBigIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "deployments_buildlogline"
        ordering = ["release", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["release", "seq"], name="build_log_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.release_id}:{self.seq} {self.text[:60]}"


class BuildAttempt(models.Model):
    """A failed build of a release, kept when the same version is built again.

    The release row holds the current attempt; each earlier one is copied here
    when the rebuild is requested, with the span of the build log it wrote.
    """

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="build_attempts")
    number = models.PositiveIntegerField()
    git_ref = models.CharField(max_length=200, blank=True)
    git_sha = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True, help_text="Why it failed.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    first_log_seq = models.PositiveBigIntegerField(null=True, blank=True)
    last_log_seq = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "deployments_buildattempt"
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="build_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.release_id} attempt {self.number} (failed)"


class CIResult(models.Model):
    """One report of CI's test run for a git commit; the newest report for a sha counts.

    Kept as history: a re-run that passes after a failure adds a row."""

    git_sha = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=CIState.choices)
    url = models.URLField(max_length=500, blank=True, help_text="The CI run's page.")
    reported_by = models.CharField(max_length=150, blank=True, help_text="Who or what reported.")
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "deployments_ciresult"
        ordering = ["-reported_at", "-pk"]
        indexes = [models.Index(fields=["git_sha", "-reported_at"], name="ci_result_newest")]

    def __str__(self) -> str:
        return f"{self.git_sha[:12]} {self.state}"
