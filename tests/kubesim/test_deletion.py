"""Deletion as on a cluster: Terminating pods and namespaces, propagation policies, answers.

At speed 30 a pod's default 30 s grace period lasts one wall second.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.request

import pytest
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.kubesim.helpers import (
    NAMESPACE,
    deployment_manifest,
    job_manifest,
    rollout_done,
    wait_for,
)

SPEED = 30
GRACE_WALL = 30 / SPEED  # the default grace period in wall seconds


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory):
    with KubeSim(VIZORA_CONFIG, speed=SPEED, workdir=tmp_path_factory.mktemp("kubesim")) as sim:
        yield sim


def pod_manifest(name: str, **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "example/app:1.0.0"}], **spec},
    }


def running_pod(core, name: str, **spec):
    core.create_namespaced_pod(NAMESPACE, pod_manifest(name, **spec))

    def ready():
        pod = core.read_namespaced_pod(name, NAMESPACE)
        return pod if pod.status.phase == "Running" else None

    return wait_for(ready)


def gone(read) -> bool:
    try:
        read()
    except client.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def raw_delete(kubesim, path: str, body: dict | None = None) -> tuple[int, dict]:
    """DELETE over plain HTTP, to see the answer's JSON as a cluster sends it."""
    request = urllib.request.Request(
        kubesim.api_url("production") + path,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def test_deleting_a_pod_shows_it_terminating_for_its_grace_period(core):
    running_pod(core, "graceful")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    answer = core.delete_namespaced_pod("graceful", NAMESPACE)
    started = time.monotonic()
    assert isinstance(answer, client.V1Pod)  # the pod registry answers with the pod
    assert answer.metadata.deletion_grace_period_seconds == 30
    assert before + dt.timedelta(seconds=29) <= answer.metadata.deletion_timestamp
    assert answer.metadata.deletion_timestamp <= before + dt.timedelta(seconds=32)
    pod = core.read_namespaced_pod("graceful", NAMESPACE)
    assert pod.metadata.deletion_timestamp == answer.metadata.deletion_timestamp
    assert pod.status.container_statuses[0].ready is False
    wait_for(lambda: gone(lambda: core.read_namespaced_pod("graceful", NAMESPACE)))
    assert time.monotonic() - started >= 0.8 * GRACE_WALL
    selector = "involvedObject.name=graceful,reason=Killing"
    (killing,) = core.list_namespaced_event(NAMESPACE, field_selector=selector).items
    assert killing.message == "Stopping container app"


def test_a_pods_termination_grace_period_and_a_zero_grace_delete(core):
    running_pod(core, "short-grace", terminationGracePeriodSeconds=3)
    answer = core.delete_namespaced_pod("short-grace", NAMESPACE)
    assert answer.metadata.deletion_grace_period_seconds == 3
    started = time.monotonic()
    wait_for(lambda: gone(lambda: core.read_namespaced_pod("short-grace", NAMESPACE)))
    assert time.monotonic() - started < 0.8 * GRACE_WALL

    running_pod(core, "no-grace")
    answer = core.delete_namespaced_pod("no-grace", NAMESPACE, grace_period_seconds=0)
    assert answer.metadata.name == "no-grace"
    assert gone(lambda: core.read_namespaced_pod("no-grace", NAMESPACE))


def test_background_deletion_answers_success_and_collects_the_dependents(apps, core, kubesim):
    apps.create_namespaced_deployment(NAMESPACE, deployment_manifest("del-background", "a:1", 2))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("del-background", NAMESPACE)))
    uid = apps.read_namespaced_deployment("del-background", NAMESPACE).metadata.uid
    code, answer = raw_delete(
        kubesim, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/del-background",
        {"propagationPolicy": "Background"},
    )  # fmt: skip
    assert (code, answer) == (
        200,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": "del-background",
                "group": "apps",
                "kind": "deployments",
                "uid": uid,
            },
        },
    )
    assert gone(lambda: apps.read_namespaced_deployment("del-background", NAMESPACE))
    selector = "app=del-background"
    wait_for(lambda: not apps.list_namespaced_replica_set(NAMESPACE, label_selector=selector).items)
    wait_for(  # both pass through Terminating, marked by the collector
        lambda: all_terminating(core.list_namespaced_pod(NAMESPACE, label_selector=selector).items)
    )
    wait_for(lambda: not core.list_namespaced_pod(NAMESPACE, label_selector=selector).items)


