"""tests_passed: CI reported the release's git commit passed its tests.

CI reports through the API with a CI token holding ci:report (or an operator runs
`manage.py report_ci SHA --state passed|failed --url URL`). No report yet waits: the
item stays pending, saying what it waits for. The newest report counts; the evidence
names who reported it and, when the commit ran more than once, which run it was and
what the runs before it said ("CI run 2 passed after run 1 failed").
"""

from django.utils import timezone

from deployments.checks import CheckResult, failed, passed, waiting
from deployments.checks.evidence import age, utc
from releases.ci_runs import ci_runs
from releases.models import CIResult
from releases.states import CIState


def check(deployment, params: dict) -> CheckResult:
    release = deployment.release
    sha = release.git_sha
    if not sha:
        return failed(
            f"{release.service.name} {release.version} names no git commit, so no CI result "
            "can be matched; register the release with --git-sha."
        )
    runs = ci_runs(sha)
    if not runs:
        return waiting(
            f"No CI result for commit {sha[:12]} yet (checked {utc(timezone.now())}); it "
            f"passes once CI reports a passing run (POST /api/v1/ci-results with a CI token, "
            f"or `manage.py report_ci {sha[:12]} --state passed --url …`)."
        )
    newest = runs[-1]
    found = f"{which_run(runs)}{reported(newest)}"
    if newest.state == CIState.PASSED:
        return passed(f"{found}.")
    # The gate's reason adds that a lead may waive it (engine/gates.py): not said twice.
    return failed(f"{found}; push a fix and let CI report its run.")


def which_run(runs: list[CIResult]) -> str:
    """How the newest of a commit's runs reads: "CI passed for commit …" when it ran
    once; "CI run 4 passed after run 3 failed: commit …" when the runs just before it
    (since the last run with the newest's state) said otherwise; else "CI run 2 passed"."""
    newest, number = runs[-1], len(runs)
    if number == 1:
        return f"CI {newest.state} for commit {newest.git_sha[:12]}"
    last_alike = number - 1  # the newest earlier run that said what the newest says (0: none)
    while last_alike and runs[last_alike - 1].state != newest.state:
        last_alike -= 1
    headline = f"CI run {number} {newest.state}"
    if last_alike < number - 1:  # runs last_alike + 1 … number - 1 said otherwise
        other = runs[number - 2].state
        headline += f" after {run_numbers(list(range(last_alike + 1, number)))} {other}"
    return f"{headline}: commit {newest.git_sha[:12]}"


def run_numbers(numbers: list[int]) -> str:
    """[3] → "run 3"; [1, 2] → "runs 1 and 2"; [1, 2, 3, 4] → "runs 1 to 4"."""
    if len(numbers) == 1:
        return f"run {numbers[0]}"
    if len(numbers) == 2:
        return f"runs {numbers[0]} and {numbers[1]}"
    return f"runs {numbers[0]} to {numbers[-1]}"


def reported(result: CIResult) -> str:
    """Who reported the result, when, and its link: ", reported by ci-github at
    2026-12-01 02:00:14 UTC, 3 min ago (https://…)"."""
    reporter = result.reported_by or "an unrecorded reporter"
    when = f"{utc(result.reported_at)}, {age(timezone.now() - result.reported_at)} ago"
    link = f" ({result.url})" if result.url else ""
    return f", reported by {reporter} at {when}{link}"
