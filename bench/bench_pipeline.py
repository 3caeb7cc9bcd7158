"""A full pipeline (migrate, rollout, smoke) on the demo catalog (examples/vizora.yaml,
service middleware to development): the portal's own time per deployment, i.e.
everything except waiting for the cluster's rollout and the migration Job.
Goal: <= 1 s. Steps run in this process exactly as a worker runs them (advance).

Run: .venv/bin/python bench/bench_pipeline.py
"""

import statistics
import tempfile
import time
from pathlib import Path

from engine_harness import REPO, fresh_database, purge_queues

DEPLOYMENTS = 10
GOAL_SECONDS = 1.0
waited = {"seconds": 0.0}


def timed_wait(function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            waited["seconds"] += time.perf_counter() - started

    return wrapper


def main() -> None:
    fresh_database()
    from catalog.catalog_file import sync_catalog
    from deployments.engine import advance, request_deployment
    from deployments.models import Deployment
    from deployments.steps import migrate
    from integrations.kube.cluster import ClusterClient
    from kubesim.testing import VIZORA_CONFIG, KubeSim

    # Only the waiting is set aside: the cluster rolling out, the Job running.
    ClusterClient.wait_for_rollout = timed_wait(ClusterClient.wait_for_rollout)
    migrate.follow_job = timed_wait(migrate.follow_job)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    with KubeSim(VIZORA_CONFIG, speed=10, workdir=workdir / "kubesim") as sim:
        sync_catalog(REPO / "examples" / "vizora.yaml")
        point_development_at(sim)
        own_times, states = [], []
        for n in range(DEPLOYMENTS):
            version = register_middleware(f"11.{n}.0")
            waited["seconds"] = 0.0
            started = time.perf_counter()
            deployment = request_deployment("middleware", version, "development")
            while not Deployment.objects.get(pk=deployment.pk).is_final:
                advance(deployment.pk, "bench")
            total = time.perf_counter() - started
            own_times.append(total - waited["seconds"])
            states.append(Deployment.objects.get(pk=deployment.pk).state)
        purge_queues()
    report(own_times, states)


def point_development_at(sim) -> None:
    from catalog.models import Cluster, Environment

    Cluster.objects.filter(name="development").update(kubeconfig_path=str(sim.kubeconfig))
    front_door = sim.cluster("development").front_door_url.split("://", 1)[1]
    environment = Environment.objects.get(name="development")
    environment.resolve = {host: front_door for host in environment.resolve}
    environment.save()


def register_middleware(version: str) -> str:
    import hashlib

    from releases.registration import register_release

    digest = "sha256:" + hashlib.sha256(version.encode()).hexdigest()
    image = f"ghcr.io/your-org/vizora-middleware:{version}@{digest}"
    return register_release("middleware", version, image).version


def report(own_times: list[float], states: list[str]) -> None:
    median = statistics.median(own_times)
    verdict = "OK" if median <= GOAL_SECONDS else "MISSED"
    print(f"pipeline (migrate, rollout, smoke) x{len(states)}, "
          f"{states.count('succeeded')} succeeded: portal's own time per deployment "
          f"median {median * 1000:.0f} ms, max {max(own_times) * 1000:.0f} ms "
          f"(goal: <= {GOAL_SECONDS:.0f} s) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
