"""krane's fail-fast rules (issue 21, point 4) on V1Pod objects as the API returns them:
what dooms a rollout at once, what is left to the deadline, and the headline people read."""

import pytest
from kubernetes import client

from integrations.kube.doom import Doom, DoomKind, doom_of_pod, new_pods_may_be_doomed, pod_in_doubt

IMAGE = "ghcr.io/your-org/vizora-middleware:2.4.0@sha256:" + "ab" * 32
NOT_FOUND = (
    f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMAGE}": '
    f'failed to resolve reference "{IMAGE}": {IMAGE}: not found'
)
UNAUTHORIZED = (
    f'rpc error: code = Unknown desc = failed to pull and unpack image "{IMAGE}": failed to '
    "resolve reference: failed to authorize: failed to fetch anonymous token: 401 Unauthorized"
)


def pod(*statuses, deleting=False, init=()) -> client.V1Pod:
    names = [s.name for s in statuses]
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="vizora-middleware-5d9c7b-x2x7q",
            deletion_timestamp="2025-01-01T00:00:00Z" if deleting else None,
        ),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name=n, image=IMAGE) for n in names],
            init_containers=[client.V1Container(name=s.name, image=IMAGE) for s in init] or None,
        ),
        status=client.V1PodStatus(
            container_statuses=list(statuses), init_container_statuses=list(init) or None
        ),
    )


def container(name="middleware", waiting=None, message=None, terminated=None, last=None):
    state = client.V1ContainerState(
        waiting=client.V1ContainerStateWaiting(reason=waiting, message=message)
        if waiting
        else None,
        terminated=terminated,
    )
    return client.V1ContainerStatus(
        name=name, image=IMAGE, image_id="", ready=False, restart_count=3, state=state,
        last_state=client.V1ContainerState(terminated=last),
    )  # fmt: skip


def ended(reason: str, exit_code: int, message: str | None = None):
    return client.V1ContainerStateTerminated(exit_code=exit_code, reason=reason, message=message)


def test_a_container_in_crash_loop_back_off_is_doomed_with_its_last_exit_code():
    found = doom_of_pod(
        pod(container(waiting="CrashLoopBackOff", last=ended("Error", 1), message="back-off 20s"))
    )
    assert found is not None
    assert (found.kind, found.container, found.reason, found.exit_code) == (
        DoomKind.CRASH_LOOP, "middleware", "CrashLoopBackOff", 1,
    )  # fmt: skip
    assert found.pod == "vizora-middleware-5d9c7b-x2x7q"


def test_a_crash_loop_headline_names_the_container_the_exit_code_and_the_last_log_line():
    doom = Doom(
        DoomKind.CRASH_LOOP, "p", "middleware", "CrashLoopBackOff", exit_code=1,
        log=("[middleware] FATAL: unhandled error", "Error: connect ECONNREFUSED 10.96.0.15:5432"),
    )  # fmt: skip
    assert doom.headline() == (
        "Container middleware crashed repeatedly (exit 1): "
        "Error: connect ECONNREFUSED 10.96.0.15:5432"
    )


def test_a_crash_loop_headline_quotes_the_error_above_the_stack_frame_and_exit_line():
    doom = Doom(
        DoomKind.CRASH_LOOP, "p", "web", "CrashLoopBackOff", exit_code=1,
        log=(
            "[web] connected to Redis",
            "[web] FATAL: unhandled error during start-up",
            "Error: connect ECONNREFUSED 10.96.0.15:5432",
            "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)",
            "[web] crashed: process exited with code 1",
        ),
    )  # fmt: skip
    assert doom.headline() == (
        "Container web crashed repeatedly (exit 1): Error: connect ECONNREFUSED 10.96.0.15:5432"
    )


def test_a_crash_loop_log_without_an_error_line_is_quoted_by_its_last_line():
    doom = Doom(
        DoomKind.CRASH_LOOP, "p", "web", "CrashLoopBackOff", exit_code=0,
        log=("[web] starting", "[web] done, bye"),
    )  # fmt: skip
    assert doom.headline() == "Container web crashed repeatedly (exit 0): [web] done, bye"


def test_a_crash_loop_its_liveness_probe_caused_is_explained_by_the_probe_not_the_log():
    doom = Doom(
        DoomKind.CRASH_LOOP, "p", "middleware", "CrashLoopBackOff", exit_code=143,
        log=("[middleware] ready",),
        probe="Liveness probe failed: HTTP probe failed with statuscode: 500",
    )  # fmt: skip
    assert doom.headline() == (
        "Container middleware crashed repeatedly (exit 143): "
        "Liveness probe failed: HTTP probe failed with statuscode: 500"
    )
    assert "pod p container middleware killed: Liveness probe failed" in "\n".join(doom.lines())


