"""Idempotency-Key on every POST: a retry gets the first answer and nothing is done
twice; the same key with another body is refused; a key being acted on is not acted
on again."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from api.models import ApiToken, IdempotentRequest
from api.tokens import hash_token
from audit.models import AuditEvent
from deployments.models import Approval, ChecklistItem, Deployment
from releases.models import CIResult
from tests.api.conftest import asking_for_approval
from tests.harness.waiting import wait_for

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
    from api.idempotency import body_hash

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


# --- A claim whose request died ----------------------------------------------------------


def _in_flight_claim(token_secret: str, key: str, body: dict, age: timedelta):
    """The row a request writes before it acts, as a killed request leaves it."""
    from api.idempotency import body_hash

    class Seen:
        method, path = "POST", "/api/v1/deployments"

    Seen.body = json.dumps(body).encode()
    return IdempotentRequest.objects.create(
        token=ApiToken.objects.get(hashed=hash_token(token_secret)),
        key=key, method="POST", path=Seen.path, body_hash=body_hash(Seen),
        created_at=timezone.now() - age,
    )  # fmt: skip


def test_a_claim_whose_request_died_minutes_ago_is_retaken_and_the_retry_acts_once(
    api, tokens, settings
):
    settings.PORTAL_IDEMPOTENCY_STALE_SECONDS = 300
    _in_flight_claim(tokens.engineer, "k", TO_PRODUCTION, timedelta(seconds=301))

    first = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k")
    again = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k")

    assert first[0] == 201 and again == first
    assert Deployment.objects.filter(environment__name="production").count() == 1
    assert IdempotentRequest.objects.get(key="k").status == 201


def test_a_claim_still_fresh_is_a_409_saying_it_is_in_flight_and_when_to_retry(
    api, tokens, settings
):
    settings.PORTAL_IDEMPOTENCY_STALE_SECONDS = 300
    _in_flight_claim(tokens.engineer, "k", TO_PRODUCTION, timedelta(seconds=290))

    response = api.client.post(
        "/api/v1/deployments", data=TO_PRODUCTION, content_type="application/json",
        headers={"Authorization": f"Bearer {tokens.engineer}", "Idempotency-Key": "k"},
    )  # fmt: skip

    body = response.json()
    assert response.status_code == 409 and body["detail"] == {"in_flight": True}
    assert "is still being handled; retry in a moment" in body["error"]
    assert int(response["Retry-After"]) >= 1
    assert not Deployment.objects.filter(environment__name="production").exists()


def test_a_retaken_claim_whose_first_request_had_acted_names_the_deployment_it_made(api, tokens):
    """The request died after it acted, before it stored its answer: the retry that
    retakes the claim is told which deployment is on its way (and a client follows it)."""
    first = api.post("/deployments", tokens.engineer, TO_PRODUCTION)[1]
    _in_flight_claim(tokens.engineer, "k", TO_PRODUCTION, timedelta(minutes=10))

    status, body = api.post("/deployments", tokens.engineer, TO_PRODUCTION, key="k")

    assert status == 409 and body["detail"]["existing_deployment"]["id"] == first["id"]
    assert Deployment.objects.filter(environment__name="production").count() == 1


@pytest.mark.django_db(transaction=True)
def test_of_two_retries_retaking_one_stale_claim_at_once_only_one_takes_it(tokens, settings):
    """The first retake holds its transaction open until the second waits on the row:
    the UPDATE … WHERE status IS NULL AND created_at < stale decides, not a read."""
    from api.idempotency import retake_stale_claim

    settings.PORTAL_IDEMPOTENCY_STALE_SECONDS = 300
    claim = _in_flight_claim(tokens.engineer, "k", TO_PRODUCTION, timedelta(minutes=10))
    took, first_took = {}, threading.Event()

    def first():
        try:
            with transaction.atomic():
                took["first"] = retake_stale_claim(claim.pk)
                first_took.set()
                wait_for(lambda: _waiting_on_a_lock() or "second" in took)
        finally:
            first_took.set()
            connection.close()

    def second():
        first_took.wait()
        try:
            took["second"] = retake_stale_claim(claim.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (took["first"] is not None, took["second"]) == (True, None)


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction keeps its snapshot
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0
