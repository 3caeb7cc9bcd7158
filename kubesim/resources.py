"""The resource types kubesim serves, and the discovery documents describing them."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    plural: str
    singular: str
    kind: str
    group: str  # "" for the core group
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(default=tuple(ALL_VERBS))
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`deployments.apps`, or `pods` for the core group, as error messages spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


RESOURCES = [
    Resource("namespaces", "namespace", "Namespace", "", namespaced=False, short_names=("ns",)),
    Resource(
        "pods",
        "pod",
        "Pod",
        "",
        short_names=("po",),
        subresources=("log", "status"),
        categories=("all",),
    ),
    Resource("secrets", "secret", "Secret", ""),
    Resource("events", "event", "Event", "", short_names=("ev",)),
    Resource(
        "services",
        "service",
        "Service",
        "",
        short_names=("svc",),
        subresources=("status",),
        categories=("all",),
    ),
    Resource("configmaps", "configmap", "ConfigMap", "", short_names=("cm",)),
    Resource("serviceaccounts", "serviceaccount", "ServiceAccount", "", short_names=("sa",)),
    Resource(
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        "",
        short_names=("pvc",),
        subresources=("status",),
    ),
    Resource(
        "deployments",
        "deployment",
        "Deployment",
        "apps",
        short_names=("deploy",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "replicasets",
        "replicaset",
        "ReplicaSet",
        "apps",
        short_names=("rs",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource("jobs", "job", "Job", "batch", subresources=("status",), categories=("all",)),
    Resource(
        "cronjobs",
        "cronjob",
        "CronJob",
        "batch",
        short_names=("cj",),
        subresources=("status",),
        categories=("all",),
    ),
    Resource(
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        "autoscaling",
        short_names=("hpa",),
        subresources=("status",),
        categories=("all",),
        version="v2",
    ),
    Resource(
        "ingresses",
        "ingress",
        "Ingress",
        "networking.k8s.io",
        short_names=("ing",),
        subresources=("status",),
    ),
    Resource(
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        "networking.k8s.io",
        short_names=("netpol",),
    ),
    # Asked, never stored: `kubectl auth can-i` creates one and reads the answer.
    Resource(
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
        namespaced=False,
        verbs=("create",),
    ),
]

BY_GROUP_PLURAL = {(r.group, r.plural): r for r in RESOURCES}
BY_KIND = {r.kind: r for r in RESOURCES}
# Each named group and the one version kubesim serves of it, in a cluster's discovery order
# (which orders `kubectl get all`: deployments, replicasets, then HPAs, then cronjobs, jobs).
GROUP_ORDER = ["apps", "authorization.k8s.io", "autoscaling", "batch", "networking.k8s.io"]
GROUP_VERSIONS = {
    group: version
    for group in GROUP_ORDER
    for version in {r.version for r in RESOURCES if r.group == group}
}
GROUPS = list(GROUP_VERSIONS)


def lookup(group: str, plural: str) -> Resource | None:
    return BY_GROUP_PLURAL.get((group, plural))


def group_version(group: str) -> str:
    """`v1`, `apps/v1`, `autoscaling/v2`: the groupVersion kubesim serves for a group."""
    return f"{group}/{GROUP_VERSIONS[group]}" if group else "v1"


def resource_for_object(obj: dict) -> Resource | None:
    return BY_KIND.get(obj.get("kind", ""))


def _resource_entry(resource: Resource) -> dict:
    entry = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    return entry


def _subresource_entries(resource: Resource) -> list[dict]:
    entries = []
    for sub in resource.subresources:
        kind, verbs = resource.kind, ["get", "patch", "update"]
        if sub == "scale":
            kind = "Scale"
        if sub == "log":
            kind, verbs = "Pod", ["get"]
        entries.append(
            {
                "name": f"{resource.plural}/{sub}",
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": kind,
                "verbs": verbs,
                **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {}),
            }
        )
    return entries


def resource_list(group: str) -> dict:
    """The APIResourceList for `/api/v1` (group "") or `/apis/<group>/v1`."""
    entries = []
    for resource in RESOURCES:
        if resource.group == group:
            entries.append(_resource_entry(resource))
            entries.extend(_subresource_entries(resource))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group),
        "resources": entries,
    }


def core_versions() -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def _group_entry(group: str) -> dict:
    version = {"groupVersion": group_version(group), "version": GROUP_VERSIONS[group]}
    return {"name": group, "versions": [version], "preferredVersion": version}


def group_list() -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_entry(g) for g in GROUPS]}


def group(group_name: str) -> dict:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group_name)}


def version_info() -> dict:
    # minor 31: the kubectl dispatcher then runs kubectl 1.31, which writes JSON, not protobuf.
    return {
        "major": "1",
        "minor": "31",
        "gitVersion": "v1.31.0-kubesim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
