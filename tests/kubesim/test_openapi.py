"""The OpenAPI documents kubesim serves, read as kubectl's client reads them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from kubesim import resources


def get(base: str, path: str):
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_root_lists_one_document_per_group_version_and_each_one_is_served(kubesim):
    base = kubesim.api_url("production")
    root = json.loads(get(base, "/openapi/v3")[2])
    assert sorted(root["paths"]) == sorted(
        ["api/v1"] + [f"apis/{resources.group_version(g)}" for g in resources.GROUPS]
    )
    for entry in root["paths"].values():
        code, content_type, body = get(base, entry["serverRelativeURL"])
        assert (code, content_type) == (200, "application/json")
        assert json.loads(body)["openapi"] == "3.0.0"


def test_every_served_kind_has_a_schema_and_a_patch_that_takes_field_validation(kubesim):
    base = kubesim.api_url("production")
    for resource in resources.RESOURCES:
        path = (
            f"/openapi/v3/apis/{resource.api_version}" if resource.group else "/openapi/v3/api/v1"
        )
        document = json.loads(get(base, path)[2])
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        schemas = [s for s in document["components"]["schemas"].values()
                   if gvk in s.get("x-kubernetes-group-version-kind", [])]  # fmt: skip
        assert len(schemas) == 1, resource.kind
        writes = [op for item in document["paths"].values() for op in item.values()
                  if op["x-kubernetes-group-version-kind"] == gvk and op["x-kubernetes-action"]
                  in ("patch", "post")]  # fmt: skip
        assert writes, resource.kind
        assert all(
            any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
            for op in writes
        )


def test_containers_and_service_ports_carry_their_patch_merge_keys(kubesim):
    base = kubesim.api_url("production")
    core = json.loads(get(base, "/openapi/v3/api/v1")[2])["components"]["schemas"]
    pod_spec = core["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert pod_spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    container = core["io.k8s.api.core.v1.Container"]["properties"]
    assert container["ports"]["x-kubernetes-patch-merge-key"] == "containerPort"
    service = core["io.k8s.api.core.v1.ServiceSpec"]["properties"]
    assert service["ports"]["x-kubernetes-patch-merge-key"] == "port"


@pytest.mark.parametrize("path", ["/openapi/v3/apis/apps/v2", "/openapi/v3/apis/nope/v1"])
def test_an_unknown_group_version_document_is_not_found(kubesim, path):
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(kubesim.api_url("production"), path)
    missing.value.close()
    assert missing.value.code == 404


def test_openapi_v2_is_the_protobuf_kubectl_127_loads(kubesim):
    code, content_type, body = get(kubesim.api_url("production"), "/openapi/v2")
    assert (code, content_type) == (
        200,
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    )
    assert body.startswith(b"\n\x032.0\x12")  # field 1 (swagger) "2.0", then field 2 (info)
