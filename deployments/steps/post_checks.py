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

from django.conf import settings

from deployments.checks import failed
from deployments.checks.running import as_record, checked_items, run_check, soak_seconds
from deployments.states import ChecklistState
from deployments.steps import StepContext, StepOutcome, Wait
from deployments.steps.looks import now
from environments.models import ChecklistPhase

# Progress: when the soak window began (epoch seconds) and each check's last verdict.
BEGAN, SAID = "soak_began", "said"


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One look: the first starts the window and waits one interval (metrics lag the
    release by a scrape); each later one runs one round of every check."""
    items = list(
        checked_items(ctx.deployment, ChecklistPhase.POST).filter(state=ChecklistState.PENDING)
    )
    soak = soak_seconds(ctx.deployment)
    progress = dict(ctx.step.result)
    if BEGAN not in progress:
        ctx.emit(f"Watching the new release for {_span(soak)}: {', '.join(i.text for i in items)}.")
        return _wait(soak, {BEGAN: now(), SAID: {}})
    last_round = now() >= progress[BEGAN] + soak
    said = dict(progress.get(SAID, {}))
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
    return _wait(progress[BEGAN] + soak - now(), {**progress, SAID: said})


def _wait(left: float, progress: dict) -> Wait:
    """Until the next round: one interval, or the end of the window if sooner."""
    return Wait(max(0.0, min(float(settings.PORTAL_SOAK_INTERVAL_SECONDS), left)), progress)


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
    """Log a check's verdict when it is new or changed, and every verdict at the end
    (`said` is kept in the progress by item id, a string in JSON)."""
    if last_round or said.get(str(item.pk)) != result.passed:
        state = "passed" if result.passed else "FAILED"
        ctx.emit(f"{item.text}: {state}. {result.evidence}")
    said[str(item.pk)] = result.passed


def _span(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
