"""Smoke tests that mean it, against a real front door: a small HTTP server on 127.0.0.1
answering the statuses each test scripts, one per request."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployments.states import StepKind, StepState
from deployments.steps import StepContext, Wait, smoke
from tests.factories import make_deployment, make_environment, make_release, make_service


class FrontDoor:
    """Answers the scripted statuses in order (the last one from then on), and counts
    the requests it got."""

    def __init__(self, statuses: list[int], delay: float = 0.0):
        self.statuses = list(statuses)
        self.requests = 0
        self.answered = threading.Event()  # never set: its wait() paces a slow service
        door = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                door.answered.wait(delay)
                status = door.statuses[min(door.requests, len(door.statuses) - 1)]
                door.requests += 1
                body = b'{"status": "ok"}' if status < 400 else b"Internal Server Error"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def front_door(request):
    statuses, delay = request.param if isinstance(request.param, tuple) else (request.param, 0)
    with FrontDoor(statuses, delay) as door:
        yield door


@pytest.fixture
def smoke_step(front_door, db, settings):
    """A running smoke step of a service with one check of `api /health`."""
    settings.PORTAL_SMOKE_ATTEMPTS = 3
    settings.PORTAL_SMOKE_RETRY_SECONDS = 0
    service = make_service("middleware")
    service.smoke_checks = [{"url": "api", "path": "/health", "expect_status": 200}]
    service.save()
    environment = make_environment("staging", urls={"api": front_door.url})
    deployment = make_deployment(make_release(service, "1.7.0"), environment)
    step = deployment.steps.create(kind=StepKind.SMOKE, position=1, state=StepState.RUNNING)
    return StepContext(deployment, step, step.attempt, threading.Event())


def look_until_decided(ctx: StepContext):
    """Take looks as the engine would, carrying the saved progress, until an outcome."""
    for _ in range(20):
        outcome = smoke.run(ctx)
        if not isinstance(outcome, Wait):
            return outcome
        ctx.step.result = outcome.progress
    raise AssertionError("the smoke step never decided")


@pytest.mark.parametrize("front_door", [[200, 500, 200]], indirect=True)
def test_a_500_after_the_service_answered_fails_the_smoke_test(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert not outcome.ok
    assert front_door.requests == 2, "it stops at the 500, without asking again"
    url = f"{front_door.url}/health"
    assert outcome.reason == f"Smoke test GET {url} answered 500 after 1 good answer."
    [record] = outcome.result["checks"]
    assert record["ok"] is False
    assert record["detail"] == f"GET {url} answered 500, expected 200"
    lines = list(smoke_step.deployment.log.order_by("seq").values_list("text", flat=True))
    assert (
        lines[-1]
        == f"smoke (a 5xx from the service fails at once): GET {url} answered 500, expected 200"
    )
    assert not any("try 1 of" in line for line in lines), "no promise of a retry it will not make"


@pytest.mark.parametrize("front_door", [[500, 200, 200, 200]], indirect=True)
def test_a_500_is_an_answer_and_fails_the_smoke_test_at_once(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert not outcome.ok
    assert front_door.requests == 1
    assert outcome.reason == f"Smoke test GET {front_door.url}/health answered 500."


@pytest.mark.parametrize("front_door", [[503, 502, 200, 200, 200]], indirect=True)
def test_gateway_errors_before_the_first_answer_are_tried_again(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert outcome.ok, outcome.reason
    assert front_door.requests == 5
    [record] = outcome.result["checks"]
    assert record["ok"] is True


@pytest.mark.parametrize("front_door", [[200, 200, 503]], indirect=True)
def test_a_gateway_error_after_the_service_answered_fails_the_smoke_test(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert not outcome.ok
    assert front_door.requests == 3
    assert outcome.reason == (
        f"Smoke test GET {front_door.url}/health answered 503 after 2 good answers."
    )


@pytest.mark.parametrize("front_door", [[502]], indirect=True)
def test_a_front_door_that_never_reaches_the_service_fails_after_every_try(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert not outcome.ok
    assert front_door.requests == 3
    assert outcome.reason == (
        f"Smoke test GET {front_door.url}/health answered 502 three times: expected 200."
    )


@pytest.mark.parametrize("front_door", [[200]], indirect=True)
def test_a_check_passes_after_the_environments_good_answers_in_a_row(smoke_step, front_door):
    smoke_step.deployment.environment.smoke_consecutive = 5

    outcome = look_until_decided(smoke_step)

    assert outcome.ok, outcome.reason
    assert front_door.requests == 5


@pytest.mark.parametrize("front_door", [[200, 404, 200, 200, 200]], indirect=True)
def test_a_wrong_answer_starts_the_count_of_good_answers_again(smoke_step, front_door):
    outcome = look_until_decided(smoke_step)

    assert outcome.ok, outcome.reason
    assert front_door.requests == 5, "one good answer, a 404 tried again, then three in a row"


@pytest.mark.parametrize("front_door", [([200], 0.3)], indirect=True)
def test_a_slow_service_is_counted_across_looks_without_losing_good_answers(
    smoke_step, front_door, monkeypatch
):
    monkeypatch.setattr(smoke, "LOOK_SECONDS", 0.4)  # a look asks twice, then hands on

    first = smoke.run(smoke_step)

    assert isinstance(first, Wait) and first.seconds == 0.0
    assert first.progress["good"] == 2
    smoke_step.step.result = first.progress
    outcome = look_until_decided(smoke_step)
    assert outcome.ok, outcome.reason
    assert front_door.requests == 3
