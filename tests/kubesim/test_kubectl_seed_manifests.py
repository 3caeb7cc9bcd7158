"""The seed's manifests (tests/kubesim/manifests) and the portal's k8s/portal.yaml with the
real kubectl, in each version the dispatcher offers, on clusters that start empty."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kubesim.testing import REPO_ROOT, KubeSim

from .test_kubectl_golden import normalise

pytestmark = pytest.mark.kubectl

MANIFESTS = Path(__file__).parent / "manifests"
PORTAL = REPO_ROOT / "k8s" / "portal.yaml"
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
VERSIONS = ["27", "28", "29", "30", "31", "32", "33"]
SEED_CREATED = [
    "namespace/vizora-prod created",
    "deployment.apps/vizora-middleware created",
    "service/vizora-middleware-service created",
    "horizontalpodautoscaler.autoscaling/vizora-middleware-hpa created",
    "ingress.networking.k8s.io/vizora-ingress created",
    "configmap/prometheus-config created",
    "configmap/prometheus-alerts created",
    "networkpolicy.networking.k8s.io/vizora-network-policy created",
    "cronjob.batch/postgres-backup created",
]


def kubectl_binary(version: str) -> str:
    """The kubectl of one minor version; the dispatcher would pick by the server's /version."""
    binary = KUBECTL_DIR / f"kubectl.1.{version}"
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    return str(binary)


@pytest.fixture(scope="module")
def empty_sim(tmp_path_factory):
    """One empty cluster per kubectl version, so each version starts from nothing."""
    config = {"clusters": [{"name": f"v{version}", "namespace": "default"} for version in VERSIONS]}
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


CLUSTER_IP = re.compile(r"10\.96\.\d+\.\d+ *")
RS_HASH = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")


def without_pods(lines: list[str]) -> list[str]:
    """`get all` minus its pod block, whose STATUS depends on how far start-up has got."""
    end = lines.index("") if lines and lines[0].startswith("NAME") and "pod/" in lines[1] else -1
    return lines[end + 1 :]


def test_seed_manifests_show_in_kubectl_get_like_a_cluster(kubectl_at):
    kubectl = kubectl_at("31")
    created = kubectl("create", "-f", str(MANIFESTS), "--validate=false")
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == SEED_CREATED
    shown = kubectl("get", "hpa,ing,netpol,cm,sa", "-n", "vizora-prod")
    assert shown.returncode == 0, shown.stderr
    assert normalise(shown.stdout) == [
        "NAME                                                        REFERENCE                    "
        "  TARGETS                                     MINPODS   MAXPODS   REPLICAS   AGE",
        "horizontalpodautoscaler.autoscaling/vizora-middleware-hpa   Deployment/vizora-middleware "
        "  cpu: <unknown>/70%, memory: <unknown>/80%   3         10        0          AGE",
        "",
        "NAME                                       CLASS   HOSTS                                 "
        "              ADDRESS   PORTS     AGE",
        "ingress.networking.k8s.io/vizora-ingress   nginx   api.vizora.com,app.vizora.com,realtim"
        "e.vizora.com             80, 443   AGE",
        "",
        "NAME                                                    POD-SELECTOR            AGE",
        "networkpolicy.networking.k8s.io/vizora-network-policy   app=vizora-middleware   AGE",
        "",
        "NAME                          DATA   AGE",
        "configmap/kube-root-ca.crt    1      AGE",
        "configmap/prometheus-alerts   1      AGE",
        "configmap/prometheus-config   1      AGE",
        "",
        "NAME                     SECRETS   AGE",
        "serviceaccount/default   0         AGE",
    ]
    everything = kubectl("get", "all", "-n", "vizora-prod")
    assert everything.returncode == 0, everything.stderr
    lines = [CLUSTER_IP.sub("CLUSTER-IP ", line) for line in normalise(everything.stdout)]
    names = [RS_HASH.sub("-HASH", line.split()[0]) for line in without_pods(lines) if line]
    assert names == [
        "NAME",
        "service/vizora-middleware-service",
        "NAME",
        "deployment.apps/vizora-middleware",
        "NAME",
        "replicaset.apps/vizora-middleware-HASH",
        "NAME",
        "horizontalpodautoscaler.autoscaling/vizora-middleware-hpa",
        "NAME",
        "cronjob.batch/postgres-backup",
    ]
    service = [line for line in lines if line.startswith("service/")]
    assert service == [
        "service/vizora-middleware-service   ClusterIP   CLUSTER-IP <none>        80/TCP    AGE"
    ]
