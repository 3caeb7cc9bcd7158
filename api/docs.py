"""A server-rendered page of the OpenAPI document (no CDN, no script: the strict CSP holds).

Descriptions keep their inline marks (`code`, *emphasis*) as HTML; each shape is a
table of its fields (name, type, required, example) rather than raw JSON Schema.
"""

import re

from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from api.v1 import api

METHODS = ("get", "post", "put", "patch", "delete")
CODE = re.compile(r"`([^`]+)`")
EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")


def docs_page(request):
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    operations = [
        _operation(path, method, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    info = document.get("info", {})
    return render(
        request,
        "api_docs.html",
        {
            "document": document,
            "description": inline_marks(info.get("description", "")),
            "operations": operations,
            "schemas": _schemas(document),
        },
    )


def inline_marks(text: str) -> SafeString:
    """Escape `text`, then show `code` and *emphasis* as the document's author meant."""
    html = CODE.sub(r"<code>\1</code>", escape(text))
    return mark_safe(EMPHASIS.sub(r"<em>\1</em>", html))  # the text was escaped above


def _operation(path: str, method: str, spec: dict) -> dict:
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    responses: dict[str, str] = {}
    for status, answer in spec.get("responses", {}).items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        responses.setdefault(str(status), _ref_name(schema))
    return {
        "anchor": spec.get("operationId", f"{method}-{path}"),
        "method": method.upper(),
        "path": path,
        "summary": spec.get("summary", ""),
        "description": inline_marks(spec.get("description", "")),
        "parameters": [
            {**parameter, "description": inline_marks(parameter.get("description", ""))}
            for parameter in spec.get("parameters", [])
        ],
        "body": _ref_name(body.get("schema", {})),
        "responses": sorted(responses.items()),
    }


def _ref_name(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return f"list of {schema['items']['$ref'].rsplit('/', 1)[-1]}"
    return ""


def _schemas(document: dict) -> list[tuple[str, list[dict]]]:
    found = document.get("components", {}).get("schemas", {})
    return [(name, _fields(schema)) for name, schema in sorted(found.items())]


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_of(field),
            "required": name in required,
            "example": ", ".join(str(example) for example in field.get("examples", [])),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _type_of(field: dict) -> str:
    """A short human reading of a field's JSON Schema: `string`, `list of Step`, …"""
    if "$ref" in field:
        return field["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in field:
        kinds = [_type_of(option) for option in field["anyOf"]]
        return " or ".join(kind for kind in kinds if kind != "null") + (
            " (or null)" if "null" in kinds else ""
        )
    if "enum" in field:
        return "one of " + ", ".join(str(value) for value in field["enum"])
    kind = field.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(field.get('items', {}))}"
    if "pattern" in field:
        return f"{kind} matching {field['pattern']}"
    if "format" in field:
        return f"{kind} ({field['format']})"
    return kind
