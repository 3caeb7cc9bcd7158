"""The automatic check kinds a checklist item may name, and the params each takes.

The deployment engine implements the checks; the catalog only validates that an
item names a known kind (catalog/kinds.py) and gives it the params it needs. Each
kind's params model says in its docstring what the check does (shown by editors).
"""

from pydantic import Field

from catalog.catalog_file import value_types as vt
from catalog.kinds import FOLLOWABLE_STEP_KINDS
from catalog.kinds import CheckKindName as K


class ReleaseBuilt(vt.Record):
    """The release's image was built."""


class ImagePushed(vt.Record):
    """The release's image is in the registry by digest."""


class TestsPassed(vt.Record):
    """CI reported the release's git commit passed (through the API with a CI token, or
    manage.py report_ci); waits while no report has come."""


class SecretsPresent(vt.Record):
    """The Kubernetes Secret exists in the namespace with every key (names only)."""

    secret: vt.Name
    keys: vt.list_of(vt.String, min_items=1)


class TlsValid(vt.Record):
    """The certificates of the environment's https URLs (or the named ones) verify, match
    their host and stay valid for at least min_days."""

    min_days: vt.integer(minimum=1) = 14
    urls: vt.list_of(vt.Name, min_items=1) | None = None


class BackupFresh(vt.Record):
    """The backup CronJob last succeeded within max_age (default: the environment's rpo)
    and its last Job did not fail."""

    cronjob: vt.Name
    max_age: vt.Duration | None = None


class NoAlertsFiring(vt.Record):
    """No Prometheus alert is firing for the service in the environment (matching every
    label given)."""

    labels: dict[vt.LabelName, vt.String] = Field(default_factory=dict)


class Step(vt.Record):
    """Filled from the result of one of the deployment's steps."""

    step: vt.choice(FOLLOWABLE_STEP_KINDS, "step")


class PodLogsClean(vt.Record):
    """No log line of the new pods matches the pattern (since the rollout, or `since`)."""

    pattern: vt.Regex
    since: vt.Duration | None = None


class ErrorRate(vt.Record):
    """The service's 5xx responses per second (the seed's HighErrorRate expression, rate
    over rate_window) stay at or below max through the soak window."""

    max: vt.Number = 0.05
    rate_window: vt.Duration = "5m"


class Memory(vt.Record):
    """Each container's memory use over its limit (the seed's HighMemoryUsage ratio) stays
    at or below max through the soak window."""

    max: vt.Number = 0.9


# Each kind's params, in the order of the enum (the one list of their names).
CHECK_KINDS: dict[K, type[vt.Record]] = {
    K.RELEASE_BUILT: ReleaseBuilt,
    K.IMAGE_PUSHED: ImagePushed,
    K.TESTS_PASSED: TestsPassed,
    K.SECRETS_PRESENT: SecretsPresent,
    K.TLS_VALID: TlsValid,
    K.BACKUP_FRESH: BackupFresh,
    K.NO_ALERTS_FIRING: NoAlertsFiring,
    K.STEP: Step,
    K.POD_LOGS_CLEAN: PodLogsClean,
    K.ERROR_RATE: ErrorRate,
    K.MEMORY: Memory,
}

# Kinds that watch a new release, so they belong to the post-deployment phase.
POST_ONLY_KINDS = frozenset({K.ERROR_RATE, K.MEMORY, K.POD_LOGS_CLEAN})
