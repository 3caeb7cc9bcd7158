"""What a kubelet checks before it creates a container: the Secrets and ConfigMaps its
environment and volumes name (an `optional: true` reference may be missing).

A missing object or key in `env` / `envFrom` holds the container in waiting
`CreateContainerConfigError` (`secret "x" not found`, `couldn't find key y in Secret
ns/x`); a missing volume source keeps the pod in `ContainerCreating` with a
`FailedMount` event, as on a cluster. Kinds kubesim does not serve yet count as empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from .resources import lookup
from .store import Store

KINDS = {"Secret": ("secrets", "secret"), "ConfigMap": ("configmaps", "configmap")}


@dataclass(frozen=True)
class Missing:
    waiting: str  # CreateContainerConfigError / ContainerCreating
    message: str  # the waiting message, or the FailedMount event's


def _object(store: Store, kind: str, namespace: str, name: str) -> dict | None:
    resource = lookup("", KINDS[kind][0])
    return store.get(resource, namespace, name) if resource else None


def _keys(obj: dict) -> set[str]:
    return {*obj.get("data", {}), *obj.get("stringData", {}), *obj.get("binaryData", {})}


def _env_problem(store: Store, namespace: str, kind: str, ref: dict, key: str | None) -> str:
    if ref.get("optional"):
        return ""
    name = ref.get("name", "")
    obj = _object(store, kind, namespace, name)
    if obj is None:
        return f'{KINDS[kind][1]} "{name}" not found'
    if key is not None and key not in _keys(obj):
        return f"couldn't find key {key} in {kind} {namespace}/{name}"
    return ""


def container_problem(store: Store, namespace: str, container: dict) -> str:
    """Why the kubelet cannot build this container's environment, or ""."""
    for env in container.get("env", []):
        source = env.get("valueFrom", {})
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if field in source:
                ref = source[field]
                if problem := _env_problem(store, namespace, kind, ref, ref.get("key")):
                    return problem
    for env_from in container.get("envFrom", []):
        for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = env_from.get(field)
            if ref is not None and (problem := _env_problem(store, namespace, kind, ref, None)):
                return problem
    return ""


def volume_problem(store: Store, namespace: str, volume: dict) -> str:
    sources = (("secret", "Secret", "secretName"), ("configMap", "ConfigMap", "name"))
    for field, kind, name_key in sources:
        source = volume.get(field)
        if source is None or source.get("optional"):
            continue
        name = source.get(name_key, "")
        obj = _object(store, kind, namespace, name)
        prefix = f'MountVolume.SetUp failed for volume "{volume.get("name", "")}" : '
        if obj is None:
            return prefix + f'{KINDS[kind][1]} "{name}" not found'
        for item in source.get("items", []):
            if item.get("key") not in _keys(obj):
                what = "config" if kind == "ConfigMap" else "secret"
                return (
                    prefix + f"{KINDS[kind][1]} references non-existent {what} key: {item['key']}"
                )
    return ""


def missing(store: Store, pod: dict) -> Missing | None:
    """The first reference of the pod that holds its containers back, if any."""
    namespace = pod["metadata"].get("namespace", "")
    spec = pod.get("spec", {})
    for volume in spec.get("volumes", []):
        if problem := volume_problem(store, namespace, volume):
            return Missing("ContainerCreating", problem)
    for container in spec.get("containers", []):
        if problem := container_problem(store, namespace, container):
            return Missing("CreateContainerConfigError", problem)
    return None