def test_a_long_last_log_line_is_cut_in_the_headline_so_it_stays_one_short_line():
    doom = Doom(DoomKind.CRASH_LOOP, "p", "web", "CrashLoopBackOff", exit_code=2, log=("x" * 500,))
    headline = doom.headline()
    assert headline.startswith("Container web crashed repeatedly (exit 2): xxx")
    assert headline.endswith("…") and len(headline) < 220


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_an_image_the_registry_has_not_found_is_doomed(reason):
    found = doom_of_pod(pod(container(waiting=reason, message=NOT_FOUND)))
    assert found is not None and found.kind is DoomKind.IMAGE_NOT_FOUND
    assert found.reason == reason
    assert found.headline() == (
        f"Container middleware cannot start: the image {IMAGE} was never pushed or does not exist"
    )


def test_an_image_pull_back_off_of_an_older_kubelet_is_judged_by_the_last_pull_error():
    """Before 1.32 the back-off message is only `Back-off pulling image "…"`."""
    backing_off = pod(
        container(waiting="ImagePullBackOff", message=f'Back-off pulling image "{IMAGE}"')
    )
    assert doom_of_pod(backing_off) is None
    failed = f'Failed to pull image "{IMAGE}": {NOT_FOUND}'
    found = doom_of_pod(backing_off, {"middleware": failed})
    assert found is not None and found.kind is DoomKind.IMAGE_NOT_FOUND
    assert doom_of_pod(backing_off, {"other": failed}) is None


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_a_pull_refused_or_unreachable_registry_is_left_to_the_deadline(reason):
    """Credentials or a registry outage can be fixed while the rollout waits."""
    assert doom_of_pod(pod(container(waiting=reason, message=UNAUTHORIZED))) is None
    timeout = "dial tcp 10.0.0.5:443: i/o timeout"
    assert doom_of_pod(pod(container(waiting=reason, message=timeout))) is None


def test_a_create_container_config_error_is_doomed_and_says_what_is_missing():
    message = 'secret "vizora-secrets" not found'
    found = doom_of_pod(pod(container(waiting="CreateContainerConfigError", message=message)))
    assert found is not None and found.kind is DoomKind.CONFIG_ERROR
    assert (
        found.headline() == 'Container middleware cannot start: secret "vizora-secrets" not found'
    )


def test_a_config_error_while_the_kubelet_syncs_its_secret_cache_is_transient():
    message = "failed to sync secret cache: timed out waiting for the condition"
    assert (
        doom_of_pod(pod(container(waiting="CreateContainerConfigError", message=message))) is None
    )


@pytest.mark.parametrize("where", ["state", "last_state"])
def test_a_container_that_cannot_run_is_doomed_with_its_exit_code_and_message(where):
    cannot = ended("ContainerCannotRun", 127, 'exec: "node": executable file not found in $PATH')
    status = container(terminated=cannot) if where == "state" else container(last=cannot)
    found = doom_of_pod(pod(status))
    assert found is not None and found.kind is DoomKind.CANNOT_RUN
    assert found.exit_code == 127
    assert found.headline() == (
        'Container middleware could not run (exit 127): exec: "node": executable file not '
        "found in $PATH"
    )


def test_a_container_that_cannot_run_and_backs_off_is_named_by_what_could_not_run():
    cannot = ended("ContainerCannotRun", 127, 'exec: "node": executable file not found')
    found = doom_of_pod(pod(container(waiting="CrashLoopBackOff", last=cannot)))
    assert found is not None and found.kind is DoomKind.CANNOT_RUN
    assert found.reason == "ContainerCannotRun" and found.exit_code == 127


def test_a_long_runtime_message_keeps_its_end_which_says_what_is_wrong():
    message = "failed to create shim task: " * 10 + 'exec: "node": executable file not found'
    found = doom_of_pod(pod(container(last=ended("ContainerCannotRun", 127, message))))
    assert found is not None
    headline = found.headline()
    assert headline.startswith("Container middleware could not run (exit 127): …")
    assert headline.endswith('exec: "node": executable file not found')
    assert len(headline) < 220


def test_node_trouble_that_loops_is_a_crash_loop_all_the_same():
    cannot = ended("ContainerCannotRun", 128, "failed to create task")
    found = doom_of_pod(pod(container(waiting="CrashLoopBackOff", last=cannot)))
    assert found is not None and found.kind is DoomKind.CRASH_LOOP and found.exit_code == 128


