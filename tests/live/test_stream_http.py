"""The streams as a browser meets them: over uvicorn, with PostgreSQL and Redis for real."""

import re
import time

import httpx
import pytest
from django.db import transaction

from deployments.events import emit
from deployments.models import Deployment
from deployments.states import DeploymentState
from live import announce
from tests.harness.redis_server import RedisServer

pytestmark = pytest.mark.slow

LINE_ID = re.compile(r'<span class="line" id="l(\d+)"')


def events_url(portal, deployment, after=0):
    return f"{portal.url}/deployments/{deployment.pk}/events/?after={after}"


def lines_of(stream, upto: int, timeout: float = 15.0) -> list[int]:
    """Every line number the stream brought, until `upto` arrived."""
    seen = []
    deadline = time.monotonic() + timeout
    while upto not in seen:
        event = stream.next(timeout=max(deadline - time.monotonic(), 0.01), name="lines")
        seen += [int(seq) for seq in LINE_ID.findall(event.data)]
    return seen


def finish(deployment, state=DeploymentState.SUCCEEDED):
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(state=state)
        announce.deployment_changed(deployment.pk, deployment.lane_id)


def wait_open(stream, timeout=10.0):
    deadline = time.monotonic() + timeout
    while stream.retry is None:
        assert time.monotonic() < deadline, f"stream never opened: {stream.status} {stream.error}"
        time.sleep(0.02)


@pytest.mark.parametrize("path", ["/deployments/{pk}/events/", "/live/lanes/?lane={lane}"])
def test_a_visitor_who_is_not_signed_in_gets_403_at_once(portal, deployment, path):
    url = portal.url + path.format(pk=deployment.pk, lane=deployment.lane_id)
    response = httpx.get(url, timeout=5, follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/deployments/999999/events/", "/live/lanes/?lane=999999"])
def test_an_unknown_deployment_or_lane_is_404_at_once(portal, cookies, path):
    response = httpx.get(portal.url + path, cookies=cookies, timeout=5)
    assert response.status_code == 404


def test_a_stream_says_how_to_cache_and_buffer_it_and_when_to_retry(
    portal, cookies, streams, deployment
):
    stream = streams(events_url(portal, deployment), cookies)
    wait_open(stream)
    assert stream.status == 200
    assert stream.response_headers["content-type"] == "text/event-stream"
    assert stream.response_headers["cache-control"] == "no-cache"
    assert stream.response_headers["x-accel-buffering"] == "no"
    assert "content-encoding" not in stream.response_headers
    assert 2000 <= stream.retry <= 4000


def test_a_reconnect_with_last_event_id_loses_and_repeats_no_line(
    portal, cookies, streams, deployment, rollout
):
    for n in range(1, 6):
        emit(deployment.pk, rollout.pk, f"before {n}")
    first = streams(events_url(portal, deployment, after=2), cookies)
    assert lines_of(first, 5) == [3, 4, 5]
    emit(deployment.pk, rollout.pk, "six")
    assert lines_of(first, 6) == [6]
    first.stop()  # the connection drops…
    for n in range(7, 10):
        emit(deployment.pk, rollout.pk, f"while away {n}")
    # …and the browser comes back with its Last-Event-ID, which wins over the URL's after.
    again = streams(events_url(portal, deployment, after=2), cookies, **{"Last-Event-ID": "6"})
    assert lines_of(again, 9) == [7, 8, 9]
    assert again.next(name="changed").data == "sections", "a reconnect refetches its sections"


def test_a_deployment_already_final_streams_its_end_and_closes(
    portal, cookies, streams, deployment, rollout
):
    emit(deployment.pk, rollout.pk, "done")
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.ROLLED_BACK)
    stream = streams(events_url(portal, deployment), cookies)
    assert stream.next(name="end").data == "rolled_back"
    assert stream.closed.wait(5), "the server closes the stream"
    assert stream.error is None


def test_log_text_arrives_escaped(portal, cookies, streams, deployment, rollout):
    emit(deployment.pk, rollout.pk, "</pre><script>alert('x')</script>")
    stream = streams(events_url(portal, deployment), cookies)
    data = stream.next(name="lines").data
    assert "<script>" not in data and "&lt;/pre&gt;&lt;script&gt;" in data


def test_without_redis_the_hub_polls_and_delivers_lines_and_state(
    start_portal, cookies, streams, deployment, rollout
):
    portal = start_portal(REDIS_URL="", PORTAL_LIVE_POLL_SECONDS="0.2")
    stream = streams(events_url(portal, deployment), cookies)
    stream.next(name="steps")
    emit(deployment.pk, rollout.pk, "polled")
    assert "polled" in stream.next(name="lines").data
    finish(deployment, DeploymentState.FAILED)
    assert "state-failed" in stream.next(name="status").data
    assert stream.next(name="end").data == "failed"


def test_two_uvicorn_processes_each_serve_every_line(
    start_portal, cookies, streams, deployment, rollout
):
    one, two = start_portal(), start_portal()
    viewers = [streams(events_url(portal, deployment), cookies) for portal in (one, two)]
    for viewer in viewers:
        viewer.next(name="steps")
    for n in range(1, 31):
        emit(deployment.pk, rollout.pk, f"line {n}")
    for viewer in viewers:
        assert lines_of(viewer, 30) == list(range(1, 31))


def test_redis_restarted_while_viewers_watch_loses_nothing(
    start_portal, cookies, streams, deployment, rollout, tmp_path, settings
):
    own_redis = RedisServer(tmp_path / "redis").start()
    try:
        settings.REDIS_URL = own_redis.url  # this process publishes there too
        announce._redis = None
        portal = start_portal(REDIS_URL=own_redis.url, PORTAL_LIVE_SAFETY_POLL_SECONDS="1")
        stream = streams(events_url(portal, deployment), cookies)
        stream.next(name="steps")
        emit(deployment.pk, rollout.pk, "before the restart")
        assert lines_of(stream, 1) == [1]
        own_redis.stop()
        for n in range(2, 6):
            emit(deployment.pk, rollout.pk, f"while Redis is down {n}")  # publish fails: logged
        own_redis.start()  # the same port: the hub reconnects and catches up
        emit(deployment.pk, rollout.pk, "after the restart")
        assert lines_of(stream, 6) == [2, 3, 4, 5, 6]
        finish(deployment)
        assert stream.next(name="end").data == "succeeded"
    finally:
        own_redis.stop()
        announce._redis = None
