"""Every call the portal makes, through the official Python client (kubernetes 37)."""

from __future__ import annotations

import time

import pytest
from kubernetes import client, watch

from kubesim.timing import Timing
from tests.kubesim.conftest import SPEED
from tests.kubesim.helpers import (
    NAMESPACE,
    deployment_manifest,
    job_manifest,
    rollout_done,
    wait_for,
)


def test_read_deployment_shows_defaults_and_running_image(apps):
    deployment = apps.read_namespaced_deployment("vizora-middleware", NAMESPACE)
    assert (
        deployment.spec.template.spec.containers[0].image
        == "ghcr.io/your-org/vizora-middleware:1.0.0"
    )
    assert deployment.spec.progress_deadline_seconds == 600
    assert deployment.spec.revision_history_limit == 10
    assert deployment.spec.strategy.rolling_update.max_surge == "25%"
    assert deployment.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert deployment.status.available_replicas == 3


def test_list_deployments_by_label(apps):
    listed = apps.list_namespaced_deployment(
        NAMESPACE, label_selector="app in (vizora-web,vizora-realtime)"
    )
    assert sorted(d.metadata.name for d in listed.items) == ["vizora-realtime", "vizora-web"]
    assert int(listed.metadata.resource_version) > 0


def test_list_pods_and_replicasets_of_a_deployment(apps, core):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=vizora-realtime")
    assert len(pods.items) == 2
    assert all(
        p.status.phase == "Running" and p.status.container_statuses[0].ready for p in pods.items
    )
    replicasets = apps.list_namespaced_replica_set(NAMESPACE, label_selector="app=vizora-realtime")
    (replicaset,) = replicasets.items
    assert replicaset.spec.replicas == 2
    assert replicaset.metadata.owner_references[0].controller is True
    assert replicaset.metadata.owner_references[0].name == "vizora-realtime"


def test_events_filtered_by_involved_object(apps, core):
    deployment = apps.read_namespaced_deployment("vizora-web", NAMESPACE)
    selector = f"involvedObject.kind=Deployment,involvedObject.uid={deployment.metadata.uid}"
    events = core.list_namespaced_event(NAMESPACE, field_selector=selector)
    assert events.items
    assert {e.involved_object.name for e in events.items} == {"vizora-web"}
    assert any(e.reason == "ScalingReplicaSet" for e in events.items)


def test_strategic_merge_patch_rolls_out_and_watch_sees_it_through(apps):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("contract-smp", "example/app:1.0.0")
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("contract-smp", NAMESPACE)))
    start = apps.read_namespaced_deployment("contract-smp", NAMESPACE)
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "example/app:2.0.0"}]}}
        }
    }
    patched = apps.patch_namespaced_deployment("contract-smp", NAMESPACE, patch)
    assert patched.metadata.generation == start.metadata.generation + 1
    assert (
        patched.spec.template.spec.containers[0].ports[0].container_port == 3000
    )  # merged by name
    seen = []
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment,
        NAMESPACE,
        field_selector="metadata.name=contract-smp",
        resource_version=start.metadata.resource_version,
        timeout_seconds=10,
    )
    for event in stream:
        seen.append(event["object"])
        if (
            rollout_done(event["object"])
            and event["object"].metadata.generation == patched.metadata.generation
        ):
            break
    assert rollout_done(seen[-1])
    assert any(d.status.observed_generation < d.metadata.generation for d in seen)
    assert any(d.status.replicas > (d.status.updated_replicas or 0) for d in seen)  # old + new pods
    assert seen[-1].metadata.annotations["deployment.kubernetes.io/revision"] == "2"


def test_merge_patch_changes_the_image(apps):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("contract-merge", "example/app:1.0.0", 1)
    )
    body = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "example/app:1.1.0"}]}}
        }
    }
    patched = apps.patch_namespaced_deployment(
        "contract-merge", NAMESPACE, body, _content_type="application/merge-patch+json"
    )
    assert patched.spec.template.spec.containers[0].image == "example/app:1.1.0"
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("contract-merge", NAMESPACE)))


