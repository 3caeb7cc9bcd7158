"""The hub in this process, with real Redis and PostgreSQL: coalescing, resume, overflow,
heartbeats and the end of a stream, read straight from a viewer's generator."""

import asyncio
import re

import pytest
from django.db import connection, transaction

from deployments.events import emit
from deployments.models import Deployment
from deployments.states import DeploymentState
from live import announce
from live.hub import Hub

LINE_ID = re.compile(rb'<span class="line" id="l(\d+)"')


def run_with_hub(scenario):
    """Run `scenario(hub)` in a fresh event loop with a started hub; stop it after."""

    async def main():
        hub = Hub(asyncio.get_running_loop())
        hub.start()
        try:
            return await scenario(hub)
        finally:
            await hub.stop()

    return asyncio.run(main())


async def take(stream, timeout: float = 10.0) -> bytes:
    return await asyncio.wait_for(anext(stream), timeout)


async def take_until(stream, predicate, timeout: float = 10.0) -> list[bytes]:
    """Chunks (one per write) until `predicate(all bytes so far)` holds."""
    chunks = []
    async with asyncio.timeout(timeout):
        while not predicate(b"".join(chunks)):
            chunks.append(await anext(stream))
    return chunks


def seqs(data: bytes) -> list[int]:
    return [int(seq) for seq in LINE_ID.findall(data)]


async def in_thread(function, *args):
    """Run a database call off the event loop, closing that thread's connection after."""

    def call():
        try:
            return function(*args)
        finally:
            connection.close()

    return await asyncio.to_thread(call)


async def emit_each(deployment, step, texts):
    """One commit (and one publish) per line, as a chatty step makes them."""
    for text in texts:
        await in_thread(emit, deployment.pk, step.pk, text)


async def wait_for_ticks(hub, deployment_id, seq, timeout=10.0):
    """Until every viewer of the deployment has been handed lines up to `seq`."""
    async with asyncio.timeout(timeout):
        while any(v.seq < seq for v in hub.deployment_viewers.get(deployment_id, ())):
            await asyncio.sleep(0.01)


def finish(deployment, state=DeploymentState.SUCCEEDED):
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(state=state)
        announce.deployment_changed(deployment.pk, deployment.lane_id)


def test_a_slow_viewer_gets_every_line_in_order_in_few_writes(deployment, rollout):
    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        assert (await take(stream)).startswith(b"retry: ")
        assert b"event: status" in await take(stream)
        await emit_each(deployment, rollout, [f"line {n}" for n in range(1, 201)])
        await wait_for_ticks(hub, deployment.pk, 200)  # meanwhile the viewer reads nothing
        chunks = await take_until(stream, lambda data: b'id="l200"' in data)
        await stream.aclose()
        return chunks

    chunks = run_with_hub(scenario)
    assert seqs(b"".join(chunks)) == list(range(1, 201)), "every line once, in order"
    assert len(chunks) == 1, "what piled up goes out in one write"


def test_lines_published_while_the_viewer_reads_are_coalesced_per_tick(
    deployment, rollout, settings
):
    settings.PORTAL_LIVE_TICK_SECONDS = 0.2

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        await take_until(stream, lambda data: b"event: steps" in data)
        emitting = asyncio.create_task(emit_each(deployment, rollout, [f"l{n}" for n in range(60)]))
        chunks = await take_until(stream, lambda data: b'id="l60"' in data, timeout=20)
        await emitting
        await stream.aclose()
        return chunks

    chunks = run_with_hub(scenario)
    assert seqs(b"".join(chunks)) == list(range(1, 61))
    assert len(chunks) < 30, f"{len(chunks)} writes for 60 lines: not coalesced"


def test_a_stream_resumes_after_the_seq_it_names_and_asks_for_sections_on_reconnect(
    deployment, rollout
):
    for n in range(1, 6):
        emit(deployment.pk, rollout.pk, f"line {n}")

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 3, True)
        data = b"".join(await take_until(stream, lambda data: b"event: changed" in data))
        await stream.aclose()
        return data

    data = run_with_hub(scenario)
    assert seqs(data) == [4, 5]
    assert b"event: lines\nid: 5\n" in data
    order = [data.index(name) for name in (b"event: status", b"event: steps", b"event: lines")]
    assert order == sorted(order) and data.index(b"event: changed") > order[-1]


