"""Sync streams handed to ASGI as async ones.

WhiteNoise serves static files as a FileResponse over a sync file iterator; under ASGI
Django then warns "StreamingHttpResponse must consume synchronous iterators in order to
serve them asynchronously" and reads the whole file into memory first. Django's own
ASGIStaticFilesHandler wraps the iterator the same way; the portal's live streams are
async generators already.
"""

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest

_END = object()


class AsyncStreamsUnderAsgiMiddleware:
    """Gives an ASGI request's sync streaming response an async iterator, chunk by chunk."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(request, ASGIRequest) and response.streaming and not response.is_async:
            response.streaming_content = read_in_a_thread(iter(response.streaming_content))
        return response


async def read_in_a_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each chunk read off the event loop (a file read blocks)."""
    read_next = sync_to_async(next, thread_sensitive=False)
    while (chunk := await read_next(chunks, _END)) is not _END:
        yield chunk
