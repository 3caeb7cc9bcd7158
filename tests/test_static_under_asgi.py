"""Static files (WhiteNoise's FileResponse, a sync file iterator) are served to ASGI as an
async iterator: Django would warn "StreamingHttpResponse must consume synchronous iterators
in order to serve them asynchronously" on make run's first page."""

import warnings

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient

pytestmark = pytest.mark.django_db
STYLESHEET = settings.BASE_DIR / "static" / "css" / "portal.css"


def test_a_static_file_reaches_asgi_whole_as_an_async_stream_without_a_warning():
    async def fetch():
        response = await AsyncClient().get("/static/css/portal.css")
        return response, b"".join([chunk async for chunk in response.streaming_content])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response, served = async_to_sync(fetch)()

    assert response.status_code == 200
    assert response.is_async
    assert served == STYLESHEET.read_bytes()


def test_a_static_file_is_still_a_plain_stream_under_wsgi(client):
    response = client.get("/static/css/portal.css")

    assert response.status_code == 200
    assert not response.is_async
    assert b"".join(response.streaming_content) == STYLESHEET.read_bytes()
