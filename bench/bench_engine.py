"""Engine overhead with near-instant rollouts (kubesim at speed 40).

1. The engine's own time per step: claim (lane decisions included), record the
   outcome (conclusion included) and enqueue, timed around the functions a worker
   calls, for 100 deployments. Goal: median <= 20 ms.
2. End to end through two real worker processes (threads pool): per deployment,
   (final - requested) - (time the rollout itself ran), which adds the broker's
   transit of each message. Reported, no goal.
3. Worker resident memory after that run. Goal: <= 200 MB.

Run: .venv/bin/python bench/bench_engine.py
"""

import statistics
import tempfile
import time
from pathlib import Path

from engine_harness import catalog, fresh_database, purge_queues, register, resident_mb, workers

DEPLOYMENTS = 100
GOAL_OVERHEAD_MS = 20.0
GOAL_RSS_MB = 200.0


def main() -> None:
    fresh_database()
    from kubesim.testing import VIZORA_CONFIG, KubeSim

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    with KubeSim(VIZORA_CONFIG, speed=40, workdir=workdir / "kubesim") as sim:
        catalog(sim)
        in_process = engine_time_per_step(
            [register(f"8.{n}.0").version for n in range(DEPLOYMENTS)]
        )
        purge_queues()
        versions = [register(f"9.{n}.0").version for n in range(DEPLOYMENTS)]
        with workers(2, workdir, concurrency=4) as processes:
            end_to_end, states = through_workers(versions)
            rss = [resident_mb(p.process.pid) for p in processes]
    report(in_process, end_to_end, states, rss)


def engine_time_per_step(versions: list[str]) -> list[float]:
    from deployments.engine import request_deployment
    from deployments.engine.claims import claim_next_step
    from deployments.engine.outcomes import record_outcome
    from deployments.engine.runner import run_claimed

    times = []
    for version in versions:
        deployment = request_deployment("web", version, "development")
        started = time.perf_counter()
        claim = claim_next_step(deployment.pk, "bench")
        claimed = time.perf_counter()
        outcome = run_claimed(claim)  # the rollout itself: not engine overhead
        ran = time.perf_counter()
        record_outcome(claim.deployment_id, claim.step_id, claim.attempt, outcome)
        times.append((claimed - started + time.perf_counter() - ran) * 1000)
    return times


def through_workers(versions: list[str]) -> tuple[list[float], list[str]]:
    from deployments.engine import request_deployment
    from deployments.models import Deployment

    ids = []
    for version in versions:
        ids.append(request_deployment("web", version, "development").pk)
        wait_final(ids[-1])
    overheads, states = [], []
    for deployment in Deployment.objects.filter(pk__in=ids).prefetch_related("steps"):
        states.append(deployment.state)
        ran = sum(s.duration.total_seconds() for s in deployment.steps.all() if s.duration)
        total = (deployment.finished_at - deployment.created_at).total_seconds()
        overheads.append((total - ran) * 1000)
    return overheads, states


def wait_final(deployment_id: int, timeout: float = 60) -> None:
    from deployments.models import Deployment

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Deployment.objects.get(pk=deployment_id).is_final:
            return
        time.sleep(0.002)
    raise SystemExit(f"deployment {deployment_id} did not end within {timeout}s")


def report(in_process, end_to_end, states, rss) -> None:
    median = statistics.median(in_process)
    verdict = "OK" if median <= GOAL_OVERHEAD_MS else "MISSED"
    print(f"engine time per step (claim + record + enqueue), {len(in_process)} deployments: "
          f"median {median:.1f} ms, p95 {p95(in_process):.1f} ms "
          f"(goal: median <= {GOAL_OVERHEAD_MS:.0f} ms) {verdict}")  # fmt: skip
    print(f"end to end through 2 workers, {states.count('succeeded')}/{len(states)} succeeded: "
          f"overhead median {statistics.median(end_to_end):.1f} ms, p95 {p95(end_to_end):.1f} ms "
          "(includes broker transit)")  # fmt: skip
    verdict = "OK" if max(rss) <= GOAL_RSS_MB else "MISSED"
    print(f"worker resident memory: {', '.join(f'{r:.0f} MB' for r in rss)} "
          f"(goal: <= {GOAL_RSS_MB:.0f} MB each) {verdict}")  # fmt: skip


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


if __name__ == "__main__":
    main()
