"""A build's log is bounded like a deployment's: at most PORTAL_LOG_STEP_MAX_BYTES with one
visible notice, long lines cut, stored in batches, and a gigabyte of output costs a
bounded number of rows and of database round trips. Lines lost while the database was
unreachable leave a notice of the gap.

The engine's build stream is driven with synthetic chunks (the real engine's path is in
test_builds.py): `read_build_stream` is the function that consumes `client.api.build`.
"""

import re

import pytest

from integrations import docker_builds
from integrations.docker_builds import LineBuffer
from releases.build_log import BuildLogWriter, build_cap_notice, emit_build_ending, emit_build_line
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import make_service
from tests.harness.database_outage import database_unreachable
from tests.harness.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 64 * 1024
IMAGE_ID = "sha256:" + "0" * 64
GAP_NOTICE = re.compile(
    r"\[2 log lines lost while the database was unreachable at \d\d:\d\d:\d\d UTC\]\Z"
)


@pytest.fixture
def capped(settings):
    settings.PORTAL_LOG_STEP_MAX_BYTES = CAP
    settings.PORTAL_LOG_LINE_MAX_CHARS = 4000
    return settings


@pytest.fixture
def building():
    return Release.objects.create(
        service=make_service("web"), version="3.0.0", state=ReleaseState.BUILDING
    )


def texts(release) -> list[str]:
    return list(release.build_log.order_by("seq").values_list("text", flat=True))


def engine_stream(total_bytes: int, chunk: str):
    """What the engine's build API streams: `stream` chunks of output, then the image id."""
    for _ in range(total_bytes // len(chunk)):
        yield {"stream": chunk}
    yield {"aux": {"ID": IMAGE_ID}}


def consume(release, chunks) -> tuple[BuildLogWriter, str]:
    """The build runner's path: the engine's chunks, read into the release's log."""
    watcher = docker_builds.StopWatcher(client=None, should_stop=lambda: None)  # not started
    with BuildLogWriter(release.pk) as writer:
        image_id = docker_builds.read_build_stream(chunks, writer.write, watcher)
    return writer, image_id


def test_a_build_writing_50_mb_stores_at_most_the_cap_and_one_notice_in_bounded_rows(
    capped, building
):
    line = "Step output " + "x" * 87  # 100 bytes with its newline
    writer, image_id = consume(building, engine_stream(50 * 1024 * 1024, f"{line}\n" * 512))
    stored = texts(building)
    assert image_id == IMAGE_ID, "the build itself goes on past the cap"
    assert stored[-1] == build_cap_notice() and stored.count(build_cap_notice()) == 1
    assert "reached its limit of 65536 bytes" in stored[-1]
    assert set(stored[:-1]) == {line}
    assert sum(len(text.encode()) + 1 for text in stored[:-1]) <= CAP
    assert len(stored) == CAP // 100 + 1, "one row per line kept, none past the cap"
    building.refresh_from_db()
    assert building.log_bytes == CAP and building.next_log_seq == len(stored) + 1
    # Bounded work: batches, not a transaction per line, and none once the cap was reached.
    assert writer.stored_batches <= 10
    assert writer.dropped_lines == 50 * 1024 * 1024 // 100 - (len(stored) - 1)


def test_a_1_mb_line_without_a_newline_is_cut_to_the_line_limit(capped, building):
    chunks = [{"stream": "y" * 65536} for _ in range(16)]  # 1 MiB, no newline
    chunks += [{"stream": "\nStep 2/2 : CMD done\n"}, {"aux": {"ID": IMAGE_ID}}]
    consume(building, iter(chunks))
    cut = 1024 * 1024 - 4000
    assert texts(building) == [
        "y" * 4000 + f" … [line cut: {cut} more characters]",
        "Step 2/2 : CMD done",
    ]


def test_an_endless_line_is_held_in_bounded_memory_and_its_cut_counted(settings):
    settings.PORTAL_LOG_LINE_MAX_CHARS = 4000
    buffer = LineBuffer()
    chunk = "z" * 1_000_000
    for _ in range(100):  # 100 MB without a newline
        assert buffer.feed(chunk) == []
        assert len(buffer.head) <= 2 * 4000
    (line,) = buffer.flush()
    assert line == "z" * 8000 + f" … [line cut: {100_000_000 - 8000} more characters]"
    assert buffer.feed("next\n") == ["next"], "the following line starts afresh"


def test_build_output_stops_at_the_cap_but_the_builds_ending_is_still_stored(settings, building):
    settings.PORTAL_LOG_STEP_MAX_BYTES = 1024
    for n in range(100):
        emit_build_line(building.pk, f"line {n:03} " + "y" * 40)
    emit_build_ending(building.pk, "Build failed: the step exited with 1")
    stored = texts(building)
    assert stored[-1] == "Build failed: the step exited with 1"
    assert stored[-2] == build_cap_notice() and stored.count(build_cap_notice()) == 1
    assert sum(len(text) + 1 for text in stored[:-2]) <= 1024


def test_a_quiet_builds_last_line_is_stored_without_waiting_for_more_output(building):
    with BuildLogWriter(building.pk) as writer:
        writer.write("Step 2/3 : RUN sleep 600")
        # No more output comes (a long RUN): the line must still reach the page.
        wait_for(lambda: texts(building) == ["Step 2/3 : RUN sleep 600"], timeout=10)


def test_the_writer_masks_cleans_and_numbers_lines_like_the_log(building):
    with BuildLogWriter(building.pk, mask=lambda text: text.replace("s3cret", "***")) as writer:
        writer.write("token s3cret\n\x1b[31mred\x1b[0m")
        writer.write("third")
    assert list(building.build_log.order_by("seq").values_list("seq", "text")) == [
        (1, "token ***"), (2, "red"), (3, "third"),
    ]  # fmt: skip


def test_build_lines_lost_while_the_database_was_unreachable_leave_a_notice(building):
    with BuildLogWriter(building.pk) as writer:
        writer.write("before")
        writer.flush()
        with database_unreachable():
            writer.write("lost one")
            writer.write("lost two")
            writer.flush()
        writer.write("after")
    stored = texts(building)
    assert stored[0] == "before" and stored[2] == "after" and len(stored) == 3
    assert GAP_NOTICE.match(stored[1]), stored[1]
