"""Django system checks: every automatic check kind the catalog accepts has a check."""

from django.core import checks

from deployments.checks.registry import CHECKS, FILLED_KINDS
from environments.catalog.check_kinds import CHECK_KINDS


@checks.register()
def every_check_kind_has_a_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    missing = sorted(set(CHECK_KINDS) - set(CHECKS) - FILLED_KINDS)
    unknown = sorted(set(CHECKS) - set(CHECK_KINDS))
    problems = [
        checks.Error(
            f"The catalog accepts check kind {kind!r} but deployments/checks/ has no check "
            "for it, so its items could never be answered.",
            hint="Add a module to deployments/checks/ and list it in registry.CHECKS.",
            id="deployments.E001",
        )
        for kind in missing
    ]
    problems += [
        checks.Error(
            f"deployments/checks/registry.py lists {kind!r}, which the catalog does not accept.",
            hint="Add it to environments/catalog/check_kinds.py or drop it from the registry.",
            id="deployments.E002",
        )
        for kind in unknown
    ]
    return problems
