"""The automatic check kinds a checklist item may name, and the params each takes.

The deployment engine implements the checks; the catalog only validates that an
item names a known kind (catalog/kinds.py) and gives it the params it needs.
"""

from dataclasses import dataclass

from pydantic import Field

from api.scopes import Scope
from catalog.catalog_file.value_types import (
    Duration,
    LabelName,
    Name,
    Number,
    Record,
    Regex,
    String,
    choice,
    integer,
    list_of,
)
from catalog.kinds import FOLLOWABLE_STEP_KINDS
from catalog.kinds import CheckKindName as K


class NoParams(Record):
    pass


class SecretsPresentParams(Record):
    secret: Name
    keys: list_of(String, min_items=1)


class TlsValidParams(Record):
    min_days: integer(minimum=1) = 14
    urls: list_of(Name, min_items=1) | None = None
    """Names of the environment's `urls` (default: every https one)."""


class BackupFreshParams(Record):
    cronjob: Name
    max_age: Duration | None = None
    """Default: the environment's rpo."""


class NoAlertsFiringParams(Record):
    labels: dict[LabelName, String] = Field(default_factory=dict)


class StepParams(Record):
    step: choice(FOLLOWABLE_STEP_KINDS, "step")


class PodLogsCleanParams(Record):
    pattern: Regex
    since: Duration | None = None


class ErrorRateParams(Record):
    max: Number = 0.05
    rate_window: Duration = "5m"


class MemoryParams(Record):
    max: Number = 0.9


@dataclass(frozen=True)
class CheckKind:
    name: K
    summary: str
    params: type[Record]


CHECK_KINDS: dict[K, CheckKind] = {
    kind.name: kind
    for kind in (
        CheckKind(K.RELEASE_BUILT, "The release's image was built.", NoParams),
        CheckKind(K.IMAGE_PUSHED, "The release's image is in the registry by digest.", NoParams),
        CheckKind(
            K.TESTS_PASSED,
            f"CI reported the release's git commit passed (a CI token with {Scope.CI_REPORT}, or "
            "manage.py report_ci); waits while no report has come.",
            NoParams,
        ),
        CheckKind(
            K.SECRETS_PRESENT,
            "The Kubernetes Secret exists in the namespace with every key (names only).",
            SecretsPresentParams,
        ),
        CheckKind(
            K.TLS_VALID,
            "The certificates of the environment's https URLs (or the named ones) verify, "
            "match their host and stay valid for at least min_days.",
            TlsValidParams,
        ),
        CheckKind(
            K.BACKUP_FRESH,
            "The backup CronJob last succeeded within max_age (default: the environment's "
            "rpo) and its last Job did not fail.",
            BackupFreshParams,
        ),
        CheckKind(
            K.NO_ALERTS_FIRING,
            "No Prometheus alert is firing for the service in the environment "
            "(matching every label given).",
            NoAlertsFiringParams,
        ),
        CheckKind(K.STEP, "Filled from the result of one of the deployment's steps.", StepParams),
        CheckKind(
            K.POD_LOGS_CLEAN,
            "No log line of the new pods matches the pattern (since the rollout, or `since`).",
            PodLogsCleanParams,
        ),
        CheckKind(
            K.ERROR_RATE,
            "The service's 5xx responses per second (the seed's HighErrorRate expression, "
            "rate over rate_window) stay at or below max through the soak window.",
            ErrorRateParams,
        ),
        CheckKind(
            K.MEMORY,
            "Each container's memory use over its limit (the seed's HighMemoryUsage ratio) "
            "stays at or below max through the soak window.",
            MemoryParams,
        ),
    )
}

# Kinds that watch a new release, so they belong to the post-deployment phase.
POST_ONLY_KINDS = frozenset({K.ERROR_RATE, K.MEMORY, K.POD_LOGS_CLEAN})
