"""Probes decide readiness and restarts (issue 11), seen through the Python client,
the front door and the real kubectl."""

from __future__ import annotations

import time

import httpx
import pytest

from kubesim.timing import Timing
from tests.kubesim.conftest import SPEED
from tests.kubesim.helpers import (
    NAMESPACE,
    deployment_manifest,
    job_manifest,
    rollout_done,
    wait_for,
)
from tests.kubesim.test_kubectl_golden import normalise

CLOCK = Timing(speed=SPEED)


def probed(name: str, image: str, **probes) -> dict:
    manifest = deployment_manifest(name, image, 1)
    manifest["spec"]["template"]["spec"]["containers"][0].update(probes)
    return manifest


def http_probe(path: str, port=3000, **timing) -> dict:
    return {"httpGet": {"path": path, "port": port}, **timing}


def pod_of(core, name: str):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"app={name}").items
    return pods[0] if pods else None


def container_of(core, name: str):
    """The first container's status of the Deployment's pod, once it has one."""
    pod = pod_of(core, name)
    statuses = (pod.status.container_statuses or []) if pod else []
    return statuses[0] if statuses else None


def events_of(core, pod_name: str) -> list:
    selector = f"involvedObject.name={pod_name}"
    return core.list_namespaced_event(NAMESPACE, field_selector=selector).items


def warnings(core, pod_name: str, reason: str = "Unhealthy") -> list:
    return [e for e in events_of(core, pod_name) if e.reason == reason]


def test_a_readiness_probe_on_an_unhealthy_health_path_keeps_the_pod_out_of_ready(apps, core):
    readiness = http_probe("/health/ready", periodSeconds=5)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-sick", "example/app:2.0.0-unhealthy", readinessProbe=readiness)
    )
    pod = wait_for(lambda: pod_of(core, "probe-sick"))
    name = pod.metadata.name
    failed = wait_for(lambda: [e for e in warnings(core, name) if (e.count or 1) >= 3])
    assert failed[0].type == "Warning"
    assert failed[0].message == "Readiness probe failed: HTTP probe failed with statuscode: 500"
    assert failed[0].involved_object.field_path == "spec.containers{app}"
    pod = pod_of(core, "probe-sick")
    status = pod.status.container_statuses[0]
    assert (status.ready, status.started, status.restart_count) == (False, True, 0)
    assert status.state.running is not None
    ready = next(c for c in pod.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "ContainersNotReady")
    deployment = apps.read_namespaced_deployment("probe-sick", NAMESPACE)
    assert not deployment.status.ready_replicas and not deployment.status.available_replicas


def test_without_probes_an_unhealthy_pod_is_ready_once_it_runs(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("probe-none", "example/app:2.0.0-unhealthy", 1)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("probe-none", NAMESPACE)))
    assert not warnings(core, pod_of(core, "probe-none").metadata.name)


def test_a_readiness_probe_makes_ready_wait_for_its_initial_delay(apps, core):
    readiness = http_probe("/health/ready", initialDelaySeconds=30, periodSeconds=10)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-delay", "example/app:2.0.0", readinessProbe=readiness)
    )
    running = wait_for(lambda: (c := container_of(core, "probe-delay")) and c.state.running)
    assert running and not container_of(core, "probe-delay").ready
    began = time.monotonic()
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("probe-delay", NAMESPACE)))
    assert time.monotonic() - began >= 0.8 * CLOCK.wall_seconds(30)
    assert not warnings(core, pod_of(core, "probe-delay").metadata.name)


def test_a_probe_on_a_port_nothing_listens_on_is_refused(apps, core):
    readiness = http_probe("/health/ready", port=8080, periodSeconds=5)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-port", "example/app:2.0.0", readinessProbe=readiness)
    )
    pod = wait_for(lambda: pod_of(core, "probe-port"))
    failed = wait_for(lambda: warnings(core, pod.metadata.name))
    ip = pod_of(core, "probe-port").status.pod_ip
    assert failed[0].message == (
        f'Readiness probe failed: Get "http://{ip}:8080/health/ready": '
        f"dial tcp {ip}:8080: connect: connection refused"
    )
    assert not pod_of(core, "probe-port").status.container_statuses[0].ready


