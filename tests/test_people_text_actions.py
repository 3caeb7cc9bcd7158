"""Each domain function that stores what people type masks it once, for every role that
may act; a refused action stores nothing and never repeats the secret in its refusal.
The audit trail masks every string of its details, however deep.
"""

import pytest
from django.urls import reverse

from api.models import ApiToken
from api.tokens import TokenError, issue_personal_token
from audit import trail
from audit.models import AuditEvent
from catalog.models import Environment
from deployments import engine
from deployments.engine.claims import claim_next_step
from deployments.engine.lane import lane_blocker
from deployments.engine.locks import LOCK_REASON_MAX
from deployments.models import Approval, Deployment
from deployments.states import Trigger
from portal.masking import MASK
from portal.refusals import ActionRefused
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.fake_secrets import AWS_SECRET, GITLAB_TOKEN, NPM_TOKEN, PEM_BODY, PORTAL_TOKEN, pem
from tests.timeline_world import item, make_path

REASON = f"incident 42: {GITLAB_TOKEN} leaked, rotating"
MASKED_REASON = f"incident 42: {MASK} leaked, rotating"


def no_trace_of(secret: str) -> bool:
    """Neither an environment, an approval nor an audit row holds `secret`."""
    rows = [
        *Environment.objects.values_list("lock_reason", flat=True),
        *Approval.objects.values_list("comment", flat=True),
        *(str(detail) for detail in AuditEvent.objects.values_list("detail", flat=True)),
    ]
    return not any(secret in row for row in rows)


# The audit trail


def test_audit_details_are_masked_however_deep(db):
    event = trail.record(
        "example.recorded",
        reason=f"see {NPM_TOKEN}",
        checks=[{"detail": f"key /{AWS_SECRET}", "count": 2}, ("tuple", PORTAL_TOKEN)],
        flags={"ok": True, "ratio": 0.5, "none": None},
    )
    stored = AuditEvent.objects.get(pk=event.pk).detail
    assert stored == {
        "reason": f"see {MASK}",
        "checks": [{"detail": f"key /{MASK}", "count": 2}, ["tuple", MASK]],
        "flags": {"ok": True, "ratio": 0.5, "none": None},
    }


def test_batched_audit_rows_are_masked_too(db):
    with trail.batched():
        trail.record("example.batched", note=PORTAL_TOKEN)
    assert AuditEvent.objects.get(action="example.batched").detail == {"note": MASK}


def test_audit_details_keep_images_shas_and_names(db):
    image = (
        "ghcr.io/your-org/vizora-web:2.0.0@sha256:"
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    )
    detail = {
        "image": image,
        "git_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
        "item": "Backup",
    }
    event = trail.record("example.kept", **detail)
    assert AuditEvent.objects.get(pk=event.pk).detail == detail


# Locks


@pytest.fixture
def production(db):
    return make_environment("production")


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_a_lock_reason_is_stored_and_audited_masked(production, request, persona):
    actor = request.getfixturevalue(persona)
    engine.lock(actor, "production", REASON)
    production.refresh_from_db()
    assert production.lock_reason == MASKED_REASON
    locked = AuditEvent.objects.get(action="environment.locked")
    assert locked.detail["reason"] == MASKED_REASON
    assert no_trace_of(GITLAB_TOKEN)


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_a_refused_lock_stores_nothing_and_does_not_repeat_the_reason(production, request, persona):
    actor = request.getfixturevalue(persona)
    with pytest.raises(ActionRefused) as refused:
        engine.lock(actor, "production", REASON)
    assert refused.value.forbidden
    assert "a lead or admin may" in str(refused.value)
    assert GITLAB_TOKEN not in str(refused.value)
    assert no_trace_of(GITLAB_TOKEN)
    production.refresh_from_db()
    assert not production.locked


def test_a_pasted_private_key_is_masked_and_the_lock_taken(production, bob):
    engine.lock(bob, "production", f"key leaked:\n{pem('OPENSSH ')}\nrotating")
    production.refresh_from_db()
    assert production.lock_reason == (
        f"key leaked: -----BEGIN OPENSSH PRIVATE KEY----- {MASK} "
        "-----END OPENSSH PRIVATE KEY----- rotating"
    )
    assert not any(line in production.lock_reason for line in PEM_BODY)


def test_a_lock_reason_too_long_is_refused_saying_the_limit(production, bob):
    with pytest.raises(ActionRefused) as refused:
        engine.lock(bob, "production", "x" * (LOCK_REASON_MAX + 1))
    assert str(refused.value) == (
        f"Keep the lock reason to {LOCK_REASON_MAX} characters (it has {LOCK_REASON_MAX + 1}); "
        "link to the incident for the details."
    )
    production.refresh_from_db()
    assert not production.locked
    assert not AuditEvent.objects.filter(action="environment.locked").exists()


