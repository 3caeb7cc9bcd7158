"""OpenAPI v3 documents built from the schema table: `/openapi/v3` and one per group-version.

kubectl reads them to validate (`fieldValidation` on a PATCH operation means the server
checks fields itself), to explain fields, and to compute apply's strategic merge patches
(`x-kubernetes-patch-merge-key`).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from . import resources
from .resources import Resource
from .schema_docs import field_doc
from .schemas import KIND_TYPES, TYPES, openapi_name, parse_spec

PRIMITIVES = {
    "string": {"type": "string"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
    "time": {"type": "string", "format": "date-time"},
    "intstr": {"x-kubernetes-int-or-string": True, "format": "int-or-string", "type": "string"},
    "quantity": {"x-kubernetes-int-or-string": True, "format": "quantity", "type": "string"},
    "map": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
    "map[quantity]": {
        "type": "object",
        "additionalProperties": {"format": "quantity", "type": "string"},
    },
    "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}
QUERY = [
    ("dryRun", "When present, indicates that modifications should not be persisted."),
    ("fieldManager", "fieldManager is a name associated with the actor or entity making changes."),
    ("fieldValidation", "fieldValidation instructs the server on how to handle objects in the "
     "request containing unknown or duplicate fields: Ignore, Warn or Strict."),
]  # fmt: skip


def _element(base: str) -> dict:
    if base in PRIMITIVES:
        return dict(PRIMITIVES[base])
    return {"allOf": [{"$ref": f"#/components/schemas/{openapi_name(base)}"}], "default": {}}


def field_schema(type_name: str, name: str, spec: str) -> dict:
    base, is_list, merge = parse_spec(spec)
    schema = {"type": "array", "items": _element(base)} if is_list else _element(base)
    if merge:
        schema["x-kubernetes-patch-merge-key"] = merge
        schema["x-kubernetes-patch-strategy"] = "merge"
    description = field_doc(type_name, name)
    if description:
        schema["description"] = description
    return schema


def _gvk(type_name: str) -> list[dict]:
    kind = type_name.split(".", 1)[1]
    resource = resources.BY_KIND.get(kind)
    if resource is None or KIND_TYPES.get(kind) != type_name:
        return []
    return [{"group": resource.group, "kind": kind, "version": resource.version}]


def type_schema(type_name: str) -> dict:
    description, fields, required = TYPES[type_name]
    schema = {
        "description": description,
        "type": "object",
        "properties": {n: field_schema(type_name, n, spec) for n, spec in fields.items()},
    }
    if required:
        schema["required"] = list(required)
    gvk = _gvk(type_name)
    if gvk:
        schema["x-kubernetes-group-version-kind"] = gvk
    return schema


def _references(type_name: str) -> set[str]:
    names = set()
    for spec in TYPES[type_name][1].values():
        base = parse_spec(spec)[0]
        if base not in PRIMITIVES:
            names.add(base)
    return names


def reachable(roots: list[str]) -> list[str]:
    seen, pending = set(), list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_references(name))
    return sorted(seen)


def _parameters(*extra: str) -> list[dict]:
    chosen = [(n, d) for n, d in QUERY if n in extra]
    return [
        {
            "name": n,
            "in": "query",
            "description": d,
            "schema": {"type": "string", "uniqueItems": True},
        }
        for n, d in chosen
    ]


def _operation(resource: Resource, verb: str, action: str, *params: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{openapi_name(KIND_TYPES[resource.kind])}"}
    operation = {
        "description": f"{verb} {resource.kind}",
        "operationId": f"{verb}{resource.kind}",
        "parameters": _parameters(*params),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ref}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": resource.group,
            "version": resource.version,
            "kind": resource.kind,
        },
    }
    if verb in ("create", "replace"):
        operation["requestBody"] = {"content": {"*/*": {"schema": ref}}, "required": True}
    if verb == "patch":
        patch_types = ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"]
        operation["requestBody"] = {
            "content": {
                f"application/{t}+json": {"schema": {"type": "object"}} for t in patch_types
            },
            "required": True,
        }
    return operation


def _paths(resource: Resource) -> dict:
    prefix = f"/api/{resource.version}" if not resource.group else f"/apis/{resource.api_version}"
    scope = "/namespaces/{namespace}" if resource.namespaced else ""
    collection = f"{prefix}{scope}/{resource.plural}"
    write = ("dryRun", "fieldManager", "fieldValidation")
    if resource.verbs == ("create",):
        return {collection: {"post": _operation(resource, "create", "post", *write)}}
    return {
        collection: {
            "get": _operation(resource, "list", "list"),
            "post": _operation(resource, "create", "post", *write),
        },
        f"{collection}/{{name}}": {
            "get": _operation(resource, "read", "get"),
            "put": _operation(resource, "replace", "put", *write),
            "patch": _operation(resource, "patch", "patch", *write),
            "delete": _operation(resource, "delete", "delete", "dryRun"),
        },
    }


def _served_in(group: str) -> list[Resource]:
    return [r for r in resources.RESOURCES if r.group == group]


@cache
def group_version_document(group: str) -> bytes:
    """The OpenAPI v3 document of one group-version, as JSON bytes (it never changes)."""
    served = _served_in(group)
    paths: dict = {}
    for resource in served:
        paths.update(_paths(resource))
    names = reachable([KIND_TYPES[r.kind] for r in served])
    document = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": resources.version_info()["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {openapi_name(n): type_schema(n) for n in names}},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _document_path(group: str) -> str:
    return f"apis/{resources.group_version(group)}" if group else "api/v1"


def root_document() -> dict:
    """`/openapi/v3`: where each group-version's document is, with a hash of its content."""
    paths = {}
    for group in ["", *resources.GROUPS]:
        digest = hashlib.sha512(group_version_document(group)).hexdigest()[:128].upper()
        url = f"/openapi/v3/{_document_path(group)}?hash={digest}"
        paths[_document_path(group)] = {"serverRelativeURL": url}
    return {"paths": paths}


def document_for(path: str) -> bytes | None:
    """The document `GET /openapi/v3/<path>` answers, or None when there is none."""
    for group in ["", *resources.GROUPS]:
        if path == f"/openapi/v3/{_document_path(group)}":
            return group_version_document(group)
    return None


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    length, size = b"", len(payload)
    while True:
        byte, size = size & 0x7F, size >> 7
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            return bytes([number << 3 | 2]) + length + payload


@cache
def swagger_v2_protobuf() -> bytes:
    """`/openapi/v2` as the (gnostic) protobuf kubectl 1.27 and 1.28 insist on loading.

    It declares no paths or definitions: those kubectl versions then validate through
    `/openapi/v3`'s fieldValidation support and compute patches from their built-in types.
    """
    version = resources.version_info()["gitVersion"].encode()
    info = _field(1, b"Kubernetes") + _field(2, version)
    return _field(1, b"2.0") + _field(2, info) + _field(8, b"")
