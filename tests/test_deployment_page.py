"""The deployment page (the page Slack links to): approve or reject, answer or waive the
checklist, cancel, review a break-glass; each control only for those who may use it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ChecklistPhase, CheckMode
from deployments.events import emit
from deployments.models import Approval, ChecklistItem, Step
from deployments.states import (
    ChecklistState,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
)
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def production():
    return make_environment("production", required_approvals=1, approver_group="lead")


def pending(environment, requester, *, asked: bool = True, version: str = "2.0.0", **fields):
    """A pending deployment: past its pre-deployment items and asking for approval
    (`asked`), or still waiting for its pre-deployment checklist."""
    deployment = make_deployment(
        make_release(make_service_once(), version), environment, requested_by=requester, **fields
    )
    pre, approval = (
        (StepState.SUCCEEDED, StepState.WAITING)
        if asked
        else (StepState.WAITING, StepState.PENDING)
    )
    Step.objects.create(deployment=deployment, kind=StepKind.PRE_CHECKS, position=1, state=pre)
    Step.objects.create(deployment=deployment, kind=StepKind.APPROVAL, position=2, state=approval)
    Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=3)
    return deployment


def make_service_once():
    from catalog.models import Service

    return Service.objects.filter(name="web").first() or make_service("web")


def add_item(deployment, text, *, phase=ChecklistPhase.PRE, mode=CheckMode.MANUAL, **fields):
    position = deployment.checklist.count() + 1
    return ChecklistItem.objects.create(
        deployment=deployment, position=position, phase=phase, text=text, mode=mode, **fields
    )


def page_of(client, deployment) -> str:
    response = client.get(f"/deployments/{deployment.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def post(client, deployment, action: str, data=None, **headers):
    return client.post(f"/deployments/{deployment.pk}/{action}", data or {}, **headers)


# Approve and reject


def test_a_lead_approves_with_a_comment_and_the_page_says_so(client, alice, bob, production):
    deployment = pending(production, alice)
    client.force_login(bob)
    page = page_of(client, deployment)
    assert "Waiting</span> for 1 approval from a lead" in page
    assert 'value="approve"' in page and 'value="reject"' in page
    response = post(client, deployment, "decide/", {"decision": "approve", "comment": "LGTM"})
    assert response.status_code == 302 and response.url == f"/deployments/{deployment.pk}/"
    approval = Approval.objects.get(deployment=deployment)
    assert (approval.user, approval.decision, approval.comment) == (bob, "approve", "LGTM")
    page = page_of(client, deployment)
    assert f"You approved deployment #{deployment.pk}." in page
    assert "by <strong>bob</strong>" in page and "“LGTM”" in page
    assert 'value="approve"' not in page  # one person counts once
    assert "Approved</span> 1 of 1." in page  # the gate passed at once: it goes on


def test_an_admin_rejects_with_a_comment(client, alice, carol, production):
    deployment = pending(production, alice)
    client.force_login(carol)
    post(client, deployment, "decide/", {"decision": "reject", "comment": "Not during INC-7"})
    assert Approval.objects.get(deployment=deployment).decision == "reject"


def test_a_rejection_without_a_comment_is_refused_with_what_to_do(client, alice, bob, production):
    deployment = pending(production, alice)
    client.force_login(bob)
    response = post(client, deployment, "decide/", {"decision": "reject", "comment": "  "})
    assert response.status_code == 302
    assert "Say why you reject it" in page_of(client, deployment)
    assert not Approval.objects.exists()


def test_an_engineer_sees_who_may_approve_and_a_forged_approval_is_403(
    client, alice, carol, production
):
    deployment = pending(production, carol)
    client.force_login(alice)
    page = page_of(client, deployment)
    assert "for 1 approval from a lead" in page
    assert "A lead or an admin other than its requester approves it." in page
    assert 'value="approve"' not in page
    response = post(client, deployment, "decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert "alice may not approve deployments to production" in response.content.decode()
    assert not Approval.objects.exists()


def test_the_requester_may_not_approve_their_own_deployment(client, bob, production):
    deployment = pending(production, bob)
    client.force_login(bob)
    page = page_of(client, deployment)
    assert "You requested it, so a lead (or an admin) other than you approves it." in page
    response = post(client, deployment, "decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert "Nobody approves their own deployment" in response.content.decode()
    assert not Approval.objects.exists()


def test_an_outsider_gets_403(client, oscar, alice, production):
    deployment = pending(production, alice)
    client.force_login(oscar)
    assert post(client, deployment, "decide/", {"decision": "approve"}).status_code == 403
    assert not Approval.objects.exists()


def test_an_approval_posted_twice_counts_once(client, alice, bob, production):
    production.required_approvals = 2  # still waiting after bob's, so his second post is his
    production.save()
    deployment = pending(production, alice)
    client.force_login(bob)
    post(client, deployment, "decide/", {"decision": "approve"})
    page_of(client, deployment)  # the first message is read
    second = post(client, deployment, "decide/", {"decision": "reject", "comment": "changed"})
    assert second.status_code == 302
    assert f"bob has already decided on #{deployment.pk}" in page_of(client, deployment)
    assert list(Approval.objects.values_list("decision", flat=True)) == ["approve"]


def test_approving_from_a_stale_page_says_the_deployment_moved_on(client, alice, bob, production):
    deployment = pending(production, alice)
    deployment.steps.filter(kind=StepKind.APPROVAL).update(state=StepState.SUCCEEDED)
    deployment.state, deployment.reason = DeploymentState.QUEUED, "Waiting for the lane."
    deployment.save()
    client.force_login(bob)
    post(client, deployment, "decide/", {"decision": "approve"})
    assert f"Deployment #{deployment.pk} is not waiting for approval" in page_of(client, deployment)
    assert not Approval.objects.exists()


def test_approval_is_not_offered_before_the_pre_deployment_items(client, alice, bob, production):
    deployment = pending(production, alice, asked=False)
    client.force_login(bob)
    page = page_of(client, deployment)
    assert "asked once the pre-deployment checklist is complete" in page
    assert 'value="approve"' not in page


def test_htmx_approval_swaps_only_the_approvals_fragment(client, alice, bob, production):
    deployment = pending(production, alice)
    client.force_login(bob)
    response = post(client, deployment, "decide/", {"decision": "approve"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="approvals"')
    assert "<html" not in body
    # The decision moved the gate: status and steps come along, swapped out of band.
    assert re.search(r'<div id="status" data-state="\w+" hx-swap-oob="true">', body)
    assert '<section id="steps" hx-swap-oob="true"' in body
    assert '<section id="controls" hx-swap-oob="true">' in body  # cancel says what it does now
    assert body.count(f"You approved deployment #{deployment.pk}.") == 1
    assert "by <strong>bob</strong>" in body
    assert f"You approved deployment #{deployment.pk}." not in page_of(client, deployment)


def test_htmx_refusal_answers_409_with_the_reason_in_the_fragment(client, alice, bob, production):
    deployment = pending(production, alice)
    client.force_login(bob)
    response = post(client, deployment, "decide/", {"decision": "reject"}, **HTMX)
    assert response.status_code == 409
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="approvals"')
    assert "Say why you reject it" in body and 'role="alert"' in body


# The checklist


@pytest.fixture
def gated(production, alice):
    """Alice's deployment waiting for a manual and an automatic pre-deployment item."""
    deployment = pending(production, alice, asked=False)
    manual = add_item(deployment, "Announce in #releases")
    automatic = add_item(deployment, "Staging soak", mode=CheckMode.AUTOMATIC, check_kind="soak")
    return deployment, manual, automatic


