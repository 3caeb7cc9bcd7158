"""The seed's manifests (tests/kubesim/manifests) and the portal's k8s/portal.yaml with the
real kubectl, in each version the dispatcher offers, on clusters that start empty."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubesim.testing import REPO_ROOT
from tests.kubesim.conftest import VERSIONS
from tests.kubesim.test_kubectl_golden import normalise

pytestmark = pytest.mark.kubectl

MANIFESTS = Path(__file__).parent / "manifests"
PORTAL = REPO_ROOT / "k8s" / "portal.yaml"
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


CLUSTER_IP = re.compile(r"10\.96\.\d+\.\d+ *")
RS_HASH = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")


def without_pods(lines: list[str]) -> list[str]:
    """`get all` minus its pod block, whose STATUS depends on how far start-up has got."""
    end = lines.index("") if lines and lines[0].startswith("NAME") and "pod/" in lines[1] else -1
    return lines[end + 1 :]


def test_seed_manifests_show_in_kubectl_get_like_a_cluster(kubectl_at):
    kubectl = kubectl_at("31", cluster="tables")
    created = kubectl("create", "-f", str(MANIFESTS))
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


def changed_middleware(tmp_path: Path) -> Path:
    """The seed's middleware with a new image, NODE_ENV dropped and the Service on 8080."""
    text = (MANIFESTS / "10-middleware.yaml").read_text()
    text = text.replace("vizora-middleware:latest", "vizora-middleware:2.0.0")
    text = text.replace('        - name: NODE_ENV\n          value: "production"\n', "")
    changed = tmp_path / "middleware.yaml"
    changed.write_text(text.replace("port: 80\n", "port: 8080\n"))
    return changed


@pytest.mark.parametrize("version", VERSIONS)
def test_apply_twice_creates_then_leaves_unchanged_with_validation_on(kubectl_at, version):
    kubectl = kubectl_at(version)
    first = kubectl("apply", "-f", str(MANIFESTS))
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines() == SEED_CREATED
    second = kubectl("apply", "-f", str(MANIFESTS))
    assert (second.returncode, second.stderr) == (0, "")
    assert second.stdout.splitlines() == [
        line.replace(" created", " unchanged") for line in SEED_CREATED
    ]
    portal = [kubectl("apply", "-f", str(PORTAL)) for _ in range(2)]
    assert [(p.returncode, p.stderr) for p in portal] == [(0, ""), (0, "")]
    assert portal[0].stdout.splitlines() == [
        "namespace/deploy-portal created",
        "deployment.apps/deploy-portal-web created",
        "deployment.apps/deploy-portal-worker-deployments created",
        "deployment.apps/deploy-portal-worker-maintenance created",
        "deployment.apps/deploy-portal-worker-builds created",
        "deployment.apps/deploy-portal-beat created",
        "serviceaccount/deploy-portal created",
    ]
    assert portal[1].stdout.count(" unchanged\n") == 7


@pytest.mark.parametrize("version", VERSIONS)
def test_reapplying_a_changed_manifest_merges_three_ways(kubectl_at, version, tmp_path):
    kubectl = kubectl_at(version)
    kubectl("apply", "-f", str(MANIFESTS / "00-namespace.yaml"))
    kubectl("apply", "-f", str(MANIFESTS / "10-middleware.yaml"))
    changed = kubectl("apply", "-f", str(changed_middleware(tmp_path)))
    assert (changed.returncode, changed.stderr) == (0, "")
    assert changed.stdout.splitlines() == [
        "deployment.apps/vizora-middleware configured",
        "service/vizora-middleware-service configured",
        "horizontalpodautoscaler.autoscaling/vizora-middleware-hpa unchanged",
    ]
    container = (
        "{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name}"
    )
    shown = kubectl(
        "get", "deploy/vizora-middleware", "-n", "vizora-prod", "-o", f"jsonpath={container}"
    )
    assert shown.stdout == (
        "ghcr.io/your-org/vizora-middleware:2.0.0 POSTGRES_URL MONGODB_URL REDIS_URL JWT_SECRET"
    )
    ports = kubectl(
        "get", "svc/vizora-middleware-service", "-n", "vizora-prod", "-o", "jsonpath={.spec.ports}"
    )
    assert ports.stdout == '[{"port":8080,"protocol":"TCP","targetPort":3000}]'


