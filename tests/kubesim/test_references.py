"""References enforced (issue 11): a missing Secret, ConfigMap or key holds a
container in CreateContainerConfigError until it exists; the rollout stalls and then
exceeds its deadline; an optional reference may be missing."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.kubesim.helpers import NAMESPACE, deployment_manifest, rollout_done, wait_for
from tests.kubesim.test_kubectl_golden import normalise


def with_env(name: str, env=None, env_from=None, volumes=None, **spec) -> dict:
    manifest = deployment_manifest(name, "example/app:1.0.0", 1, **spec)
    pod_spec = manifest["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    if env:
        container["env"] = env
    if env_from:
        container["envFrom"] = env_from
    if volumes:
        pod_spec["volumes"] = volumes
        container["volumeMounts"] = [
            {"name": v["name"], "mountPath": f"/{v['name']}"} for v in volumes
        ]
    return manifest


def secret_env(secret: str, key: str, optional: bool | None = None) -> list[dict]:
    ref = {"name": secret, "key": key, **({"optional": optional} if optional is not None else {})}
    return [{"name": "VALUE", "valueFrom": {"secretKeyRef": ref}}]


def waiting_of(core, app: str):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items
    statuses = (pods[0].status.container_statuses or []) if pods else []
    return statuses[0].state.waiting if statuses and statuses[0].state.waiting else None


def held(core, app: str, reason: str = "CreateContainerConfigError"):
    return wait_for(lambda: (w := waiting_of(core, app)) and w.reason == reason and w)


def test_a_missing_secret_holds_the_container_until_it_exists(apps, core):
    apps.create_namespaced_deployment(NAMESPACE, with_env("ref-secret", secret_env("late", "k")))
    waiting = held(core, "ref-secret")
    assert waiting.message == 'secret "late" not found'
    pod = core.list_namespaced_pod(NAMESPACE, label_selector="app=ref-secret").items[0]
    assert pod.status.phase == "Pending"
    events = core.list_namespaced_event(
        NAMESPACE, field_selector=f"involvedObject.name={pod.metadata.name}"
    ).items
    assert ("Failed", 'Error: secret "late" not found') in {(e.reason, e.message) for e in events}
    core.create_namespaced_secret(
        NAMESPACE,
        client.V1Secret(metadata=client.V1ObjectMeta(name="late"), string_data={"k": "v"}),
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("ref-secret", NAMESPACE)))


def test_a_missing_key_of_an_existing_secret_is_named(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, with_env("ref-key", secret_env("vizora-secrets", "no-such-key"))
    )
    assert held(core, "ref-key").message == (
        f"couldn't find key no-such-key in Secret {NAMESPACE}/vizora-secrets"
    )


def test_an_optional_reference_may_be_missing(apps):
    apps.create_namespaced_deployment(
        NAMESPACE, with_env("ref-optional", secret_env("nowhere", "k", optional=True))
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("ref-optional", NAMESPACE)))


@pytest.mark.parametrize(
    ("env_from", "message"),
    [
        ([{"secretRef": {"name": "absent-secret"}}], 'secret "absent-secret" not found'),
        ([{"configMapRef": {"name": "absent-config"}}], 'configmap "absent-config" not found'),
    ],
)
def test_env_from_a_missing_object_holds_the_container(apps, core, env_from, message):
    name = f"ref-from-{'secret' if 'secretRef' in env_from[0] else 'config'}"
    apps.create_namespaced_deployment(NAMESPACE, with_env(name, env_from=env_from))
    assert held(core, name).message == message


def test_a_config_map_key_reference_to_a_missing_config_map(apps, core):
    env = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "absent-cm", "key": "mode"}}}]
    apps.create_namespaced_deployment(NAMESPACE, with_env("ref-cm-key", env))
    assert held(core, "ref-cm-key").message == 'configmap "absent-cm" not found'


def test_a_missing_secret_volume_keeps_the_pod_creating_with_failed_mount(apps, core):
    volumes = [{"name": "certs", "secret": {"secretName": "absent-certs"}}]
    apps.create_namespaced_deployment(NAMESPACE, with_env("ref-volume", volumes=volumes))
    pod = wait_for(
        lambda: next(
            iter(core.list_namespaced_pod(NAMESPACE, label_selector="app=ref-volume").items), None
        )
    )

    def failed_mount():
        events = core.list_namespaced_event(
            NAMESPACE, field_selector=f"involvedObject.name={pod.metadata.name}"
        ).items
        return [e for e in events if e.reason == "FailedMount"]

    event = wait_for(failed_mount)[0]
    assert event.message == (
        'MountVolume.SetUp failed for volume "certs" : secret "absent-certs" not found'
    )
    assert waiting_of(core, "ref-volume").reason == "ContainerCreating"


def test_a_rollout_held_by_a_missing_secret_exceeds_its_deadline(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE,
        deployment_manifest("ref-rollout", "example/app:1.0.0", 2, progressDeadlineSeconds=20),
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("ref-rollout", NAMESPACE)))
    container = {"name": "app", "image": "example/app:1.1.0", "env": secret_env("gone", "k")}
    apps.patch_namespaced_deployment(
        "ref-rollout", NAMESPACE, {"spec": {"template": {"spec": {"containers": [container]}}}}
    )

    def exceeded():
        deployment = apps.read_namespaced_deployment("ref-rollout", NAMESPACE)
        conditions = deployment.status.conditions or []
        return any(c.reason == "ProgressDeadlineExceeded" for c in conditions) and deployment

    deployment = wait_for(exceeded, timeout=15)
    assert deployment.status.available_replicas == 2  # the old pods keep serving


@pytest.mark.kubectl
def test_kubectl_get_pods_shows_create_container_config_error(kubectl, apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, with_env("golden-ref", secret_env("golden-missing", "k"))
    )
    held(core, "golden-ref")
    listed = kubectl("get", "pods", "-l", "app=golden-ref")
    assert [line.split() for line in normalise(listed.stdout)] == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["golden-ref-HASHHASHHA-PODID", "0/1", "CreateContainerConfigError", "0", "AGE"],
    ]
