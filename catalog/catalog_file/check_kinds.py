"""The automatic check kinds a checklist item may name, and the params each takes.

The deployment engine implements the checks; the catalog only validates that an
item names a known kind and gives it the params it needs.
"""

from dataclasses import dataclass

from accounts.scopes import Scope
from catalog.catalog_file.value_types import (
    DURATION,
    NAME,
    NUMBER,
    REGEX,
    STRING,
    Choice,
    Field,
    Integer,
    ListOf,
    MapOf,
    Record,
    Text,
)
from catalog.catalog_file.values import label_name_problem
from catalog.kinds import FOLLOWABLE_STEP_KINDS
from catalog.kinds import CheckKindName as K


@dataclass(frozen=True)
class CheckKind:
    name: K
    summary: str
    params: Record


NO_PARAMS = Record({})
LABEL_NAME = Text("a Prometheus label name", label_name_problem, max_length=100)

CHECK_KINDS: dict[K, CheckKind] = {
    kind.name: kind
    for kind in (
        CheckKind(K.RELEASE_BUILT, "The release's image was built.", NO_PARAMS),
        CheckKind(K.IMAGE_PUSHED, "The release's image is in the registry by digest.", NO_PARAMS),
        CheckKind(
            K.TESTS_PASSED,
            f"CI reported the release's git commit passed (a CI token with {Scope.CI_REPORT}, or "
            "manage.py report_ci); waits while no report has come.",
            NO_PARAMS,
        ),
        CheckKind(
            K.SECRETS_PRESENT,
            "The Kubernetes Secret exists in the namespace with every key (names only).",
            Record(
                {
                    "secret": Field(NAME, required=True),
                    "keys": Field(ListOf(STRING, min_items=1), required=True),
                }
            ),
        ),
        CheckKind(
            K.TLS_VALID,
            "The certificates of the environment's https URLs (or the named ones) verify, "
            "match their host and stay valid for at least min_days.",
            Record(
                {
                    "min_days": Field(Integer(minimum=1), default=14),
                    "urls": Field(ListOf(NAME, min_items=1)),
                }
            ),
        ),
        CheckKind(
            K.BACKUP_FRESH,
            "The backup CronJob last succeeded within max_age (default: the environment's "
            "rpo) and its last Job did not fail.",
            Record({"cronjob": Field(NAME, required=True), "max_age": Field(DURATION)}),
        ),
        CheckKind(
            K.NO_ALERTS_FIRING,
            "No Prometheus alert is firing for the service in the environment "
            "(matching every label given).",
            Record({"labels": Field(MapOf(LABEL_NAME, STRING), default={})}),
        ),
        CheckKind(
            K.STEP,
            "Filled from the result of one of the deployment's steps.",
            Record({"step": Field(Choice(FOLLOWABLE_STEP_KINDS, "step"), required=True)}),
        ),
        CheckKind(
            K.POD_LOGS_CLEAN,
            "No log line of the new pods matches the pattern (since the rollout, or `since`).",
            Record({"pattern": Field(REGEX, required=True), "since": Field(DURATION)}),
        ),
        CheckKind(
            K.ERROR_RATE,
            "The service's 5xx responses per second (the seed's HighErrorRate expression, "
            "rate over rate_window) stay at or below max through the soak window.",
            Record(
                {
                    "max": Field(NUMBER, default=0.05),
                    "rate_window": Field(DURATION, default="5m"),
                }
            ),
        ),
        CheckKind(
            K.MEMORY,
            "Each container's memory use over its limit (the seed's HighMemoryUsage ratio) "
            "stays at or below max through the soak window.",
            Record({"max": Field(NUMBER, default=0.9)}),
        ),
    )
}

# Kinds that watch a new release, so they belong to the post-deployment phase.
POST_ONLY_KINDS = frozenset({K.ERROR_RATE, K.MEMORY, K.POD_LOGS_CLEAN})
