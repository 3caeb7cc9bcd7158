"""The lanes stream: `changed` names the lanes that changed, coalesced per tick."""

import pytest
from django.db import transaction

from catalog.models import Environment
from live import announce

pytestmark = pytest.mark.slow


def lanes_url(portal, *lane_ids):
    query = "&".join(f"lane={lane_id}" for lane_id in lane_ids)
    return f"{portal.url}/live/lanes/?{query}"


def test_an_announced_lane_is_named_in_changed(portal, cookies, streams, deployment):
    stream = streams(lanes_url(portal, deployment.lane_id), cookies)
    stream_ready(stream)
    with transaction.atomic():  # a real change: if the publish beat the hub's subscription,
        Environment.objects.filter(pk=deployment.environment_id).update(lock_reason="x")
        announce.lane_changed(deployment.lane_id)  # its safety poll still finds it
    assert stream.next(name="changed").data == str(deployment.lane_id)


def test_a_lock_found_by_the_poll_is_named_without_a_publish(
    start_portal, cookies, streams, deployment
):
    portal = start_portal(PORTAL_LIVE_SAFETY_POLL_SECONDS="0.3")
    stream = streams(lanes_url(portal, deployment.lane_id), cookies)
    stream_ready(stream)
    Environment.objects.filter(pk=deployment.environment_id).update(locked=True)
    assert stream.next(name="changed").data == str(deployment.lane_id)


def stream_ready(stream, timeout=10):
    """Wait for the `retry:` line: the hub knows the lanes' prints, changes count now."""
    import time

    deadline = time.monotonic() + timeout
    while stream.retry is None:
        assert time.monotonic() < deadline, "the stream never opened"
        time.sleep(0.02)


def test_a_lanes_stream_reconnecting_is_told_to_refetch_every_lane(
    portal, cookies, streams, deployment
):
    other = deployment.lane_id
    stream = streams(lanes_url(portal, other), cookies, **{"Last-Event-ID": "1"})
    event = stream.next(name="changed")
    assert event.data == str(other) and event.id is not None
