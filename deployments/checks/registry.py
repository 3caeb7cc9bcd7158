"""The check behind each automatic kind of the catalog (environments/catalog/check_kinds.py).

`FILLED_KINDS` are not run as checks: the engine fills them from the release and the
steps (engine/checklist.py). Every other kind must have a check here; the system
check `deployments.E001` says so at start-up if one is missing.
"""

from collections.abc import Callable

from deployments.checks import CheckResult, tests_passed

FILLED_KINDS = frozenset({"release_built", "image_pushed", "step"})

CHECKS: dict[str, Callable[..., CheckResult]] = {
    "tests_passed": tests_passed.check,
}
