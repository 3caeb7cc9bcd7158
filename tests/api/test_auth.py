"""Tokens at the door: each way a token fails is a 401 saying which; every use is
audited and marks the token used (at most once a minute)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import AuditEvent
from tokens.issuing import hash_token
from tokens.models import ApiToken


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


def test_a_deactivated_owner_takes_the_token_down_too(api, tokens, alice):
    alice.is_active = False
    alice.save()
    status, body = api.get("/environments", tokens.engineer)
    assert (status, body["error"]) == (
        401,
        f"The account of API token {tokens.engineer[:12]}… is deactivated.",
    )


def test_only_a_hash_and_the_prefix_are_stored(tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    assert token.prefix == tokens.engineer[:12] and tokens.engineer.startswith("vzp_")
    assert len(tokens.engineer) == 4 + 43
    stored = [str(v) for v in ApiToken.objects.values_list().get(pk=token.pk)]
    assert not any(tokens.engineer in value for value in stored)


def test_each_use_is_audited_with_prefix_method_path_and_status(api, tokens, alice):
    api.get("/environments", tokens.engineer)
    api.get("/deployments/999", tokens.engineer)
    rows = AuditEvent.objects.filter(action="api.request").order_by("created_at", "id")
    assert [(r.actor, r.target, r.detail["method"], r.detail["path"], r.detail["status"])
            for r in rows] == [
        (alice, f"token:{tokens.engineer[:12]}", "GET", "/api/v1/environments", 200),
        (alice, f"token:{tokens.engineer[:12]}", "GET", "/api/v1/deployments/999", 404),
    ]  # fmt: skip
    assert not any(tokens.engineer in str(r.detail) for r in rows)


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
    from deployments.api import api

    created = api.get_openapi_schema(path_prefix="/api/v1/")["paths"]["/api/v1/deployments"]
    answer = created["post"]["responses"][201]  # Ninja keys responses by int
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/DeploymentOut")
    assert answer["links"]["GetDeployment"] == {
        "operationId": "get_deployment", "parameters": {"id": "$response.body#/id"},
    }  # fmt: skip
