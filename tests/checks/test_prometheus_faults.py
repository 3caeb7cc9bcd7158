"""Every Prometheus check fails with evidence saying what went wrong when the answer is
an error, not JSON, the wrong shape, partial, or too slow. The faults come from a small
local HTTP server standing where Prometheus should be."""

import contextlib
import json
import time

import pytest

from deployments.checks import error_rate, memory, no_alerts_firing
from tests.harness.http import LocalServer, QuietHandler

# Each check, the words its evidence starts with, and the API path it asks first.
CHECKS = {
    "error_rate": (error_rate.check, "the error rate of vizora-web in {ns}", "/api/v1/query"),
    "memory": (memory.check, "the memory of the pods of vizora-web in {ns}", "/api/v1/query_range"),
    "no_alerts_firing": (
        no_alerts_firing.check,
        "the alerts for web in development",
        "/api/v1/alerts",
    ),
}
BAD_QUERY = 'invalid parameter "query": 1:12: parse error: unexpected "}"'
SHAPE_PROBLEM = {
    "/api/v1/query": "a /api/v1/query answer the portal cannot read "
    "(a 'scalar' result where a vector belongs)",
    "/api/v1/query_range": "a /api/v1/query_range answer the portal cannot read "
    "(a 'scalar' result where a matrix belongs)",
    "/api/v1/alerts": "an alerts answer without a list of alerts",
}


class FaultyPrometheus(LocalServer):
    """Answers every request with the fault last set: its status, body and delay."""

    def __init__(self):
        self.status, self.body, self.delay = 500, b"", 0.0
        super().__init__(self._handler())
        self.url = f"http://127.0.0.1:{self.port}"

    def serve(self, status: int, body: bytes, delay: float = 0.0) -> "FaultyPrometheus":
        self.status, self.body, self.delay = status, body, delay
        return self

    def _handler(self):
        fault = self

        class Handler(QuietHandler):
            def do_GET(self):
                time.sleep(fault.delay)
                # A check that timed out has hung up already, as it should.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.answer(fault.status, fault.body)

        return Handler


def envelope(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.fixture(scope="module")
def faulty():
    with FaultyPrometheus() as server:
        yield server


@pytest.fixture(params=list(CHECKS))
def each_check(request, rolled_out, namespace):
    """(check, evidence prefix, first path, build(url) -> deployment) for every check."""
    check, subject, path = CHECKS[request.param]
    return check, f"Could not check {subject.format(ns=namespace)}: ", path, rolled_out


def run(each_check, fault: FaultyPrometheus) -> tuple[str, str]:
    check, prefix, path, rolled_out = each_check
    result = check(rolled_out(fault.url), {})
    assert not result.passed
    assert result.evidence.startswith(prefix), result.evidence
    return result.evidence.removeprefix(prefix), path


def test_a_query_error_fails_with_prometheus_reason(each_check, faulty):
    fault = faulty.serve(400, envelope(status="error", errorType="bad_data", error=BAD_QUERY))

    said, _ = run(each_check, fault)

    assert said == f"Prometheus at {fault.url} answered an error (bad_data): {BAD_QUERY}"


def test_an_answer_that_is_not_json_fails(each_check, faulty):
    fault = faulty.serve(200, b"<html><body>Sign in to the proxy</body></html>")

    said, path = run(each_check, fault)

    assert said == (
        f"Prometheus at {fault.url} sent a {path} answer that is not the Prometheus API's "
        "JSON envelope"
    )


def test_an_http_error_without_the_api_envelope_fails(each_check, faulty):
    fault = faulty.serve(502, b"upstream connect error")

    said, path = run(each_check, fault)

    assert said == f"Prometheus at {fault.url} answered HTTP 502 Bad Gateway to {path}"


def test_an_answer_of_the_wrong_shape_fails(each_check, faulty):
    fault = faulty.serve(
        200, envelope(status="success", data={"resultType": "scalar", "result": [1, "1"]})
    )

    said, path = run(each_check, fault)

    assert said == f"Prometheus at {fault.url} sent {SHAPE_PROBLEM[path]}"


def test_partial_data_fails_rather_than_deciding_on_it(each_check, faulty):
    data = {"resultType": "vector", "result": [], "alerts": []}
    warning = "remote read from store-2 failed: context deadline exceeded"
    fault = faulty.serve(200, envelope(status="success", data=data, warnings=[warning]))

    said, _ = run(each_check, fault)

    assert said == f"Prometheus at {fault.url} answered with partial data: {warning}"


def test_a_prometheus_slower_than_the_check_timeout_fails_within_it(each_check, faulty, settings):
    settings.PORTAL_CHECK_TIMEOUT_SECONDS = 0.5
    fault = faulty.serve(200, envelope(status="success", data={}), delay=3)

    started = time.monotonic()
    said, _ = run(each_check, fault)

    assert said == f"Prometheus at {fault.url} did not answer within 0.5 s"
    assert time.monotonic() - started < 2.5  # the server sleeps 3 s