@pytest.mark.parametrize(
    ("probe", "ready"),
    [
        ({"tcpSocket": {"port": 3000}, "periodSeconds": 5}, True),
        ({"exec": {"command": ["true"]}, "periodSeconds": 5}, True),
        ({"tcpSocket": {"port": 9999}, "periodSeconds": 5}, False),
    ],
)
def test_tcp_and_exec_probes(apps, core, probe, ready):
    name = f"probe-kind-{'tcp' if 'tcpSocket' in probe else 'exec'}-{int(ready)}"
    apps.create_namespaced_deployment(
        NAMESPACE, probed(name, "example/app:2.0.0-unhealthy", readinessProbe=probe)
    )
    if ready:
        wait_for(lambda: rollout_done(apps.read_namespaced_deployment(name, NAMESPACE)))
    else:
        pod = wait_for(lambda: pod_of(core, name))
        failed = wait_for(lambda: warnings(core, pod.metadata.name))
        assert failed[0].message.endswith(":9999: connect: connection refused")


def test_a_failing_liveness_probe_restarts_the_container(apps, core):
    liveness = http_probe("/health", periodSeconds=2, failureThreshold=2)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-live", "example/app:2.0.0-unhealthy", livenessProbe=liveness)
    )
    pod = wait_for(lambda: pod_of(core, "probe-live"))
    wait_for(lambda: (c := container_of(core, "probe-live")) and c.restart_count >= 1, timeout=15)
    status = container_of(core, "probe-live")
    assert status.last_state.terminated.exit_code == 143
    assert status.last_state.terminated.reason == "Error"
    name = pod.metadata.name
    messages = {(e.reason, e.message) for e in events_of(core, name)}
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in (
        messages
    )
    assert ("Killing", "Container app failed liveness probe, will be restarted") in messages


def test_a_passing_liveness_probe_never_restarts(apps, core):
    liveness = http_probe("/health", periodSeconds=2, failureThreshold=2)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-alive", "example/app:2.0.0", livenessProbe=liveness)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("probe-alive", NAMESPACE)))
    time.sleep(CLOCK.wall_seconds(20))
    assert pod_of(core, "probe-alive").status.container_statuses[0].restart_count == 0


def test_a_broken_release_passes_its_probes_but_its_pages_answer_500(kubesim, apps):
    readiness = http_probe("/health/ready", periodSeconds=5)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("probe-broken", "example/app:2.0.0-broken", readinessProbe=readiness)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("probe-broken", NAMESPACE)))
    door = kubesim.front_door_url("production") + f"/_svc/{NAMESPACE}/probe-broken"
    assert httpx.get(door + "/health", timeout=5).status_code == 200
    page = httpx.get(door + "/", timeout=5)
    assert page.status_code == 500
    assert page.json()["error"] == "internal server error"
    assert httpx.get(door + "/api/devices", timeout=5).status_code == 500


def test_a_failing_job_image_exits_1(batch, core):
    batch.create_namespaced_job(
        NAMESPACE, job_manifest("probe-failing-job", "example/app:2.0.0-failing", ["backup"])
    )

    def failed():
        job = batch.read_namespaced_job("probe-failing-job", NAMESPACE)
        return next((c for c in job.status.conditions or [] if c.type == "Failed"), None)

    assert wait_for(failed).reason == "BackoffLimitExceeded"
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=probe-failing-job").items
    assert pods[0].status.container_statuses[0].state.terminated.exit_code == 1


@pytest.mark.kubectl
def test_kubectl_shows_an_unready_pod_and_why(kubectl, apps, core):
    readiness = http_probe("/health/ready", periodSeconds=5)
    apps.create_namespaced_deployment(
        NAMESPACE, probed("golden-sick", "example/app:2.0.0-unhealthy", readinessProbe=readiness)
    )
    pod = wait_for(lambda: pod_of(core, "golden-sick"))
    wait_for(lambda: warnings(core, pod.metadata.name))
    listed = kubectl("get", "pods", "-l", "app=golden-sick")
    assert listed.returncode == 0, listed.stderr
    assert [line.split() for line in normalise(listed.stdout)] == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["golden-sick-HASHHASHHA-PODID", "0/1", "Running", "0", "AGE"],
    ]
    described = kubectl("describe", "pod", pod.metadata.name)
    assert described.returncode == 0, described.stderr
    lines = [" ".join(line.split()) for line in described.stdout.splitlines()]
    assert "Ready False" in lines
    assert (
        "Readiness: http-get http://:3000/health/ready delay=0s timeout=1s period=5s "
        "#success=1 #failure=3"
    ) in lines
    unhealthy = [line for line in lines if line.startswith("Warning Unhealthy")]
    assert any(
        line.endswith("kubelet Readiness probe failed: HTTP probe failed with statuscode: 500")
        for line in unhealthy
    ), unhealthy
