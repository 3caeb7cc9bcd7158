"""The names the catalog and the deployment engine share: step kinds and check kinds.

A leaf module (it imports nothing of the portal). The catalog validates against these
enums and the engine (deployments) imports them from here, so each name is written
once and neither side keeps a copy of the other's.
"""

from django.db import models


class StepKind(models.TextChoices):
    PRE_CHECKS = "pre_checks", "Pre-deployment checks"
    APPROVAL = "approval", "Approval"
    RECHECK = "recheck", "Pre-deployment checks, again"  # when the lane is claimed
    MIGRATE = "migrate", "Run database migrations"
    ROLLOUT = "rollout", "Roll out"
    SMOKE = "smoke", "Smoke tests"
    POST_CHECKS = "post_checks", "Post-deployment checks"
    ROLLBACK = "rollback", "Roll back"


# The steps a checklist item of kind `step` may follow. `recheck` repeats the
# pre-deployment checks when the lane is claimed: an item follows `pre_checks` instead.
FOLLOWABLE_STEP_KINDS = tuple(kind for kind in StepKind if kind != StepKind.RECHECK)


class CheckKindName(models.TextChoices):
    """The automatic checks a checklist item may name (params: catalog/check_kinds.py)."""

    RELEASE_BUILT = "release_built", "Release built"
    IMAGE_PUSHED = "image_pushed", "Image pushed"
    TESTS_PASSED = "tests_passed", "Tests passed"
    SECRETS_PRESENT = "secrets_present", "Secrets present"
    TLS_VALID = "tls_valid", "TLS valid"
    BACKUP_FRESH = "backup_fresh", "Backup fresh"
    NO_ALERTS_FIRING = "no_alerts_firing", "No alerts firing"
    STEP = "step", "Step result"
    POD_LOGS_CLEAN = "pod_logs_clean", "Pod logs clean"
    ERROR_RATE = "error_rate", "Error rate"
    MEMORY = "memory", "Memory"
