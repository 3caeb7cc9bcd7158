"""tests_passed: CI reported the release's git commit passed its tests.

CI reports with `manage.py report_ci SHA --state passed|failed --url URL` (or the
API). No report yet waits: the item stays pending, saying what it waits for.
"""

from django.utils import timezone

from deployments.checks import CheckResult, failed, passed, waiting
from deployments.checks.evidence import age, utc
from deployments.ci_results import newest_result


def check(deployment, params: dict) -> CheckResult:
    release = deployment.release
    sha = release.git_sha
    if not sha:
        return failed(
            f"{release.service.name} {release.version} names no git commit, so no CI result "
            "can be matched; register the release with --git-sha."
        )
    result = newest_result(sha)
    if result is None:
        return waiting(
            f"No CI result for commit {sha[:12]} yet (checked {utc(timezone.now())}); it "
            f"passes once CI runs `manage.py report_ci {sha[:12]} --state passed --url …`."
        )
    link = f" ({result.url})" if result.url else ""
    when = f"{utc(result.reported_at)}, {age(timezone.now() - result.reported_at)} ago"
    found = f"CI reported commit {result.git_sha[:12]} {result.state} at {when}{link}"
    if result.state == "passed":
        return passed(f"{found}.")
    return failed(f"{found}; fix the tests and report a passing run.")
