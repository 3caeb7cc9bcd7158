"""Engine overhead: 100 deployments with near-instant rollouts through two worker
processes. Goal: median overhead per step (claim, record, enqueue) <= 20 ms; worker
resident memory after the run <= 200 MB.

Overhead of a deployment = (final - requested) - (time the rollout step itself ran);
it covers the advance messages, claims, lane decisions, outcome writes and the
conclusion. Run: .venv/bin/python bench/bench_engine.py
"""

import statistics
import tempfile
import time
from pathlib import Path

from engine_harness import catalog, fresh_database, register, resident_mb, workers

DEPLOYMENTS = 100
GOAL_OVERHEAD_MS = 20.0
GOAL_RSS_MB = 200.0


def main() -> None:
    fresh_database()
    from deployments.engine import request_deployment
    from deployments.models import Deployment
    from kubesim.testing import VIZORA_CONFIG, KubeSim

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    with KubeSim(VIZORA_CONFIG, speed=200, workdir=workdir / "kubesim") as sim:
        _, service = catalog(sim)
        versions = [f"9.{n}.0" for n in range(DEPLOYMENTS)]
        for version in versions:
            register(version)
        with workers(2, workdir) as processes:
            started = time.monotonic()
            ids = []
            for version in versions:
                ids.append(request_deployment("web", version, "development").pk)
                _wait_final(ids[-1])
            elapsed = time.monotonic() - started
            rss = [resident_mb(p.process.pid) for p in processes]
        overheads, states, before, after = [], [], [], []
        for deployment in Deployment.objects.filter(pk__in=ids).prefetch_related("steps"):
            states.append(deployment.state)
            step_time = sum(
                s.duration.total_seconds() for s in deployment.steps.all() if s.duration
            )
            total = (deployment.finished_at - deployment.created_at).total_seconds()
            overheads.append((total - step_time) * 1000)
            step = deployment.steps.all()[0]
            before.append((step.started_at - deployment.created_at).total_seconds() * 1000)
            after.append((deployment.finished_at - step.finished_at).total_seconds() * 1000)
    _report(overheads, states, elapsed, rss)
    print(
        f"  of which request -> claim: median {statistics.median(before):.1f} ms, "
        f"record -> final: median {statistics.median(after):.1f} ms"
    )


def _wait_final(deployment_id: int, timeout: float = 60) -> None:
    from deployments.models import Deployment

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Deployment.objects.get(pk=deployment_id).is_final:
            return
        time.sleep(0.005)
    raise SystemExit(f"deployment {deployment_id} did not end within {timeout}s")


def _report(overheads, states, elapsed, rss) -> None:
    median = statistics.median(overheads)
    p95 = statistics.quantiles(overheads, n=20)[-1]
    print(f"deployments: {len(states)} ({states.count('succeeded')} succeeded) in {elapsed:.1f}s")
    print(f"engine overhead per step: median {median:.1f} ms, p95 {p95:.1f} ms "
          f"(goal: median <= {GOAL_OVERHEAD_MS:.0f} ms) {'OK' if median <= GOAL_OVERHEAD_MS else 'MISSED'}")  # fmt: skip
    worst = max(rss)
    print(f"worker resident memory: {', '.join(f'{r:.0f} MB' for r in rss)} "
          f"(goal: <= {GOAL_RSS_MB:.0f} MB) {'OK' if worst <= GOAL_RSS_MB else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
