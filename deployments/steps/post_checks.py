"""The post_checks step: the automatic post-deployment checks watch the new release
for the environment's soak window, holding the lane meanwhile.

Every PORTAL_SOAK_INTERVAL_SECONDS (the first time one interval in) each check looks
again (the metric checks look back over the whole window so far); the first failure
ends the step, and the deployment rolls back where the environment says so. A check
without data yet (no scrape since the rollout) waits; still without data at the end,
it fails. After the window each check looks a last time, and its evidence is what
the items keep. Every check looks in every round, so a failure reports all the
checks that failed in that round. A round in which a check could not reach the
cluster at all is waited out, as a rollout waits out an outage of the API: the soak
looks again each PORTAL_LOOK_SECONDS until the API answers (the outage does not count
against the window) or the outage lasts PORTAL_CLUSTER_RETRY_SECONDS, which fails.
"""

from django.conf import settings

from catalog.models import ChecklistPhase
from deployments.checks import failed
from deployments.checks.running import as_record, checked_items, run_check, soak_seconds
from deployments.states import ChecklistState
from deployments.steps import StepContext, StepOutcome, Wait
from deployments.steps.looks import OUTAGE_BEGAN, now

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
    away_for = now() - progress.get(OUTAGE_BEGAN, now())  # an open outage extends the window
    last_round = now() >= progress[BEGAN] + away_for + soak
    said = dict(progress.get(SAID, {}))
    records, failures, away = _round(ctx, items, said, last_round)
    if failures:
        return StepOutcome(False, _failure_reason(failures), {"checks": records})
    if away:
        return _outage(ctx, {**progress, SAID: said}, away, records)
    progress = _reachable(ctx, progress)
    if last_round:
        return StepOutcome(True, "", {"checks": records})
    return _wait(progress[BEGAN] + soak - now(), {**progress, SAID: said})


def _round(ctx: StepContext, items, said: dict, last_round: bool):
    """Every check looks once: their records, the failures (text, cause), and the
    evidence of the checks that could not reach the cluster."""
    records, failures, away = [], [], []
    for item in items:  # every check looks in each round: a lead sees all that failed
        ctx.check()
        result = run_check(ctx.deployment, item)
        if result.waits and last_round:  # no data through the whole window: not a pass
            result = failed(result.evidence)
        _say_if_new(ctx, said, item, result, last_round)
        records.append(as_record(item, result))
        if result.unreachable:
            away.append(result.evidence)
        elif not result.passed and not result.waits:
            failures.append((item.text, result.headline or _whole(item.text, result.evidence)))
    return records, failures, away


def _outage(ctx: StepContext, progress: dict, away: list[str], records) -> StepOutcome | Wait:
    """A check could not reach the cluster: look again soon, until the outage has
    lasted the cluster retry window."""
    window = float(settings.PORTAL_CLUSTER_RETRY_SECONDS)
    began = progress.get(OUTAGE_BEGAN)
    if began is None:
        began = now()
        ctx.emit(f"{away[0]} The soak waits for the cluster for up to {window:.0f} s.")
    if now() - began >= window:
        return StepOutcome(False, f"Post-deployment checks: {away[0]}", {"checks": records})
    return Wait(float(settings.PORTAL_LOOK_SECONDS), {**progress, OUTAGE_BEGAN: began})


def _reachable(ctx: StepContext, progress: dict) -> dict:
    """Close an outage the checks waited out: the soak window moves on by its length."""
    began = progress.get(OUTAGE_BEGAN)
    if began is None:
        return progress
    lasted = now() - began
    ctx.emit(f"The cluster answers again after {lasted:.0f} s; the soak goes on.")
    rest = {k: v for k, v in progress.items() if k != OUTAGE_BEGAN}
    return {**rest, BEGAN: progress[BEGAN] + lasted}


def _wait(left: float, progress: dict) -> Wait:
    """Until the next round: one interval, or the end of the window if sooner."""
    return Wait(max(0.0, min(float(settings.PORTAL_SOAK_INTERVAL_SECONDS), left)), progress)


def _whole(text: str, evidence: str) -> str:
    return f"Post-deployment check failed: {text}: {evidence}"


def _failure_reason(failures: list[tuple[str, str]]) -> str:
    """The first failure's cause with its figure; the others named after it."""
    _, cause = failures[0]
    cause = cause.rstrip(".")
    if len(failures) == 1:
        return f"{cause}."
    others = ", ".join(text for text, _ in failures[1:])
    return f"{cause}; also failed: {others} (what each found is on its checklist item)."


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
