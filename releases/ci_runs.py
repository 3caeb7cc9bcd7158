"""A commit's CI runs as reported: what the "All tests passing" check and the pages read.

A leaf of the domain (models only): `ci_results` records reports and wakes the engine,
and the engine's checks read the runs here, so neither imports the other in a circle.
"""

from releases.models import CIResult


def ci_runs(git_sha: str) -> list[CIResult]:
    """Every report for this commit in the order it came: CI run 1, run 2, … (the last
    one counts). A short sha matches a report of the full one and the other way round."""
    if not git_sha:
        return []
    candidates = CIResult.objects.filter(git_sha__startswith=git_sha[:7]).order_by(
        "reported_at", "pk"
    )
    return [r for r in candidates if r.git_sha.startswith(git_sha) or git_sha.startswith(r.git_sha)]