def test_a_viewer_that_overflows_is_dropped_and_catches_up_on_reconnect(
    deployment, rollout, settings
):
    settings.PORTAL_LIVE_QUEUE_MAX_BYTES = 4096

    async def scenario(hub):
        slow = hub.deployment_stream(deployment.pk, 0, False)
        await take_until(slow, lambda data: b"event: steps" in data)
        await emit_each(deployment, rollout, [f"{n} " + "x" * 200 for n in range(1, 41)])
        async with asyncio.timeout(10):
            while hub.deployment_viewers.get(deployment.pk):
                if all(v.dropped for v in hub.deployment_viewers[deployment.pk]):
                    break
                await asyncio.sleep(0.01)
        rest = [chunk async for chunk in slow]  # the stream ends without what piled up
        again = hub.deployment_stream(deployment.pk, 0, True)  # its Last-Event-ID: none yet
        caught_up = await take_until(again, lambda data: b'id="l40"' in data)
        await again.aclose()
        return rest, caught_up, hub.deployment_viewers

    rest, caught_up, left = run_with_hub(scenario)
    assert seqs(b"".join(rest)) == [], "nothing of the overflowing backlog is written"
    assert seqs(b"".join(caught_up)) == list(range(1, 41))
    assert not left, "both streams unregistered themselves"


def test_heartbeats_come_from_the_hub_timer(deployment, settings):
    settings.PORTAL_LIVE_HEARTBEAT_SECONDS = 0.2

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        data = b"".join(await take_until(stream, lambda data: data.count(b": hb\n\n") >= 2))
        await stream.aclose()
        return data

    assert b": hb\n\n" in run_with_hub(scenario)


def test_a_deployment_ending_sends_last_lines_status_steps_changed_then_end(deployment, rollout):
    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        await take_until(stream, lambda data: b"event: steps" in data)
        await in_thread(emit, deployment.pk, rollout.pk, "last words")
        await in_thread(finish, deployment)
        chunks = [chunk async for chunk in stream]  # the stream closes by itself
        return b"".join(chunks)

    data = run_with_hub(scenario)
    names = re.findall(rb"^event: (\w+)$", data, flags=re.M)
    assert names[-4:] == [b"status", b"steps", b"changed", b"end"]
    assert b"last words" in data and data.endswith(b"event: end\ndata: succeeded\n\n")


def test_a_deployment_already_final_sends_its_snapshot_and_end_at_once(deployment, rollout):
    emit(deployment.pk, rollout.pk, "done")
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.FAILED)

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        return b"".join([chunk async for chunk in stream])

    data = run_with_hub(scenario)
    names = re.findall(rb"^event: (\w+)$", data, flags=re.M)
    assert names == [b"status", b"steps", b"lines", b"changed", b"end"]
    assert data.endswith(b"data: failed\n\n")


def test_log_text_is_escaped_and_each_html_line_is_its_own_data_line(deployment, rollout):
    emit(deployment.pk, rollout.pk, "</pre><script>alert(1)</script>")
    emit(deployment.pk, rollout.pk, "second")

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        data = b"".join(await take_until(stream, lambda data: b'id="l2"' in data))
        await stream.aclose()
        return data

    data = run_with_hub(scenario)
    assert b"<script>" not in data and b"&lt;/pre&gt;&lt;script&gt;" in data
    lines_event = data[data.index(b"event: lines") :].split(b"\n\n")[0]
    body = lines_event.split(b"\n")[2:]
    assert all(line.startswith(b"data: ") for line in body), "no line of the fragment is bare"
    assert sum(b'class="line"' in line for line in body) == 2


@pytest.mark.parametrize("redis_url", ["", "redis"])
def test_lines_and_state_arrive_with_or_without_redis(deployment, rollout, settings, redis_url):
    if not redis_url:
        settings.REDIS_URL = ""  # embedded mode: the hub polls the database
        settings.PORTAL_LIVE_POLL_SECONDS = 0.1

    async def scenario(hub):
        stream = hub.deployment_stream(deployment.pk, 0, False)
        await take_until(stream, lambda data: b"event: steps" in data)
        await in_thread(emit, deployment.pk, rollout.pk, "hello")
        got_line = b"".join(await take_until(stream, lambda data: b"hello" in data))
        await in_thread(finish, deployment, DeploymentState.FAILED)
        ended = b"".join([chunk async for chunk in stream])
        return got_line, ended

    got_line, ended = run_with_hub(scenario)
    assert b'id="l1"' in got_line
    assert b"state-failed" in ended and ended.endswith(b"data: failed\n\n")
