"""kubesim: latency from a change to the event at a watcher (goal: p95 < 20 ms).

Ten watchers follow the namespace's deployments while one client patches an
annotation 200 times, with 100 probed pods running beside (bench/probed_load.py);
each latency runs from just before the PATCH is sent to the moment the measured
watcher has read the matching MODIFIED event.
Run: .venv/bin/python bench/bench_kubesim_watch.py
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import probed_load

from kubesim.testing import VIZORA_CONFIG, KubeSim

GOAL_P95_MS = 20.0
CHANGES = 200
PASSIVE_WATCHERS = 9
DEPLOYMENTS = "/apis/apps/v1/namespaces/vizora-prod/deployments"


def watch(base_url: str, since: str, arrivals: dict | None, stop: threading.Event, ready) -> None:
    params = {"watch": "true", "resourceVersion": since, "timeoutSeconds": "60"}
    with (
        httpx.Client(base_url=base_url, timeout=70) as session,
        session.stream("GET", DEPLOYMENTS, params=params) as response,
    ):
        ready.wait()
        for line in response.iter_lines():
            seen = time.perf_counter()
            annotations = json.loads(line)["object"]["metadata"].get("annotations", {})
            if arrivals is not None and "bench/change" in annotations:
                arrivals.setdefault(int(annotations["bench/change"]), seen)
            if stop.is_set() or (arrivals is not None and len(arrivals) >= CHANGES):
                return


def main() -> None:
    with KubeSim(VIZORA_CONFIG, speed=1) as sim:
        base_url = sim.api_url("production")
        probed_load.start(base_url)
        with httpx.Client(base_url=base_url, timeout=10) as http:
            since = http.get(DEPLOYMENTS).json()["metadata"]["resourceVersion"]
            arrivals: dict[int, float] = {}
            stop = threading.Event()
            ready = threading.Barrier(PASSIVE_WATCHERS + 2)
            threads = [
                threading.Thread(target=watch, args=(base_url, since, arrivals, stop, ready))
            ]
            threads += [
                threading.Thread(target=watch, args=(base_url, since, None, stop, ready))
                for _ in range(PASSIVE_WATCHERS)
            ]
            for thread in threads:
                thread.start()
            ready.wait()
            sent = {}
            headers = {"Content-Type": "application/merge-patch+json"}
            for change in range(CHANGES):
                body = {"metadata": {"annotations": {"bench/change": str(change)}}}
                sent[change] = time.perf_counter()
                http.patch(
                    f"{DEPLOYMENTS}/vizora-web", json=body, headers=headers
                ).raise_for_status()
                time.sleep(0.005)
            time.sleep(0.5)
            stop.set()
            http.patch(
                f"{DEPLOYMENTS}/vizora-web",
                json={"metadata": {"annotations": {"bench/end": "1"}}},
                headers=headers,
            )
            for thread in threads:
                thread.join(timeout=10)
    latencies = sorted((arrivals[c] - sent[c]) * 1000 for c in sent if c in arrivals)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"watch latency over {len(latencies)} changes, {PASSIVE_WATCHERS + 1} watchers:")
    print(
        f"  p50 {statistics.median(latencies):.2f} ms, p95 {p95:.2f} ms, max {latencies[-1]:.2f} ms"
    )
    print(f"  goal p95 < {GOAL_P95_MS:.0f} ms: {'met' if p95 < GOAL_P95_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
