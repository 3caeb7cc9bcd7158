"""Pause and resume (issue 11): a paused Deployment makes no new ReplicaSet, shows
Progressing=Unknown/DeploymentPaused, and its deadline counts afresh on resume."""

from __future__ import annotations

import time

import pytest

from kubesim.timing import Timing
from tests.kubesim.conftest import SPEED
from tests.kubesim.helpers import NAMESPACE, deployment_manifest, rollout_done, wait_for

CLOCK = Timing(speed=SPEED)


def progressing(apps, name: str):
    deployment = apps.read_namespaced_deployment(name, NAMESPACE)
    return next((c for c in deployment.status.conditions or [] if c.type == "Progressing"), None)


def replicasets(apps, name: str) -> list[str]:
    found = apps.list_namespaced_replica_set(NAMESPACE, label_selector=f"app={name}").items
    return sorted(rs.metadata.name for rs in found)


def set_image(apps, name: str, image: str) -> None:
    containers = [{"name": "app", "image": image}]
    apps.patch_namespaced_deployment(
        name, NAMESPACE, {"spec": {"template": {"spec": {"containers": containers}}}}
    )


def set_paused(apps, name: str, paused: bool) -> None:
    apps.patch_namespaced_deployment(name, NAMESPACE, {"spec": {"paused": paused}})


def test_a_paused_deployment_makes_no_new_replicaset_until_resumed(apps, core):
    name = "pause-template"
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest(name, "example/app:1.0.0", 2, progressDeadlineSeconds=10)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, NAMESPACE)))
    before = replicasets(apps, name)
    set_paused(apps, name, True)
    condition = wait_for(lambda: (c := progressing(apps, name)) and c.status == "Unknown" and c)
    assert (condition.reason, condition.message) == ("DeploymentPaused", "Deployment is paused")
    set_image(apps, name, "example/app:1.1.0")
    time.sleep(CLOCK.wall_seconds(20))  # twice its deadline
    assert replicasets(apps, name) == before
    condition = progressing(apps, name)
    assert (condition.status, condition.reason) == ("Unknown", "DeploymentPaused")
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"app={name}").items
    assert {p.spec.containers[0].image for p in pods} == {"example/app:1.0.0"}
    set_paused(apps, name, False)
    wait_for(
        lambda: (
            rollout_done(d := apps.read_namespaced_deployment(name, NAMESPACE))
            and d.spec.template.spec.containers[0].image == "example/app:1.1.0"
            and progressing(apps, name).reason == "NewReplicaSetAvailable"
        )
    )
    assert len(replicasets(apps, name)) == len(before) + 1


def test_resuming_restarts_the_deadline_clock(apps):
    name = "pause-deadline"
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest(name, "example/app:1.0.0", 1, progressDeadlineSeconds=30)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, NAMESPACE)))
    set_paused(apps, name, True)
    wait_for(lambda: progressing(apps, name).reason == "DeploymentPaused")
    set_image(apps, name, "example/app:1.1.0-crashloop")
    time.sleep(CLOCK.wall_seconds(45))  # longer than the deadline, while paused
    assert progressing(apps, name).reason == "DeploymentPaused"
    resumed = time.monotonic()
    set_paused(apps, name, False)
    wait_for(lambda: progressing(apps, name).reason == "ProgressDeadlineExceeded", timeout=15)
    assert time.monotonic() - resumed >= 0.9 * CLOCK.wall_seconds(30)


@pytest.mark.kubectl
def test_kubectl_pause_and_resume(kubectl, apps):
    name = "golden-pause"
    apps.create_namespaced_deployment(NAMESPACE, deployment_manifest(name, "example/app:1.0.0", 1))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, NAMESPACE)))
    paused = kubectl("rollout", "pause", f"deploy/{name}")
    assert (paused.returncode, paused.stdout) == (0, f"deployment.apps/{name} paused\n")
    wait_for(lambda: progressing(apps, name).reason == "DeploymentPaused")
    described = kubectl("describe", "deploy", name)
    lines = [" ".join(line.split()) for line in described.stdout.splitlines()]
    assert "Progressing Unknown DeploymentPaused" in lines, lines
    resumed = kubectl("rollout", "resume", f"deploy/{name}")
    assert (resumed.returncode, resumed.stdout) == (0, f"deployment.apps/{name} resumed\n")
    status = kubectl("rollout", "status", f"deploy/{name}", "--timeout=20s")
    assert status.returncode == 0, status.stderr
