"""schemathesis fuzzes /api/v1/ from its own OpenAPI document, in process (the WSGI
app, with a lead's and a CI token): no input gives a 5xx, and every answer conforms
to the document (status, content type, body)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.scopes import Scope
from portal.wsgi import application
from tests.api.conftest import ci, personal
from tests.harness.clock import forget_cached_keys
from tests.harness.server import free_port

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


# Stateful: a schema of its own whose deployment requests name real catalog entries
# (random names only ever find 404s), so that journeys create deployments and follow
# the document's links from the id answered: read it, its log, cancel it, decide on it.
journeys = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
TARGETS = [("web", "1.0.0", "production"), ("web", "1.0.0", "development")]


@journeys.hook
def map_body(context, body):
    operation = context.operation.label if context.operation is not None else ""
    if operation == "POST /api/v1/deployments" and isinstance(body, dict):
        service, version, environment = TARGETS[len(str(body)) % len(TARGETS)]
        return {**body, "service": service, "version": version, "environment": environment}
    return body


def test_journeys_through_the_links_of_a_new_deployment_keep_to_the_document(
    world, bob, kept_connection
):
    token = personal(bob)
    seen = set()

    class Journey(journeys.as_state_machine()):
        # Each journey starts from the same rows and counters: a deployment one journey
        # created would otherwise turn another's POST into a 409, and Hypothesis, which
        # replays a failing journey to report it, would see a different one (Flaky...).
        def setup(self):
            forget_cached_keys()
            self.savepoint = transaction.savepoint_create()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def call(self, case, **kwargs):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            return case.call(**kwargs)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            seen.add((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Journey.run(
        settings=settings(
            max_examples=50, stateful_step_count=6, deadline=None, derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )  # fmt: skip
    assert ("POST /api/v1/deployments", 201) in seen, sorted(seen)
    # The links themselves are checked in test_docs_page.py; whether these journeys
    # reach them depends on the run (they do here alone, not always inside make test).
