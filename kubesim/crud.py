"""Create, replace, patch and delete with the API server's rules.

Both the HTTP API and the simulated controllers write through here, so
defaults, validation, generation and resourceVersion rules hold for both.
"""

from __future__ import annotations

import copy
import json

from . import errors
from .allocation import allocate, keep_allocated
from .defaults import INITIAL_STATUS, apply_defaults, namespace_contents
from .errors import ApiError, bad_request
from .objects import drop_nulls, new_uid, random_suffix, timestamp
from .patch import json_patch, merge_patch, strategic_merge_patch
from .resources import BY_KIND, Resource, lookup
from .selectors import selector_string
from .store import Store
from .validation import validate

GENERATION_KINDS = {"Deployment", "ReplicaSet", "Job", "CronJob", "Pod"}
NAMESPACES = lookup("", "namespaces")

PATCH_TYPES = {
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/merge-patch+json": merge_patch,
    "application/json-patch+json": json_patch,
}


def parse_json(body: bytes):
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(
            f"the body of the request could not be decoded as JSON: {error}"
        ) from None


class Objects:
    """Writes to one cluster's store, enforcing what a real API server enforces."""

    def __init__(self, store: Store):
        self.store = store

    def _require_namespace(self, resource: Resource, namespace: str) -> None:
        if resource.namespaced and not self.store.get(NAMESPACES, "", namespace):
            raise errors.not_found(NAMESPACES, namespace)

    def _prepare_new(self, resource: Resource, obj, namespace: str) -> dict:
        if not isinstance(obj, dict):
            raise bad_request(f"the body must be a {resource.kind} object")
        obj = drop_nulls(copy.deepcopy(obj))
        if obj.get("kind", resource.kind) != resource.kind:
            raise bad_request(f"the kind {obj['kind']!r} does not match {resource.kind!r}")
        obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
        metadata = obj.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if resource.namespaced:
            if metadata.get("namespace", namespace) != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + random_suffix()
        if not metadata.get("name"):
            raise errors.invalid(
                resource,
                "",
                [("metadata.name", "Required value: name or generateName is required")],
            )
        return obj

    def create(
        self,
        resource: Resource,
        obj,
        namespace: str = "",
        dry_run: bool = False,
        keep_status: bool = False,
    ) -> dict:
        """POST: 201 semantics; 409 when the name is taken, 422 when invalid."""
        obj = self._prepare_new(resource, obj, namespace)
        metadata = obj["metadata"]
        self._require_namespace(resource, namespace)
        if self.store.get(resource, namespace, metadata["name"]):
            raise errors.already_exists(resource, metadata["name"])
        metadata.pop("resourceVersion", None)
        metadata["uid"] = new_uid()
        metadata["creationTimestamp"] = timestamp()
        if resource.kind in GENERATION_KINDS:
            metadata["generation"] = 1
        if not keep_status and resource.kind in INITIAL_STATUS:
            obj["status"] = copy.deepcopy(INITIAL_STATUS[resource.kind])
        apply_defaults(obj)
        allocate(obj, self.store)
        validate(resource, obj)
        if dry_run:
            return obj
        stored = self.store.put(resource, obj, "ADDED")
        if resource.kind == "Namespace":
            self._populate_namespace(metadata["name"])
        return stored

    def _populate_namespace(self, namespace: str) -> None:
        """What a cluster's controllers put in every new namespace, at once rather than soon."""
        for kind, obj in namespace_contents():
            self.create(BY_KIND[kind], obj, namespace)

    def _current(self, resource: Resource, namespace: str, name: str) -> dict:
        current = self.store.get(resource, namespace, name)
        if current is None:
            raise errors.not_found(resource, name)
        return current

    def replace(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        obj,
        subresource: str = "",
        dry_run: bool = False,
    ) -> dict:
        """PUT (and the last step of PATCH): 409 on a stale resourceVersion."""
        current = self._current(resource, namespace, name)
        obj = self._prepare_new(resource, obj, namespace)
        if obj["metadata"]["name"] != name:
            raise bad_request(
                f"the name of the object ({obj['metadata']['name']}) does not match the name "
                f"on the URL ({name})"
            )
        sent_rv = obj["metadata"].get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(resource, name)
        merged = self._merge_with_current(resource, current, obj, subresource)
        apply_defaults(merged)
        keep_allocated(merged, current)
        validate(resource, merged)
        if _same_apart_from_version(merged, current) or dry_run:
            return current if not dry_run else merged
        return self.store.put(resource, merged, "MODIFIED")

    def _merge_with_current(self, resource, current: dict, obj: dict, subresource: str) -> dict:
        metadata = obj["metadata"]
        for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if key in current["metadata"]:
                metadata[key] = current["metadata"][key]
        if subresource == "status":
            merged = copy.deepcopy(current)
            merged["status"] = obj.get("status", {})
            return merged
        if "status" in current and resource.kind not in ("Secret", "Event"):
            obj["status"] = copy.deepcopy(current["status"])
        if resource.kind in GENERATION_KINDS:
            current_spec = _defaulted_spec(current)
            if _defaulted_spec(obj) != current_spec:
                metadata["generation"] = current["metadata"].get("generation", 1) + 1
        return obj

    def patch(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        content_type: str,
        body: bytes,
        subresource: str = "",
        dry_run: bool = False,
        decode=None,
    ) -> dict:
        """PATCH: the patched object is decoded (`decode`) and written like a PUT."""
        patcher = PATCH_TYPES.get(content_type)
        if patcher is None:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PATCH_TYPES)}",
            )
        document = parse_json(body)
        current = self._current(resource, namespace, name)
        if subresource == "scale":
            scaled = patcher(scale_of(current), document)
            return self.set_scale(resource, namespace, name, scaled, dry_run)
        patched = patcher(copy.deepcopy(current), document)
        if not isinstance(patched, dict):
            raise bad_request("the patch did not produce an object")
        if decode is not None:
            patched = decode(patched)
        return self.replace(resource, namespace, name, patched, subresource, dry_run)

    def set_scale(self, resource, namespace: str, name: str, scale, dry_run: bool = False) -> dict:
        current = self._current(resource, namespace, name)
        replicas = (
            (scale or {}).get("spec", {}).get("replicas") if isinstance(scale, dict) else None
        )
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(resource, name, [("spec.replicas", "Invalid value: must be >= 0")])
        updated = copy.deepcopy(current)
        updated["spec"]["replicas"] = replicas
        return scale_of(self.replace(resource, namespace, name, updated, dry_run=dry_run))

    def delete(self, resource: Resource, namespace: str, name: str, propagation: str = "") -> dict:
        """DELETE: dependents are collected by the controller unless propagation is Orphan."""
        current = self._current(resource, namespace, name)
        if propagation == "Orphan":
            self._orphan_dependents(current)
        if resource.kind == "Namespace":
            self._delete_namespace_contents(name)
        self.store.remove(resource, namespace, name)
        return success_status(resource, current)

    def _orphan_dependents(self, owner: dict) -> None:
        uid = owner["metadata"]["uid"]
        for kind in ("ReplicaSet", "Pod", "Job"):
            resource = BY_KIND[kind]
            for obj in self.store.list(resource):
                refs = obj["metadata"].get("ownerReferences", [])
                if any(ref.get("uid") == uid for ref in refs):
                    orphan = copy.deepcopy(obj)
                    orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    self.store.put(resource, orphan, "MODIFIED")

    def _delete_namespace_contents(self, namespace: str) -> None:
        for resource in BY_KIND.values():
            if resource.namespaced:
                for obj in self.store.list(resource, namespace):
                    self.store.remove(resource, namespace, obj["metadata"]["name"])

    def write(self, resource: Resource, obj: dict) -> dict:
        """Controller write of a whole object (spec or status); skipped when nothing changed."""
        metadata = obj["metadata"]
        current = self.store.get(resource, metadata.get("namespace", ""), metadata["name"])
        if current is not None and _same_apart_from_version(obj, current):
            return current
        return self.store.put(resource, obj, "MODIFIED" if current else "ADDED")


def _defaulted_spec(obj: dict):
    spec = copy.deepcopy(obj.get("spec"))
    probe = {"kind": obj["kind"], "metadata": dict(obj.get("metadata", {})), "spec": spec}
    apply_defaults(probe)
    return probe.get("spec")


def _same_apart_from_version(a: dict, b: dict) -> bool:
    def strip(obj):
        return {
            **obj,
            "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"},
        }

    return strip(a) == strip(b)


def scale_of(obj: dict) -> dict:
    metadata = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: metadata[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in metadata
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": selector_string(obj.get("spec", {}).get("selector")),
        },
    }


def success_status(resource: Resource, obj: dict) -> dict:
    meta = obj["metadata"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": meta["name"],
            "group": resource.group,
            "kind": resource.plural,
            "uid": meta["uid"],
        },
    }
