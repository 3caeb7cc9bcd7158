"""Twenty watchers while five deployments roll at once: all see every change, in order."""

from __future__ import annotations

import json
import threading

import httpx

from tests.kubesim.helpers import NAMESPACE, deployment_manifest, wait_for

DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
NAMES = [f"fleet-{i}" for i in range(5)]


def finished(obj: dict) -> bool:
    status, spec = obj.get("status", {}), obj["spec"]
    return (
        obj["metadata"]["generation"] == 2
        and status.get("observedGeneration") == 2
        and status.get("updatedReplicas") == spec["replicas"] == status.get("replicas")
        and status.get("availableReplicas") == spec["replicas"]
    )


def watch_until_all_rolled(base_url: str, since: str, out: list, ready: threading.Barrier) -> None:
    params = {"watch": "true", "resourceVersion": since, "timeoutSeconds": "20"}
    done: set[str] = set()
    with (
        httpx.Client(base_url=base_url, timeout=30) as session,
        session.stream("GET", DEPLOYMENTS, params=params) as response,
    ):
        ready.wait()
        for line in response.iter_lines():
            event = json.loads(line)
            metadata = event["object"]["metadata"]
            if metadata["name"] not in NAMES:
                continue
            out.append((event["type"], metadata["name"], int(metadata["resourceVersion"])))
            if finished(event["object"]):
                done.add(metadata["name"])
            if done == set(NAMES):
                return


def test_twenty_watchers_see_five_rollouts_identically(kubesim):
    base_url = kubesim.api_url("production")
    with httpx.Client(base_url=base_url, timeout=10) as http:
        for name in NAMES:
            http.post(
                DEPLOYMENTS, json=deployment_manifest(name, "example/app:1.0.0", 3)
            ).raise_for_status()
        wait_for(
            lambda: all(
                http.get(f"{DEPLOYMENTS}/{n}").json()["status"].get("availableReplicas") == 3
                for n in NAMES
            )
        )
        since = http.get(DEPLOYMENTS).json()["metadata"]["resourceVersion"]
        streams: list[list] = [[] for _ in range(20)]
        ready = threading.Barrier(21)
        threads = [
            threading.Thread(target=watch_until_all_rolled, args=(base_url, since, out, ready))
            for out in streams
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        patch = {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "app", "image": "example/app:2.0.0"}]}
                }
            }
        }
        for name in NAMES:
            http.patch(
                f"{DEPLOYMENTS}/{name}",
                json=patch,
                headers={"Content-Type": "application/strategic-merge-patch+json"},
            ).raise_for_status()
        for thread in threads:
            thread.join(timeout=30)
    reference = streams[0]
    assert len({name for _, name, _ in reference}) == 5
    assert [rv for _, _, rv in reference] == sorted(
        {rv for _, _, rv in reference}
    )  # strictly increasing
    assert len(reference) >= 5 * 6  # spec change, observed, and every step of each rollout
    assert all(stream == reference for stream in streams[1:])
