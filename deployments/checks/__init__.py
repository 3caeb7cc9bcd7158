"""Automatic checklist checks: one module per check kind.

Each check is a plain function `check(deployment, params) -> CheckResult`. It asks
one real component (the cluster API, a TLS handshake, Prometheus, the portal's own
records) and says in `evidence` what it asked, what it found and when. A check that
cannot reach its target fails, saying so; nothing passes by default. A check never
writes: the engine records its result on the checklist item (engine/checks_run.py).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """What a check decided. `waits` means "not decidable yet" (a CI report that has
    not arrived): the item stays pending with the evidence saying what it waits for.
    `unreachable` marks a failure to reach the target at all (the cluster's API was
    away): a soak waits such an outage out instead of rolling back (steps/post_checks).
    `headline` is a failure's cause with its figure in a few words ("Error rate peaked
    at 0.344/s (at most 0.05/s allowed) during the soak"), for the deployment's reason;
    the evidence keeps the whole story for its checklist item."""

    passed: bool
    evidence: str
    waits: bool = False
    unreachable: bool = False
    headline: str = ""


def passed(evidence: str) -> CheckResult:
    return CheckResult(True, evidence)


def failed(evidence: str, headline: str = "") -> CheckResult:
    return CheckResult(False, evidence, headline=headline)


def waiting(evidence: str) -> CheckResult:
    return CheckResult(False, evidence, waits=True)


def unreachable(evidence: str) -> CheckResult:
    return CheckResult(False, evidence, unreachable=True)
