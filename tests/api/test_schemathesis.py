"""schemathesis fuzzes /api/v1/ from its own OpenAPI document, in process (the WSGI
app, with a lead's and a CI token): no input gives a 5xx, and every answer conforms
to the document (status, content type, body)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.wsgi import application
from tests.api.conftest import ci, personal
from tests.harness.server import free_port
from tokens.models import Scope

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def kept_connection():
    """The WSGI handler closes the database connection after each request, which would
    end the test's transaction; Django's test client keeps it open the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=["lead", "ci"])
def token(request, world, bob, carol, kept_connection):
    # Registry look-ups go to a closed loopback port: never to another address.
    world.web.image_repository = f"127.0.0.1:{free_port()}/vizora-web"
    world.web.save()
    if request.param == "lead":
        return personal(bob)
    everywhere = ["development", "staging", "production"]
    return ci(carol, *[s.value for s in Scope], environments=everywhere)


@schema.parametrize()
@BOUNDED
def test_no_input_breaks_the_api_or_its_document(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
