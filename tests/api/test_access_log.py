"""The access log: one JSON line per request on `portal.access`, for pages and the API,
with the token's prefix (never its secret), the signed-in person, the status, the time
taken and whether the answer was a replay; never the query string."""

import json
import logging

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from portal.access_log import AccessLogMiddleware
from tests.test_settings import start_django

FIELDS = {"time", "method", "path", "status", "duration_ms", "token", "user", "replayed",
          "streaming"}  # fmt: skip


@pytest.fixture
def access(caplog):
    """The access lines logged so far, parsed."""
    caplog.set_level(logging.INFO, logger="portal.access")

    def lines() -> list[dict]:
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == "portal.access"]

    return lines


def test_an_api_read_is_one_line_with_the_token_prefix_and_no_secret(api, tokens, access, caplog):
    response = api.client.get(
        "/api/v1/environments?token=hunter2&page=1",
        headers={"Authorization": f"Bearer {tokens.ci_read}"},
    )
    assert response.status_code == 200
    (line,) = access()
    assert set(line) == FIELDS
    assert line["method"] == "GET" and line["path"] == "/api/v1/environments"
    assert line["status"] == 200 and line["token"] == tokens.ci_read[:12]
    assert line["user"] is None and line["replayed"] is False and line["streaming"] is False
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert round(line["duration_ms"], 1) == line["duration_ms"]
    assert line["time"].endswith("+00:00")
    logged = caplog.text
    assert tokens.ci_read not in logged and "hunter2" not in logged and "page=1" not in logged


def test_a_refused_token_is_logged_without_its_secret_or_prefix(api, tokens, access, caplog):
    assert api.get("/environments", tokens.wrong)[0] == 401
    (line,) = access()
    assert (line["status"], line["token"]) == (401, None)
    assert tokens.wrong not in caplog.text


def test_an_idempotent_replay_is_marked(api, tokens, access):
    body = {"git_sha": "abc1234", "state": "passed"}
    for _ in range(2):
        assert api.post("/ci-results", tokens.ci_report, body, key="k")[0] == 201
    first, replay = access()
    assert (first["method"], first["path"], first["replayed"]) == ("POST", "/api/v1/ci-results",
                                                                   False)  # fmt: skip
    assert replay["replayed"] is True and replay["token"] == tokens.ci_report[:12]


def test_a_page_names_the_signed_in_person(client, alice, world, access):
    client.force_login(alice)
    assert client.get("/tokens/?next=/secret").status_code == 200
    (line,) = access()
    assert (line["method"], line["path"], line["status"]) == ("GET", "/tokens/", 200)
    assert (line["user"], line["token"]) == ("alice", None)


def test_a_signed_out_visitor_is_logged_without_a_name(client, db, access):
    response = client.get("/tokens/")
    assert response.status_code == 302
    (line,) = access()
    assert (line["path"], line["status"], line["user"]) == ("/tokens/", 302, None)


def test_a_request_that_never_asks_who_is_signed_in_costs_no_lookup(
    client, alice, access, django_assert_num_queries
):
    client.force_login(alice)
    with django_assert_num_queries(0):
        assert client.get("/health").status_code == 200
    (line,) = access()
    assert (line["path"], line["user"]) == ("/health", None)


def test_a_stream_is_logged_when_it_starts_and_is_not_held(access):
    """The line is written when the response is handed back, before any chunk is read:
    the stream itself is passed on untouched."""
    read = []

    def events():
        read.append("first")
        yield b"data: 1\n\n"

    def view(request):
        return StreamingHttpResponse(events(), content_type="text/event-stream")

    request = RequestFactory().get("/deployments/7/events/?after=3")
    response = AccessLogMiddleware(view)(request)
    (line,) = access()
    assert (line["path"], line["status"], line["streaming"]) == ("/deployments/7/events/", 200,
                                                                 True)  # fmt: skip
    assert read == []  # not one chunk read: nothing was held open for the log
    assert b"".join(response.streaming_content) == b"data: 1\n\n"


def test_the_time_covers_the_inner_middleware_and_view(access, monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr("portal.access_log.clock", lambda: next(clock))
    request = RequestFactory().post("/x")
    AccessLogMiddleware(lambda request: HttpResponse(status=204))(request)
    (line,) = access()
    assert (line["method"], line["status"], line["duration_ms"]) == ("POST", 204, 250.0)


@pytest.mark.parametrize(("value", "enabled"), [(None, True), ("false", False), ("true", True)])
def test_portal_access_log_switches_it(value, enabled, tmp_path):
    env = {"PORTAL_VAR_DIR": str(tmp_path)} | ({"PORTAL_ACCESS_LOG": value} if value else {})
    code = "import logging; print(logging.getLogger('portal.access').isEnabledFor(logging.INFO))"
    result = start_django(code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(enabled)
