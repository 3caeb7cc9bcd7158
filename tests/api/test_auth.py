"""Tokens at the door: each way a token fails is a 401 saying which; every write is
audited (reads are not) and every use marks the token used (at most once a minute)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from api.models import ApiToken
from api.tokens import authenticate, hash_token, owner_refusal, touch
from audit.models import AuditEvent
from deployments.models import Deployment
from tests.factories import make_deployment


def test_no_token_is_a_401_saying_how_to_send_one(api, world):
    status, body = api.get("/environments")
    assert status == 401
    assert body == {
        "error": "No API token: send the header Authorization: Bearer <token>.",
        "detail": None,
    }


def test_another_scheme_is_a_401_naming_bearer(api, world, tokens):
    response = api.client.get(
        "/api/v1/environments", headers={"Authorization": f"Token {tokens.engineer}"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "The Authorization header must read: Bearer <token>."


def test_a_malformed_token_is_refused_without_a_lookup(api, world, django_assert_num_queries):
    with django_assert_num_queries(0):
        status, body = api.get("/environments", "not-a-token")
    assert status == 401
    assert body["error"].startswith("That is not a portal API token")


def test_a_wrong_token_is_a_401_saying_unknown(api, tokens):
    status, body = api.get("/environments", tokens.wrong)
    assert (status, body["error"]) == (
        401,
        "Unknown API token: it was never issued here; create a new one.",
    )


def test_an_expired_token_is_a_401_saying_expired(api, tokens):
    status, body = api.get("/environments", tokens.expired)
    assert status == 401
    assert "expired at" in body["error"] and tokens.expired[:12] in body["error"]


def test_a_revoked_token_is_a_401_saying_revoked(api, tokens):
    status, body = api.get("/environments", tokens.revoked)
    assert status == 401
    assert "was revoked at" in body["error"]


READS = ["/environments", "/deployments/{id}", "/deployments/{id}/log", "/releases/web/1.0.0",
         "/releases/web/1.0.0/log"]  # fmt: skip


def left_the_portal(user, how: str) -> None:
    """The owner was removed from every role group, or their account deactivated."""
    if how == "removed from every group":
        user.groups.clear()
    else:
        user.is_active = False
        user.save()


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("how", ["removed from every group", "deactivated"])
def test_a_personal_token_reads_nothing_once_its_owner_has_no_role(
    api, tokens, world, alice, path, how
):
    deployment = make_deployment(world.release, world.development, requested_by=alice)
    assert api.get(path.format(id=deployment.pk), tokens.engineer)[0] == 200
    left_the_portal(alice, how)
    status, body = api.get(path.format(id=deployment.pk), tokens.engineer)
    assert status == 403, body
    assert body["error"] == (
        f"The owner of this token ({tokens.engineer[:12]}…), alice, has no role in the "
        "portal any more; ask an admin to give them one again, or use a token of someone "
        "who has one."
    )


def test_a_personal_token_writes_nothing_either_once_its_owner_has_no_role(api, tokens, bob):
    bob.groups.clear()
    body = {"service": "web", "version": "1.0.0", "environment": "production"}
    status, answer = api.post("/deployments", tokens.lead, body)
    assert status == 403 and "bob, has no role in the portal any more" in answer["error"]
    assert not Deployment.objects.filter(environment__name="production").exists()


def test_an_owner_moved_to_another_role_still_reads(api, tokens, bob):
    """Only a person with no role at all is refused: a lead made an engineer is not."""
    bob.groups.add(Group.objects.get_or_create(name="engineer")[0])
    bob.groups.remove(Group.objects.get(name="lead"))
    assert api.get("/environments", tokens.lead)[0] == 200


def test_a_deactivated_ci_identity_is_refused_naming_it(api, tokens, django_user_model):
    django_user_model.objects.filter(username="ci-github").update(is_active=False)
    status, body = api.get("/environments", tokens.ci_read)
    assert (status, body["error"]) == (
        403,
        f"The CI identity of this token ({tokens.ci_read[:12]}…), ci-github, is "
        "deactivated; ask an admin to activate it again or to issue a token of another one.",
    )


def test_only_a_hash_and_the_prefix_are_stored(tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    assert token.prefix == tokens.engineer[:12] and tokens.engineer.startswith("vzp_")
    assert len(tokens.engineer) == 4 + 43
    stored = [str(v) for v in ApiToken.objects.values_list().get(pk=token.pk)]
    assert not any(tokens.engineer in value for value in stored)


def test_each_write_is_audited_with_prefix_method_path_and_status(api, tokens, alice, world):
    to_production = {"service": "web", "version": "1.0.0", "environment": "production"}
    assert api.post("/deployments", tokens.engineer, to_production)[0] == 201
    assert api.post("/deployments/999/cancel", tokens.engineer)[0] == 404
    rows = AuditEvent.objects.filter(action="api.request").order_by("created_at", "id")
    assert [(r.actor, r.target, r.detail["method"], r.detail["path"], r.detail["status"],
             r.detail["replayed"]) for r in rows] == [
        (alice, f"token:{tokens.engineer[:12]}", "POST", "/api/v1/deployments", 201, False),
        (alice, f"token:{tokens.engineer[:12]}", "POST", "/api/v1/deployments/999/cancel", 404,
         False),
    ]  # fmt: skip
    assert not any(tokens.engineer in str(r.detail) for r in rows)


def test_a_read_is_not_audited_and_writes_no_row(api, tokens, world):
    """GET and HEAD change nothing, so they record nothing: no audit row, no row at all,
    once the token's last use is fresh (a script polling every 2 s)."""
    deployment = make_deployment(world.release, world.production)
    api.get("/environments", tokens.ci_read)  # the first use marks the token used
    before = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        for path in ("/environments", f"/deployments/{deployment.pk}",
                     f"/deployments/{deployment.pk}/log", "/releases/web/1.0.0",
                     "/releases/web/1.0.0/log", "/deployments/999"):  # fmt: skip
            api.get(path, tokens.ci_read)
    assert AuditEvent.objects.count() == before
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert writes == []


