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
    Record,
)

# The engine's step kinds a `step` check follows (mirrors deployments' StepKind,
# which this app must not import).
STEP_KINDS = ("pre_checks", "approval", "migrate", "rollout", "smoke", "post_checks", "rollback")


@dataclass(frozen=True)
class CheckKind:
    name: str
    summary: str
    params: Record


NO_PARAMS = Record({})

CHECK_KINDS: dict[str, CheckKind] = {
    kind.name: kind
    for kind in (
        CheckKind("release_built", "The release's image was built.", NO_PARAMS),
        CheckKind("image_pushed", "The release's image is in the registry by digest.", NO_PARAMS),
        CheckKind("tests_passed", "The release's tests passed.", NO_PARAMS),
        CheckKind(
            "secrets_present",
            "The Kubernetes Secret exists in the namespace with every key.",
            Record(
                {
                    "secret": Field(NAME, required=True),
                    "keys": Field(ListOf(STRING, min_items=1), required=True),
                }
            ),
        ),
        CheckKind(
            "tls_valid",
            "The certificates of the environment's https URLs (or the named ones) "
            "stay valid for at least min_days.",
            Record(
                {
                    "min_days": Field(Integer(minimum=1), required=True),
                    "urls": Field(ListOf(NAME, min_items=1)),
                }
            ),
        ),
        CheckKind(
            "backup_fresh",
            "The backup CronJob last succeeded less than max_age ago.",
            Record(
                {
                    "cronjob": Field(NAME, required=True),
                    "max_age": Field(DURATION, required=True),
                }
            ),
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
            "prometheus_query",
            "The PromQL query's value stays at or below max (over `window`).",
            Record(
                {
                    "query": Field(STRING, required=True),
                    "max": Field(NUMBER, required=True),
                    "window": Field(DURATION),
                }
            ),
        ),
    )
}
