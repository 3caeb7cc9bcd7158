"""Open streams hold no database connection: the stream view gives its request's
connection back before streaming, and the hub borrows one pooled connection per tick
and gives it back when the tick ends. A slow client therefore never keeps a connection
out of the pool, however long it streams."""

import asyncio

import pytest
from django.db import connection

from deployments.events import emit
from live import views
from tests.live.test_hub import in_thread, run_with_hub, seqs, take, take_until

STREAMS = 20


def checked_out() -> int:
    """Connections this process's pool has lent and not got back."""
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


def test_open_streams_hold_no_connection_out_of_the_pool(deployment, rollout):
    connection.close()  # the fixtures' connection: back to the pool
    baseline = checked_out()

    async def scenario(hub):
        streams = [hub.deployment_stream(deployment.pk, 0, False) for _ in range(STREAMS)]
        for stream in streams:
            assert (await take(stream)).startswith(b"retry: ")
        for stream in streams:  # each got its snapshot: the hub has read (ticked)
            await take_until(stream, lambda data: b"event: status" in data)
        while_open = checked_out()
        for n in range(1, 4):
            await in_thread(emit, deployment.pk, rollout.pk, f"line {n}")
        got = [
            b"".join(await take_until(stream, lambda data: b'id="l3"' in data))
            for stream in streams
        ]
        after_lines = checked_out()
        await asyncio.sleep(0.3)  # streams stay open, idle: heartbeats only
        idle = checked_out()
        for stream in streams:
            await stream.aclose()
        return while_open, after_lines, idle, got

    while_open, after_lines, idle, got = run_with_hub(scenario)
    assert all(seqs(data)[-1] == 3 for data in got), "every stream got the lines"
    assert (while_open, after_lines, idle) == (baseline, baseline, baseline)


@pytest.mark.django_db
def test_a_stream_view_gives_its_request_connection_back_before_streaming(transactional_db):
    connection.ensure_connection()
    assert connection.connection is not None
    views._close_connection()
    assert connection.connection is None, "returned to the pool, not kept for the stream"
