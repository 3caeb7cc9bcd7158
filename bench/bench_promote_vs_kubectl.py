"""The portal against the tool it replaces: the seed's pipeline runs
`kubectl set image` + `kubectl rollout status`. On the same kubesim deployment with
the same rollout timing, alternate that with a portal promotion whose plan is
rollout-only, timed from just before the request is recorded (in this already
running process, calling what `manage.py promote` calls) to the final state
stored by a real worker. Goal: the portal at most 0.5 s slower (median of pairs).

Run: .venv/bin/python bench/bench_promote_vs_kubectl.py
"""

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from engine_harness import catalog, fresh_database, register, workers

PAIRS = 7
GOAL_SECONDS = 0.5
KUBECTL = shutil.which("kubectl")


def main() -> None:
    if not KUBECTL:
        raise SystemExit("kubectl is not installed; this benchmark compares against it")
    fresh_database()
    from kubesim.testing import VIZORA_CONFIG, KubeSim

    workdir = Path(tempfile.mkdtemp(prefix="bench-vs-kubectl-"))
    with KubeSim(VIZORA_CONFIG, speed=4, workdir=workdir / "kubesim") as sim:
        catalog(sim)
        kubectl = [KUBECTL, "--kubeconfig", str(sim.kubeconfig), "--context", "development",
                   "--cache-dir", str(workdir / "kube-cache"), "-n", "vizora-dev"]  # fmt: skip
        with workers(2, workdir, concurrency=4):
            pairs = [run_pair(kubectl, n) for n in range(PAIRS)]
    report(pairs)


def run_pair(kubectl: list[str], n: int) -> tuple[float, float]:
    by_kubectl = timed_kubectl(kubectl, f"ghcr.io/your-org/vizora-web:kubectl-{n}")
    by_portal = timed_portal(register(f"10.{n}.0").version)
    print(f"pair {n + 1}: kubectl {by_kubectl:.2f} s, portal {by_portal:.2f} s")
    return by_kubectl, by_portal


def timed_kubectl(kubectl: list[str], image: str) -> float:
    started = time.perf_counter()
    subprocess.run([*kubectl, "set", "image", "deployment/vizora-web", f"web={image}"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*kubectl, "rollout", "status", "deployment/vizora-web", "--timeout=5m"],
                   check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def timed_portal(version: str) -> float:
    from deployments.engine import request_deployment
    from deployments.models import Deployment

    started = time.perf_counter()
    deployment = request_deployment("web", version, "development")
    while True:
        state = Deployment.objects.values_list("state", flat=True).get(pk=deployment.pk)
        if state not in ("pending", "queued", "running"):
            break
        time.sleep(0.005)
    if state != "succeeded":
        raise SystemExit(f"portal deployment {deployment.pk} ended {state}")
    return time.perf_counter() - started


def report(pairs: list[tuple[float, float]]) -> None:
    kubectl = statistics.median(p[0] for p in pairs)
    portal = statistics.median(p[1] for p in pairs)
    slower = statistics.median(p[1] - p[0] for p in pairs)
    verdict = "OK" if slower <= GOAL_SECONDS else "MISSED"
    print(f"median of {len(pairs)} pairs: kubectl {kubectl:.2f} s, portal {portal:.2f} s "
          f"(ratio {portal / kubectl:.2f}); portal slower by {slower:+.2f} s "
          f"(goal: <= {GOAL_SECONDS} s) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
