"""`python -m portal_client deploy` when its request meets another: it waits out a first
request still in flight (same key, bounded), and follows a deployment already on its way
instead of failing. The client talks HTTP to the real portal in this process (httpx's
WSGI transport into Django), so no server, worker or cluster is needed."""

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from api.models import ApiToken, IdempotentRequest
from api.tokens import hash_token
from deployments.models import Deployment
from portal_client import cli
from portal_client.api import PortalClient

DEPLOY = ["deploy", "web", "1.0.0", "production"]


class Portal(httpx.BaseTransport):
    """The portal over WSGI; `before_post(request, n)` plays what happens meanwhile."""

    def __init__(self, before_post=None):
        self.wsgi = httpx.WSGITransport(app=WSGIHandler())
        self.before_post = before_post
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.keys.append(request.headers["Idempotency-Key"])
            if self.before_post is not None:
                self.before_post(request, len(self.keys))
        # As Django's test client does: the request runs on the test's own connection
        # (inside its transaction), which the request signals would otherwise close.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.wsgi.handle_request(request)
            response.read()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return response


def run(token: str, argv: list[str], portal: Portal) -> int:
    client = PortalClient("http://testserver", token, transport=portal, in_flight_wait=0.01)
    return cli.main(argv, client=client)


def claim_in_flight(token: str, request: httpx.Request, *, stale: bool = False) -> None:
    """What another request with this key leaves while it acts (or after it died)."""
    from api.idempotency import body_hash

    class Seen:
        method, path, body = "POST", request.url.path, request.content

    age = timezone.timedelta(minutes=10 if stale else 0)
    IdempotentRequest.objects.update_or_create(
        token=ApiToken.objects.get(hashed=hash_token(token)),
        key=request.headers["Idempotency-Key"],
        defaults={"method": "POST", "path": Seen.path, "body_hash": body_hash(Seen),
                  "created_at": timezone.now() - age},
    )  # fmt: skip


@pytest.fixture
def on_its_way(api, tokens):
    status, body = api.post(
        "/deployments", tokens.engineer, {"service": "web", "version": "1.0.0",
                                          "environment": "production"},
    )  # fmt: skip
    assert status == 201
    return body


def test_deploy_of_a_release_already_on_its_way_follows_that_deployment(tokens, on_its_way, capsys):
    code = run(tokens.ci_deploy, [*DEPLOY, "--wait", "--timeout", "0"], Portal())

    out, err = capsys.readouterr()
    assert code == cli.TIMED_OUT  # it followed #N (still waiting for approval), not refused
    assert f"already on its way to production: #{on_its_way['id']}" in err
    assert f"following deployment #{on_its_way['id']}" in err
    assert f"deployment #{on_its_way['id']} of web 1.0.0 to production: pending" in out
    assert on_its_way["url"] in out
    assert Deployment.objects.count() == 3  # the two earlier ones of the world, and #N


def test_deploy_without_wait_reports_the_deployment_on_its_way_and_succeeds(
    tokens, on_its_way, capsys
):
    assert run(tokens.ci_deploy, DEPLOY, Portal()) == cli.OK
    assert f"deployment #{on_its_way['id']}" in capsys.readouterr().out


def test_deploy_waits_out_a_first_request_in_flight_and_retries_with_the_same_key(tokens, capsys):
    def meanwhile(request, n):
        # The first request with this key is acting; by the retry it has died long ago.
        claim_in_flight(tokens.ci_deploy, request, stale=n > 1)

    portal = Portal(meanwhile)
    code = run(tokens.ci_deploy, DEPLOY, portal)

    deployment = Deployment.objects.get(environment__name="production")
    assert code == cli.OK, capsys.readouterr().err
    assert len(portal.keys) == 2 and len(set(portal.keys)) == 1
    assert f"deployment #{deployment.pk}" in capsys.readouterr().out


def test_deploy_gives_up_on_a_request_in_flight_after_a_few_tries_saying_so(tokens, capsys):
    portal = Portal(lambda request, n: claim_in_flight(tokens.ci_deploy, request))
    code = run(tokens.ci_deploy, DEPLOY, portal)

    err = capsys.readouterr().err
    assert code == cli.REFUSED
    assert "is still being handled" in err and "tried" in err
    assert 2 < len(portal.keys) <= 10 and len(set(portal.keys)) == 1
    assert not Deployment.objects.filter(environment__name="production").exists()
