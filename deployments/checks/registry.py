"""The check kinds the catalog may name, each with the function that decides it."""

from collections.abc import Callable

from deployments.checks import CheckResult, error_rate, memory, no_alerts_firing

CHECKS: dict[str, Callable[..., CheckResult]] = {
    "error_rate": error_rate.check,
    "memory": memory.check,
    "no_alerts_firing": no_alerts_firing.check,
}