def test_the_lock_page_says_a_reason_is_too_long_instead_of_failing(production, bob, client):
    make_service("web")
    client.force_login(bob)
    url = reverse("environment-lock", args=["web", "production"])
    response = client.post(url, {"reason": "x" * 400}, follow=True)
    assert response.status_code == 200
    assert f"Keep the lock reason to {LOCK_REASON_MAX} characters (it has 400)" in (
        response.content.decode()
    )


def test_a_lock_set_before_masking_is_masked_in_what_it_tells_a_held_deployment(production):
    Environment.objects.filter(pk=production.pk).update(locked=True, lock_reason=REASON)
    deployment = make_deployment(make_release(make_service("web")), production)
    deployment = Deployment.objects.select_related("environment").get(pk=deployment.pk)
    assert lane_blocker(deployment) == (
        f"Environment production is locked: {MASKED_REASON}; it starts once unlocked."
    )


def test_the_admin_stores_an_edited_lock_reason_masked(production, admin_client):
    url = reverse("admin:environments_environment_change", args=[production.pk])
    response = admin_client.post(url, {"locked": "on", "lock_reason": REASON})
    assert response.status_code == 302
    production.refresh_from_db()
    assert (production.locked, production.lock_reason) == (True, MASKED_REASON)


# Approvals, checklist answers and waivers, break-glass


@pytest.fixture
def parked(db, alice):
    """web 1.1.0 → production, asked by alice and parked at its checklist."""
    make_path()
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    assert claim_next_step(deployment.pk, "worker-1") is None
    return deployment


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_a_refused_waiver_stores_nothing_and_does_not_repeat_the_reason(parked, request, persona):
    actor = request.getfixturevalue(persona)
    review = item(parked, "Review changes")
    with pytest.raises(ActionRefused) as refused:
        engine.waive_item(actor, review.pk, REASON)
    assert refused.value.forbidden and GITLAB_TOKEN not in str(refused.value)
    review.refresh_from_db()
    assert (review.state, review.waiver_reason) == ("pending", "")
    assert no_trace_of(GITLAB_TOKEN)


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_checklist_notes_and_approval_comments_are_stored_masked(parked, request, persona):
    actor = request.getfixturevalue(persona)
    engine.answer_item(actor, item(parked, "Review changes").pk, "passed", REASON)
    assert item(parked, "Review changes").evidence == MASKED_REASON
    engine.decide(actor, parked.pk, "approve", REASON)
    assert Approval.objects.get(deployment=parked).comment == MASKED_REASON
    assert no_trace_of(GITLAB_TOKEN)


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_a_refused_decision_stores_nothing_and_does_not_repeat_the_comment(
    parked, bob, request, persona
):
    engine.answer_item(bob, item(parked, "Review changes").pk, "passed", "diff read")
    actor = request.getfixturevalue(persona)
    with pytest.raises(ActionRefused) as refused:
        engine.decide(actor, parked.pk, "reject", REASON)
    assert refused.value.forbidden and GITLAB_TOKEN not in str(refused.value)
    assert not Approval.objects.exists()
    assert no_trace_of(GITLAB_TOKEN)


def test_a_rejection_comment_that_is_only_a_secret_still_rejects_saying_so(parked, bob):
    engine.answer_item(bob, item(parked, "Review changes").pk, "passed", "diff read")
    engine.decide(bob, parked.pk, "reject", PORTAL_TOKEN)
    parked.refresh_from_db()
    assert (parked.state, parked.reason) == ("rejected", f"Rejected by bob: {MASK}")


def test_break_glass_reason_and_review_note_are_stored_masked(db, bob, carol):
    make_path()
    deployment = engine.break_glass(bob, "web", "1.1.0", "production", REASON)
    assert deployment.trigger == Trigger.BREAK_GLASS
    assert deployment.break_glass_reason == MASKED_REASON
    requested = AuditEvent.objects.get(action="deployment.requested", deployment=deployment)
    assert requested.detail["reason"] == MASKED_REASON
    engine.review_break_glass(carol, deployment.pk, f"checked; {NPM_TOKEN} was in the log")
    deployment.refresh_from_db()
    assert deployment.break_glass_review_note == f"checked; {MASK} was in the log"
    assert no_trace_of(GITLAB_TOKEN) and no_trace_of(NPM_TOKEN)


# Token names


@pytest.mark.parametrize("persona", ["alice", "bob", "carol"])
def test_a_token_name_is_stored_and_audited_masked(request, persona):
    owner = request.getfixturevalue(persona)
    token, _ = issue_personal_token(owner, f"release script {GITLAB_TOKEN}", 30)
    assert ApiToken.objects.get(pk=token.pk).name == f"release script {MASK}"
    issued = AuditEvent.objects.get(action="token.issued")
    assert issued.detail["name"] == f"release script {MASK}"


def test_a_token_refused_to_someone_without_a_role_keeps_no_name(oscar):
    with pytest.raises(TokenError) as refused:
        issue_personal_token(oscar, f"release script {GITLAB_TOKEN}", 30)
    assert GITLAB_TOKEN not in str(refused.value)
    assert not ApiToken.objects.exists()
    assert no_trace_of(GITLAB_TOKEN)
