"""Back-off you can see (issue 11): a crash loop shows Error, then CrashLoopBackOff most
of the time; a bad image ErrImagePull, then ImagePullBackOff; lastState reads right."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from kubesim.timing import Timing
from tests.kubesim.conftest import SPEED
from tests.kubesim.helpers import NAMESPACE, deployment_manifest, wait_for
from tests.kubesim.test_kubectl_golden import normalise

CLOCK = Timing(speed=SPEED)


def container_of(core, app: str):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items
    statuses = (pods[0].status.container_statuses or []) if pods else []
    return (pods[0], statuses[0]) if statuses else (None, None)


def shown(status) -> str:
    """The STATUS column kubectl prints for a one-container pod."""
    state = status.state
    if state.waiting:
        return state.waiting.reason
    if state.terminated:
        return state.terminated.reason
    return "Running"


def test_a_crash_loop_shows_error_then_crash_loop_back_off_most_of_the_time(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("backoff-crash", "example/app:1.0.0-crashloop", 1)
    )
    seen = Counter()
    transitions = []
    began = time.monotonic()
    while time.monotonic() - began < CLOCK.wall_seconds(60):
        pod, status = container_of(core, "backoff-crash")
        if status is not None:
            label = shown(status)
            seen[label] += 1
            if not transitions or transitions[-1] != label:
                transitions.append(label)
            if label == "Error":
                terminated = status.state.terminated
                assert (terminated.exit_code, terminated.reason) == (1, "Error")
            if label == "CrashLoopBackOff":
                meta = pod.metadata
                assert status.state.waiting.message == (
                    f"back-off {status.state.waiting.message.split()[1]} restarting failed "
                    f"container=app pod={meta.name}_{meta.namespace}({meta.uid})"
                )
                last = status.last_state.terminated
                assert (last.exit_code, last.reason) == (1, "Error")
                assert last.started_at <= last.finished_at
                assert status.ready is False and status.started is False
        time.sleep(0.01)
    assert "Error" in transitions and "CrashLoopBackOff" in transitions, transitions
    assert transitions.index("Error") < transitions.index("CrashLoopBackOff")
    assert seen["CrashLoopBackOff"] > seen["Running"] + seen["Error"], seen


def test_a_crash_loop_backs_off_ten_twenty_forty_seconds_with_the_last_exit_code(apps, core):
    """kubelet's doBackOff: the first death restarts at once, then 10 s, doubling, each
    counted from the dead container's finishedAt; lastState keeps its exit code."""
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("backoff-steps", "example/app:1.0.0-crashloop", 1)
    )
    back_offs = {}

    def three_back_offs():
        _, status = container_of(core, "backoff-steps")
        waiting = status.state.waiting if status is not None else None
        if waiting and waiting.reason == "CrashLoopBackOff":
            back_offs.setdefault(status.restart_count, waiting.message.split()[1])
            assert status.last_state.terminated.exit_code == 1
        return len(back_offs) >= 3

    wait_for(three_back_offs, timeout=30, interval=0.005)
    assert sorted(back_offs.items())[:3] == [(1, "10s"), (2, "20s"), (3, "40s")]


def test_a_pull_error_backs_off_ten_then_twenty_seconds(apps, core):
    image = "example/app:1.0.0-pullerror"
    apps.create_namespaced_deployment(NAMESPACE, deployment_manifest("backoff-pull", image, 1))
    sequence = []

    def two_back_offs():
        _, status = container_of(core, "backoff-pull")
        if status is not None and status.state.waiting:
            waiting = status.state.waiting
            if not sequence or sequence[-1][0] != waiting.reason:
                sequence.append((waiting.reason, waiting.message, time.monotonic()))
        return [s[0] for s in sequence].count("ImagePullBackOff") >= 2

    wait_for(two_back_offs, timeout=20)
    reasons = [reason for reason, _, _ in sequence if reason != "ContainerCreating"]
    assert reasons[:4] == ["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"]
    waits = [(r, m, t) for r, m, t in sequence if r != "ContainerCreating"]
    assert waits[0][1].startswith("rpc error: code = NotFound desc = failed to pull and unpack")
    assert waits[1][1] == f'Back-off pulling image "{image}"'
    # The first back-off lasts 10 s from the failure (then a failing pull): the second
    # error comes that much later, the second back-off after 20 s more.
    assert waits[2][2] - waits[0][2] >= 0.8 * CLOCK.wall_seconds(10)
    _, status = container_of(core, "backoff-pull")
    assert status.restart_count == 0 and status.last_state.terminated is None


@pytest.mark.kubectl
def test_kubectl_describes_a_crash_looping_pod(kubectl, apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("golden-loop", "example/app:1.0.0-crashloop", 1)
    )
    wait_for(
        lambda: (
            (c := container_of(core, "golden-loop")[1])
            and c.restart_count >= 4  # an 80 s back-off: 2.7 s for kubectl to look
            and c.state.waiting
            and c.state.waiting.reason == "CrashLoopBackOff"
        ),
        timeout=20,
    )
    pod, status = container_of(core, "golden-loop")
    listed = kubectl("get", "pods", "-l", "app=golden-loop")
    rows = [line.split() for line in normalise(listed.stdout)]
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    _name, ready, state, restarts, *ago = rows[1]
    assert (ready, state, restarts) == ("0/1", "CrashLoopBackOff", str(status.restart_count))
    assert ago[0].startswith("(") and ago[1] == "ago)", rows  # "2 (3s ago)"
    described = kubectl("describe", "pod", pod.metadata.name)
    lines = [" ".join(line.split()) for line in described.stdout.splitlines()]
    at = lines.index("State: Waiting")
    assert lines[at + 1] == "Reason: CrashLoopBackOff"
    assert lines[at + 2] == "Last State: Terminated"
    assert lines[at + 3 : at + 5] == ["Reason: Error", "Exit Code: 1"]
    assert lines[at + 5].startswith("Started: ") and lines[at + 6].startswith("Finished: ")
    assert lines[at + 7] == "Ready: False"
    assert lines[at + 8] == f"Restart Count: {status.restart_count}"
    back_off = [line for line in lines if line.startswith("Warning BackOff")]
    assert back_off and back_off[0].endswith(
        f"kubelet Back-off restarting failed container app in pod "
        f"{pod.metadata.name}_{NAMESPACE}({pod.metadata.uid})"
    ), back_off
