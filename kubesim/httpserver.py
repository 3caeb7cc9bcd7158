"""A small HTTP/1.1 server on asyncio streams and httptools.

Keep-alive, pipelining, chunked streaming responses (watches) and TLS. A
request is dispatched only once its whole body has been read, so an early
error answer never leaves unread bytes on a kept-alive connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

import httptools

log = logging.getLogger("kubesim.http")
MAX_BODY = 3 * 1024 * 1024
REASON_PHRASES = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    keep_alive: bool = True
    too_large: bool = False
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StreamResponse:
    """A chunked response whose body comes from an async iterator of byte strings."""

    status: int
    chunks: AsyncIterator[bytes]
    content_type: str = "application/json"


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


def json_response(status: int, obj) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode())


class _Collector:
    """httptools callbacks: gathers complete requests in arrival order."""

    def __init__(self):
        self.ready: deque[Request] = deque()
        self._reset()

    def _reset(self):
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0

    def on_url(self, url: bytes):
        self._url += url

    def on_header(self, name: bytes, value: bytes):
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes):
        self._size += len(body)
        if self._size <= MAX_BODY:
            self._body.append(body)

    def on_message_complete(self):
        parsed = httptools.parse_url(self._url)
        query = dict(parse_qsl((parsed.query or b"").decode(), keep_blank_values=True))
        self.ready.append(
            Request(
                method=self.parser.get_method().decode(),
                path=unquote(parsed.path.decode()),
                query=query,
                headers=self._headers,
                body=b"".join(self._body),
                keep_alive=self.parser.should_keep_alive(),
                too_large=self._size > MAX_BODY,
            )
        )
        self._reset()


def _head(
    status: int, content_type: str, extra: list[tuple[str, str]], length: int | None
) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES.get(status, 'Unknown')}"]
    lines.append(f"Content-Type: {content_type}")
    lines.append("Cache-Control: no-cache, private")
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    lines.extend(f"{name}: {value}" for name, value in extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HttpServer:
    def __init__(self, handler: Handler, error_body: Callable[[int, str], bytes]):
        self.handler = handler
        self.error_body = error_body
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(
            self._connection, host, port, ssl=ssl_context, reuse_address=True, backlog=512
        )
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server:
            self.server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        collector = _Collector()
        parser = httptools.HttpRequestParser(collector)
        collector.parser = parser
        try:
            await self._serve(reader, writer, collector, parser)
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError, TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader, writer, collector: _Collector, parser) -> None:
        while True:
            while not collector.ready:
                data = await reader.read(65536)
                if not data:
                    return
                try:
                    parser.feed_data(data)
                except httptools.HttpParserError:
                    body = self.error_body(400, "malformed HTTP request")
                    writer.write(
                        _head(400, "application/json", [("Connection", "close")], len(body)) + body
                    )
                    await writer.drain()
                    return
            request = collector.ready.popleft()
            response = await self._dispatch(request)
            if isinstance(response, StreamResponse):
                await self._stream(response, request, reader, writer, parser)
            else:
                extra = (
                    response.headers
                    if request.keep_alive
                    else [*response.headers, ("Connection", "close")]
                )
                writer.write(
                    _head(response.status, response.content_type, extra, len(response.body))
                    + response.body
                )
                await writer.drain()
            if not request.keep_alive:
                return

    async def _dispatch(self, request: Request) -> Response | StreamResponse:
        if request.too_large:
            return Response(413, self.error_body(413, "request entity too large"))
        try:
            return await self.handler(request)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never a traceback on the wire
            print(
                f"kubesim: internal error on {request.method} {request.path}: {error!r}",
                file=sys.stderr,
            )
            log.exception("internal error")
            return Response(500, self.error_body(500, f"internal error: {type(error).__name__}"))

    async def _stream(
        self, response: StreamResponse, request: Request, reader, writer, parser
    ) -> None:
        watcher = asyncio.ensure_future(self._watch_for_close(reader, parser, request))
        writer.write(_head(response.status, response.content_type, [], None))
        try:
            async for chunk in response.chunks:
                if chunk:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
            with contextlib.suppress(BaseException):
                await response.chunks.aclose()

    async def _watch_for_close(self, reader, parser, request: Request) -> None:
        """While streaming, notice the client hanging up so the stream can end."""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                parser.feed_data(data)
        except (ConnectionError, httptools.HttpParserError, ssl.SSLError):
            pass
        request.client_closed.set()
