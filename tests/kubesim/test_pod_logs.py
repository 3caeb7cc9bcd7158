"""Pod logs with the kubelet's options, through the Python client and the real kubectl."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time

import pytest
from kubernetes import client

from tests.kubesim.conftest import KUBECTL
from tests.kubesim.helpers import (
    NAMESPACE,
    deployment_manifest,
    job_manifest,
    rollout_done,
    wait_for,
)

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (.*)$")
WEB_LOG_TAIL = ["[vizora-web] listening on port 3000", "[vizora-web] ready"]


def web_pod(core) -> str:
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=vizora-web").items
    return pods[0].metadata.name


def api_error(call) -> tuple[int, str]:
    with pytest.raises(client.ApiException) as raised:
        call()
    return raised.value.status, json.loads(raised.value.body)["message"]


def parse_stamp(text: str) -> dt.datetime:
    whole, _, fraction = text.rstrip("Z").partition(".")
    moment = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC)
    return moment + dt.timedelta(microseconds=int((fraction or "0").ljust(9, "0")[:6]))


def test_previous_log_of_a_container_that_never_restarted_is_400(core):
    pod = web_pod(core)
    status, message = api_error(lambda: core.read_namespaced_pod_log(pod, NAMESPACE, previous=True))
    assert status == 400
    assert message == f'previous terminated container "web" in pod "{pod}" not found'


def test_timestamps_prefix_every_line_with_when_it_was_printed(core):
    pod = core.read_namespaced_pod(web_pod(core), NAMESPACE)
    plain = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE).splitlines()
    stamped = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE, timestamps=True)
    matches = [STAMP.match(line) for line in stamped.splitlines()]
    assert all(matches), stamped
    assert [m[2] for m in matches] == plain
    moments = [parse_stamp(m[1]) for m in matches]
    assert moments == sorted(moments)
    started = pod.metadata.creation_timestamp
    assert started - dt.timedelta(seconds=1) <= moments[0] <= dt.datetime.now(dt.UTC)


def test_tail_lines_and_limit_bytes_cut_the_log(core):
    pod = web_pod(core)
    assert core.read_namespaced_pod_log(pod, NAMESPACE, tail_lines=2).splitlines() == WEB_LOG_TAIL
    assert core.read_namespaced_pod_log(pod, NAMESPACE, tail_lines=0) == ""
    whole = core.read_namespaced_pod_log(pod, NAMESPACE)
    count = len(whole.splitlines())
    for more in (count + 1, 2 * count - 1, 10 * count):  # more than it has: all of it
        assert core.read_namespaced_pod_log(pod, NAMESPACE, tail_lines=more) == whole
    whole = core.read_namespaced_pod_log(pod, NAMESPACE)
    assert core.read_namespaced_pod_log(pod, NAMESPACE, limit_bytes=12) == whole[:12]


def test_since_seconds_keeps_only_recent_lines(apps, core):
    apps.create_namespaced_deployment(
        NAMESPACE, deployment_manifest("logs-since", "example/app:1.0.0", 1)
    )
    wait_for(lambda: rollout_done(apps.read_namespaced_deployment("logs-since", NAMESPACE)))
    (pod,) = core.list_namespaced_pod(NAMESPACE, label_selector="app=logs-since").items
    name = pod.metadata.name
    time.sleep(2.2)  # the pod printed everything more than two seconds ago
    assert core.read_namespaced_pod_log(name, NAMESPACE, since_seconds=2) == ""
    everything = core.read_namespaced_pod_log(name, NAMESPACE)
    assert core.read_namespaced_pod_log(name, NAMESPACE, since_seconds=3600) == everything
    assert everything.endswith("[app] ready\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tail_lines": -1}, "tailLines: Invalid value: -1: must be greater than or equal to 0"),
        ({"limit_bytes": 0}, "limitBytes: Invalid value: 0: must be greater than 0"),
        ({"since_seconds": 0}, "sinceSeconds: Invalid value: 0: must be greater than 0"),
    ],
    ids=["negative-tail", "zero-limit", "zero-since"],
)
def test_invalid_log_options_are_422(core, options, message):
    pod = web_pod(core)
    status, text = api_error(lambda: core.read_namespaced_pod_log(pod, NAMESPACE, **options))
    assert status == 422
    assert text == f'PodLogOptions "{pod}" is invalid: {message}'


def start_slow_job(batch, core, name: str) -> str:
    """A Job whose container runs for a while (`-slow`): the log grows, then it exits 0."""
    image = "ghcr.io/your-org/vizora-middleware:1.1.0-slow"
    batch.create_namespaced_job(NAMESPACE, job_manifest(name, image, ["npm", "run", "migrate"]))

    def running_pod():
        for pod in core.list_namespaced_pod(NAMESPACE, label_selector=f"job-name={name}").items:
            for status in pod.status.container_statuses or []:
                if status.state.running:
                    return pod.metadata.name
        return None

    return wait_for(running_pod, interval=0.005)


def test_follow_streams_a_job_log_until_its_container_exits(batch, core):
    pod = start_slow_job(batch, core, "logs-follow")
    response = core.read_namespaced_pod_log(
        pod, NAMESPACE, follow=True, timestamps=True, _preload_content=False
    )
    started = time.monotonic()
    chunks = list(response.stream(decode_content=False))
    response.release_conn()
    lines = b"".join(chunks).decode().splitlines()
    assert [STAMP.match(line)[2] for line in lines] == [
        "+ npm run migrate",
        "Running migrations...",
        "Applying 0042_add_device_index... OK",
        "Migrations complete.",
    ]
    assert len(chunks) >= 2  # the end of the log arrived later than its start
    assert time.monotonic() - started < 10  # the stream ended when the container did
    job = batch.read_namespaced_job("logs-follow", NAMESPACE)
    assert job.status.succeeded == 1


def test_follow_of_a_running_service_ends_when_the_client_hangs_up(core):
    pod = web_pod(core)
    response = core.read_namespaced_pod_log(
        pod, NAMESPACE, follow=True, tail_lines=1, _preload_content=False
    )
    first = next(response.stream(amt=1024, decode_content=False))
    assert first == b"[vizora-web] ready\n"
    response.close()  # the server must notice and stop; the cluster keeps answering
    assert core.read_namespaced_pod_log(pod, NAMESPACE, tail_lines=1) == "[vizora-web] ready\n"


# --- kubectl ------------------------------------------------------------------------------


@pytest.mark.kubectl
def test_kubectl_logs_previous_of_a_container_that_never_restarted(kubectl, core):
    pod = web_pod(core)
    result = kubectl("logs", pod, "--previous")
    assert result.returncode == 1
    assert result.stderr == (
        "Error from server (BadRequest): previous terminated container "
        f'"web" in pod "{pod}" not found\n'
    )


@pytest.mark.kubectl
def test_kubectl_logs_timestamps_tail_and_limit_bytes(kubectl, core):
    pod = web_pod(core)
    stamped = kubectl("logs", pod, "--timestamps", "--tail=2")
    assert stamped.returncode == 0, stamped.stderr
    assert [STAMP.match(line)[2] for line in stamped.stdout.splitlines()] == WEB_LOG_TAIL
    limited = kubectl("logs", pod, "--limit-bytes=5")
    assert (limited.returncode, limited.stdout) == (0, "> viz")


@pytest.mark.kubectl
def test_kubectl_logs_since_and_since_time(kubectl, core):
    pod = web_pod(core)
    assert kubectl("logs", pod, "--since=1h").stdout.splitlines()[-2:] == WEB_LOG_TAIL
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = kubectl("logs", pod, f"--since-time={later}")
    assert (future.returncode, future.stdout) == (0, "")
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert kubectl("logs", pod, f"--since-time={earlier}").stdout.splitlines()[-1] == (
        "[vizora-web] ready"
    )


@pytest.mark.kubectl
def test_kubectl_logs_follow_ends_with_the_job(kubectl, kubesim, batch, core, tmp_path):
    pod = start_slow_job(batch, core, "logs-follow-kubectl")
    command = [KUBECTL, *kubesim.kubectl_args("production", tmp_path / "follow"), "logs", "-f", pod]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "+ npm run migrate",
        "Running migrations...",
        "Applying 0042_add_device_index... OK",
        "Migrations complete.",
    ]