def item_url(item, verb):
    return f"/deployments/{item.deployment_id}/checklist/{item.pk}/{verb}/"


def test_a_lead_ticks_a_manual_item_with_a_note(client, bob, gated):
    deployment, manual, _ = gated
    client.force_login(bob)
    page = page_of(client, deployment)
    assert item_url(manual, "answer") in page and item_url(manual, "waive") in page
    response = client.post(item_url(manual, "answer"), {"answer": "passed", "note": "posted"})
    assert response.status_code == 302
    manual.refresh_from_db()
    assert (manual.state, manual.answered_by, manual.evidence) == ("passed", bob, "posted")
    page = page_of(client, deployment)
    assert "“Announce in #releases” marked passed." in page
    assert "bob, " in page and ": posted" in page
    assert item_url(manual, "answer") not in page


def test_a_lead_fails_a_manual_item(client, bob, gated):
    _, manual, _ = gated
    client.force_login(bob)
    client.post(item_url(manual, "answer"), {"answer": "failed", "note": "nobody on call"})
    manual.refresh_from_db()
    assert manual.state == ChecklistState.FAILED


def test_an_engineer_sees_who_may_answer_and_a_forged_answer_is_403(
    client, alice, carol, production
):
    deployment = pending(production, carol, asked=False)
    manual = add_item(deployment, "Announce in #releases")
    client.force_login(alice)
    page = page_of(client, deployment)
    assert item_url(manual, "answer") not in page and item_url(manual, "waive") not in page
    assert "A lead or admin may answer it; a lead or admin may waive it." in page
    response = client.post(item_url(manual, "answer"), {"answer": "passed"})
    assert response.status_code == 403
    assert "alice may not answer “Announce in #releases”" in response.content.decode()
    response = client.post(item_url(manual, "waive"), {"reason": "trust me"})
    assert response.status_code == 403
    assert "alice may not waive items; a lead or admin may." in response.content.decode()
    manual.refresh_from_db()
    assert manual.state == ChecklistState.PENDING