def test_foreground_deletion_keeps_the_owner_until_its_pods_are_gone(apps, core, kubesim):
    apps.create_namespaced_deployment(NAMESPACE, deployment_manifest("del-foreground", "a:1", 2))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("del-foreground", NAMESPACE)))
    selector = "app=del-foreground"
    before = {
        p.metadata.uid for p in core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
    }
    code, answer = raw_delete(
        kubesim, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/del-foreground",
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
    )  # fmt: skip
    assert code == 200
    assert answer["kind"] == "Deployment"
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert answer["metadata"]["deletionTimestamp"]
    seen_owner_with_pods = False
    while not gone(lambda: apps.read_namespaced_deployment("del-foreground", NAMESPACE)):
        pods = core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
        # The collector marks them on its next pass (as a cluster's does); none is replaced.
        assert {p.metadata.uid for p in pods} <= before
        seen_owner_with_pods = seen_owner_with_pods or bool(pods)
        time.sleep(0.02)
    assert seen_owner_with_pods
    assert not core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
    assert not apps.list_namespaced_replica_set(NAMESPACE, label_selector=selector).items


def test_orphan_deletion_leaves_the_dependents_without_their_owner(apps):
    apps.create_namespaced_deployment(NAMESPACE, deployment_manifest("del-orphan", "a:1", 1))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("del-orphan", NAMESPACE)))
    apps.delete_namespaced_deployment("del-orphan", NAMESPACE, propagation_policy="Orphan")
    assert gone(lambda: apps.read_namespaced_deployment("del-orphan", NAMESPACE))
    time.sleep(0.5)
    (replicaset,) = apps.list_namespaced_replica_set(
        NAMESPACE, label_selector="app=del-orphan"
    ).items
    assert replicaset.metadata.owner_references is None
    assert replicaset.status.ready_replicas == 1


def test_a_job_deleted_without_a_policy_orphans_its_pods(batch, core):
    """batch/v1 Jobs default to orphaning (the API server keeps that for compatibility)."""
    batch.create_namespaced_job(NAMESPACE, job_manifest("del-job", "example/app:1.0.0", ["true"]))
    wait_for(lambda: core.list_namespaced_pod(NAMESPACE, label_selector="job-name=del-job").items)
    batch.delete_namespaced_job("del-job", NAMESPACE)
    time.sleep(0.3)
    (pod,) = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=del-job").items
    assert pod.metadata.owner_references is None and pod.metadata.deletion_timestamp is None


def test_a_delete_whose_preconditions_do_not_hold_is_409(core):
    pod = running_pod(core, "precondition")
    stale = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-this-one"))
    with pytest.raises(client.ApiException) as raised:
        core.delete_namespaced_pod("precondition", NAMESPACE, body=stale)
    assert raised.value.status == 409
    assert json.loads(raised.value.body)["message"] == (
        'Operation cannot be fulfilled on pods "precondition": Precondition failed: '
        f"UID in precondition: not-this-one, UID in object meta: {pod.metadata.uid}"
    )
    assert core.read_namespaced_pod("precondition", NAMESPACE).metadata.deletion_timestamp is None
    exact = client.V1DeleteOptions(
        grace_period_seconds=0, preconditions=client.V1Preconditions(uid=pod.metadata.uid)
    )
    core.delete_namespaced_pod("precondition", NAMESPACE, body=exact)
    assert gone(lambda: core.read_namespaced_pod("precondition", NAMESPACE))


def test_a_finished_pod_goes_at_once(batch, core):
    """The pod registry deletes a Succeeded or Failed pod without a grace period."""
    batch.create_namespaced_job(NAMESPACE, job_manifest("del-done", "example/app:1.0.0", ["true"]))

    def completed():
        job = batch.read_namespaced_job("del-done", NAMESPACE)
        return job.status.succeeded == 1

    wait_for(completed)
    (pod,) = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=del-done").items
    assert pod.status.phase == "Succeeded"
    answer = core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    assert answer.metadata.name == pod.metadata.name
    assert gone(lambda: core.read_namespaced_pod(pod.metadata.name, NAMESPACE))


def test_a_deleted_namespace_terminates_its_pods_then_goes(apps, core, kubesim):
    core.create_namespace({"metadata": {"name": "doomed"}})
    apps.create_namespaced_deployment("doomed", deployment_manifest("inside", "a:1", 2))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("inside", "doomed")))
    code, answer = raw_delete(kubesim, "/api/v1/namespaces/doomed")
    assert (code, answer["kind"], answer["status"]) == (200, "Namespace", {"phase": "Terminating"})
    namespace = core.read_namespace("doomed")
    assert namespace.status.phase == "Terminating"
    assert namespace.metadata.deletion_timestamp is not None
    with pytest.raises(client.ApiException) as raised:
        core.create_namespaced_secret("doomed", {"metadata": {"name": "late"}})
    assert raised.value.status == 403
    assert json.loads(raised.value.body)["message"] == (
        'secrets "late" is forbidden: unable to create new content in namespace doomed '
        "because it is being terminated"
    )
    # The drain marks them on the collector's next pass (as a cluster's does): the pods
    # pass through Terminating rather than vanish.
    wait_for(lambda: all_terminating(core.list_namespaced_pod("doomed").items))
    wait_for(lambda: gone(lambda: core.read_namespace("doomed")))


