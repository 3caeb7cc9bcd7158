"""A server-sent-events client for tests: reads a stream in a thread, parses events.

It speaks HTTP/1.1 over a plain socket, so it can see each chunk of the chunked
encoding (one chunk per write of the server: what coalescing saves) and hang up at once.

It keeps the raw chunks as they arrived (to count writes) and the parsed events (with
their arrival time), and follows the browser's rules: `data:` lines joined by newlines,
`id:` remembered as the last event id, comments (`: hb`) kept apart.
"""

import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Event:
    name: str
    data: str
    id: str | None
    received: float = field(default_factory=time.monotonic)


class SSEClient:
    def __init__(self, url: str, cookies: dict | None = None, headers: dict | None = None):
        self.url = url
        self.cookies = cookies or {}
        self.headers = headers or {}
        self.events: queue.Queue[Event] = queue.Queue()
        self.chunks: list[bytes] = []
        self.comments: list[str] = []
        self.retry: int | None = None
        self.last_event_id: str | None = None
        self.status: int | None = None
        self.response_headers: dict[str, str] | None = None
        self.closed = threading.Event()  # the server ended the stream
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.body_started = threading.Event()  # status and headers are in
        parts = urlsplit(url)
        self._host, self._port = parts.hostname, parts.port or 80
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._chunked = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SSEClient":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Hang up (as a browser closing the tab does) and wait for the reader."""
        self._stop.set()
        self._thread.join(timeout=10)

    def next(self, timeout: float = 10.0, name: str | None = None) -> Event:
        """The next event (of that name, skipping others); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name or 'event'} within {timeout}s from {self.url}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name is None or event.name == name:
                return event

    def drain(self) -> list[Event]:
        taken = []
        while True:
            try:
                taken.append(self.events.get_nowait())
            except queue.Empty:
                return taken

    def _run(self) -> None:
        try:
            with socket.create_connection((self._host, self._port), timeout=5) as sock:
                sock.settimeout(0.2)  # so a stop is noticed quickly
                sock.sendall(self._request())
                reader = _Reader(sock, self._stop)
                self._read_head(reader)
                body = reader.chunks() if self._chunked else reader.rest()
                buffer = b""
                for chunk in body:  # one chunk of the chunked encoding is one server write
                    self.chunks.append(chunk)
                    buffer += chunk
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        self._parse(block.decode())
        except BaseException as exc:  # the test reads it
            self.error = exc
        finally:
            self.closed.set()

    def _request(self) -> bytes:
        headers = {"Host": f"{self._host}:{self._port}", "Accept": "text/event-stream"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(self.headers)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return f"GET {self._path} HTTP/1.1\r\n{head}\r\n".encode()

    def _read_head(self, reader: "_Reader") -> None:
        status_line, *lines = reader.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.response_headers = {}
        for line in lines:
            key, _, value = line.partition(":")
            self.response_headers[key.strip().lower()] = value.strip()
        self._chunked = self.response_headers.get("transfer-encoding") == "chunked"
        self.body_started.set()

    def _parse(self, block: str) -> None:
        name, data, event_id = "message", [], None
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value
                self.last_event_id = value
            elif key == "retry":
                self.retry = int(value)
        if data:
            self.events.put(Event(name, "\n".join(data), event_id))


class _Reader:
    """Reads a socket whose timeout is short, until told to stop."""

    def __init__(self, sock: socket.socket, stop: threading.Event):
        self.sock, self.stop, self.buffer = sock, stop, b""

    def _more(self) -> bool:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return False
            self.buffer += data
            return True
        return False

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._more():
                raise ConnectionError("closed before " + repr(marker))
        taken, self.buffer = self.buffer.split(marker, 1)
        return taken

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._more():
                raise ConnectionError("closed mid-chunk")
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def chunks(self):
        while True:
            size = int(self.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                return
            yield self.exactly(size)
            self.exactly(2)

    def rest(self):
        if self.buffer:
            yield self.buffer
            self.buffer = b""
        while self._more():
            yield self.buffer
            self.buffer = b""
