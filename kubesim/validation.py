"""What the API server refuses, checked against the schema table.

Two steps, as a real server takes them. Decoding (400 BadRequest): a value of the wrong
JSON type is `cannot be handled as a Deployment: json: cannot unmarshal ...`; with
`fieldValidation=Strict` (kubectl's default) an unknown field is a `strict decoding
error`, otherwise it is dropped, as Go's decoder drops it. Validation (422 Invalid): names,
label keys and values, port ranges, with the field path of each cause.
"""

from __future__ import annotations

import re

from .defaults import VALIDATORS
from .errors import ApiError, invalid
from .schemas import KIND_TYPES, PACKAGES, TYPES, go_name, parse_spec

JSON_TYPES = {
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}
GO_PRIMITIVES = {
    "string": "string",
    "time": "string",
    "int32": "int32",
    "int64": "int64",
    "boolean": "bool",
    "number": "float64",
    "map": "map[string]string",
    "map[quantity]": "v1.ResourceList",
}
QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class DecodeError(Exception):
    pass


def _json_type(value) -> str:
    return JSON_TYPES.get(type(value), "value")


def _go_type(base: str, is_list: bool, field: str) -> str:
    if base == "object":
        go = f"v1.{field[:1].upper()}{field[1:]}"
    else:
        go = GO_PRIMITIVES.get(base) or go_name(base)
    return f"[]{go}" if is_list else go


def _unmarshal_error(value, struct: str, path: str, go_type: str) -> DecodeError:
    shown = _json_type(value)
    if shown == "number" and go_type.startswith("int"):
        shown = f"number {value}"
    return DecodeError(
        f"json: cannot unmarshal {shown} into Go struct field {struct}.{path} of type {go_type}"
    )


class Decoder:
    """Checks one request body against its kind's schema; collects its unknown fields."""

    def __init__(self, kind: str, field_validation: str | None):
        self.kind = kind
        self.strict = field_validation == "Strict"
        self.unknown: list[str] = []

    def decode(self, obj):
        """The object as the server would store it; raises a 400 for what it cannot decode."""
        type_name = KIND_TYPES.get(self.kind)
        if type_name is None or not isinstance(obj, dict):
            return obj
        try:
            decoded = self._struct(obj, type_name, "", "")
        except DecodeError as error:
            raise self._bad(f"{error}") from None
        if self.strict and self.unknown:
            fields = ", ".join(f'unknown field "{path}"' for path in self.unknown)
            raise self._bad(f"strict decoding error: {fields}")
        return decoded

    def warnings(self) -> list[str]:
        return [f'unknown field "{path}"' for path in self.unknown]

    def _bad(self, message: str) -> ApiError:
        version = PACKAGES[KIND_TYPES[self.kind].split(".")[0]][1]
        return ApiError(
            400, f'{self.kind} in version "{version}" cannot be handled as a {self.kind}: {message}'
        )

    def _struct(self, obj: dict, type_name: str, path: str, go_path: str) -> dict:
        fields = TYPES[type_name][1]
        struct = type_name.split(".", 1)[1]
        decoded = {}
        for key, value in obj.items():
            where, go_where = (
                f"{path}.{key}" if path else key,
                f"{go_path}.{key}" if go_path else key,
            )
            if key not in fields:
                self.unknown.append(where)
            elif value is not None:
                decoded[key] = self._value(value, fields[key], key, struct, where, go_where)
        return decoded

    def _value(self, value, spec: str, field: str, struct: str, where: str, go_where: str):
        base, is_list, _ = parse_spec(spec)
        if not is_list:
            return self._one(value, base, field, struct, where, go_where)
        if not isinstance(value, list):
            raise _unmarshal_error(value, struct, go_where, _go_type(base, True, field))
        return [
            self._one(item, base, field, struct, f"{where}[{index}]", go_where)
            for index, item in enumerate(value)
        ]

    def _one(self, value, base: str, field: str, struct: str, where: str, go_where: str):
        if value is None:  # Go decodes a null element as a zero value; nulls are dropped later
            return value
        if base in TYPES:
            if not isinstance(value, dict):
                raise _unmarshal_error(value, struct, go_where, go_name(base))
            return self._struct(value, base, where, go_where)
        if base == "map" and isinstance(value, dict):
            wrong = [v for v in value.values() if not isinstance(v, str | None)]
            if wrong:  # Go names the element's type for a bad map value
                raise _unmarshal_error(wrong[0], struct, go_where, "string")
        check = CHECKS.get(base)
        if check and not check(value):
            raise _unmarshal_error(value, struct, go_where, _go_type(base, False, field))
        if base == "intstr" and (isinstance(value, bool) or not isinstance(value, (str, int))):
            # IntOrString decodes anything but a string as its int32
            raise DecodeError(
                f"json: cannot unmarshal {_json_type(value)} into Go value of type int32"
            )
        if base in ("quantity", "map[quantity]"):
            _check_quantities(value if base == "map[quantity]" else {"": value})
        return value


