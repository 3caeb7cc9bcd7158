"""The check behind each automatic kind of the catalog (catalog/catalog_file/check_kinds.py).

`FILLED_KINDS` are not run as checks: the engine fills them from the release and the
steps (engine/checklist.py). Every other kind must have a check here; the system
check `deployments.E001` says so at start-up if one is missing.
"""

from collections.abc import Callable

from catalog.kinds import CheckKindName as K
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

FILLED_KINDS = frozenset({K.RELEASE_BUILT, K.IMAGE_PUSHED, K.STEP})

CHECKS: dict[str, Callable[..., CheckResult]] = {  # by CheckKindName (a str)
    K.TESTS_PASSED: tests_passed.check,
    K.BACKUP_FRESH: backup_fresh.check,
    K.SECRETS_PRESENT: secrets_present.check,
    K.TLS_VALID: tls_valid.check,
    K.POD_LOGS_CLEAN: pod_logs_clean.check,
    K.NO_ALERTS_FIRING: no_alerts_firing.check,
    K.ERROR_RATE: error_rate.check,
    K.MEMORY: memory.check,
}