def test_crashloop_rollout_exceeds_its_progress_deadline(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE,
        deployment_manifest("contract-crash", "example/app:1.0.0", 2, progressDeadlineSeconds=30),
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("contract-crash", NAMESPACE)))
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "image": "example/app:1.1.0-crashloop"}]}
            }
        }
    }
    apps.patch_namespaced_deployment("contract-crash", NAMESPACE, patch)

    def deadline_exceeded():
        conditions = (
            apps.read_namespaced_deployment("contract-crash", NAMESPACE).status.conditions or []
        )
        return any(
            c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" for c in conditions
        )

    wait_for(deadline_exceeded, timeout=8)
    deployment = apps.read_namespaced_deployment("contract-crash", NAMESPACE)
    assert deployment.spec.progress_deadline_seconds == 30
    assert deployment.status.available_replicas == 2  # the old pods keep serving
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=contract-crash")
    crashing = [p for p in pods.items if p.spec.containers[0].image.endswith("-crashloop")]
    assert (
        crashing and crashing[0].status.container_statuses[0].state.waiting is not None
    ) or crashing[0].status.container_statuses[0].restart_count >= 1
    wait_for(
        lambda: (
            core.read_namespaced_pod(crashing[0].metadata.name, NAMESPACE)
            .status.container_statuses[0]
            .restart_count
            >= 2
        )
    )
    log = core.read_namespaced_pod_log(crashing[0].metadata.name, NAMESPACE, previous=True)
    assert "process exited with code 1" in log


def test_pull_error_shows_err_image_pull_then_backoff(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("contract-pull", "example/app:9.9.9-pullerror", 1)
    )
    reasons = set()

    def both_reasons_seen():
        for pod in core.list_namespaced_pod(NAMESPACE, label_selector="app=contract-pull").items:
            for status in pod.status.container_statuses or []:
                if status.state.waiting:
                    reasons.add(status.state.waiting.reason)
        return {"ErrImagePull", "ImagePullBackOff"} <= reasons

    wait_for(both_reasons_seen, timeout=5, interval=0.005)
    events = core.list_namespaced_event(
        NAMESPACE, field_selector="involvedObject.kind=Pod,reason=Failed"
    )
    assert any(e.message == "Error: ErrImagePull" for e in events.items)


def test_watch_from_a_compacted_version_is_410(apps):
    with pytest.raises(client.ApiException) as raised:
        for _ in watch.Watch().stream(
            apps.list_namespaced_deployment, NAMESPACE, resource_version="1", timeout_seconds=2
        ):
            pass
    assert raised.value.status == 410


def _watch_job(batch, name: str):
    for event in watch.Watch().stream(
        batch.list_namespaced_job,
        NAMESPACE,
        field_selector=f"metadata.name={name}",
        timeout_seconds=10,
    ):
        conditions = {c.type: c for c in event["object"].status.conditions or []}
        if "Complete" in conditions or "Failed" in conditions:
            return event["object"], conditions
    raise AssertionError(f"job {name} did not finish")


def test_job_runs_to_complete_and_its_pod_has_logs(batch, core):
    batch.create_namespaced_job(
        NAMESPACE,
        job_manifest(
            "migrate-ok", "ghcr.io/your-org/vizora-middleware:1.1.0", ["npm", "run", "migrate"]
        ),
    )
    job, conditions = _watch_job(batch, "migrate-ok")
    assert conditions["Complete"].status == "True"
    assert job.status.succeeded == 1 and job.status.completion_time is not None
    (pod,) = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=migrate-ok").items
    log = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE)
    assert log.startswith("+ npm run migrate\n")
    assert "Migrations complete." in log


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("ghcr.io/your-org/vizora-middleware:1.1.0-migrationfail", ["npm", "run", "migrate"]),
        ("ghcr.io/your-org/vizora-middleware:1.1.0", ["npm", "run", "migrate", "fail"]),
    ],
    ids=["migrationfail-tag", "fail-word"],
)
def test_job_ends_failed(batch, core, image, command):
    name = "migrate-bad-" + ("tag" if "migrationfail" in image else "word")
    batch.create_namespaced_job(NAMESPACE, job_manifest(name, image, command))
    job, conditions = _watch_job(batch, name)
    assert conditions["Failed"].reason == "BackoffLimitExceeded"
    assert job.status.failed == 1
    (pod,) = core.list_namespaced_pod(NAMESPACE, label_selector=f"job-name={name}").items
    assert pod.status.phase == "Failed"
    assert "failed" in core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE)


