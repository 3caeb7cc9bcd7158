"""A server-rendered page of the OpenAPI document (no CDN, no script: the strict CSP holds)."""

import json

from django.shortcuts import render

METHODS = ("get", "post", "put", "patch", "delete")


def docs_page(request):
    from deployments.api import api

    document = api.get_openapi_schema(path_prefix="/api/v1/")
    operations = [
        _operation(path, method, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    return render(
        request,
        "api_docs.html",
        {"document": document, "operations": operations, "schemas": _schemas(document)},
    )


def _operation(path: str, method: str, spec: dict) -> dict:
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    return {
        "anchor": spec.get("operationId", f"{method}-{path}"),
        "method": method.upper(),
        "path": path,
        "summary": spec.get("summary", ""),
        "description": spec.get("description", ""),
        "parameters": spec.get("parameters", []),
        "body": _ref_name(body.get("schema", {})),
        "responses": [
            (status, _ref_name(r.get("content", {}).get("application/json", {}).get("schema", {})))
            for status, r in spec.get("responses", {}).items()
        ],
    }


def _ref_name(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return f"list of {schema['items']['$ref'].rsplit('/', 1)[-1]}"
    return ""


def _schemas(document: dict) -> list[tuple[str, str]]:
    found = document.get("components", {}).get("schemas", {})
    return [(name, json.dumps(schema, indent=2)) for name, schema in sorted(found.items())]
