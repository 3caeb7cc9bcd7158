"""The three patch formats the API accepts: strategic merge, JSON patch, merge patch."""

from __future__ import annotations

import copy

from .errors import ApiError, bad_request

# Lists that strategic merge patch merges element by element, and the key that names an element.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "ports": "containerPort",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Where the same field name merges by another key: (the field holding the list, the list).
MERGE_KEYS_BY_PARENT = {("spec", "ports"): "port"}  # a Service's ports merge by `port`
ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def merge_patch(target, patch):
    """RFC 7386: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch):
    """Kubernetes strategic merge: merge-patch, plus keyed list merges and `$` directives."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(target) if isinstance(target, dict) else {}, patch)


def _merge_key(parent: str, field: str) -> str | None:
    return MERGE_KEYS_BY_PARENT.get((parent, field), MERGE_KEYS.get(field))


def _merge_map(target: dict, patch: dict, parent: str = "") -> dict:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            existing = target.get(key)
            target[key] = _merge_map(existing if isinstance(existing, dict) else {}, value, key)
        elif isinstance(value, list):
            target[key] = _merge_list(_merge_key(parent, key), target.get(key), value)
        else:
            target[key] = value
    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE_PREFIX):
            field = key[len(DELETE_PRIMITIVE_PREFIX) :]
            target[field] = [v for v in target.get(field, []) if v not in value]
        elif key.startswith(ORDER_PREFIX):
            field = key[len(ORDER_PREFIX) :]
            if isinstance(target.get(field), list):
                target[field] = _apply_order(_merge_key(parent, field), target[field], value)
    if isinstance(retain, list):
        target = {k: v for k, v in target.items() if k in retain}
    return target


def _merge_list(merge_key: str | None, target, patch: list) -> list:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [item for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    if not merge_key or not isinstance(target, list):
        return [item for item in copy.deepcopy(patch) if not _is_directive(item)]
    result = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {merge_key}")
        index = _find(result, merge_key, item[merge_key])
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            result[index] = _merge_map(result[index], item)
    return result


def _is_directive(item) -> bool:
    return isinstance(item, dict) and "$patch" in item


def _find(items: list, key: str, value) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return index
    return None


def _apply_order(merge_key: str | None, items: list, order: list) -> list:
    if not merge_key:
        ordered = [v for v in order if v in items]
        return ordered + [v for v in items if v not in ordered]
    wanted = [entry.get(merge_key) for entry in order if isinstance(entry, dict)]
    by_key = {item.get(merge_key): item for item in items if isinstance(item, dict)}
    ordered = [by_key[k] for k in wanted if k in by_key]
    return ordered + [item for item in items if item.get(merge_key) not in wanted]


def json_patch(target, operations):
    """RFC 6902 operations applied to a copy of target."""
    if not isinstance(operations, list):
        raise bad_request("json patch must be a JSON array of operations")
    document = copy.deepcopy(target)
    for operation in operations:
        document = _apply_operation(document, operation)
    return document


def _apply_operation(document, operation):
    if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
        raise bad_request(f"invalid json patch operation: {operation!r}")
    op, path = operation["op"], _pointer(operation["path"])
    if op in ("add", "replace", "test") and "value" not in operation:
        raise bad_request(f'missing value for "{op}" operation')
    if op == "add":
        return _add(document, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        _get(document, path)
        return _add(_remove(document, path)[0], path, copy.deepcopy(operation["value"]))
    if op == "move":
        document, value = _remove(document, _pointer(operation.get("from", "")))
        return _add(document, path, value)
    if op == "copy":
        value = copy.deepcopy(_get(document, _pointer(operation.get("from", ""))))
        return _add(document, path, value)
    if op == "test":
        if _get(document, path) != operation["value"]:
            raise ApiError(422, f"testing value {operation['path']} failed")
        return document
    raise bad_request(f'unexpected json patch operation "{op}"')


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not isinstance(text, str) or not text.startswith("/"):
        raise bad_request(f"invalid json pointer: {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _parent(document, path: list[str]):
    node = document
    for part in path[:-1]:
        node = _child(node, part)
    return node


def _child(node, part: str):
    try:
        if isinstance(node, list):
            return node[int(part)]
        return node[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise ApiError(422, f"json patch: path element {part!r} does not exist") from None


def _get(document, path: list[str]):
    node = document
    for part in path:
        node = _child(node, part)
    return node


def _add(document, path: list[str], value):
    if not path:
        return value
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else _index(last, len(parent) + 1)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise ApiError(422, f"json patch: cannot add to {last!r}")
    return document


def _remove(document, path: list[str]):
    if not path:
        return None, document
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, list):
        return document, parent.pop(_index(last, len(parent)))
    if isinstance(parent, dict) and last in parent:
        return document, parent.pop(last)
    raise ApiError(422, f"json patch: path {'/'.join(path)!r} does not exist")


def _index(text: str, limit: int) -> int:
    if not text.isdigit() or int(text) >= limit:
        raise ApiError(422, f"json patch: invalid array index {text!r}")
    return int(text)