def all_terminating(pods) -> bool:
    return bool(pods) and all(p.metadata.deletion_timestamp for p in pods)


# --- kubectl ------------------------------------------------------------------------------
# The pods here have a 300 s grace period (10 wall seconds), so kubectl, however slow to
# start, sees them Terminating; the tests then shorten it.

LONG_GRACE = {"terminationGracePeriodSeconds": 300}


def slow_to_stop(name: str, replicas: int) -> dict:
    manifest = deployment_manifest(name, "a:1", replicas)
    manifest["spec"]["template"]["spec"].update(LONG_GRACE)
    return manifest


@pytest.mark.kubectl
def test_kubectl_shows_a_deleted_pod_terminating(kubectl, core):
    running_pod(core, "kubectl-graceful", **LONG_GRACE)
    deleted = kubectl("delete", "pod", "kubectl-graceful", "--wait=false")
    assert (deleted.returncode, deleted.stdout) == (0, 'pod "kubectl-graceful" deleted\n')
    listed = kubectl("get", "pod", "kubectl-graceful")
    assert re.fullmatch(
        r"NAME +READY +STATUS +RESTARTS +AGE\nkubectl-graceful +0/1 +Terminating +0 +\d+s\n",
        listed.stdout,
    ), listed.stdout
    grace = kubectl(
        "get", "pod", "kubectl-graceful", "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}"
    )
    assert grace.stdout == "300"
    shortened = kubectl("delete", "pod", "kubectl-graceful", "--grace-period=1", "--timeout=10s")
    assert shortened.returncode == 0, shortened.stderr
    assert gone(lambda: core.read_namespaced_pod("kubectl-graceful", NAMESPACE))


@pytest.mark.kubectl
def test_kubectl_force_delete_is_immediate(kubectl, core):
    running_pod(core, "kubectl-force", **LONG_GRACE)
    deleted = kubectl("delete", "pod", "kubectl-force", "--grace-period=0", "--force")
    assert (deleted.returncode, deleted.stdout) == (0, 'pod "kubectl-force" force deleted\n')
    assert gone(lambda: core.read_namespaced_pod("kubectl-force", NAMESPACE))


@pytest.mark.kubectl
def test_kubectl_cascade_foreground_keeps_the_deployment_until_its_pods_are_gone(
    kubectl, apps, core
):
    apps.create_namespaced_deployment(NAMESPACE, slow_to_stop("kubectl-fg", 1))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("kubectl-fg", NAMESPACE)))
    deleted = kubectl("delete", "deploy", "kubectl-fg", "--cascade=foreground", "--wait=false")
    assert (deleted.returncode, deleted.stdout) == (0, 'deployment.apps "kubectl-fg" deleted\n')
    finalizers = kubectl("get", "deploy", "kubectl-fg", "-o", "jsonpath={.metadata.finalizers}")
    assert finalizers.stdout == '["foregroundDeletion"]'
    (pod,) = wait_for(
        lambda: core.list_namespaced_pod(NAMESPACE, label_selector="app=kubectl-fg").items
    )
    assert pod.metadata.deletion_timestamp is not None
    forced = kubectl("delete", "pods", "-l", "app=kubectl-fg", "--grace-period=0", "--force")
    assert forced.returncode == 0, forced.stderr
    waited = kubectl("wait", "--for=delete", "deploy/kubectl-fg", "--timeout=10s")
    assert waited.returncode == 0, waited.stderr


@pytest.mark.kubectl
def test_kubectl_get_namespace_shows_terminating(kubectl, apps, core):
    core.create_namespace({"metadata": {"name": "kubectl-doomed"}})
    apps.create_namespaced_deployment("kubectl-doomed", slow_to_stop("inside", 1))
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("inside", "kubectl-doomed")))
    deleted = kubectl("delete", "namespace", "kubectl-doomed", "--wait=false")
    assert (deleted.returncode, deleted.stdout) == (0, 'namespace "kubectl-doomed" deleted\n')
    listed = kubectl("get", "namespace", "kubectl-doomed")
    assert re.fullmatch(r"NAME +STATUS +AGE\nkubectl-doomed +Terminating +\d+s\n", listed.stdout), (
        listed.stdout
    )
    forced = kubectl(
        "delete", "pods", "--all", "-n", "kubectl-doomed", "--grace-period=0", "--force"
    )
    assert forced.returncode == 0, forced.stderr
    waited = kubectl("wait", "--for=delete", "namespace/kubectl-doomed", "--timeout=10s")
    assert waited.returncode == 0, waited.stderr
