"""Fixtures that run kubesim as a subprocess on ephemeral ports (safe under xdist)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from kubesim.testing import VIZORA_CONFIG, KubeSim

KUBECTL = shutil.which("kubectl")
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
VERSIONS = ["27", "28", "29", "30", "31", "32", "33"]  # every kubectl the dispatcher offers
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


def kubectl_binary(version: str) -> str:
    """The kubectl of one minor version; the dispatcher would pick by the server's /version."""
    binary = KUBECTL_DIR / f"kubectl.1.{version}"
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    return str(binary)


@pytest.fixture(scope="module")
def empty_sim(tmp_path_factory):
    """Clusters holding only what a new cluster holds: one per kubectl version, a few more
    for single tests, so each starts from nothing."""
    names = [f"v{version}" for version in VERSIONS] + ["tables", "diff", "invalid"]
    config = {"clusters": [{"name": name, "namespace": "default"} for name in names]}
    with KubeSim(config, speed=10, workdir=tmp_path_factory.mktemp("empty-kubesim")) as sim:
        yield sim


@pytest.fixture
def kubectl_at(empty_sim, tmp_path):
    """`kubectl_at(version)(*args)`: that version's kubectl against its own empty cluster."""

    def for_version(version: str, cluster: str = ""):
        binary = kubectl_binary(version)
        args = empty_sim.kubectl_args(cluster or f"v{version}", tmp_path / f"cache-{version}")

        def run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run(
                [binary, *args, *command],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                input=stdin,
            )

        return run

    return for_version