@pytest.mark.parametrize("method", ["delete", "head"])
def test_a_method_not_taken_is_our_json_405_and_audits_nothing(api, tokens, world, method):
    """The router refuses it before any token is looked up: nothing to audit."""
    response = getattr(api.client, method)(
        "/api/v1/environments", headers={"Authorization": f"Bearer {tokens.ci_read}"}
    )
    assert response.status_code == 405 and response["Allow"] == "GET"
    if method == "delete":
        assert response.json()["error"] == (
            "/api/v1/environments does not take DELETE; it takes GET."
        )
    assert not AuditEvent.objects.filter(action="api.request").exists()


def test_last_used_is_written_at_most_once_a_minute(api, tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    assert token.last_used_at is None
    api.get("/environments", tokens.engineer)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    api.get("/environments", tokens.engineer)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("/environments", tokens.engineer)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(seconds=1)


def test_a_token_polled_every_two_seconds_is_written_once_a_minute(tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.ci_read))
    start = timezone.now()
    written = [touch(token, start + timedelta(seconds=s)) for s in range(0, 150, 2)]
    assert [s * 2 for s, wrote in enumerate(written) if wrote] == [0, 62, 124]
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=124)


def test_last_used_is_one_conditional_update_that_a_racing_request_cannot_repeat(tokens):
    """Two requests that both loaded the token before either wrote: the second's UPDATE
    finds the row fresh and writes nothing (and its copy is left as loaded)."""
    first = ApiToken.objects.get(hashed=hash_token(tokens.ci_read))
    second = ApiToken.objects.get(pk=first.pk)
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        assert touch(first, now) is True
        assert touch(second, now + timedelta(seconds=1)) is False
    updates = [q["sql"] for q in queries.captured_queries]
    assert len(updates) == 2 and all(sql.startswith("UPDATE") for sql in updates)
    assert '"last_used_at" IS NULL OR' in updates[1] and second.last_used_at is None
    assert ApiToken.objects.get(pk=first.pk).last_used_at == now


def test_a_fresh_token_is_not_written_again_without_a_query(tokens, django_assert_num_queries):
    token = ApiToken.objects.get(hashed=hash_token(tokens.ci_read))
    now = timezone.now()
    touch(token, now)
    with django_assert_num_queries(0):
        assert touch(token, now + timedelta(seconds=59)) is False


def test_authenticating_a_personal_token_is_one_query(tokens, bob, django_assert_num_queries):
    """The token, its owner and the groups the role rules read, together."""
    ApiToken.objects.filter(hashed=hash_token(tokens.lead)).update(last_used_at=timezone.now())
    with django_assert_num_queries(1):
        token = authenticate(tokens.lead)
        assert owner_refusal(token) == ""
        assert roles.roles_of(token.user) == {"lead"}


@pytest.mark.parametrize("path", ["/openapi.json"])
def test_the_document_is_public(api, path, db):
    response = api.client.get(f"/api/v1{path}")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")


def test_the_docs_page_lists_every_endpoint_without_scripts_from_elsewhere(client, db):
    response = client.get("/api/v1/docs")
    page = response.content.decode()
    assert response.status_code == 200
    lines = ["POST /api/v1/deployments", "GET /api/v1/deployments/{id}/log",
             "POST /api/v1/checklist-items/{id}/answer", "GET /api/v1/environments"]  # fmt: skip
    for line in lines:
        assert line in page
    assert "cdn" not in page.lower() and '<script src="http' not in page
    policy = response["Content-Security-Policy"]  # the strict CSP holds on this page too
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "<style" not in page and " style=" not in page and "<script>" not in page


def test_a_session_without_a_token_does_not_authenticate(api, world, alice):
    api.client.force_login(alice)
    assert api.get("/environments")[0] == 401


def test_now_is_used_for_expiry(tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.expired))
    assert token.state(timezone.now() - timedelta(hours=1)) == "active"
    assert token.state() == "expired"


def test_the_document_describes_a_new_deployment_and_links_its_id(db):
    from api.v1 import api

    created = api.get_openapi_schema(path_prefix="/api/v1/")["paths"]["/api/v1/deployments"]
    answer = created["post"]["responses"][201]  # Ninja keys responses by int
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/DeploymentOut")
    assert answer["links"]["GetDeployment"] == {
        "operationId": "get_deployment", "parameters": {"id": "$response.body#/id"},
    }  # fmt: skip