def _is_int(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


def _check_quantities(values: dict) -> None:
    for value in values.values():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise DecodeError(QUANTITY_ERROR)
        if isinstance(value, str) and not QUANTITY.match(value):
            raise DecodeError(QUANTITY_ERROR)


CHECKS = {
    "string": lambda v: isinstance(v, str),
    "time": lambda v: isinstance(v, str),
    "int32": _is_int,
    "int64": _is_int,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "map": lambda v: isinstance(v, dict),
    "map[quantity]": lambda v: isinstance(v, dict),
    "object": lambda v: isinstance(v, dict),
}


# --- 422: names, labels, ports -------------------------------------------------------

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS_1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
# kind → (pattern, its message, longest name) for metadata.name.
NAME_RULES = {
    "Namespace": (DNS_1123_LABEL, LABEL_MESSAGE, 63),
    "Service": (DNS_1035_LABEL, DNS_1035_MESSAGE, 63),
}
SUBDOMAIN_RULE = (DNS_1123_SUBDOMAIN, SUBDOMAIN_MESSAGE, 253)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def name_causes(kind: str, name: str) -> list[tuple[str, str]]:
    pattern, message, longest = NAME_RULES.get(kind, SUBDOMAIN_RULE)
    causes = []
    if len(name) > longest:
        causes.append(f"must be no more than {longest} characters")
    if not pattern.match(name):
        causes.append(message)
    return [("metadata.name", f"Invalid value: {_quoted(name)}: {text}") for text in causes]


def _label_key_causes(key: str, path: str) -> list[tuple[str, str]]:
    prefix, _, name = key.rpartition("/")
    texts = []
    if prefix and (len(prefix) > 253 or not DNS_1123_SUBDOMAIN.match(prefix)):
        texts.append(f"prefix part {SUBDOMAIN_MESSAGE}")
    if not name:
        texts.append("name part must be non-empty")
    elif len(name) > 63:
        texts.append("name part must be no more than 63 characters")
    if name and not LABEL_NAME.match(name):
        texts.append(LABEL_NAME_MESSAGE)
    return [(path, f"Invalid value: {_quoted(key)}: {text}") for text in texts]


def label_causes(labels, path: str) -> list[tuple[str, str]]:
    causes = []
    for key, value in (labels or {}).items():
        causes += _label_key_causes(key, path)
        if len(value) > 63:
            causes.append(
                (path, f"Invalid value: {_quoted(value)}: must be no more than 63 characters")
            )
        if not LABEL_VALUE.match(value):
            causes.append((path, f"Invalid value: {_quoted(value)}: {LABEL_VALUE_MESSAGE}"))
    return causes


def _templates(obj: dict) -> list[tuple[dict, str]]:
    """Pod templates within an object, with their field paths."""
    spec = obj.get("spec", {})
    if "jobTemplate" in spec:
        return [
            (
                spec["jobTemplate"].get("spec", {}).get("template", {}),
                "spec.jobTemplate.spec.template",
            )
        ]
    return [(spec["template"], "spec.template")] if isinstance(spec.get("template"), dict) else []


def _port_causes(obj: dict) -> list[tuple[str, str]]:
    causes = []
    ranges = [(port.get("port"), f"spec.ports[{i}].port") for i, port in enumerate(
        obj.get("spec", {}).get("ports", []) if obj.get("kind") == "Service" else [])]  # fmt: skip
    for template, path in _templates(obj):
        for c, container in enumerate(template.get("spec", {}).get("containers", [])):
            for p, port in enumerate(container.get("ports", [])):
                where = f"{path}.spec.containers[{c}].ports[{p}].containerPort"
                ranges.append((port.get("containerPort"), where))
    for value, where in ranges:
        if isinstance(value, int) and not 1 <= value <= 65535:
            causes.append(
                (where, f"Invalid value: {value}: must be between 1 and 65535, inclusive")
            )
    return causes


def metadata_causes(obj: dict) -> list[tuple[str, str]]:
    metadata = obj.get("metadata", {})
    causes = name_causes(obj.get("kind", ""), metadata.get("name", ""))
    causes += label_causes(metadata.get("labels"), "metadata.labels")
    for template, path in _templates(obj):
        causes += label_causes(
            template.get("metadata", {}).get("labels"), f"{path}.metadata.labels"
        )
    return causes + _port_causes(obj)


def _service_causes(service: dict) -> list[tuple[str, str]]:
    spec = service.get("spec", {})
    ports = spec.get("ports", [])
    if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
        return [("spec.ports", "Required value")]
    if len(ports) < 2:
        return []
    return [
        (f"spec.ports[{i}].name", "Required value")
        for i, p in enumerate(ports)
        if not p.get("name")
    ]


PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _ingress_path_causes(path: dict, where: str) -> list[tuple[str, str]]:
    kind = path.get("pathType")
    if not kind:
        return [(f"{where}.pathType", "Required value: pathType must be specified")]
    if kind not in PATH_TYPES:
        supported = ", ".join(f'"{t}"' for t in PATH_TYPES)
        return [
            (f"{where}.pathType", f'Unsupported value: "{kind}": supported values: {supported}')
        ]
    if kind != "ImplementationSpecific" and not path.get("path", "").startswith("/"):
        return [
            (
                f"{where}.path",
                f"Invalid value: {_quoted(path.get('path', ''))}: must be an absolute path",
            )
        ]
    return []


def _ingress_causes(ingress: dict) -> list[tuple[str, str]]:
    causes = []
    for r, rule in enumerate(ingress.get("spec", {}).get("rules", [])):
        for p, path in enumerate(rule.get("http", {}).get("paths", [])):
            causes += _ingress_path_causes(path, f"spec.rules[{r}].http.paths[{p}]")
    return causes


def _hpa_causes(hpa: dict) -> list[tuple[str, str]]:
    spec = hpa.get("spec", {})
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
    if low < 1:
        return [("spec.minReplicas", f"Invalid value: {low}: must be greater than or equal to 1")]
    if high < low:
        return [
            (
                "spec.maxReplicas",
                f"Invalid value: {high}: must be greater than or equal to `minReplicas`",
            )
        ]
    return []


CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def _data_key_causes(obj: dict) -> list[tuple[str, str]]:
    return [
        (f"{field}[{key}]", f"Invalid value: {_quoted(key)}: {CONFIG_KEY_MESSAGE}")
        for field in ("data", "binaryData", "stringData")
        for key in obj.get(field) or {}
        if not CONFIG_KEY.match(key)
    ]


# kind → what its own validation refuses, beyond metadata (workloads: defaults.VALIDATORS).
KIND_CAUSES = {
    "Service": _service_causes,
    "Ingress": _ingress_causes,
    "HorizontalPodAutoscaler": _hpa_causes,
    "ConfigMap": _data_key_causes,
    "Secret": _data_key_causes,
}


def validate(resource, obj: dict) -> None:
    """Raise a 422 `Invalid` error for what a real API server's validation refuses."""
    causes = metadata_causes(obj)
    for checks in (VALIDATORS, KIND_CAUSES):
        if resource.kind in checks:
            causes += checks[resource.kind](obj)
    if causes:
        raise invalid(resource, obj.get("metadata", {}).get("name", ""), causes)
