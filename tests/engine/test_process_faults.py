"""The portal's own services and the cluster restarting under a running deployment:
every deployment still reaches its right final state."""

import shutil
import subprocess
import sys
import time

import pytest
from django.db import connection

from deployments.engine import request_deployment
from deployments.models import Deployment
from deployments.states import DeploymentState
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import cluster_images, register, wait_for, wait_until_final
from tests.harness.server import free_port
from tests.harness.worker import REPO, WorkerProcess

pytestmark = pytest.mark.worker


@pytest.fixture
def kubesim(tmp_path):
    """Slow enough (a -slow rollout takes seconds) to break things in the middle of it."""
    with KubeSim(VIZORA_CONFIG, speed=24, workdir=tmp_path / "kubesim") as sim:
        yield sim


def wait_for_rollout_progress(deployment_id: int) -> None:
    wait_for(
        lambda: (
            Deployment.objects.get(pk=deployment_id)
            .log.filter(text__contains="new replicas have been updated")
            .exists()
        ),
        timeout=30,
    )


def test_kubesim_restarted_mid_rollout_the_release_is_applied_again(
    development, web, worker, kubesim
):
    release = register(web, "7.0.0-slow")
    deployment = request_deployment("web", "7.0.0-slow", "development")
    wait_for_rollout_progress(deployment.pk)
    kubesim.restart()  # same ports, state lost: the workload is back at its first image
    final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    assert final.log.filter(text__contains="no longer runs this release").exists()


def test_kubesim_stopped_for_20_s_mid_rollout_the_deployment_succeeds(
    development, web, worker, kubesim
):
    release = register(web, "7.0.1-slow")
    deployment = request_deployment("web", "7.0.1-slow", "development")
    wait_for_rollout_progress(deployment.pk)
    kubesim.stop()
    time.sleep(20)  # the API is gone far longer than any one back-off, well within the window
    kubesim.restart()  # same ports, state lost: the rollout re-attaches and applies again
    final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    assert final.log.filter(text__contains="cluster development at http://127.0.0.1:").filter(
        text__contains="unreachable ("
    )
    assert final.log.filter(text__startswith="cluster development reachable again after")


def test_postgres_connections_dropped_mid_rollout_the_deployment_still_ends(
    development, web, worker
):
    release = register(web, "7.1.0-slow")
    deployment = request_deployment("web", "7.1.0-slow", "development")
    wait_for_rollout_progress(deployment.pk)

    def dropped_some() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0] >= 1

    # A worker holds a connection only during a look (a fraction of each second): drop
    # whatever is open until one of the worker's connections was there.
    wait_for(dropped_some, timeout=20)
    final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    assert cluster_images(development, "vizora-web") == {"web": release.image}


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own, so restarting it disturbs no other test."""
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip

    def start():
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for(lambda: _pings(port))
        return process

    state = {"process": start()}
    yield port, state, start
    state["process"].terminate()
    state["process"].wait()


def _pings(port: int) -> bool:
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


def test_redis_restarted_mid_rollout_the_deployment_still_ends(
    development, web, private_redis, tmp_path
):
    from tests.engine.conftest import FAST_ENGINE

    port, state, start = private_redis
    env = {**FAST_ENGINE, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    worker = WorkerProcess(tmp_path / "worker.log", extra_env=env, beat=True)
    worker.start()
    try:
        release = register(web, "7.2.0-slow")
        promote = subprocess.run(
            [sys.executable, "manage.py", "promote", "web", "7.2.0-slow", "--to", "development"],
            cwd=REPO, env=worker.environment(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert promote.returncode == 0, promote.stderr
        deployment = Deployment.objects.get(release=release)
        wait_for_rollout_progress(deployment.pk)
        state["process"].terminate()  # Redis goes away in the middle of the rollout
        state["process"].wait()
        time.sleep(1)
        state["process"] = start()
        final = wait_until_final(deployment.pk, timeout=90)
    finally:
        worker.stop()
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    assert cluster_images(development, "vizora-web") == {"web": release.image}
