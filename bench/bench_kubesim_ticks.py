"""What one tick of kubesim's controllers costs with many workloads (issue 21).

bench_concurrency.py runs 200 Deployments of 4 pods on one kubesim cluster at speed
10, where a tick is due every 20 ms of wall time; a tick that costs more makes the
cluster's clock run slow. This drives the same cluster in-process, tick by tick, and
prints the CPU milliseconds a tick takes: idle, then through a rollout of every
workload to a `-slow` image (one pod at a time), against that 20 ms.

Run: .venv/bin/python bench/bench_kubesim_ticks.py   (BENCH_N, default 200)
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubesim.cluster import Cluster  # noqa: E402
from kubesim.config import parse_config  # noqa: E402
from kubesim.resources import lookup  # noqa: E402
from kubesim.timing import Timing  # noqa: E402

DEPLOYMENTS = lookup("apps", "deployments")
SPEED, REPLICAS, NAMESPACE = 10, 4, "bench"


def workload(name: str) -> dict:
    container = {
        "name": "app", "image": f"ghcr.io/your-org/{name}:1.0.0",
        "ports": [{"containerPort": 3000}],
        "readinessProbe": {"httpGet": {"path": "/health/ready", "port": 3000},
                           "initialDelaySeconds": 10, "periodSeconds": 5},
    }  # fmt: skip
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": REPLICAS, "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container]}},
        },
    }  # fmt: skip


def tick_cpu_ms(cluster: Cluster) -> float:
    began = time.process_time()
    cluster.controller.tick()
    return (time.process_time() - began) * 1000


def rolled_out(cluster: Cluster) -> bool:
    for deployment in cluster.store.list(DEPLOYMENTS, NAMESPACE):
        status = deployment.get("status", {})
        if any(status.get(k) != REPLICAS for k in ("updatedReplicas", "availableReplicas")):
            return False
        if status.get("replicas") != REPLICAS:
            return False
    return True


def roll_out(cluster: Cluster, names: list[str]) -> list[float]:
    for name in names:
        image = f"ghcr.io/your-org/{name}:2.0.0-slow"
        body = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
        cluster.objects.patch(
            DEPLOYMENTS, NAMESPACE, name, "application/strategic-merge-patch+json",
            json.dumps(body).encode(),
        )  # fmt: skip
    costs = [tick_cpu_ms(cluster)]
    while not rolled_out(cluster) and len(costs) < 20_000:
        costs.append(tick_cpu_ms(cluster))
    return costs


def main() -> None:
    count = int(os.environ.get("BENCH_N", "200"))
    names = [f"svc-{index:03d}" for index in range(count)]
    config = parse_config({"clusters": [{"name": "bench", "namespace": NAMESPACE,
                                         "objects": [workload(n) for n in names]}]})  # fmt: skip
    timing = Timing(speed=SPEED)
    cluster = Cluster(config.clusters[0], timing)
    cluster.load()
    idle = [tick_cpu_ms(cluster) for _ in range(50)]
    rollout = roll_out(cluster, names)
    budget = timing.tick_wall_seconds * 1000
    print(f"# {count} Deployments of {REPLICAS} pods at speed {SPEED:g}: a tick every "
          f"{budget:.0f} ms of wall time; CPU ms per tick")  # fmt: skip
    print(f"idle            mean {statistics.mean(idle):6.2f}   max {max(idle):7.2f}")
    print(f"rolling out     mean {statistics.mean(rollout):6.2f}   max {max(rollout):7.2f}   "
          f"({len(rollout)} ticks, {len(rollout) * timing.tick_seconds:.0f} cluster s)")  # fmt: skip


if __name__ == "__main__":
    main()
