"""Every kubectl the dispatcher offers (1.27 to 1.33) reads kubesim's truthful cluster as
it would read a real one: readiness probe failures, a missing Secret, a crash loop's
back-off, logs of the previous container, and pause/resume."""

import json
import time

import pytest

from tests.kubesim.conftest import VERSIONS
from tests.kubesim.helpers import deployment_manifest, wait_for

pytestmark = pytest.mark.kubectl


def apply(kubectl, manifest: dict) -> None:
    done = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert done.returncode == 0, done.stderr


def eventually(kubectl, *command: str, holds, timeout: float = 60.0) -> str:
    """Run `command` until its output satisfies `holds`; that output."""
    return wait_for(
        lambda: out if holds(out := kubectl(*command).stdout) else "", timeout, interval=0.3
    )


def probed(name: str, image: str) -> dict:
    manifest = deployment_manifest(name, image, replicas=1)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {"httpGet": {"path": "/health", "port": 3000}, "periodSeconds": 2}
    return manifest


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failing_readiness_probe_reads_as_on_a_cluster(kubectl_at, version):
    kubectl = kubectl_at(version)
    apply(kubectl, probed("unready", "registry.local/app:1.0.0-unhealthy"))
    described = eventually(
        kubectl, "describe", "pods", "-l", "app=unready",
        # (a probe before the app listens fails with "connection refused" first)
        holds=lambda o: "statuscode: 500" in o,
    )  # fmt: skip
    assert "Readiness probe failed: HTTP probe failed with statuscode: 500" in described
    assert "0/1     Running" in kubectl("get", "pods", "-l", "app=unready").stdout
    kubectl("delete", "deployment", "unready", "--wait=false")  # the cluster's share is busy


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_secret_holds_the_container_in_create_container_config_error(kubectl_at, version):
    kubectl = kubectl_at(version)
    manifest = deployment_manifest("needs-secret", "registry.local/app:1.0.0", replicas=1)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "url"}}}
    ]
    apply(kubectl, manifest)
    pods = eventually(
        kubectl, "get", "pods", "-l", "app=needs-secret",
        holds=lambda o: "CreateContainerConfigError" in o,
    )  # fmt: skip
    assert "0/1     CreateContainerConfigError" in pods
    described = kubectl("describe", "pods", "-l", "app=needs-secret").stdout
    assert 'secret "absent" not found' in described


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crash_loop_backs_off_and_keeps_its_previous_log(kubectl_at, version):
    kubectl = kubectl_at(version)
    apply(kubectl, deployment_manifest("crashy", "registry.local/app:1.0.0-crashloop", 1))
    pods = eventually(
        kubectl, "get", "pods", "-l", "app=crashy", holds=lambda o: "CrashLoopBackOff" in o
    )
    assert "CrashLoopBackOff" in pods
    name = kubectl("get", "pods", "-l", "app=crashy", "-o", "name").stdout.strip()
    previous = kubectl("logs", name, "--previous")
    assert previous.returncode == 0 and previous.stdout, previous.stderr
    kubectl("delete", "deployment", "crashy", "--wait=false")


@pytest.mark.parametrize("version", VERSIONS)
def test_logs_of_a_container_that_never_restarted_have_no_previous(kubectl_at, version):
    kubectl = kubectl_at(version)
    apply(kubectl, deployment_manifest("steady", "registry.local/app:1.0.0", 1))
    eventually(kubectl, "get", "pods", "-l", "app=steady", holds=lambda o: "1/1" in o)
    name = kubectl("get", "pods", "-l", "app=steady", "-o", "name").stdout.strip()
    previous = kubectl("logs", name, "--previous")
    assert previous.returncode == 1
    assert 'previous terminated container "app" in pod' in previous.stderr
    assert "not found" in previous.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_a_paused_rollout_makes_no_new_replica_set_until_resumed(kubectl_at, version):
    kubectl = kubectl_at(version)
    apply(kubectl, deployment_manifest("pausing", "registry.local/app:1.0.0", 1))
    assert kubectl("rollout", "status", "deployment/pausing", "--timeout=30s").returncode == 0
    paused = kubectl("rollout", "pause", "deployment/pausing")
    assert paused.stdout.strip() == "deployment.apps/pausing paused"
    kubectl("set", "image", "deployment/pausing", "app=registry.local/app:1.1.0")
    time.sleep(1)
    replica_sets = kubectl("get", "rs", "-l", "app=pausing", "-o", "name").stdout.split()
    assert len(replica_sets) == 1
    conditions = kubectl("get", "deployment", "pausing", "-o", "json").stdout
    assert "DeploymentPaused" in conditions
    resumed = kubectl("rollout", "resume", "deployment/pausing")
    assert resumed.stdout.strip() == "deployment.apps/pausing resumed"
    assert kubectl("rollout", "status", "deployment/pausing", "--timeout=30s").returncode == 0
    assert len(kubectl("get", "rs", "-l", "app=pausing", "-o", "name").stdout.split()) == 2
