"""The states of a release's build, and of what CI reported for a commit."""

from django.db import models


class ReleaseState(models.TextChoices):
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class CIState(models.TextChoices):
    """What CI reported for a git commit's tests."""

    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
