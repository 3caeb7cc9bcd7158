"""CI reporting a commit's test result: `manage.py report_ci` and the API call this.

The newest report for a commit counts. Deployments whose release was built from
that commit and wait on "All tests passing" are checked again at once. Every report
names its reporter (the CI identity, or the operator's --reporter); a commit's
reports, oldest first, are its CI runs 1, 2, … (`releases.ci_runs`, which the
"All tests passing" check reads without importing the engine this module wakes).
"""

import re
from urllib.parse import urlsplit

from django.db import transaction

from audit import trail
from audit.actions import AuditAction
from catalog.kinds import CheckKindName
from deployments.engine.checks_run import check_again_soon
from deployments.models import ChecklistItem
from deployments.states import ACTIVE_DEPLOYMENT_STATES, ChecklistState
from releases.models import CIResult
from releases.states import CIState

GIT_SHA = re.compile(r"^[0-9a-fA-F]{7,40}\Z")


class CIReportError(ValueError):
    """A report that cannot be recorded; the message says what to fix."""


def report_ci(git_sha: str, state: str, url: str = "", *, reporter: str) -> CIResult:
    """Record CI's result for a commit, under `reporter`'s name, and wake the
    deployments waiting for it. Who may report is the caller's question (the API asks
    `roles.can_report_ci`; an operator runs `manage.py report_ci` on the server)."""
    _validate(git_sha.strip(), state, url.strip(), reporter.strip())
    git_sha, url, reporter = git_sha.strip().lower(), url.strip(), reporter.strip()
    with transaction.atomic():
        result = CIResult.objects.create(
            git_sha=git_sha, state=state, url=url, reported_by=reporter[:150]
        )
        trail.record(
            AuditAction.CI_REPORTED, target=git_sha, state=state, url=url, reporter=reporter
        )
        waiting = waiting_deployment_ids(git_sha)
    for deployment_id in waiting:
        check_again_soon(deployment_id)
    return result


def waiting_deployment_ids(git_sha: str) -> list[int]:
    """Active deployments with an unanswered tests_passed item for this commit."""
    items = ChecklistItem.objects.filter(
        check_kind=CheckKindName.TESTS_PASSED,
        state=ChecklistState.PENDING,
        deployment__state__in=ACTIVE_DEPLOYMENT_STATES,
        deployment__release__git_sha__startswith=git_sha[:7],
    ).values_list("deployment_id", "deployment__release__git_sha")
    return sorted({pk for pk, sha in items if sha.startswith(git_sha) or git_sha.startswith(sha)})


def _validate(git_sha: str, state: str, url: str, reporter: str) -> None:
    if not reporter:
        raise CIReportError(
            "Say who reports this result: the CI identity (the API records it from the "
            "token), or an operator's name with manage.py report_ci --reporter."
        )
    if not GIT_SHA.match(git_sha):
        raise CIReportError(
            f"{git_sha!r} is not a git commit sha; give 7 to 40 hex digits "
            "(git rev-parse HEAD prints it)."
        )
    if state not in CIState.values:
        raise CIReportError(f"{state!r} is not a CI state; use passed or failed.")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise CIReportError(f"{url!r} is not a link to the CI run; give an http(s) URL.")
