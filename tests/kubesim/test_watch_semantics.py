"""Watch details kubectl and client-go rely on: replay, bookmarks, timeouts, Tables."""

from __future__ import annotations

import json
import time

import httpx
import pytest

DEPLOYMENTS = "/apis/apps/v1/namespaces/vizora-staging/deployments"


@pytest.fixture(scope="module")
def http(kubesim):
    with httpx.Client(base_url=kubesim.api_url("staging"), timeout=10) as session:
        yield session


def read_events(http, params: dict, headers: dict | None = None) -> list[dict]:
    with http.stream(
        "GET", DEPLOYMENTS, params={"watch": "true", **params}, headers=headers
    ) as response:
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]


def test_watch_from_zero_replays_everything_then_ends_at_the_timeout(http):
    started = time.monotonic()
    events = read_events(http, {"resourceVersion": "0", "timeoutSeconds": "1"})
    assert 0.9 < time.monotonic() - started < 3
    assert [e["type"] for e in events] == ["ADDED"] * 3
    names = [e["object"]["metadata"]["name"] for e in events]
    assert names == ["vizora-middleware", "vizora-realtime", "vizora-web"]


def test_watch_list_ends_initial_events_with_a_bookmark(http):
    params = {"sendInitialEvents": "true", "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    events = read_events(http, params)
    assert [e["type"] for e in events] == ["ADDED"] * 3 + ["BOOKMARK"]
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_too_old_version_is_an_error_event_with_410(http):
    (event,) = read_events(http, {"resourceVersion": "2", "timeoutSeconds": "1"})
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")


def test_watch_as_table_sends_table_rows(http):
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    params = {
        "resourceVersion": "0",
        "timeoutSeconds": "1",
        "fieldSelector": "metadata.name=vizora-web",
    }
    (event,) = read_events(http, params, {"Accept": accept})
    assert event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][:4] == ["vizora-web", "3/3", 3, 3]


def test_list_pages_with_limit_and_continue(http):
    first = http.get(DEPLOYMENTS, params={"limit": "2"}).json()
    assert len(first["items"]) == 2 and first["metadata"]["continue"]
    rest = http.get(
        DEPLOYMENTS, params={"limit": "2", "continue": first["metadata"]["continue"]}
    ).json()
    assert [d["metadata"]["name"] for d in rest["items"]] == ["vizora-web"]
    assert "continue" not in rest["metadata"]
