"""Label and field selectors, parsed from query strings and matched against objects."""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import bad_request

Matcher = Callable[[dict], bool]

_SET_EXPR = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_EXPR = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside an `in (...)` value list."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def _label_requirement(text: str) -> Callable[[dict], bool]:
    if match := _SET_EXPR.match(text):
        key, op, values = match[1], match[2], {v.strip() for v in match[3].split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_EXPR.match(text):
        key, op, value = match[1], match[2], match[3]
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        negate, key = match[1] == "!", match[2]
        return lambda labels: (key in labels) != negate
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


def label_matcher(text: str | None) -> Matcher:
    """Build a matcher from a `labelSelector` query value (=, ==, !=, in, notin, exists)."""
    if not text:
        return lambda obj: True
    requirements = [_label_requirement(part) for part in _split_requirements(text)]

    def matches(obj: dict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def selector_matcher(selector: dict | None) -> Matcher:
    """Build a matcher from a LabelSelector object (matchLabels + matchExpressions)."""
    selector = selector or {}
    wanted = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []

    def expression_ok(labels: dict, expression: dict) -> bool:
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        checks = {
            "In": lambda: labels.get(key) in values,
            "NotIn": lambda: labels.get(key) not in values,
            "Exists": lambda: key in labels,
            "DoesNotExist": lambda: key not in labels,
        }
        return checks.get(op, lambda: False)()

    def matches(obj: dict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            return False
        return all(expression_ok(labels, e) for e in expressions)

    return matches


def selector_string(selector: dict | None) -> str:
    labels = (selector or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _path_getter(path: str) -> Callable[[dict], str]:
    keys = path.split(".")

    def get(obj: dict) -> str:
        value = obj
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        return "" if value == {} or value is None else str(value)

    return get


COMMON_FIELDS = ("metadata.name", "metadata.namespace")
EXTRA_FIELDS = {
    "pods": ("status.phase", "spec.nodeName", "spec.restartPolicy"),
    "events": (
        "involvedObject.kind",
        "involvedObject.name",
        "involvedObject.namespace",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "type",
        "source",
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "jobs": ("status.successful",),
    "replicasets": ("status.replicas",),
}


def field_matcher(resource_plural: str, text: str | None) -> Matcher:
    """Build a matcher from a `fieldSelector`; unsupported fields are a 400, as on a cluster."""
    if not text:
        return lambda obj: True
    allowed = COMMON_FIELDS + EXTRA_FIELDS.get(resource_plural, ())
    checks = []
    for part in _split_requirements(text):
        match = _EQ_EXPR.match(part)
        if not match:
            raise bad_request(f"invalid selector: {text!r}; can't understand {part.strip()!r}")
        field, op, value = match[1], match[2], match[3]
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        getter = _path_getter("source.component" if field == "source" else field)
        checks.append((getter, op != "!=", value))

    def matches(obj: dict) -> bool:
        return all((getter(obj) == value) == equal for getter, equal, value in checks)

    return matches
