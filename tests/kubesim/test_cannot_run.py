"""`-cannotrun` (issue 21): a container whose entrypoint does not exist, as a node with
Docker's runtime reports it: terminated ContainerCannotRun, exit 127, the runtime's
message; then restarted with back-off, the reason kept in lastState."""

from __future__ import annotations

from tests.kubesim.helpers import NAMESPACE, deployment_manifest, wait_for


def container_of(core, app: str):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items
    statuses = (pods[0].status.container_statuses or []) if pods else []
    return (pods[0], statuses[0]) if statuses else (None, None)


def test_a_container_that_cannot_run_ends_container_cannot_run_then_backs_off(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("cannot-run", "example/app:1.0.0-cannotrun", 1)
    )
    seen = []

    def backing_off():
        _, status = container_of(core, "cannot-run")
        if status is None:
            return False
        if status.state.terminated and not seen:
            seen.append(status.state.terminated)
        waiting = status.state.waiting
        return status if waiting and waiting.reason == "CrashLoopBackOff" else False

    status = wait_for(backing_off, timeout=20, interval=0.005)
    last = status.last_state.terminated
    assert (last.reason, last.exit_code) == ("ContainerCannotRun", 127)
    assert 'exec: "node": executable file not found in $PATH' in last.message
    assert status.started is False and status.ready is False and status.restart_count >= 1
    if seen:  # a terminated state caught on the way shows the same
        assert (seen[0].reason, seen[0].exit_code) == ("ContainerCannotRun", 127)


def test_a_container_that_cannot_run_has_an_empty_log_and_a_failed_event(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("cannot-run-log", "example/app:1.0.0-cannotrun", 1)
    )
    wait_for(lambda: (c := container_of(core, "cannot-run-log")[1]) and c.restart_count >= 1)
    pod, _ = container_of(core, "cannot-run-log")
    name = pod.metadata.name
    assert core.read_namespaced_pod_log(name, NAMESPACE, previous=True) == ""
    events = core.list_namespaced_event(
        NAMESPACE, field_selector=f"involvedObject.name={name}"
    ).items
    failed = [e.message for e in events if e.reason == "Failed"]
    assert failed and failed[0].startswith('Error: failed to start container "app": ')
    assert "executable file not found" in failed[0]
