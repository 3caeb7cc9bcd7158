"""Services, config, autoscaling, networking and storage kinds: served like a cluster serves them.

Python-client checks for what the portal reads, plus create/get/list/watch/patch/delete
of each kind over plain HTTP.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, watch

from kubesim import service_rows
from tests.kubesim.helpers import NAMESPACE

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "kinds-web"},
    "spec": {"selector": {"app": "kinds-web"}, "ports": [{"port": 80, "targetPort": 3000}]},
}
HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "kinds-hpa"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vizora-web"},
        "maxReplicas": 5,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    },
}
# (collection path, manifest): one object of each newly served kind.
KINDS = [
    (f"/api/v1/namespaces/{NAMESPACE}/services", SERVICE),
    (
        f"/api/v1/namespaces/{NAMESPACE}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kinds-cm"}, "data": {}},
    ),
    (
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "kinds-sa"}},
    ),
    (
        f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "kinds-pvc"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    ),
    (f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers", HPA),
    (
        f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/ingresses",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "kinds-ing"},
            "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
        },
    ),
    (
        f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "kinds-netpol"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}},
        },
    ),
]
PATCHES = [
    ("application/merge-patch+json", {"metadata": {"labels": {"merge": "yes"}}}),
    ("application/strategic-merge-patch+json", {"metadata": {"labels": {"smp": "yes"}}}),
    ("application/json-patch+json", [{"op": "add", "path": "/metadata/labels/json", "value": "y"}]),
]


def call(base: str, method: str, path: str, body=None, content_type="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(("collection", "manifest"), KINDS, ids=[m["kind"] for _, m in KINDS])
def test_each_kind_is_created_read_listed_patched_three_ways_and_deleted(
    kubesim, collection, manifest
):
    base, name = kubesim.api_url("production"), manifest["metadata"]["name"]
    code, created = call(base, "POST", collection, manifest)
    assert (code, created["kind"], created["apiVersion"]) == (
        201,
        manifest["kind"],
        manifest["apiVersion"],
    )
    assert call(base, "POST", collection, manifest)[1]["reason"] == "AlreadyExists"
    code, listed = call(base, "GET", collection)
    assert (code, listed["kind"]) == (200, f"{manifest['kind']}List")
    assert name in [item["metadata"]["name"] for item in listed["items"]]
    for content_type, patch in PATCHES:
        code, patched = call(base, "PATCH", f"{collection}/{name}", patch, content_type)
        assert code == 200, patched
    assert patched["metadata"]["labels"] == {"merge": "yes", "smp": "yes", "json": "y"}
    assert call(base, "DELETE", f"{collection}/{name}")[0] == 200
    code, missing = call(base, "GET", f"{collection}/{name}")
    assert (code, missing["reason"]) == (404, "NotFound")


def test_service_gets_a_cluster_ip_and_the_api_servers_defaults(core):
    created = core.create_namespaced_service(NAMESPACE, SERVICE | {"metadata": {"name": "svc-d"}})
    spec = created.spec
    assert spec.type == "ClusterIP"
    assert spec.cluster_ip.startswith("10.96.") and spec.cluster_ips == [spec.cluster_ip]
    assert (spec.session_affinity, spec.internal_traffic_policy) == ("None", "Cluster")
    assert (spec.ports[0].protocol, spec.ports[0].target_port) == ("TCP", 3000)
    other = core.create_namespaced_service(NAMESPACE, SERVICE | {"metadata": {"name": "svc-e"}})
    assert other.spec.cluster_ip != spec.cluster_ip


def test_service_update_keeps_its_cluster_ip_and_refuses_a_new_one(core):
    created = core.create_namespaced_service(NAMESPACE, SERVICE | {"metadata": {"name": "svc-f"}})
    body = {"metadata": {"name": "svc-f"}, "spec": {"ports": [{"port": 8080}], "type": "ClusterIP"}}
    replaced = core.replace_namespaced_service("svc-f", NAMESPACE, body)
    assert replaced.spec.cluster_ip == created.spec.cluster_ip
    body["spec"]["clusterIP"] = "10.96.255.254"
    with pytest.raises(client.ApiException) as refused:
        core.replace_namespaced_service("svc-f", NAMESPACE, body)
    assert refused.value.status == 422
    assert "spec.clusterIPs[0]" in json.loads(refused.value.body)["message"]
    assert core.read_namespaced_service("svc-f", NAMESPACE).spec.ports[0].port == 8080


def test_strategic_merge_of_service_ports_merges_by_port(core):
    two_ports = SERVICE["spec"] | {
        "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "tls"}]
    }
    core.create_namespaced_service(
        NAMESPACE, SERVICE | {"metadata": {"name": "svc-g"}, "spec": two_ports}
    )
    patched = core.patch_namespaced_service(
        "svc-g", NAMESPACE, {"spec": {"ports": [{"port": 443, "name": "https"}]}}
    )
    assert [(p.port, p.name) for p in patched.spec.ports] == [(80, "http"), (443, "https")]


def test_hpa_v2_reads_through_the_python_client_with_defaults(api_client):
    autoscaling = client.AutoscalingV2Api(api_client)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        NAMESPACE, HPA | {"metadata": {"name": "hpa-read"}}
    )
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("hpa-read", NAMESPACE)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 5)
    assert hpa.spec.behavior.scale_up.policies[0].type == "Pods"
    assert hpa.spec.behavior.scale_down.select_policy == "Max"
    assert hpa.status.desired_replicas == 0


def test_ingress_and_network_policy_read_through_the_python_client(api_client):
    networking = client.NetworkingV1Api(api_client)
    networking.create_namespaced_network_policy(
        NAMESPACE,
        {
            "metadata": {"name": "np-read"},
            "spec": {
                "podSelector": {},
                "egress": [{"ports": [{"port": 5432}]}],
            },
        },
    )
    policy = networking.read_namespaced_network_policy("np-read", NAMESPACE)
    assert policy.spec.policy_types == ["Ingress", "Egress"]
    assert policy.spec.egress[0].ports[0].protocol == "TCP"
    listed = networking.list_namespaced_ingress(NAMESPACE)
    assert listed.kind == "IngressList"


def test_pvc_is_pending_without_a_volume(core):
    core.create_namespaced_persistent_volume_claim(
        NAMESPACE,
        {
            "metadata": {"name": "pvc-read"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    claim = core.read_namespaced_persistent_volume_claim("pvc-read", NAMESPACE)
    assert (claim.status.phase, claim.spec.volume_mode) == ("Pending", "Filesystem")


def test_configmaps_are_watched(core):
    stream = watch.Watch().stream(
        core.list_namespaced_config_map, NAMESPACE, timeout_seconds=2, resource_version="0"
    )
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "cm-watch"}})
    seen = [(e["type"], e["object"].metadata.name) for e in stream]
    assert ("ADDED", "cm-watch") in seen


def test_discovery_lists_the_new_kinds_with_short_names_and_categories(kubesim):
    base = kubesim.api_url("production")
    core = {r["name"]: r for r in call(base, "GET", "/api/v1")[1]["resources"]}
    assert core["services"]["shortNames"] == ["svc"] and core["services"]["categories"] == ["all"]
    assert core["configmaps"]["shortNames"] == ["cm"] and "categories" not in core["configmaps"]
    assert [core[n]["shortNames"] for n in ("serviceaccounts", "persistentvolumeclaims")] == [
        ["sa"],
        ["pvc"],
    ]
    autoscaling = call(base, "GET", "/apis/autoscaling/v2")[1]
    assert autoscaling["groupVersion"] == "autoscaling/v2"
    assert autoscaling["resources"][0]["categories"] == ["all"]
    networking = call(base, "GET", "/apis/networking.k8s.io/v1")[1]
    assert {
        r["name"]: r["shortNames"] for r in networking["resources"] if "/" not in r["name"]
    } == {
        "ingresses": ["ing"],
        "networkpolicies": ["netpol"],
    }
    groups = {
        g["name"]: g["preferredVersion"]["version"] for g in call(base, "GET", "/apis")[1]["groups"]
    }
    assert groups["autoscaling"] == "v2" and groups["networking.k8s.io"] == "v1"
    assert call(base, "GET", "/apis/autoscaling/v1/horizontalpodautoscalers")[0] == 404


def _utilization(name: str, percent: int) -> dict:
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def test_hpa_targets_column_shows_two_metrics_and_counts_the_rest():
    hpa = {
        "metadata": {"name": "h", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 5,
            "metrics": [
                _utilization("cpu", 70),
                _utilization("memory", 80),
                {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}},
            ],
        },
        "status": {
            "currentReplicas": 2,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": 12}},
                }
            ],
        },
    }
    assert service_rows.hpa_row(hpa)[:6] == [
        "h",
        "Deployment/web",
        "cpu: 12%/70%, memory: <unknown>/80% + 1 more...",
        2,
        5,
        2,
    ]
