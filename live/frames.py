"""Server-sent-event formatting (https://html.spec.whatwg.org/#server-sent-events).

A frame is bytes ready for the socket. Every line of a multi-line fragment gets its own
`data:` line (the browser joins them back with newlines), and a carriage return is a
line break to the browser too, so it is split on as well: a fragment can never end an
event early or inject a field.
"""

import random

HEARTBEAT = b": hb\n\n"


def event(name: str, data: str, event_id: int | None = None) -> bytes:
    """One event: `event:`, optional `id:`, one `data:` per line of data, blank line."""
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in _split_lines(data))
    return ("\n".join(lines) + "\n\n").encode()


def retry(base_ms: int, jitter_ms: int) -> bytes:
    """The reconnect delay, jittered so a restart does not bring every viewer back at once."""
    return f"retry: {base_ms + random.randint(0, jitter_ms)}\n\n".encode()


def _split_lines(data: str) -> list[str]:
    return data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
