"""The check of each automatic check kind the catalog may name."""

from collections.abc import Callable

from deployments.checks import CheckResult, backup_fresh, pod_logs_clean, secrets_present, tls_valid

CHECKS: dict[str, Callable[..., CheckResult]] = {
    "backup_fresh": backup_fresh.check,
    "secrets_present": secrets_present.check,
    "tls_valid": tls_valid.check,
    "pod_logs_clean": pod_logs_clean.check,
}