def test_creating_the_same_job_twice_is_409(batch):
    body = job_manifest("migrate-twice", "example/app:1.0.0", ["migrate"])
    batch.create_namespaced_job(NAMESPACE, body)
    with pytest.raises(client.ApiException) as raised:
        batch.create_namespaced_job(NAMESPACE, body)
    assert raised.value.status == 409


def test_cronjob_status_shows_the_last_backup(batch):
    cronjob = batch.read_namespaced_cron_job("postgres-backup", NAMESPACE)
    assert cronjob.spec.schedule == "0 2 * * *"
    assert cronjob.status.last_successful_time is not None
    assert cronjob.status.last_schedule_time is not None


def test_secret_holds_the_seed_keys(core):
    secret = core.read_namespaced_secret("vizora-secrets", NAMESPACE)
    assert sorted(secret.data) == [
        "device-jwt-secret",
        "jwt-secret",
        "mongodb-url",
        "postgres-url",
        "redis-url",
        "stripe-secret-key",
    ]


def test_slow_image_becomes_ready_long_after_a_normal_one(apps):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("contract-slow", "example/app:1.0.0-slow", 1)
    )
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("contract-fast", "example/app:1.0.0", 1)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("contract-fast", NAMESPACE)))
    assert not apps.read_namespaced_deployment("contract-slow", NAMESPACE).status.ready_replicas
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("contract-slow", NAMESPACE)))


def test_reusing_an_old_replicaset_is_progress_not_a_missed_deadline(apps):
    """Every template change refreshes Progressing (FoundNewReplicaSet for a re-used
    ReplicaSet): no watch event of a rollback to an earlier image says the deadline
    passed, however long ago that ReplicaSet last progressed."""
    name = "contract-back-forth"
    apps.create_namespaced_deployment(
        NAMESPACE,
        deployment_manifest(name, "example/app:1.0.0", 3, progressDeadlineSeconds=20),
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, NAMESPACE)))
    pause = 1.5 * Timing(speed=SPEED).wall_seconds(20)
    reasons = []
    for version in ("1.1.0", "1.0.0", "1.1.0", "1.0.0", "1.1.0"):
        time.sleep(pause)
        since = apps.read_namespaced_deployment(name, NAMESPACE).metadata.resource_version
        containers = [{"name": "app", "image": f"example/app:{version}"}]
        patch = {"spec": {"template": {"spec": {"containers": containers}}}}
        apps.patch_namespaced_deployment(name, NAMESPACE, patch)
        for event in watch.Watch().stream(
            apps.list_namespaced_deployment, NAMESPACE, field_selector=f"metadata.name={name}",
            resource_version=since, timeout_seconds=10,
        ):  # fmt: skip
            deployment = event["object"]
            progressing = [c for c in deployment.status.conditions or [] if c.type == "Progressing"]
            reasons.extend(c.reason for c in progressing)
            image = deployment.spec.template.spec.containers[0].image
            if rollout_done(deployment) and image.endswith(version):
                break
    assert "ProgressDeadlineExceeded" not in reasons
    assert "FoundNewReplicaSet" in reasons
    assert reasons[-1] == "NewReplicaSetAvailable"
