"""The patch formats and selectors on their own (no server needed)."""

from __future__ import annotations

import pytest

from kubesim.errors import ApiError
from kubesim.objects import parse_image
from kubesim.patch import json_patch, merge_patch, strategic_merge_patch
from kubesim.selectors import field_matcher, label_matcher

POD_SPEC = {
    "containers": [
        {"name": "web", "image": "web:1", "ports": [{"containerPort": 3000}]},
        {"name": "sidecar", "image": "proxy:1"},
    ]
}


def test_strategic_merge_merges_containers_by_name_and_keeps_the_order():
    patch = {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
        "containers": [{"name": "sidecar", "image": "proxy:2"}],
    }
    merged = strategic_merge_patch(POD_SPEC, patch)
    assert [c["name"] for c in merged["containers"]] == ["web", "sidecar"]
    assert merged["containers"][1]["image"] == "proxy:2"
    assert merged["containers"][0]["ports"] == [{"containerPort": 3000}]


def test_strategic_merge_delete_directive_and_null():
    merged = strategic_merge_patch(
        POD_SPEC, {"containers": [{"name": "sidecar", "$patch": "delete"}]}
    )
    assert [c["name"] for c in merged["containers"]] == ["web"]
    assert "containers" not in strategic_merge_patch(POD_SPEC, {"containers": None})


def test_merge_patch_replaces_lists_and_deletes_with_null():
    merged = merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None}, "l": [3]})
    assert merged == {"a": {"c": 2}, "l": [3]}


def test_json_patch_operations():
    document = {"spec": {"template": {"x": 1}}, "list": [1, 2]}
    patched = json_patch(
        document,
        [
            {"op": "replace", "path": "/spec/template", "value": {"y": 2}},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "remove", "path": "/list/0"},
            {"op": "add", "path": "/a~1b", "value": True},
        ],
    )
    assert patched == {"spec": {"template": {"y": 2}}, "list": [2, 3], "a/b": True}
    with pytest.raises(ApiError) as raised:
        json_patch(document, [{"op": "test", "path": "/list/0", "value": 9}])
    assert raised.value.code == 422


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web,tier!=db", True),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("tier", False),
        ("!tier", True),
    ],
)
def test_label_selectors(selector, expected):
    assert label_matcher(selector)({"metadata": {"labels": {"app": "web"}}}) is expected


def test_event_field_selectors_and_unsupported_fields():
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}}
    assert field_matcher("events", "involvedObject.kind=Pod,involvedObject.name=p")(event)
    assert not field_matcher("events", "involvedObject.name!=p")(event)
    with pytest.raises(ApiError) as raised:
        field_matcher("deployments", "involvedObject.name=p")
    assert raised.value.code == 400


def test_image_tags_with_registry_ports_and_digests():
    image = parse_image("localhost:5000/org/app:2.1.0-crashloop@sha256:" + "a" * 64)
    assert (image.repository, image.tag) == ("localhost:5000/org/app", "2.1.0-crashloop")
    assert image.digest == "sha256:" + "a" * 64
    assert parse_image("postgres").tag == ""
