"""A release page's stream: its build log and state from the same hub as deployments,
with real Redis and PostgreSQL (in this process, and once over uvicorn)."""

import asyncio

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from deployments.states import DeploymentState
from releases.build_log import BuildLogWriter, emit_build_line, emit_build_lines, release_changed
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import (
    digest_for,
    make_deployment,
    make_environment,
    make_release,
    make_service,
)
from tests.live.test_hub import in_thread, run_with_hub, seqs, take, take_until


@pytest.fixture
def release(transactional_db):
    return Release.objects.create(
        service=make_service("web"), version="2.0.0", git_ref="main",
        state=ReleaseState.BUILDING, build_started_at=timezone.now(),
    )  # fmt: skip


def end_build(release, state=ReleaseState.READY, reason=""):
    """What the build engine does when a build ends: one transaction, announced on commit."""
    image = f"{release.service.image_repository}:2.0.0@{digest_for('2.0.0')}"
    with transaction.atomic():
        Release.objects.filter(pk=release.pk).update(
            state=state, reason=reason, build_finished_at=timezone.now(),
            image=image if state == ReleaseState.READY else "",
        )  # fmt: skip
        release_changed(release.pk)


async def emit_each(release, texts):
    """One commit (and one publish) per line, as `docker build` streams them."""
    for text in texts:
        await in_thread(emit_build_line, release.pk, text)


def test_a_viewer_gets_every_build_line_once_in_order_while_lines_arrive(release, settings):
    # Only Redis's `release:<id>` publishes can wake the hub in time: no safety poll.
    settings.PORTAL_LIVE_SAFETY_POLL_SECONDS = 600

    async def scenario(hub):
        stream = hub.release_stream(release.pk, 0, False)
        assert (await take(stream)).startswith(b"retry: ")
        assert b'event: status\ndata: <div id="status" data-state="building">' in await take(stream)
        emitting = asyncio.create_task(emit_each(release, [f"Step {n}" for n in range(1, 121)]))
        chunks = await take_until(stream, lambda data: b'id="l120"' in data, timeout=30)
        await emitting
        await stream.aclose()
        return b"".join(chunks)

    data = run_with_hub(scenario)
    assert seqs(data) == list(range(1, 121)), "no line lost, none repeated, in order"
    assert b"event: end" not in data


def test_a_stream_resumes_after_the_seq_it_names_and_asks_for_sections_on_reconnect(release):
    emit_build_lines(release.pk, [f"line {n}" for n in range(1, 6)])

    async def scenario(hub):
        stream = hub.release_stream(release.pk, 3, True)
        data = b"".join(await take_until(stream, lambda data: b"event: changed" in data))
        await stream.aclose()
        return data

    data = run_with_hub(scenario)
    assert seqs(data) == [4, 5]
    assert b"event: lines\nid: 5\n" in data
    assert data.index(b"event: status") < data.index(b"event: lines") < data.index(b"changed")


@pytest.mark.parametrize(
    ("state", "shown"), [(ReleaseState.READY, b"state-ready"), (ReleaseState.FAILED, b"make")]
)
def test_the_build_ending_sends_its_last_lines_status_changed_then_end_and_closes(
    release, state, shown
):
    async def scenario(hub):
        stream = hub.release_stream(release.pk, 0, False)
        await take_until(stream, lambda data: b"event: status" in data)
        await in_thread(emit_build_line, release.pk, "pushing")
        await in_thread(end_build, release, state, "/bin/sh: make: not found")
        return b"".join([chunk async for chunk in stream])  # ends by itself

    data = run_with_hub(scenario)
    assert seqs(data) == [1]
    order = [data.index(name) for name in (b"pushing", b"event: status", b"event: changed")]
    assert order == sorted(order) and shown in data
    assert data.endswith(f"event: end\ndata: {state}\n\n".encode())


