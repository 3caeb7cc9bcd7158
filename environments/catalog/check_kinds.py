"""The automatic check kinds a checklist item may name, and the params each takes.

The deployment engine implements the checks; the catalog only validates that an
item names a known kind and gives it the params it needs.
"""

from dataclasses import dataclass

from environments.catalog.value_types import (
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
from environments.catalog.values import label_name_problem

# The engine's step kinds a `step` check follows (mirrors deployments' StepKind,
# which this app must not import).
STEP_KINDS = ("pre_checks", "approval", "migrate", "rollout", "smoke", "post_checks", "rollback")


@dataclass(frozen=True)
class CheckKind:
    name: str
    summary: str
    params: Record


NO_PARAMS = Record({})
LABEL_NAME = Text("a Prometheus label name", label_name_problem, max_length=100)

CHECK_KINDS: dict[str, CheckKind] = {
    kind.name: kind
    for kind in (
        CheckKind("release_built", "The release's image was built.", NO_PARAMS),
        CheckKind("image_pushed", "The release's image is in the registry by digest.", NO_PARAMS),
        CheckKind(
            "tests_passed",
            "CI reported the release's git commit passed (a CI token with ci:report, or "
            "manage.py report_ci); waits while no report has come.",
            NO_PARAMS,
        ),
        CheckKind(
            "secrets_present",
            "The Kubernetes Secret exists in the namespace with every key (names only).",
            Record(
                {
                    "secret": Field(NAME, required=True),
                    "keys": Field(ListOf(STRING, min_items=1), required=True),
                }
            ),
        ),
        CheckKind(
            "tls_valid",
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
            "backup_fresh",
            "The backup CronJob last succeeded within max_age (default: the environment's "
            "rpo) and its last Job did not fail.",
            Record({"cronjob": Field(NAME, required=True), "max_age": Field(DURATION)}),
        ),
        CheckKind(
            "no_alerts_firing",
            "No Prometheus alert is firing for the service in the environment "
            "(matching every label given).",
            Record({"labels": Field(MapOf(LABEL_NAME, STRING), default={})}),
        ),
        CheckKind(
            "step",
            "Filled from the result of one of the deployment's steps.",
            Record({"step": Field(Choice(STEP_KINDS, "step"), required=True)}),
        ),
        CheckKind(
            "pod_logs_clean",
            "No log line of the new pods matches the pattern (since the rollout, or `since`).",
            Record({"pattern": Field(REGEX, required=True), "since": Field(DURATION)}),
        ),
        CheckKind(
            "error_rate",
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
            "memory",
            "Each container's memory use over its limit (the seed's HighMemoryUsage ratio) "
            "stays at or below max through the soak window.",
            Record({"max": Field(NUMBER, default=0.9)}),
        ),
    )
}

# Kinds that watch a new release, so they belong to the post-deployment phase.
POST_ONLY_KINDS = frozenset({"error_rate", "memory", "pod_logs_clean"})
