"""Idempotency-Key on every POST: a retry gets the first answer and nothing is done
twice; the same key with another body is refused; a key being acted on is not acted
on again."""

import pytest
from django.utils import timezone

from deployments.models import Approval, AuditEvent, ChecklistItem, CIResult, Deployment
from tests.api.conftest import asking_for_approval
from tokens.issuing import hash_token
from tokens.models import ApiToken, IdempotentRequest

TO_PRODUCTION = {"service": "web", "version": "1.0.0", "environment": "production"}


def test_a_retried_deployment_request_creates_one_deployment_and_answers_the_same(api, tokens):
    first = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k-1")
    again = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k-1")
    assert first[0] == 201 and again == first
    assert Deployment.objects.filter(environment__name="production").count() == 1
    assert AuditEvent.objects.filter(action="deployment.requested").count() == 1


def test_without_a_key_a_second_request_is_refused_by_the_domain_as_a_conflict(api, tokens):
    assert api.post("/deployments", tokens.engineer, TO_PRODUCTION)[0] == 201
    status, body = api.post("/deployments", tokens.engineer, TO_PRODUCTION)
    assert status == 409 and "is already on its way to production" in body["error"]


def test_the_replay_is_marked_and_audited_as_one(api, tokens):
    api.post("/ci-results", tokens.ci_report, {"git_sha": "abc1234", "state": "passed"}, "k")
    response = api.client.post(
        "/api/v1/ci-results", data={"git_sha": "abc1234", "state": "passed"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens.ci_report}", "Idempotency-Key": "k"},
    )  # fmt: skip
    assert response.status_code == 201 and response["Idempotent-Replayed"] == "true"
    assert CIResult.objects.count() == 1
    replays = AuditEvent.objects.filter(action="api.request", detail__replayed=True)
    assert replays.count() == 1


def test_the_same_json_spaced_differently_is_the_same_request(api, tokens):
    headers = {"Authorization": f"Bearer {tokens.ci_report}", "Idempotency-Key": "k"}
    for body in (
        '{"git_sha": "abc1234", "state": "passed"}',
        '{"state":"passed","git_sha":"abc1234"}',
    ):
        response = api.client.post(
            "/api/v1/ci-results", data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 201
    assert CIResult.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422_saying_so(api, tokens):
    api.post("/ci-results", tokens.ci_report, {"git_sha": "abc1234", "state": "passed"}, "k")
    status, body = api.post(
        "/ci-results", tokens.ci_report, {"git_sha": "abc1234", "state": "failed"}, "k"
    )
    assert status == 422
    assert body["error"].startswith("Idempotency-Key 'k' was used for another request")
    assert CIResult.objects.count() == 1


def test_keys_belong_to_their_token(api, tokens):
    body = {"git_sha": "abc1234", "state": "passed"}
    assert api.post("/ci-results", tokens.ci_report, body, "k")[0] == 201
    assert api.post("/ci-results", tokens.ci_all, body, "k")[0] == 201
    assert CIResult.objects.count() == 2


def test_a_refusal_is_replayed_too_and_acts_no_more(api, tokens):
    first = api.post("/deployments", tokens.ci_deploy_dev, TO_PRODUCTION, key="k")
    assert first[0] == 403
    assert api.post("/deployments", tokens.ci_deploy_dev, TO_PRODUCTION, key="k") == first


def test_a_key_still_acting_is_not_acted_on_again(api, tokens):
    """A concurrent duplicate finds the first request's row (written before it acts)."""
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    from deployments.api.idempotency import body_hash

    class Seen:
        method, path = "POST", "/api/v1/deployments"
        body = __import__("json").dumps(TO_PRODUCTION).encode()

    IdempotentRequest.objects.create(
        token=token, key="k", method="POST", path=Seen.path, body_hash=body_hash(Seen)
    )
    status, body = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k")
    assert status == 409 and "is still being handled; retry in a moment" in body["error"]
    assert not Deployment.objects.filter(environment__name="production").exists()


def test_a_key_older_than_a_day_is_forgotten(api, tokens):
    body = {"git_sha": "abc1234", "state": "passed"}
    api.post("/ci-results", tokens.ci_report, body, "k")
    IdempotentRequest.objects.update(created_at=timezone.now() - timezone.timedelta(hours=25))
    assert api.post("/ci-results", tokens.ci_report, body, "k")[0] == 201
    assert CIResult.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space"])
def test_a_key_that_is_not_visible_ascii_is_a_422_naming_the_header(api, tokens, key):
    status, body = api.post(
        "/ci-results", tokens.ci_report, {"git_sha": "abc1234", "state": "passed"}, key
    )
    assert status == 422 and body["error"].startswith("Idempotency-Key:")
    assert not CIResult.objects.exists()


def test_retried_cancel_approval_and_answer_act_once(api, tokens):
    deployment_id = asking_for_approval(api, tokens.engineer)
    item = ChecklistItem.objects.get()
    answer = {"answer": "passed", "note": "restore tested"}
    first = api.post(f"/checklist-items/{item.pk}/answer", tokens.lead, answer, "a")
    assert first[0] == 200
    assert api.post(f"/checklist-items/{item.pk}/answer", tokens.lead, answer, "a") == first
    decision = {"decision": "approve", "comment": "go"}
    first = api.post(f"/deployments/{deployment_id}/approvals", tokens.lead, decision, "b")
    assert first[0] == 201
    assert api.post(f"/deployments/{deployment_id}/approvals", tokens.lead, decision, "b") == first
    assert Approval.objects.count() == 1
    first = api.post(f"/deployments/{deployment_id}/cancel", tokens.engineer, key="c")
    assert first[0] == 200
    assert api.post(f"/deployments/{deployment_id}/cancel", tokens.engineer, key="c") == first
    assert AuditEvent.objects.filter(action="deployment.cancel_requested").count() == 1
    assert AuditEvent.objects.filter(action="checklist.answered").count() == 1