def test_a_build_past_its_log_cap_streams_its_lines_then_the_truncation_notice(release, settings):
    settings.PORTAL_LOG_STEP_MAX_BYTES = 2048

    def build_writes_a_lot():
        with BuildLogWriter(release.pk) as writer:
            for n in range(1, 2001):
                writer.write(f"output line {n:04}")

    async def scenario(hub):
        stream = hub.release_stream(release.pk, 0, False)
        await take_until(stream, lambda data: b"event: status" in data)
        await in_thread(build_writes_a_lot)
        got = await take_until(stream, lambda data: b"output truncated" in data, timeout=30)
        await stream.aclose()
        return b"".join(got)

    data = run_with_hub(scenario)
    stored = release.build_log.count()
    assert seqs(data) == list(range(1, stored + 1)), "every stored line once, in order"
    assert b"output line 0001" in data and b"output line 2000" not in data
    assert data.count(b"[output truncated: this build reached its limit of 2048 bytes") == 1


def test_a_release_that_is_not_building_sends_its_snapshot_and_end_at_once(release):
    emit_build_lines(release.pk, ["done"])
    end_build(release)

    async def scenario(hub):
        return b"".join([chunk async for chunk in hub.release_stream(release.pk, 1, False)])

    data = run_with_hub(scenario)
    assert b"event: status" in data and seqs(data) == []
    assert data.endswith(b"event: end\ndata: ready\n\n")


def test_release_and_deployment_viewers_share_the_hub_without_crossing(release):
    other = make_release(make_service("api"))
    deployment = make_deployment(other, make_environment(), state=DeploymentState.RUNNING)

    async def scenario(hub):
        releases = hub.release_stream(release.pk, 0, False)
        deployments = hub.deployment_stream(deployment.pk, 0, False)
        await take_until(releases, lambda data: b"event: status" in data)
        await take_until(deployments, lambda data: b"event: steps" in data)
        await in_thread(emit_build_line, release.pk, "build output")
        got = b"".join(await take_until(releases, lambda data: b"build output" in data))
        (deployment_viewer,) = hub.deployment_viewers[deployment.pk]
        assert not deployment_viewer.pending, "the build's line is not the deployment's"
        await releases.aclose()
        await deployments.aclose()
        return got, hub.releases.viewers

    got, left = run_with_hub(scenario)
    assert seqs(got) == [1] and left == {}, "a closed stream unregisters its viewer"


def test_lines_and_the_end_arrive_without_redis_by_polling(release, settings):
    settings.REDIS_URL = ""  # embedded mode: the hub polls the database
    settings.PORTAL_LIVE_POLL_SECONDS = 0.1

    async def scenario(hub):
        stream = hub.release_stream(release.pk, 0, False)
        await take_until(stream, lambda data: b"event: status" in data)
        await in_thread(emit_build_line, release.pk, "hello")
        got = b"".join(await take_until(stream, lambda data: b"hello" in data))
        await in_thread(end_build, release, ReleaseState.FAILED, "cancelled")
        return got, b"".join([chunk async for chunk in stream])

    got, ended = run_with_hub(scenario)
    assert b'id="l1"' in got and ended.endswith(b"data: failed\n\n")


# Over uvicorn, as a browser meets it


def events_url(portal, version="2.0.0", after=0):
    return f"{portal.url}/services/web/releases/{version}/events/?after={after}"


@pytest.mark.slow
def test_the_release_stream_over_uvicorn_brings_lines_then_end(portal, cookies, streams, release):
    emit_build_line(release.pk, "Step 1/2 : FROM scratch")
    stream = streams(events_url(portal), cookies)
    assert stream.next(name="status").data.startswith('<div id="status" data-state="building"')
    assert stream.next(name="lines").id == "1"
    emit_build_line(release.pk, "Step 2/2 : COPY busybox /bin/")
    live = stream.next(name="lines")
    assert live.id == "2" and "COPY busybox" in live.data and "FROM scratch" not in live.data
    end_build(release)
    assert stream.next(name="end").data == "ready"
    assert stream.closed.wait(5)


@pytest.mark.slow
def test_the_release_stream_refuses_before_it_opens(portal, cookies, release):
    assert httpx.get(events_url(portal)).status_code == 403
    assert httpx.get(events_url(portal, "9.9.9"), cookies=cookies).status_code == 404
    bad = httpx.get(events_url(portal, after="x"), cookies=cookies)
    assert bad.status_code == 400 and "line numbers" in bad.text