def test_a_waiver_needs_a_reason(client, bob, gated):
    deployment, manual, _ = gated
    client.force_login(bob)
    client.post(item_url(manual, "waive"), {"reason": " "})
    assert "Say why “Announce in #releases” may be waived" in page_of(client, deployment)
    manual.refresh_from_db()
    assert manual.state == ChecklistState.PENDING


def test_a_lead_waives_an_automatic_item_that_cannot_pass_yet(client, bob, gated):
    deployment, _, automatic = gated
    client.force_login(bob)
    page = page_of(client, deployment)
    assert item_url(automatic, "waive") in page
    assert item_url(automatic, "answer") not in page  # the portal checks it itself
    client.post(item_url(automatic, "waive"), {"reason": "soak checker is down, INC-9"})
    automatic.refresh_from_db()
    assert (automatic.state, automatic.answered_by) == (ChecklistState.WAIVED, bob)
    assert automatic.waiver_reason == "soak checker is down, INC-9"


def test_an_engineer_is_told_who_may_waive_an_automatic_item(client, alice, gated):
    deployment, _, automatic = gated
    client.force_login(alice)
    page = page_of(client, deployment)
    assert "The portal checks it; a lead or admin may waive it." in page
    assert item_url(automatic, "waive") not in page


def test_an_answer_posted_twice_does_one_action(client, bob, carol, gated):
    deployment, manual, _ = gated
    client.force_login(bob)
    client.post(item_url(manual, "answer"), {"answer": "passed", "note": "first"})
    client.force_login(carol)
    client.post(item_url(manual, "answer"), {"answer": "failed", "note": "second"})
    page = page_of(client, deployment)
    assert "“Announce in #releases” was passed already by bob" in page
    manual.refresh_from_db()
    assert (manual.state, manual.answered_by, manual.evidence) == ("passed", bob, "first")


def test_answering_from_a_stale_page_says_the_deployment_moved_on(client, bob, gated):
    deployment, manual, _ = gated
    deployment.state = DeploymentState.CANCELLED
    deployment.save()
    client.force_login(bob)
    client.post(item_url(manual, "answer"), {"answer": "passed"})
    assert "cannot be answered now" in page_of(client, deployment)
    manual.refresh_from_db()
    assert manual.state == ChecklistState.PENDING


def test_an_item_of_another_deployment_is_a_404(client, bob, gated, production, alice):
    _, manual, _ = gated
    other = pending(production, alice, version="2.0.1")
    client.force_login(bob)
    url = f"/deployments/{other.pk}/checklist/{manual.pk}/answer/"
    assert client.post(url, {"answer": "passed"}).status_code == 404


def test_the_requester_answers_post_deployment_items_of_their_own_deployment(
    client, alice, production
):
    deployment = make_deployment(
        make_release(make_service_once(), "2.2.0"), production, requested_by=alice,
        state=DeploymentState.SUCCEEDED, finished_at=timezone.now(),
    )  # fmt: skip
    item = add_item(deployment, "Check the error rate", phase=ChecklistPhase.POST)
    client.force_login(alice)
    page = page_of(client, deployment)
    assert item_url(item, "answer") in page and item_url(item, "waive") not in page
    assert "or alice who requested it, may answer it; a lead or admin may waive it." in page
    client.post(item_url(item, "answer"), {"answer": "passed", "note": "flat"})
    item.refresh_from_db()
    assert item.state == ChecklistState.PASSED