def test_diff_shows_nothing_for_applied_manifests_and_the_change_for_a_changed_one(
    kubectl_at, tmp_path
):
    kubectl = kubectl_at("31", cluster="diff")
    assert kubectl("apply", "-f", str(MANIFESTS)).returncode == 0
    same = kubectl("diff", "-f", str(MANIFESTS))
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    changed = kubectl("diff", "-f", str(changed_middleware(tmp_path)))
    assert (changed.returncode, changed.stderr) == (1, "")
    changes = [
        line for line in changed.stdout.splitlines() if line[:1] in "+-" and line[1:2] == " "
    ]
    assert changes == [
        "-  generation: 1",
        "+  generation: 2",
        "-        - name: NODE_ENV",
        "-          value: production",
        "-        image: ghcr.io/your-org/vizora-middleware:latest",
        "+        image: ghcr.io/your-org/vizora-middleware:2.0.0",
        "-  - port: 80",
        "+  - port: 8080",
    ]
    image = kubectl("get", "deploy/vizora-middleware", "-n", "vizora-prod", "-o",
                    "jsonpath={.spec.template.spec.containers[0].image}")  # fmt: skip
    assert image.stdout == "ghcr.io/your-org/vizora-middleware:latest"


EXPLAIN_HEAD = [
    "GROUP:      apps",
    "KIND:       Deployment",
    "VERSION:    v1",
    "",
    "FIELD: containers <[]Container>",
    "",
    "DESCRIPTION:",
]


@pytest.mark.parametrize("version", VERSIONS)
def test_explain_describes_containers_from_the_openapi_document(kubectl_at, version):
    explained = kubectl_at(version)("explain", "deployment.spec.template.spec.containers")
    assert (explained.returncode, explained.stderr) == (0, "")
    lines = [line for line in explained.stdout.splitlines() if line.strip()]
    assert lines[:6] == [
        *(line for line in EXPLAIN_HEAD if line),
        "    List of containers belonging to the pod. There must be at least one",
    ]
    fields = [
        line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")
    ]
    assert fields[:4] == ["args", "command", "env", "envFrom"]
    assert "  env\t<[]EnvVar>" in lines and "  name\t<string> -required-" in lines
    deeper = kubectl_at(version)(
        "explain", "deployment.spec.template.spec.containers.env.valueFrom"
    )
    assert "  secretKeyRef\t<SecretKeySelector>" in deeper.stdout.splitlines()
    missing = kubectl_at(version)("explain", "deployment.spec.nope")
    assert missing.returncode == 1
    assert 'field "nope" does not exist' in missing.stderr


def test_api_resources_lists_every_kind_kubesim_serves(kubectl_at):
    listed = kubectl_at("31")("api-resources")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "NAME",
        "configmaps",
        "events",
        "namespaces",
        "persistentvolumeclaims",
        "pods",
        "secrets",
        "serviceaccounts",
        "services",
        "deployments",
        "replicasets",
        "selfsubjectaccessreviews",
        "horizontalpodautoscalers",
        "cronjobs",
        "jobs",
        "ingresses",
        "networkpolicies",
    ]
    assert listed.stdout.splitlines()[12].split() == [
        "horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"
    ]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_can_i_says_yes_for_the_kubeconfig_user(kubectl_at, version):
    kubectl = kubectl_at(version)
    for question in (["create", "deployments"], ["delete", "pods", "-n", "kube-system"]):
        answer = kubectl("auth", "can-i", *question)
        assert (answer.returncode, answer.stdout, answer.stderr) == (0, "yes\n", "")
