"""Golden transcripts with the real kubectl: exact lines (AGE and name hashes normalised)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time

import pytest

from kubesim.timing import Timing
from tests.kubesim.conftest import KUBECTL

pytestmark = pytest.mark.kubectl

HASH = "[bcdfghjklmnpqrstvwxz2456789]"
POD_NAME = re.compile(rf"-{HASH}{{10}}-{HASH}{{5}}\b")
AGE = re.compile(r"(?<=\s)\d+[smhdy](\d+[smh])?$")


def normalise(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = POD_NAME.sub("-HASHHASHHA-PODID", line)
        lines.append(AGE.sub("AGE", line))
    return lines


def collapse_repeats(lines: list[str]) -> list[str]:
    return [line for index, line in enumerate(lines) if index == 0 or line != lines[index - 1]]


def create_deployment(kubectl, name: str, image: str = "example/app:1.0.0") -> None:
    created = kubectl("create", "deployment", name, f"--image={image}", "--replicas=3")
    assert created.returncode == 0, created.stderr
    assert created.stdout == f"deployment.apps/{name} created\n"
    assert kubectl("rollout", "status", f"deploy/{name}", "--timeout=20s").returncode == 0


def test_get_deployments(kubectl):
    result = kubectl("get", "deployments", cluster="staging")
    assert result.returncode == 0, result.stderr
    assert normalise(result.stdout) == [
        "NAME                READY   UP-TO-DATE   AVAILABLE   AGE",
        "vizora-middleware   3/3     3            3           AGE",
        "vizora-realtime     2/2     2            2           AGE",
        "vizora-web          3/3     3            3           AGE",
    ]


def test_get_pods(kubectl):
    result = kubectl("get", "pods", "-l", "app=vizora-realtime", cluster="staging")
    assert result.returncode == 0, result.stderr
    assert normalise(result.stdout) == [
        "NAME                               READY   STATUS    RESTARTS   AGE",
        "vizora-realtime-HASHHASHHA-PODID   1/1     Running   0          AGE",
        "vizora-realtime-HASHHASHHA-PODID   1/1     Running   0          AGE",
    ]


def test_get_cronjob(kubectl):
    # The backup's schedule as the seed's, at the hour opposite now: the cluster's fast
    # clock never reaches it during the module, so nothing has run (LAST SCHEDULE <none>).
    hour = (dt.datetime.now(dt.UTC).hour + 12) % 24
    created = kubectl(
        "create", "cronjob", "backup-copy", "--image=postgres:16-alpine",
        f"--schedule=0 {hour:02d} * * *", cluster="staging",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    result = kubectl("get", "cronjob", "backup-copy", cluster="staging")
    assert result.returncode == 0, result.stderr
    assert normalise(result.stdout) == [
        "NAME          SCHEDULE     TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE",
        f"backup-copy   0 {hour:02d} * * *   <none>     False     0        <none>          AGE",
    ]


def test_get_missing_deployment_is_not_found(kubectl):
    result = kubectl("get", "deploy", "nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'


def test_set_image_then_rollout_status_reports_progress(kubectl):
    create_deployment(kubectl, "golden-roll")
    # A `-slow` image keeps the rollout going long enough for kubectl to report each step.
    result = kubectl("set", "image", "deploy/golden-roll", "app=example/app:1.1.0-slow")
    assert (result.returncode, result.stdout) == (0, "deployment.apps/golden-roll image updated\n")
    status = kubectl("rollout", "status", "deploy/golden-roll", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    lines = collapse_repeats(status.stdout.splitlines())
    waiting = re.compile(
        r'Waiting for deployment "golden-roll" rollout to finish: '
        r"(\d+ out of 3 new replicas have been updated|\d+ old replicas are pending termination"
        r"|\d+ of 3 updated replicas are available)\.\.\.$"
        r"|Waiting for deployment spec update to be observed\.\.\.$"
    )
    assert lines[-1] == 'deployment "golden-roll" successfully rolled out'
    assert len(lines) >= 2
    assert all(waiting.match(line) for line in lines[:-1]), lines


CRASH_LOOP_STATUSES = ("CrashLoopBackOff", "Error", "Running")


def test_crashloop_rollout_fails_on_its_progress_deadline(kubectl):
    create_deployment(kubectl, "golden-crash")
    # 30 cluster seconds (1 s at the tests' speed): kubesim counts the deadline as given.
    deadline = '{"spec":{"progressDeadlineSeconds":30}}'
    patched = kubectl("patch", "deploy/golden-crash", "-p", deadline)
    assert patched.returncode == 0, patched.stderr
    kubectl("set", "image", "deploy/golden-crash", "app=example/app:1.1.0-crashloop")
    status = kubectl("rollout", "status", "deploy/golden-crash", "--timeout=30s")
    assert status.returncode == 1
    assert status.stderr == 'error: deployment "golden-crash" exceeded its progress deadline\n'
    pods = normalise(kubectl("get", "pods", "-l", "app=golden-crash").stdout)
    crashing = [
        line
        for line in pods
        # Between a crash and its back-off a cluster shows the pod Error, then
        # CrashLoopBackOff, then Running (not ready) again: any of them is the crash loop.
        if "0/1" in line and any(f" {status} " in line for status in CRASH_LOOP_STATUSES)
    ]
    assert crashing, pods


def test_rollout_history_and_undo(kubectl):
    create_deployment(kubectl, "golden-history")
    for version in ("1.1.0", "1.2.0"):
        kubectl("set", "image", "deploy/golden-history", f"app=example/app:{version}")
        assert (
            kubectl("rollout", "status", "deploy/golden-history", "--timeout=20s").returncode == 0
        )
    history = kubectl("rollout", "history", "deploy/golden-history")
    assert history.returncode == 0, history.stderr
    assert history.stdout.splitlines() == [
        "deployment.apps/golden-history ",
        "REVISION  CHANGE-CAUSE",
        "1         <none>",
        "2         <none>",
        "3         <none>",
        "",
    ]
    undo = kubectl("rollout", "undo", "deploy/golden-history")
    assert (undo.returncode, undo.stdout) == (0, "deployment.apps/golden-history rolled back\n")
    assert kubectl("rollout", "status", "deploy/golden-history", "--timeout=20s").returncode == 0
    image = kubectl(
        "get", "deploy/golden-history", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image.stdout == "example/app:1.1.0"
    after = kubectl("rollout", "history", "deploy/golden-history")
    assert after.stdout.splitlines()[2:] == [
        "1         <none>",
        "3         <none>",
        "4         <none>",
        "",
    ]
    to_missing = kubectl("rollout", "undo", "deploy/golden-history", "--to-revision=99")
    assert to_missing.returncode == 1
    assert "unable to find specified revision 99 in history" in to_missing.stderr


def test_logs_of_a_pod_and_of_a_deployment(kubectl):
    pod = kubectl(
        "get",
        "pods",
        "-l",
        "app=vizora-web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
        cluster="staging",
    )
    logs = kubectl("logs", pod.stdout, cluster="staging")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.splitlines() == [
        "> vizora-web@1.0.0 start",
        "> node dist/main.js",
        f"[vizora-web] starting version 1.0.0 in pod {pod.stdout}",
        "[vizora-web] image ghcr.io/your-org/vizora-web:1.0.0",
        "[vizora-web] connected to PostgreSQL",
        "[vizora-web] connected to Redis",
        "[vizora-web] listening on port 3000",
        "[vizora-web] ready",
    ]
    by_deployment = kubectl("logs", "deploy/vizora-web", "--tail=2", cluster="staging")
    assert by_deployment.returncode == 0, by_deployment.stderr
    assert by_deployment.stdout.splitlines() == [
        "[vizora-web] listening on port 3000",
        "[vizora-web] ready",
    ]
    assert re.fullmatch(r"Found 3 pods, using pod/vizora-web-\S+\n", by_deployment.stderr)


def test_rolling_back_and_forth_after_the_progress_deadline_succeeds_every_time(
    kubectl, kubesim, tmp_path
):
    """Re-using an old ReplicaSet is progress: the deadline counts from this rollout,
    not from when that ReplicaSet last progressed (issue 8). `kubectl get --watch`
    sees every condition the rollouts went through."""
    name = "golden-back-forth"
    create_deployment(kubectl, name)
    patched = kubectl("patch", f"deploy/{name}", "-p", '{"spec":{"progressDeadlineSeconds":20}}')
    assert patched.returncode == 0, patched.stderr
    reason = '{.status.conditions[?(@.type=="Progressing")].reason}{"\\n"}'
    watcher = subprocess.Popen(
        [KUBECTL, *kubesim.kubectl_args("production", tmp_path / "watch-cache"),
         "get", f"deploy/{name}", "--watch", "-o", f"jsonpath={reason}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pause = 1.5 * Timing(speed=kubesim.speed).wall_seconds(20)
    try:
        for version in ("1.2.0", "1.1.0", "1.2.0", "1.1.0", "1.2.0", "1.1.0"):
            time.sleep(pause)  # longer than the deadline since that ReplicaSet last progressed
            kubectl("set", "image", f"deploy/{name}", f"app=example/app:{version}")
            status = kubectl("rollout", "status", f"deploy/{name}", "--timeout=30s")
            assert status.returncode == 0, (version, status.stderr)
            assert status.stdout.splitlines()[-1] == f'deployment "{name}" successfully rolled out'
        time.sleep(0.5)  # let the watch print the last events
    finally:
        watcher.terminate()
        seen, _ = watcher.communicate(timeout=10)
    reasons = collapse_repeats([line for line in seen.splitlines() if line])
    assert "ProgressDeadlineExceeded" not in reasons
    assert "FoundNewReplicaSet" in reasons
    assert reasons[-1] == "NewReplicaSetAvailable"
