"""Fixtures that run kubesim as a subprocess on ephemeral ports (safe under xdist)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim

KUBECTL = shutil.which("kubectl")
NAMESPACE = "vizora-prod"
SPEED = 30


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory):
    """The Vizora demo clusters at test speed, one process per test module.

    Speed 30: a pod is Ready in 0.1 s; a 600 s progress deadline would last 20 s, so
    tests that wait for one give their own Deployment a shorter deadline."""
    with KubeSim(VIZORA_CONFIG, speed=SPEED, workdir=tmp_path_factory.mktemp("kubesim")) as sim:
        yield sim


@pytest.fixture(scope="module")
def api_client(kubesim):
    """The official Python client pointed at the simulated production cluster."""
    configuration = client.Configuration()
    configuration.host = kubesim.api_url("production")
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture(scope="module")
def apps(api_client):
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def batch(api_client):
    return client.BatchV1Api(api_client)


@pytest.fixture
def kubectl(kubesim, tmp_path):
    """Run the real kubectl against the production cluster with its own discovery cache."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (/usr/bin/kubectl missing)")

    def run(*args: str, cluster: str = "production") -> subprocess.CompletedProcess:
        command = [KUBECTL, *kubesim.kubectl_args(cluster, tmp_path / "kube-cache"), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    return run
