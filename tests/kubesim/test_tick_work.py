"""What a tick looks at (issue 21's benchmark: 200 Deployments of 4 pods on 2 cores).

The controllers sync what changed since the last tick, through the store's indexes;
these tests drive one cluster in-process, tick by tick, and check that the cluster
still behaves as one where nothing is skipped: a deleted pod is replaced, a rollout
finishes, a progress deadline passes on a Deployment nobody touches, orphans are let
be. The timing itself is `bench/bench_kubesim_ticks.py`'s.
"""

from __future__ import annotations

import copy
import json

import pytest

from kubesim.cluster import Cluster
from kubesim.config import parse_config
from kubesim.resources import lookup
from kubesim.timing import MAX_TICK_SECONDS, Timing

from .helpers import deployment_manifest

DEPLOYMENTS, REPLICASETS, PODS = (
    lookup("apps", "deployments"),
    lookup("apps", "replicasets"),
    lookup("", "pods"),
)
NAMESPACE = "ticks"


def cluster_of(*manifests: dict, speed: float = 10) -> Cluster:
    config = parse_config({
        "clusters": [{"name": "ticks", "namespace": NAMESPACE, "objects": list(manifests)}]
    })  # fmt: skip
    cluster = Cluster(config.clusters[0], Timing(speed=speed))
    cluster.load()
    return cluster


def tick_until(cluster: Cluster, condition, cluster_seconds: float = 120):
    """Tick (nominal ticks) until `condition()` is true; fail after `cluster_seconds`."""
    controller = cluster.controller
    until = controller.now + cluster_seconds
    while controller.now < until:
        if found := condition():
            return found
        controller.tick()
    pytest.fail(f"not within {cluster_seconds} cluster seconds")


def status_of(cluster: Cluster, name: str) -> dict:
    return cluster.store.get(DEPLOYMENTS, NAMESPACE, name).get("status", {})


def rolled_out(cluster: Cluster, name: str, replicas: int) -> bool:
    """kubectl's rule: the spec observed, every replica updated and available, no old one."""
    deployment = cluster.store.get(DEPLOYMENTS, NAMESPACE, name)
    status = deployment.get("status", {})
    if status.get("observedGeneration") != deployment["metadata"]["generation"]:
        return False
    keys = ("updatedReplicas", "availableReplicas", "replicas")
    return all(status.get(key) == replicas for key in keys)


def pods_of(cluster: Cluster, name: str) -> list[dict]:
    """The Deployment's pods that are not terminating."""
    return [
        p for p in cluster.store.list(PODS, NAMESPACE)
        if p["metadata"]["labels"]["app"] == name and not p["metadata"].get("deletionTimestamp")
    ]  # fmt: skip


def set_image(cluster: Cluster, name: str, image: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    cluster.objects.patch(
        DEPLOYMENTS, NAMESPACE, name, "application/strategic-merge-patch+json",
        json.dumps(body).encode(),
    )  # fmt: skip


def test_a_late_tick_covers_the_time_passed_up_to_a_second_of_cluster_time():
    timing = Timing(speed=10)
    assert timing.tick_covering(timing.tick_wall_seconds) == pytest.approx(timing.tick_seconds)
    assert timing.tick_covering(0.05) == pytest.approx(0.5)  # 2.5 ticks late: all of it
    assert timing.tick_covering(3.0) == MAX_TICK_SECONDS  # later still: the clock runs slow
    # At speeds where one tick is longer than that, a tick never covers less than one.
    fast = Timing(speed=200)
    assert fast.tick_covering(1.0) == fast.tick_seconds == pytest.approx(4.0)


def test_a_tick_moves_the_clock_by_the_cluster_seconds_it_covers():
    cluster = cluster_of()
    before = cluster.controller.now
    cluster.controller.tick(0.7)
    cluster.controller.tick()
    assert cluster.controller.now == pytest.approx(before + 0.7 + Timing(speed=10).tick_seconds)


def test_a_deleted_pod_of_a_rolled_out_deployment_is_replaced():
    cluster = cluster_of(deployment_manifest("steady", "example/app:1.0.0", 2))
    assert rolled_out(cluster, "steady", 2)
    victim = pods_of(cluster, "steady")[0]
    cluster.store.remove(PODS, NAMESPACE, victim["metadata"]["name"])  # no Deployment write

    def replaced():
        names = {p["metadata"]["name"] for p in pods_of(cluster, "steady")}
        return len(names) == 2 and victim["metadata"]["name"] not in names

    tick_until(cluster, replaced)
    tick_until(cluster, lambda: rolled_out(cluster, "steady", 2))


def test_a_rollout_of_slow_pods_finishes_one_pod_at_a_time():
    manifest = deployment_manifest(
        "slowly", "example/app:1.0.0", 3,
        strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    )  # fmt: skip
    cluster = cluster_of(manifest)
    set_image(cluster, "slowly", "example/app:2.0.0-slow")
    most_at_once = 0

    def done():
        nonlocal most_at_once
        most_at_once = max(most_at_once, len(pods_of(cluster, "slowly")))
        return rolled_out(cluster, "slowly", 3)

    tick_until(cluster, done, cluster_seconds=300)
    images = {p["spec"]["containers"][0]["image"] for p in pods_of(cluster, "slowly")}
    assert images == {"example/app:2.0.0-slow"}
    assert most_at_once == 4  # one surge pod beside the three (maxSurge 1, maxUnavailable 0)


def test_a_progress_deadline_passes_on_a_deployment_that_nothing_changes():
    cluster = cluster_of(deployment_manifest("stuck", "example/app:1.0.0", 1))
    deployment = copy.deepcopy(cluster.store.get(DEPLOYMENTS, NAMESPACE, "stuck"))
    deployment["spec"]["progressDeadlineSeconds"] = 20
    cluster.objects.replace(DEPLOYMENTS, NAMESPACE, "stuck", deployment)
    set_image(cluster, "stuck", "example/app:2.0.0-crashloop")  # never Ready, never done
    began = cluster.controller.now

    def exceeded():
        conditions = status_of(cluster, "stuck").get("conditions", [])
        found = [c for c in conditions if c["reason"] == "ProgressDeadlineExceeded"]
        return found and cluster.controller.now

    passed_at = tick_until(cluster, exceeded, cluster_seconds=60)
    assert passed_at - began >= 20


def test_orphaned_pods_stay_when_their_replicaset_goes():
    cluster = cluster_of(deployment_manifest("orphans", "example/app:1.0.0", 2))
    replica_set = cluster.store.list(REPLICASETS, NAMESPACE)[0]
    pods = {p["metadata"]["name"] for p in pods_of(cluster, "orphans")}
    cluster.objects.delete(DEPLOYMENTS, NAMESPACE, "orphans", propagation="Orphan")
    cluster.objects.delete(REPLICASETS, NAMESPACE, replica_set["metadata"]["name"], "Orphan")
    for _ in range(20):
        cluster.controller.tick()
    assert {p["metadata"]["name"] for p in pods_of(cluster, "orphans")} == pods
    assert cluster.store.owned_by(PODS, replica_set["metadata"]["uid"]) == []