def test_a_pending_item_says_why_it_cannot_be_answered_now(client, bob, gated):
    deployment, manual, _ = gated
    post_item = add_item(deployment, "Check the error rate", phase=ChecklistPhase.POST)
    client.force_login(bob)
    page = page_of(client, deployment)
    assert "Answered once the release is rolling out." in page
    assert item_url(post_item, "answer") not in page and item_url(post_item, "waive") not in page
    deployment.state = DeploymentState.CANCELLED
    deployment.save()
    page = page_of(client, deployment)
    assert page.count("No longer answered: the deployment is cancelled.") == 3
    assert item_url(manual, "answer") not in page
    # An ended deployment's unanswered items are grey "Not answered", not a yellow "Pending".
    checklist = page[page.index('id="checklist"') :]
    assert checklist.count("Not answered</span>") == 3 and "state-pending" not in checklist


def test_htmx_answer_swaps_only_the_checklist_fragment(client, bob, gated):
    _, manual, _ = gated
    client.force_login(bob)
    response = client.post(item_url(manual, "answer"), {"answer": "passed"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="checklist"')
    assert "“Announce in #releases” marked passed." in body and "<html" not in body
    assert '<section id="approvals" hx-swap-oob="true"' in body  # the gate may have moved
    again = client.post(item_url(manual, "waive"), {"reason": "late"}, **HTMX)
    assert again.status_code == 409
    assert "was passed already by bob" in again.content.decode()


# Cancel


def test_the_requester_cancels_their_pending_deployment(client, alice, production):
    deployment = pending(production, alice)
    client.force_login(alice)
    assert f"Cancel deployment #{deployment.pk}" in page_of(client, deployment)
    response = post(client, deployment, "cancel/")
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.cancel_requested and deployment.cancel_requested_by == alice
    page = page_of(client, deployment)
    assert f"Cancel requested: deployment #{deployment.pk} ends before it starts." in page
    assert "Cancel requested by alice: it ends before it starts." in page
    assert f"Cancel deployment #{deployment.pk}" not in page


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_leads_and_admins_cancel_anyones_deployment(client, alice, production, persona, request):
    deployment = pending(production, alice)
    client.force_login(request.getfixturevalue(persona))
    assert f"Cancel deployment #{deployment.pk}" in page_of(client, deployment)
    post(client, deployment, "cancel/")
    deployment.refresh_from_db()
    assert deployment.cancel_requested


def test_another_engineer_sees_who_may_cancel_and_a_forged_cancel_is_403(
    client, alice, bob, production
):
    deployment = pending(production, bob)
    client.force_login(alice)
    page = page_of(client, deployment)
    assert f"Cancel deployment #{deployment.pk}" not in page
    assert "Its requester (bob), a lead or an admin may cancel it." in page
    response = post(client, deployment, "cancel/")
    assert response.status_code == 403
    assert f"alice may not cancel deployment #{deployment.pk}" in response.content.decode()
    deployment.refresh_from_db()
    assert not deployment.cancel_requested


def test_a_cancel_posted_twice_does_one_action(client, alice, production):
    deployment = pending(production, alice)
    client.force_login(alice)
    post(client, deployment, "cancel/")
    page_of(client, deployment)
    post(client, deployment, "cancel/")
    assert f"Deployment #{deployment.pk} is already being cancelled." in page_of(client, deployment)


def test_cancelling_from_a_stale_page_says_it_already_ended(client, alice, production):
    deployment = pending(production, alice)
    deployment.state = DeploymentState.SUCCEEDED
    deployment.save()
    client.force_login(alice)
    post(client, deployment, "cancel/")
    assert f"Deployment #{deployment.pk} already ended (succeeded)." in page_of(client, deployment)
    deployment.refresh_from_db()
    assert not deployment.cancel_requested


def test_htmx_cancel_swaps_only_the_controls_fragment(client, alice, production):
    deployment = pending(production, alice)
    client.force_login(alice)
    response = post(client, deployment, "cancel/", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="controls"')
    assert "Cancel requested by alice" in body and "<html" not in body


# Break-glass


@pytest.fixture
def glass(production, carol):
    return make_deployment(
        make_release(make_service_once(), "9.0.1"), production, requested_by=carol,
        trigger=Trigger.BREAK_GLASS, break_glass_reason="checkout is down, hotfix for INC-12",
        state=DeploymentState.SUCCEEDED, finished_at=timezone.now(),
    )  # fmt: skip


def test_a_break_glass_deployment_is_flagged_with_its_reason_for_everyone(client, oscar, glass):
    client.force_login(oscar)
    page = page_of(client, glass)
    assert "Break-glass deployment" in page
    assert "checkout is down, hotfix for INC-12" in page
    assert "Not reviewed yet." in page
    assert "Another lead or admin (not carol) reviews it." in page
    assert f"/deployments/{glass.pk}/review/" not in page


def test_a_break_glass_page_says_the_approvals_were_not_asked(client, bob, glass):
    client.force_login(bob)
    assert "Break-glass went past the 1 approval production requires." in page_of(client, glass)


def test_another_lead_reviews_it_with_a_note(client, bob, glass):
    client.force_login(bob)
    assert f"/deployments/{glass.pk}/review/" in page_of(client, glass)
    response = post(client, glass, "review/", {"note": "hotfix matches the incident diff"})
    assert response.status_code == 302
    glass.refresh_from_db()
    assert glass.break_glass_reviewed_by == bob
    assert glass.break_glass_review_note == "hotfix matches the incident diff"
    page = page_of(client, glass)
    assert "Reviewed by <strong>bob</strong> at" in page
    assert "“hotfix matches the incident diff”" in page
    assert f"/deployments/{glass.pk}/review/" not in page


def test_the_requester_may_not_review_their_own_break_glass(client, carol, glass):
    client.force_login(carol)
    assert f"/deployments/{glass.pk}/review/" not in page_of(client, glass)
    response = post(client, glass, "review/", {"note": "fine by me"})
    assert response.status_code == 403
    assert "never by the person who broke the glass" in response.content.decode()
    glass.refresh_from_db()
    assert glass.break_glass_reviewed_at is None


def test_an_engineer_may_not_review_a_break_glass(client, alice, glass):
    client.force_login(alice)
    assert post(client, glass, "review/", {"note": "looks ok"}).status_code == 403


def test_a_review_needs_a_note(client, bob, glass):
    client.force_login(bob)
    post(client, glass, "review/", {"note": ""})
    assert "Write what you checked" in page_of(client, glass)
    glass.refresh_from_db()
    assert glass.break_glass_reviewed_at is None


def test_a_review_posted_twice_does_one_action(client, bob, glass, request):
    client.force_login(bob)
    post(client, glass, "review/", {"note": "first"})
    page_of(client, glass)
    post(client, glass, "review/", {"note": "second"})
    assert f"Deployment #{glass.pk} was reviewed already by bob" in page_of(client, glass)
    glass.refresh_from_db()
    assert glass.break_glass_review_note == "first"


def test_htmx_review_swaps_only_the_break_glass_fragment(client, bob, glass):
    client.force_login(bob)
    response = post(client, glass, "review/", {"note": "checked"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="break-glass"')
    assert "Reviewed by <strong>bob</strong>" in body and "<html" not in body


# The link and its preview


def test_the_page_has_a_copyable_link_a_title_and_opengraph_tags(
    client, alice, production, settings
):
    settings.PORTAL_BASE_URL = "https://deploy.vizora.example"
    deployment = pending(production, alice, reason="Waiting for 1 approval from a lead.")
    client.force_login(alice)
    page = page_of(client, deployment)
    url = f"https://deploy.vizora.example/deployments/{deployment.pk}/"
    title = f"#{deployment.pk} web 2.0.0 → production"
    assert f"<title>{title} · Pending · Vizora</title>" in page
    assert f'<meta property="og:title" content="{title}: Pending">' in page
    assert '<meta property="og:description" content="Waiting for 1 approval from a lead.">' in page
    assert f'<meta property="og:url" content="{url}">' in page
    assert re.search(rf'<input id="page-link" type="text" readonly value="{re.escape(url)}">', page)
    assert 'data-copy="page-link" hidden>Copy link</button>' in page  # shown by the script
    assert "/static/js/copy-link.js" in page


def test_the_preview_of_a_break_glass_says_so(client, bob, glass):
    client.force_login(bob)
    page = page_of(client, glass)
    assert "Break-glass: web 9.0.1 → production: Succeeded (break-glass)" in page


def test_an_unfinished_deployment_says_to_reload_for_progress(client, alice, production):
    deployment = pending(production, alice)
    client.force_login(alice)
    assert "This deployment has not ended; reload the page" in page_of(client, deployment)


# Queries


def fill_history(deployment, size: int, people) -> None:
    for n in range(size):
        emit(deployment.pk, None, f"line {n}")
        add_item(deployment, f"Manual item {n}")
        add_item(deployment, f"Automatic item {n}", mode=CheckMode.AUTOMATIC)
        add_item(
            deployment, f"Answered item {n}", state=ChecklistState.PASSED,
            answered_by=people[n % len(people)], answered_at=timezone.now(), evidence="ok",
        )  # fmt: skip
    for user in people[:size]:
        Approval.objects.create(deployment=deployment, user=user, decision="approve")


def test_the_page_queries_do_not_grow_with_its_history(
    client, alice, bob, carol, production, django_assert_num_queries
):
    production.required_approvals = 3
    production.save()
    small = pending(production, alice, version="1.0.0")
    large = pending(production, alice, version="1.0.1")
    fill_history(small, 1, [bob])
    fill_history(large, 20, [bob, carol])
    client.force_login(bob)
    page_of(client, small)  # warm the session
    with CaptureQueriesContext(connection) as first:
        page_of(client, small)
    with django_assert_num_queries(len(first.captured_queries)):
        page = page_of(client, large)
    assert page.count('name="answer" value="passed"') == 20
    assert "line 19" in page


# What the checks found, waivers beside failures, links, checking again


@pytest.fixture
def failed_check(production, alice):
    """Alice's deployment held by a backup check that failed."""
    deployment = pending(production, alice, asked=False)
    evidence = "CronJob vizora-prod/postgres-backup last succeeded 30 h ago; RPO 24 h."
    item = add_item(
        deployment, "Backup verified", mode=CheckMode.AUTOMATIC, check_kind="backup_fresh",
        state=ChecklistState.FAILED, evidence=evidence, answered_at=timezone.now(),
    )  # fmt: skip
    return deployment, item


def test_a_failed_check_shows_its_evidence_and_a_lead_may_waive_it(client, bob, failed_check):
    deployment, item = failed_check
    client.force_login(bob)
    page = page_of(client, deployment)
    assert "the portal, " in page and "last succeeded 30 h ago; RPO 24 h." in page
    assert item_url(item, "waive") in page
    client.post(item_url(item, "waive"), {"reason": "restore tested by hand, INC-4"})
    page = page_of(client, deployment)
    assert "The portal found: CronJob vizora-prod/postgres-backup last succeeded 30 h" in page
    assert "Waived by bob" in page and "restore tested by hand, INC-4" in page


def test_an_engineer_may_check_again_but_not_waive(client, alice, oscar, failed_check):
    deployment, item = failed_check
    client.force_login(alice)
    page = page_of(client, deployment)
    again = f"/deployments/{deployment.pk}/checklist/check-again/"
    assert again in page and "⟳ Check again" in page
    assert item_url(item, "waive") not in page
    client.force_login(oscar)
    assert again not in page_of(client, deployment)
    response = client.post(again)
    assert response.status_code == 403
    assert "oscar may not deploy to production" in response.content.decode()


def test_an_undecided_check_says_the_portal_is_checking(client, alice, production):
    deployment = pending(production, alice, asked=False)
    add_item(deployment, "SSL certificates valid", mode=CheckMode.AUTOMATIC, check_kind="tls_valid")
    client.force_login(alice)
    assert "The portal is checking…" in page_of(client, deployment)


def test_an_items_link_is_filled_with_the_service_environment_and_time_range(
    client, alice, production
):
    deployment = pending(production, alice, asked=False)
    link = "https://grafana.example/d/x?var-service={service}&var-env={environment}&from={from}&to={to}"
    add_item(deployment, "Verify metrics in Grafana", phase=ChecklistPhase.POST, link=link)
    client.force_login(alice)
    page = page_of(client, deployment)
    began = int(deployment.created_at.timestamp() * 1000)
    filled = f"https://grafana.example/d/x?var-service=web&amp;var-env=production&amp;from={began}&amp;to="
    assert filled in page and "Open the dashboard for this deployment" in page


def test_a_deployment_that_went_past_a_waived_check_says_so_at_the_top(client, bob, failed_check):
    deployment, item = failed_check
    client.force_login(bob)
    client.post(item_url(item, "waive"), {"reason": "restore tested by hand, INC-4"})
    status = page_of(client, deployment).split('id="status"')[1].split("</div>")[0]
    assert "Goes ahead past 1 waived item:" in status  # still pending
    assert "“Backup verified”</a> (it had failed), waived by bob: restore tested by hand" in status
