"""The post_checks step: the automatic post-deployment checks watch the new release
for the environment's soak window, holding the lane meanwhile.

Every PORTAL_SOAK_INTERVAL_SECONDS (the first time one interval in) each check looks
again (the metric checks look back over the whole window so far); the first failure
ends the step, and the deployment rolls back where the environment says so. A check
without data yet (no scrape since the rollout) waits; still without data at the end,
it fails. After the window each check looks a last time, and its evidence is what
the items keep. Every check looks in every round, so a failure reports all the
checks that failed in that round.
"""

import time

from django.conf import settings

from deployments.checks import failed
from deployments.checks.running import as_record, checked_items, run_check, soak_seconds
from deployments.states import ChecklistState
from deployments.steps import StepContext, StepOutcome
from environments.models import ChecklistPhase


def run(ctx: StepContext) -> StepOutcome:
    items = list(
        checked_items(ctx.deployment, ChecklistPhase.POST).filter(state=ChecklistState.PENDING)
    )
    soak = soak_seconds(ctx.deployment)
    ctx.emit(f"Watching the new release for {_span(soak)}: {', '.join(i.text for i in items)}.")
    ends_at = time.monotonic() + soak
    said: dict[int, tuple[bool, str]] = {}
    while True:
        # The first look comes one interval in: metrics lag the release by a scrape.
        _sleep(ctx, min(settings.PORTAL_SOAK_INTERVAL_SECONDS, ends_at - time.monotonic()))
        last_round = time.monotonic() >= ends_at
        records, failures = [], []
        for item in items:  # every check looks in each round: a lead sees all that failed
            ctx.check()
            result = run_check(ctx.deployment, item)
            if result.waits and last_round:  # no data through the whole window: not a pass
                result = failed(result.evidence)
            _say_if_new(ctx, said, item, result, last_round)
            records.append(as_record(item, result))
            if not result.passed and not result.waits:
                failures.append((item.text, result.evidence))
        if failures:
            return StepOutcome(False, _failure_reason(failures), {"checks": records})
        if last_round:
            return StepOutcome(True, "", {"checks": records})


def _failure_reason(failures: list[tuple[str, str]]) -> str:
    if len(failures) == 1:
        text, evidence = failures[0]
        return f"Post-deployment check failed: {text}: {evidence}"
    names = ", ".join(text for text, _ in failures)
    return (
        f"Post-deployment checks failed: {names}. What each found is on its checklist item "
        "and in the log."
    )


def _say_if_new(ctx: StepContext, said: dict, item, result, last_round: bool) -> None:
    """Log a check's verdict when it is new or changed, and every verdict at the end."""
    verdict = (result.passed, result.evidence)
    if last_round or said.get(item.pk, (None,))[0] != result.passed:
        state = "passed" if result.passed else "FAILED"
        ctx.emit(f"{item.text}: {state}. {result.evidence}")
    said[item.pk] = verdict


def _sleep(ctx: StepContext, seconds: float) -> None:
    until = time.monotonic() + max(0.0, seconds)
    while (left := until - time.monotonic()) > 0:
        ctx.check()
        time.sleep(min(left, 0.5))


def _span(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
