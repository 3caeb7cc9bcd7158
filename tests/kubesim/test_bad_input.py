"""Bad requests get a Kubernetes Status with the right code, and the server keeps serving."""

from __future__ import annotations

import socket

import httpx
import pytest

DEPLOYMENTS = "/apis/apps/v1/namespaces/vizora-prod/deployments"


@pytest.fixture(scope="module")
def http(kubesim):
    with httpx.Client(base_url=kubesim.api_url("production"), timeout=5) as session:
        yield session


def assert_status(response: httpx.Response, code: int, reason: str) -> dict:
    assert response.status_code == code
    body = response.json()
    assert (body["kind"], body["status"], body["code"], body["reason"]) == (
        "Status",
        "Failure",
        code,
        reason,
    )
    assert body["message"]
    assert "Traceback" not in response.text
    return body


def test_malformed_json_is_400(http):
    response = http.post(
        DEPLOYMENTS, content=b'{"metadata": ', headers={"Content-Type": "application/json"}
    )
    assert_status(response, 400, "BadRequest")


def test_bad_json_patch_is_400_and_missing_path_422(http):
    headers = {"Content-Type": "application/json-patch+json"}
    assert_status(
        http.patch(f"{DEPLOYMENTS}/vizora-web", content=b'{"op": 1}', headers=headers),
        400,
        "BadRequest",
    )
    missing = b'[{"op": "replace", "path": "/spec/nope/deeper", "value": 1}]'
    assert_status(
        http.patch(f"{DEPLOYMENTS}/vizora-web", content=missing, headers=headers), 422, "Invalid"
    )


def test_unknown_resource_and_object_are_404(http):
    assert_status(http.get("/apis/apps/v1/namespaces/vizora-prod/widgets"), 404, "NotFound")
    body = assert_status(http.get(f"{DEPLOYMENTS}/nope"), 404, "NotFound")
    assert body["message"] == 'deployments.apps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_unknown_field_selector_is_400(http):
    body = assert_status(
        http.get(DEPLOYMENTS, params={"fieldSelector": "spec.replicas=3"}), 400, "BadRequest"
    )
    assert body["message"] == "field label not supported: spec.replicas"


def test_stale_resource_version_is_409(http):
    current = http.get(f"{DEPLOYMENTS}/vizora-realtime").json()
    stale = dict(current, metadata=dict(current["metadata"], resourceVersion="1"))
    assert_status(http.put(f"{DEPLOYMENTS}/vizora-realtime", json=stale), 409, "Conflict")


def test_apply_patch_is_415(http):
    response = http.patch(
        f"{DEPLOYMENTS}/vizora-web",
        content=b"{}",
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert_status(response, 415, "UnsupportedMediaType")


def test_invalid_object_is_422_with_causes(http):
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "broken"},
        "spec": {"template": {}},
    }
    status = assert_status(http.post(DEPLOYMENTS, json=body), 422, "Invalid")
    fields = {cause["field"] for cause in status["details"]["causes"]}
    assert {"spec.selector", "spec.template.spec.containers"} <= fields


def test_dry_run_creates_nothing(http):
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "dry"},
        "stringData": {"a": "b"},
    }
    assert (
        http.post(
            "/api/v1/namespaces/vizora-prod/secrets", params={"dryRun": "All"}, json=body
        ).status_code
        == 201
    )
    assert http.get("/api/v1/namespaces/vizora-prod/secrets/dry").status_code == 404


def test_error_on_a_kept_alive_connection_leaves_it_usable(kubesim):
    """The body of a rejected request is read in full, so the next request parses cleanly."""
    port = kubesim.cluster("production").api_port
    body = b'{"not json' + b"x" * 100_000
    request = (
        f"POST {DEPLOYMENTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    follow_up = b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request + follow_up)
        received = b""
        while received.count(b"HTTP/1.1 ") < 2 or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    first, second = received.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"400 ")
    assert second.startswith(b"200 ") and b'"minor":"31"' in second


def test_garbage_on_the_wire_does_not_stop_the_server(kubesim, http):
    port = kubesim.cluster("production").api_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x00\x01 NOT HTTP\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")
    assert http.get("/version").json()["minor"] == "31"


def test_a_wrong_bearer_token_is_401_and_the_written_one_is_accepted(http):
    refused = http.get(DEPLOYMENTS, headers={"Authorization": "Bearer not-the-token"})
    assert_status(refused, 401, "Unauthorized")
    accepted = http.get(DEPLOYMENTS, headers={"Authorization": "Bearer kubesim"})
    assert accepted.status_code == 200
