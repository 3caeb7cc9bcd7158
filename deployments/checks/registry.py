"""The check behind each automatic kind of the catalog (environments/catalog/check_kinds.py).

`FILLED_KINDS` are not run as checks: the engine fills them from the release and the
steps (engine/checklist.py). Every other kind must have a check here; the system
check `deployments.E001` says so at start-up if one is missing.
"""

from collections.abc import Callable

from deployments.checks import (
    CheckResult,
    backup_fresh,
    error_rate,
    memory,
    no_alerts_firing,
    pod_logs_clean,
    secrets_present,
    tests_passed,
    tls_valid,
)

FILLED_KINDS = frozenset({"release_built", "image_pushed", "step"})

CHECKS: dict[str, Callable[..., CheckResult]] = {
    "tests_passed": tests_passed.check,
    "backup_fresh": backup_fresh.check,
    "secrets_present": secrets_present.check,
    "tls_valid": tls_valid.check,
    "pod_logs_clean": pod_logs_clean.check,
    "no_alerts_firing": no_alerts_firing.check,
    "error_rate": error_rate.check,
    "memory": memory.check,
}
