"""SSE frames: one `data:` per line, so no fragment can end an event or add a field."""

from live import frames


def test_every_line_of_a_multi_line_fragment_gets_its_own_data_line():
    frame = frames.event("steps", "<table>\n<tr>\n</table>", event_id=7)
    assert frame == b"event: steps\nid: 7\ndata: <table>\ndata: <tr>\ndata: </table>\n\n"


def test_carriage_returns_and_blank_lines_cannot_end_the_event_early():
    frame = frames.event("lines", "a\r\nb\rc\n\nevent: end\ndata: x")
    assert frame.count(b"\n\n") == 1 and frame.endswith(b"\n\n")
    assert frame == (
        b"event: lines\ndata: a\ndata: b\ndata: c\ndata: \ndata: event: end\ndata: data: x\n\n"
    )


def test_retry_is_jittered_within_its_bounds():
    values = {int(frames.retry(2000, 500).split()[1]) for _ in range(200)}
    assert min(values) >= 2000 and max(values) <= 2500 and len(values) > 10