@pytest.mark.parametrize("where", ["state", "last_state"])
def test_a_container_that_cannot_run_with_exit_128_is_node_trouble_not_doom(where):
    cannot = ended("ContainerCannotRun", 128, "failed to create task")
    status = container(terminated=cannot) if where == "state" else container(last=cannot)
    assert doom_of_pod(pod(status)) is None


@pytest.mark.parametrize(
    "status",
    [
        container(waiting="ContainerCreating"),
        container(waiting="PodInitializing"),
        container(terminated=ended("Error", 1)),  # died once: the kubelet restarts it
        container(terminated=ended("OOMKilled", 137)),
        container(last=ended("Error", 1)),  # running again after a crash
        container(),
    ],
)
def test_states_that_may_still_get_better_are_left_to_the_deadline(status):
    assert doom_of_pod(pod(status)) is None


def test_a_pod_being_deleted_is_not_judged():
    assert doom_of_pod(pod(container(waiting="CrashLoopBackOff"), deleting=True)) is None


def test_a_crash_looping_init_container_dooms_the_pod():
    init = container(name="migrate-wait", waiting="CrashLoopBackOff", last=ended("Error", 2))
    found = doom_of_pod(pod(container(waiting="PodInitializing"), init=(init,)))
    assert found is not None and (found.container, found.exit_code) == ("migrate-wait", 2)


def test_a_secret_in_a_kubelet_message_is_masked_in_the_doom():
    message = "couldn't find key password=hunter2secret in Secret vizora-dev/x"
    found = doom_of_pod(pod(container(waiting="CreateContainerConfigError", message=message)))
    assert found is not None and "hunter2secret" not in found.headline()
    assert "hunter2secret" not in "\n".join(found.lines())


def test_the_doom_lines_name_pod_container_reason_and_the_log():
    doom = Doom(
        DoomKind.CRASH_LOOP, "vizora-web-1-a", "web", "CrashLoopBackOff", exit_code=1,
        message="", log=("boom",),
    )  # fmt: skip
    assert doom.lines() == [
        "failing fast: pod vizora-web-1-a container web: CrashLoopBackOff",
        "log of vizora-web-1-a (previous run): boom",
    ]
    assert doom.as_result()["headline"] == "Container web crashed repeatedly (exit 1): boom"


def fresh(waiting=None, message=None, terminated=None, restarts=0) -> client.V1ContainerStatus:
    """A container that has not died yet (no restarts) unless told."""
    status = container(waiting=waiting, message=message, terminated=terminated)
    status.restart_count = restarts
    return status


@pytest.mark.parametrize(
    "status",
    [
        fresh(waiting="ContainerCreating"),
        fresh(waiting="PodInitializing"),
        fresh(),  # running, maybe not ready yet
    ],
)
def test_a_new_pod_still_starting_or_running_is_not_in_doubt(status):
    assert not pod_in_doubt(pod(status))


@pytest.mark.parametrize(
    "status",
    [
        fresh(restarts=1),  # died once and runs again: a crash loop shows next
        fresh(terminated=ended("Error", 1)),
        fresh(waiting="ErrImagePull", message="401 Unauthorized"),
        fresh(waiting="CreateContainerConfigError", message="failed to sync secret cache"),
        fresh(waiting="CrashLoopBackOff"),
    ],
)
def test_a_new_pod_that_died_or_cannot_start_is_in_doubt(status):
    """Not doomed (yet, or not by krane's rules): the rollout is looked at again soon."""
    assert pod_in_doubt(pod(status))


def test_a_pod_being_deleted_is_not_in_doubt():
    assert not pod_in_doubt(pod(fresh(restarts=4), deleting=True))


def deployment_status(**counts) -> client.V1Deployment:
    spec = client.V1DeploymentSpec(
        replicas=3, selector=client.V1LabelSelector(), template=client.V1PodTemplateSpec()
    )
    status = client.V1DeploymentStatus(**counts) if counts else None
    return client.V1Deployment(spec=spec, status=status)


def test_pods_are_read_only_while_a_new_pod_exists_and_some_pod_is_unavailable():
    assert new_pods_may_be_doomed(deployment_status(updated_replicas=1, unavailable_replicas=1))
    # No new pod yet, or every pod available: no new pod can be doomed (doomed pods never are).
    assert not new_pods_may_be_doomed(deployment_status(updated_replicas=0, unavailable_replicas=1))
    assert not new_pods_may_be_doomed(
        deployment_status(updated_replicas=3, unavailable_replicas=None)
    )
    assert not new_pods_may_be_doomed(deployment_status())
