"""The rules of people's actions, through the public functions of `deployments.engine`:
every allowed path and each refusal (issue 9, "Rules" and "Bad input").

A refusal raises ActionRefused and changes nothing; `forbidden` says whether it is
this person who may not (a page answers 403) or the request that is wrong or late.
"""

import base64
import json
import threading
from types import SimpleNamespace

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode, Environment, PostItemPolicy
from deployments import engine
from deployments.engine import DeploymentRequestError
from deployments.engine.actions import waits_for_approval
from deployments.engine.claims import claim_next_step
from deployments.models import Approval, ChecklistItem, Deployment
from deployments.states import (
    ChecklistState,
    DeploymentState,
    StepKind,
    StepState,
    Trigger,
    Verification,
)
from portal.refusals import ActionRefused
from releases.states import ReleaseState
from tests.engine.conftest import register, run_in_process
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.personas import make_persona
from web import dashboard_panels

ALWAYS = {"name": "always", "from": "mon 00:00", "to": "sun 23:59", "timezone": "UTC"}


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def path(db):
    """development → staging → production; production wants two approvals from a lead.
    The clusters are never contacted: these tests claim steps, they do not run them."""
    development = make_environment("development")
    staging = make_environment("staging", promotes_from=development)
    production = make_environment("production", promotes_from=staging, required_approvals=2)
    return SimpleNamespace(development=development, staging=staging, production=production)


@pytest.fixture
def web(db):
    return make_service("web")


@pytest.fixture
def release(web):
    return make_release(web, "1.0.0")


@pytest.fixture
def dave(db):
    """A second lead."""
    return make_persona("dave", "lead")


@pytest.fixture
def erin(db):
    """A second engineer."""
    return make_persona("erin", "engineer")


@pytest.fixture
def in_staging(path, release):
    """1.0.0 succeeded in development and staging: it may go to production."""
    ran(release, path.development)
    ran(release, path.staging)
    return release


@pytest.fixture
def advance_messages(settings):
    """The deployment ids whose `advance` message waits on this run's Redis queue."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = settings.CELERY_QUEUES["deployments"]
    client.delete(queue)

    def waiting() -> list[int]:
        ids = []
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == "deployments.tasks.advance_deployment":
                args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
                ids.append(args[0])
        return ids

    yield waiting
    client.delete(queue)
    client.close()


def ran(release, environment, state=DeploymentState.SUCCEEDED) -> Deployment:
    """A deployment of `release` that already ended in `environment`."""
    return make_deployment(release, environment, state=state, finished_at=timezone.now())


def with_checklist(environment: Environment, *items: tuple[str, str, str]) -> None:
    """Give the environment a checklist template of (phase, mode, text) items."""
    template = ChecklistTemplate.objects.create(name=f"{environment.name}-checklist")
    for position, (phase, mode, text) in enumerate(items, start=1):
        kind = "release_built" if mode == CheckMode.AUTOMATIC else ""
        template.items.create(position=position, phase=phase, mode=mode, text=text, check_kind=kind)
    environment.checklist_template = template
    environment.save()


def asking_for_approval(actor, environment: str = "production") -> Deployment:
    """A promotion of web 1.0.0 that the engine has parked at its approval gate."""
    deployment = engine.promote(actor, "web", "1.0.0", environment)
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert waits_for_approval(deployment), deployment.reason
    return deployment


def refused(call, *args, forbidden: bool, match: str) -> ActionRefused:
    with pytest.raises(ActionRefused, match=match) as info:
        call(*args)
    assert info.value.forbidden is forbidden, f"forbidden should be {forbidden}: {info.value}"
    return info.value


# --- the promotion path ---------------------------------------------------------------


def test_a_release_that_failed_in_development_is_refused_for_staging_naming_development(
    path, release, alice
):
    ran(release, path.development, DeploymentState.FAILED)
    refused(
        engine.promote, alice, "web", "1.0.0", "staging",
        forbidden=False, match=r"web 1\.0\.0 has not succeeded in development yet",
    )  # fmt: skip
    assert not Deployment.objects.filter(environment=path.staging).exists()


def test_a_release_that_never_ran_in_development_is_refused_for_staging(path, release, alice):
    error = refused(
        engine.promote, alice, "web", "1.0.0", "staging",
        forbidden=False, match="promote it to development first",
    )  # fmt: skip
    assert isinstance(error, DeploymentRequestError)
    assert not Deployment.objects.exists()


def test_production_needs_a_success_in_staging_not_only_in_development(path, release, alice):
    ran(release, path.development)
    refused(
        engine.promote, alice, "web", "1.0.0", "production",
        forbidden=False, match="has not succeeded in staging yet",
    )  # fmt: skip


def test_after_a_success_in_development_the_release_may_go_to_staging(path, release, alice):
    ran(release, path.development)
    deployment = engine.promote(alice, "web", "1.0.0", "staging")
    assert (deployment.environment, deployment.release) == (path.staging, release)
    assert (deployment.trigger, deployment.requested_by) == (Trigger.PROMOTE, alice)
    assert deployment.state == DeploymentState.PENDING
    assert AuditEvent.objects.filter(action="deployment.requested", actor=alice).count() == 1


def test_the_first_environment_takes_any_ready_release(path, web, alice):
    make_release(web, "0.9.0")
    newest = make_release(web, "2.0.0")
    assert engine.promote(alice, "web", "0.9.0", "development").state == DeploymentState.PENDING
    assert engine.promote(alice, "web", "2.0.0", "development").release == newest
    web.releases.create(version="2.1.0", state=ReleaseState.BUILDING)
    refused(
        engine.promote, alice, "web", "2.1.0", "development",
        forbidden=False, match="only a ready release can be deployed",
    )  # fmt: skip


def test_an_outsider_may_not_promote(path, release, oscar):
    refused(
        engine.promote, oscar, "web", "1.0.0", "development",
        forbidden=True, match="oscar may not deploy to development",
    )  # fmt: skip
    assert not Deployment.objects.exists()


def test_open_post_items_block_promoting_onward_when_the_policy_says_so(path, release, alice, bob):
    path.development.post_item_policy = PostItemPolicy.BLOCK_PROMOTION
    path.development.save()
    success = ran(release, path.development)
    item = success.checklist.create(
        position=1, phase=ChecklistPhase.POST, mode=CheckMode.MANUAL, text="Test critical flows"
    )
    refused(
        engine.promote, alice, "web", "1.0.0", "staging",
        forbidden=False, match=r"verification is open there \(#\d+: Test critical flows\)",
    )  # fmt: skip
    engine.answer_item(bob, item.pk, "passed", "checkout works")
    assert engine.promote(alice, "web", "1.0.0", "staging").environment == path.staging


def test_open_post_items_only_inform_under_the_default_policy(path, release, alice):
    success = ran(release, path.development)
    success.checklist.create(
        position=1, phase=ChecklistPhase.POST, mode=CheckMode.MANUAL, text="Test critical flows"
    )
    assert engine.promote(alice, "web", "1.0.0", "staging").environment == path.staging


# --- approvals ------------------------------------------------------------------------


def test_the_required_count_comes_from_the_environment(path, in_staging, alice, bob, dave):
    deployment = asking_for_approval(alice)
    assert deployment.reason == "Waiting for 2 approvals from a lead."
    engine.decide(bob, deployment.pk, "approve", "LGTM")
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.reason == "Waiting for 1 approval from a lead."
    engine.decide(dave, deployment.pk, "approve", "")
    claim = claim_next_step(deployment.pk, "w")
    assert claim is not None and claim.kind == StepKind.ROLLOUT
    assert list(deployment.approvals.values_list("user__username", "decision")) == [
        ("bob", "approve"), ("dave", "approve"),
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="deployment.approved").count() == 2


def test_an_admin_counts_as_an_approver(path, in_staging, alice, bob, carol):
    deployment = asking_for_approval(alice)
    engine.decide(bob, deployment.pk, "approve")
    engine.decide(carol, deployment.pk, "approve")
    assert claim_next_step(deployment.pk, "w").kind == StepKind.ROLLOUT


def test_the_requester_never_approves_their_own_deployment(path, in_staging, bob):
    deployment = asking_for_approval(bob)
    refused(
        engine.decide, bob, deployment.pk, "approve", "mine",
        forbidden=True, match="Nobody approves their own deployment",
    )  # fmt: skip
    assert not deployment.approvals.exists()


def test_one_person_counts_once(path, in_staging, alice, bob):
    deployment = asking_for_approval(alice)
    engine.decide(bob, deployment.pk, "approve")
    for decision, comment in [("approve", ""), ("reject", "changed my mind")]:
        refused(
            engine.decide, bob, deployment.pk, decision, comment,
            forbidden=False, match="bob has already decided on .*one person counts once",
        )  # fmt: skip
    assert deployment.approvals.count() == 1
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.reason == "Waiting for 1 approval from a lead."


def test_an_approval_from_outside_the_approver_group_is_refused(
    path, in_staging, alice, carol, erin, oscar
):
    deployment = asking_for_approval(carol)
    for outsider in (erin, oscar):
        refused(
            engine.decide, outsider, deployment.pk, "approve", "",
            forbidden=True, match=r"may not approve deployments to production \(approvers: lead\)",
        )  # fmt: skip
    assert not deployment.approvals.exists()


def test_the_approver_group_is_the_environments(path, in_staging, alice, bob, carol):
    path.production.approver_group = "admin"
    path.production.save()
    deployment = asking_for_approval(alice)
    refused(
        engine.decide, bob, deployment.pk, "approve", "",
        forbidden=True, match=r"bob may not approve .*\(approvers: admin\)",
    )  # fmt: skip
    engine.decide(carol, deployment.pk, "approve")
    assert deployment.approvals.get().user == carol


def test_a_rejection_needs_a_comment(path, in_staging, alice, bob):
    deployment = asking_for_approval(alice)
    for comment in ("", "   "):
        refused(
            engine.decide, bob, deployment.pk, "reject", comment,
            forbidden=False, match="Say why you reject it",
        )  # fmt: skip
    assert not deployment.approvals.exists()
    assert waits_for_approval(deployment)


def test_a_rejection_ends_the_deployment_rejected_with_its_comment(
    path, in_staging, alice, bob, dave
):
    deployment = asking_for_approval(alice)
    engine.decide(bob, deployment.pk, "reject", "  Not during the incident ")
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.REJECTED
    assert deployment.reason == "Rejected by bob: Not during the incident"
    refused(
        engine.decide, dave, deployment.pk, "approve", "",
        forbidden=False, match=r"is not waiting for approval \(Rejected by bob",
    )  # fmt: skip


def test_approvals_belong_to_that_deployment_only(path, in_staging, web, alice, bob, dave):
    first = asking_for_approval(alice)
    make_release(web, "1.0.1")
    ran(web.releases.get(version="1.0.1"), path.staging)
    second = engine.promote(alice, "web", "1.0.1", "production")
    claim_next_step(second.pk, "w")
    engine.decide(bob, first.pk, "approve")
    engine.decide(dave, first.pk, "approve")
    assert claim_next_step(second.pk, "w") is None
    second.refresh_from_db()
    assert not second.approvals.exists()
    assert second.reason == "Waiting for 2 approvals from a lead."


def test_no_decision_while_the_pre_deployment_items_are_open(path, in_staging, alice, bob, dave):
    with_checklist(path.production, (ChecklistPhase.PRE, CheckMode.MANUAL, "Review changes"))
    deployment = engine.promote(alice, "web", "1.0.0", "production")
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.reason == "Waiting for the pre-deployment checklist: Review changes."
    refused(
        engine.decide, bob, deployment.pk, "approve", "",
        forbidden=False, match="is not waiting for approval",
    )  # fmt: skip
    assert not deployment.approvals.exists()
    assert not deployment.notifications.filter(event="awaiting_approval").exists()
    engine.answer_item(dave, deployment.checklist.get().pk, "passed", "")
    assert claim_next_step(deployment.pk, "w") is None
    engine.decide(bob, deployment.pk, "approve")
    assert deployment.notifications.filter(event="awaiting_approval").count() == 1


def test_a_decision_must_be_approve_or_reject_on_a_known_deployment(path, in_staging, alice, bob):
    deployment = asking_for_approval(alice)
    refused(engine.decide, bob, deployment.pk, "maybe", "", forbidden=False, match="not a decision")
    refused(
        engine.decide, bob, 999999, "approve", "", forbidden=False, match="no deployment #999999"
    )
    assert not Approval.objects.exists()


# --- the checklist --------------------------------------------------------------------


@pytest.fixture
def gated(path, release):
    """A development deployment parked at its pre-deployment checklist, with a manual
    post item and an automatic item the portal answered itself."""
    with_checklist(
        path.development,
        (ChecklistPhase.PRE, CheckMode.AUTOMATIC, "Build Docker images"),
        (ChecklistPhase.PRE, CheckMode.MANUAL, "Review changes"),
        (ChecklistPhase.PRE, CheckMode.MANUAL, "Announce in #deploys"),
        (ChecklistPhase.POST, CheckMode.MANUAL, "Test critical user flows"),
    )
    return path.development


def item(deployment: Deployment, text: str) -> ChecklistItem:
    return deployment.checklist.get(text=text)


def parked(actor) -> Deployment:
    deployment = engine.promote(actor, "web", "1.0.0", "development")
    assert claim_next_step(deployment.pk, "w") is None
    return deployment


def test_a_lead_ticks_a_manual_item_with_a_note_recording_who_and_when(gated, alice, bob):
    deployment = parked(alice)
    before = timezone.now()
    answered = engine.answer_item(bob, item(deployment, "Review changes").pk, "passed", " diff ok ")
    stored = ChecklistItem.objects.get(pk=answered.pk)
    assert (stored.state, stored.answered_by, stored.evidence) == (
        ChecklistState.PASSED, bob, "diff ok",
    )  # fmt: skip
    assert before <= stored.answered_at <= timezone.now()
    audit = AuditEvent.objects.get(action="checklist.answered")
    assert (audit.actor, audit.detail["item"], audit.detail["note"]) == (
        bob,
        "Review changes",
        "diff ok",
    )


def test_the_note_is_optional_and_an_admin_may_answer(gated, alice, carol):
    deployment = parked(alice)
    engine.answer_item(carol, item(deployment, "Review changes").pk, "failed")
    stored = item(deployment, "Review changes")
    assert (stored.state, stored.answered_by, stored.evidence) == (
        ChecklistState.FAILED,
        carol,
        "",
    )


def test_a_failed_pre_deployment_item_stops_the_deployment(gated, alice, bob):
    deployment = parked(alice)
    engine.answer_item(bob, item(deployment, "Review changes").pk, "failed", "breaks the API")
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.reason == "Pre-deployment check failed: Review changes."


def test_engineers_and_outsiders_may_not_answer_pre_deployment_items(gated, alice, erin, oscar):
    deployment = parked(alice)
    review = item(deployment, "Review changes")
    for person in (alice, erin, oscar):
        refused(
            engine.answer_item, person, review.pk, "passed", "",
            forbidden=True, match=f"{person.username} may not answer “Review changes”",
        )  # fmt: skip
    assert item(deployment, "Review changes").state == ChecklistState.PENDING


def test_the_requester_answers_post_items_of_their_own_deployment_only(gated, release, alice, erin):
    success = ran(release, gated)
    post = success.checklist.create(
        position=1, phase=ChecklistPhase.POST, mode=CheckMode.MANUAL, text="Test critical flows"
    )
    Deployment.objects.filter(pk=success.pk).update(
        requested_by=alice, verification=Verification.OPEN
    )
    refused(engine.answer_item, erin, post.pk, "passed", "", forbidden=True, match="erin may not")
    engine.answer_item(alice, post.pk, "passed", "signed up and paid")
    success.refresh_from_db()
    assert success.verification == Verification.COMPLETE


def test_answering_twice_is_refused_naming_who_answered(gated, alice, bob, carol):
    deployment = parked(alice)
    review = item(deployment, "Review changes")
    engine.answer_item(bob, review.pk, "passed", "")
    for call, args in [(engine.answer_item, ("failed", "")), (engine.waive_item, ("not needed",))]:
        refused(
            call, carol, review.pk, *args,
            forbidden=False, match="“Review changes” was passed already by bob at",
        )  # fmt: skip
    stored = item(deployment, "Review changes")
    assert (stored.state, stored.answered_by) == (ChecklistState.PASSED, bob)


def test_an_automatic_item_cannot_be_answered_by_hand(gated, alice, bob):
    deployment = parked(alice)
    automatic = item(deployment, "Build Docker images")
    assert automatic.state == ChecklistState.PASSED  # the portal answered it itself
    refused(
        engine.answer_item, bob, automatic.pk, "failed", "",
        forbidden=False, match="checked by the portal itself",
    )  # fmt: skip
    assert item(deployment, "Build Docker images").answered_by is None


def test_an_answer_must_be_passed_or_failed(gated, alice, bob):
    deployment = parked(alice)
    review = item(deployment, "Review changes")
    refused(
        engine.answer_item, bob, review.pk, "waived", "", forbidden=False, match="not an answer"
    )
    refused(
        engine.answer_item, bob, 999999, "passed", "", forbidden=False, match="no checklist item"
    )


def test_waiving_needs_a_lead_or_admin(gated, alice, oscar):
    deployment = parked(alice)
    review = item(deployment, "Review changes")
    for person in (alice, oscar):
        refused(
            engine.waive_item, person, review.pk, "trust me",
            forbidden=True, match="may not waive items; a lead or admin may",
        )  # fmt: skip
    assert item(deployment, "Review changes").state == ChecklistState.PENDING


def test_waiving_needs_a_written_reason(gated, alice, bob):
    deployment = parked(alice)
    review = item(deployment, "Review changes")
    for reason in ("", "  \n "):
        refused(
            engine.waive_item, bob, review.pk, reason,
            forbidden=False, match="Say why “Review changes” may be waived",
        )  # fmt: skip
    assert item(deployment, "Review changes").state == ChecklistState.PENDING


def test_a_waiver_records_who_when_and_the_reason(gated, alice, carol):
    deployment = parked(alice)
    engine.waive_item(carol, item(deployment, "Review changes").pk, "reviewed in PR #12")
    stored = item(deployment, "Review changes")
    assert (stored.state, stored.answered_by, stored.waiver_reason) == (
        ChecklistState.WAIVED, carol, "reviewed in PR #12",
    )  # fmt: skip
    assert stored.answered_at is not None
    assert AuditEvent.objects.filter(action="checklist.waived", actor=carol).count() == 1


def test_a_pre_deployment_answer_resumes_the_deployment(
    gated, alice, bob, advance_messages, django_capture_on_commit_callbacks
):
    deployment = parked(alice)
    with django_capture_on_commit_callbacks(execute=True):
        engine.answer_item(bob, item(deployment, "Review changes").pk, "passed", "")
    assert advance_messages() == [deployment.pk]
    with django_capture_on_commit_callbacks(execute=True):
        engine.waive_item(bob, item(deployment, "Announce in #deploys").pk, "quiet hours")
    assert advance_messages() == [deployment.pk, deployment.pk]
    claim = claim_next_step(deployment.pk, "w")  # what the message makes a worker do
    assert claim is not None and claim.kind == StepKind.ROLLOUT


def test_a_pre_deployment_item_of_a_cancelled_deployment_cannot_be_answered(gated, alice, bob):
    deployment = parked(alice)
    engine.cancel(alice, deployment.pk)
    claim_next_step(deployment.pk, "w")
    refused(
        engine.answer_item, bob, item(deployment, "Review changes").pk, "passed", "",
        forbidden=False, match="cannot be answered now: deployment #\\d+ is cancelled",
    )  # fmt: skip


# --- locks ----------------------------------------------------------------------------


def test_a_lead_locks_an_environment_recording_who_when_and_why(path, bob):
    before = timezone.now()
    engine.lock(bob, "production", "  incident\n INC-42 ")
    production = Environment.objects.get(name="production")
    assert (production.locked, production.locked_by, production.lock_reason) == (
        True, bob, "incident INC-42",
    )  # fmt: skip
    assert before <= production.locked_at <= timezone.now()
    assert AuditEvent.objects.get(action="environment.locked").detail == {
        "reason": "incident INC-42"
    }


def test_a_lock_needs_a_reason(path, bob):
    refused(engine.lock, bob, "production", "  ", forbidden=False, match="Say why you lock it")
    assert not Environment.objects.get(name="production").locked


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_engineers_and_outsiders_may_not_lock_or_unlock(path, persona, request, bob):
    person = request.getfixturevalue(persona)
    refused(
        engine.lock, person, "production", "mine",
        forbidden=True, match=f"{persona} may not lock or unlock production",
    )  # fmt: skip
    assert not Environment.objects.get(name="production").locked
    engine.lock(bob, "production", "incident")
    refused(engine.unlock, person, "production", forbidden=True, match="may not lock or unlock")
    assert Environment.objects.get(name="production").locked_by == bob


def test_locking_twice_names_who_holds_the_lock(path, bob, carol):
    engine.lock(bob, "production", "incident INC-42")
    refused(
        engine.lock, carol, "production", "db upgrade",
        forbidden=False, match="production is locked already by bob: incident INC-42",
    )  # fmt: skip
    refused(engine.unlock, carol, "staging", forbidden=False, match="staging is not locked")


def test_a_promotion_into_a_locked_environment_is_refused_saying_by_whom_and_why(
    path, release, alice, bob
):
    engine.lock(bob, "development", "incident INC-42")
    refused(
        engine.promote, alice, "web", "1.0.0", "development", forbidden=False,
        match="development is locked by bob: incident INC-42",
    )  # fmt: skip
    assert not Deployment.objects.exists()


def test_unlocking_lets_the_held_deployment_start(
    path, release, alice, bob, carol, advance_messages, django_capture_on_commit_callbacks
):
    held = engine.promote(alice, "web", "1.0.0", "development")  # requested before the lock
    engine.lock(bob, "development", "incident INC-42")
    assert claim_next_step(held.pk, "w") is None
    held.refresh_from_db()
    assert held.state == DeploymentState.QUEUED
    assert (
        held.reason
        == "Environment development is locked: incident INC-42; it starts once unlocked."
    )
    advance_messages()  # empty it before the unlock
    with django_capture_on_commit_callbacks(execute=True):
        engine.unlock(carol, "development")
    development = Environment.objects.get(name="development")
    assert (development.locked, development.locked_by, development.lock_reason) == (False, None, "")
    assert AuditEvent.objects.get(action="environment.unlocked").actor == carol
    assert advance_messages() == [held.pk]
    assert claim_next_step(held.pk, "w").kind == StepKind.ROLLOUT
    held.refresh_from_db()
    assert held.state == DeploymentState.RUNNING


# --- break-glass ----------------------------------------------------------------------


@pytest.fixture
def blocked(path, release):
    """Production locked, frozen, wanting two approvals; 1.0.0 never ran in staging."""
    path.production.locked, path.production.lock_reason = True, "incident INC-42"
    path.production.freeze_windows = [ALWAYS]
    path.production.save()
    return path.production


@pytest.mark.parametrize("persona", ["alice", "oscar"])
def test_only_leads_and_admins_break_glass(blocked, persona, request):
    refused(
        engine.break_glass, request.getfixturevalue(persona), "web", "1.0.0", "production",
        "site down", forbidden=True, match=f"{persona} may not",
    )  # fmt: skip
    assert not Deployment.objects.exists()


def test_break_glass_needs_a_written_reason(blocked, bob):
    refused(
        engine.break_glass, bob, "web", "1.0.0", "production", " \t ",
        forbidden=False, match="Break-glass needs a written reason",
    )  # fmt: skip
    assert not Deployment.objects.exists()


def test_break_glass_goes_through_a_lock_a_freeze_the_path_and_missing_approvals(
    blocked, alice, bob
):
    refused(
        engine.promote, alice, "web", "1.0.0", "production",
        forbidden=False, match="has not succeeded in staging",
    )  # fmt: skip
    glass = engine.break_glass(bob, "web", "1.0.0", "production", "checkout is down, fix is 1.0.0")
    assert (glass.trigger, glass.break_glass_reason) == (
        Trigger.BREAK_GLASS, "checkout is down, fix is 1.0.0",
    )  # fmt: skip
    assert not glass.steps.filter(kind=StepKind.APPROVAL).exists()
    claim = claim_next_step(glass.pk, "w")
    assert claim is not None and claim.kind == StepKind.ROLLOUT
    glass.refresh_from_db()
    assert glass.state == DeploymentState.RUNNING


def outstanding_reviews() -> list[int]:
    """The dashboard's "break-glass reviews outstanding" panel, as anyone sees it."""
    return [deployment.pk for deployment in dashboard_panels.dashboard(AnonymousUser()).reviews]


def test_a_break_glass_is_listed_until_another_lead_reviews_it(blocked, bob, dave, carol):
    glass = engine.break_glass(bob, "web", "1.0.0", "production", "site down")
    assert outstanding_reviews() == [glass.pk]
    refused(
        engine.review_break_glass, bob, glass.pk, "looked fine",
        forbidden=True, match="never by the person who broke the glass",
    )  # fmt: skip
    assert outstanding_reviews() == [glass.pk]
    refused(
        engine.review_break_glass,
        dave,
        glass.pk,
        " ",
        forbidden=False,
        match="Write what you checked",
    )
    reviewed = engine.review_break_glass(dave, glass.pk, "fix was right; follow-up in INC-42")
    assert (reviewed.break_glass_reviewed_by, reviewed.break_glass_review_note) == (
        dave, "fix was right; follow-up in INC-42",
    )  # fmt: skip
    assert reviewed.break_glass_reviewed_at is not None
    assert outstanding_reviews() == []
    refused(
        engine.review_break_glass, carol, glass.pk, "again",
        forbidden=False, match=f"#{glass.pk} was reviewed already by dave",
    )  # fmt: skip
    assert Deployment.objects.get(pk=glass.pk).break_glass_reviewed_by == dave


def test_engineers_do_not_review_break_glass_and_promotions_need_no_review(
    blocked, in_staging, release, alice, bob, erin
):
    glass = engine.break_glass(bob, "web", "1.0.0", "production", "site down")
    refused(
        engine.review_break_glass,
        erin,
        glass.pk,
        "ok",
        forbidden=True,
        match="another lead or admin",
    )
    make_release(release.service, "2.0.0")
    promotion = engine.promote(alice, "web", "2.0.0", "development")
    refused(
        engine.review_break_glass,
        bob,
        promotion.pk,
        "ok",
        forbidden=False,
        match="did not break glass",
    )


# --- cancel ---------------------------------------------------------------------------


def test_the_requester_cancels_their_own_pending_deployment(path, in_staging, alice):
    deployment = asking_for_approval(alice)
    cancelled = engine.cancel(alice, deployment.pk)
    assert (cancelled.cancel_requested, cancelled.state) == (True, DeploymentState.PENDING)
    claim_next_step(deployment.pk, "w")
    deployment.refresh_from_db()
    assert (deployment.state, deployment.reason) == (
        DeploymentState.CANCELLED,
        "Cancelled by alice.",
    )


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_leads_and_admins_cancel_anyones_deployment(path, in_staging, alice, persona, request):
    deployment = asking_for_approval(alice)
    engine.cancel(request.getfixturevalue(persona), deployment.pk)
    claim_next_step(deployment.pk, "w")
    deployment.refresh_from_db()
    assert deployment.reason == f"Cancelled by {persona}."


@pytest.mark.parametrize("persona", ["erin", "oscar"])
def test_other_engineers_and_outsiders_may_not_cancel(path, in_staging, alice, persona, request):
    deployment = asking_for_approval(alice)
    refused(
        engine.cancel, request.getfixturevalue(persona), deployment.pk,
        forbidden=True, match="its requester, a lead or an admin may",
    )  # fmt: skip
    assert not Deployment.objects.get(pk=deployment.pk).cancel_requested


def test_cancel_is_refused_twice_and_after_the_end(path, in_staging, alice, bob):
    deployment = asking_for_approval(alice)
    engine.cancel(alice, deployment.pk)
    refused(engine.cancel, bob, deployment.pk, forbidden=False, match="already being cancelled")
    claim_next_step(deployment.pk, "w")
    refused(
        engine.cancel, bob, deployment.pk, forbidden=False, match=r"already ended \(cancelled\)"
    )
    assert AuditEvent.objects.filter(action="deployment.cancel_requested").count() == 1


# --- races and a real run (kubesim, transactional database) ---------------------------


@pytest.mark.django_db(transaction=True)
def test_two_leads_approving_at_the_same_moment_count_once_each_and_advance_once(
    development, web, alice, bob, dave
):
    development.required_approvals = 2
    development.save()
    register(web, "1.0.0")
    deployment = asking_for_approval(alice, "development")
    barrier, errors, ran_a_step = threading.Barrier(2), [], []

    def approve_and_advance(lead):
        # Each decision enqueues an advance; both messages arrive at once, as here.
        try:
            barrier.wait()
            engine.decide(lead, deployment.pk, "approve", f"{lead.username} says go")
            ran_a_step.append(engine.advance(deployment.pk, f"worker-{lead.username}"))
        except Exception as exc:  # any exception reaching a caller fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve_and_advance, args=(p,)) for p in (bob, dave)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert sorted(deployment.approvals.values_list("user__username", flat=True)) == ["bob", "dave"]
    assert sorted(ran_a_step) == [False, True], "exactly one of the two advances ran the rollout"
    rollout = deployment.steps.get(kind=StepKind.ROLLOUT)
    assert rollout.state == StepState.SUCCEEDED
    # A rollout is several looks (each a claim): the release was applied by one of them.
    applied = deployment.log.filter(text__startswith="deployment.apps/vizora-web image updated")
    assert applied.count() == 1
    claimed = AuditEvent.objects.filter(action="step.claimed", deployment=deployment)
    assert [event.detail["step"] for event in claimed] == [StepKind.ROLLOUT]
    assert deployment.notifications.filter(event="started").count() == 1


@pytest.mark.django_db(transaction=True)
def test_break_glass_through_a_lock_runs_is_flagged_and_waits_for_review(
    development, web, alice, bob, dave
):
    register(web, "1.0.0")
    held = engine.promote(alice, "web", "1.0.0", "development")  # requested before the lock
    engine.lock(dave, "development", "incident INC-42")
    glass = engine.break_glass(bob, "web", "1.0.0", "development", "the fix for INC-42")
    assert claim_next_step(held.pk, "w") is None  # queued behind the lock
    run_in_process(glass.pk)
    held.refresh_from_db()
    assert held.state == DeploymentState.SUPERSEDED
    glass.refresh_from_db()
    assert glass.state == DeploymentState.SUCCEEDED, glass.reason
    assert (glass.trigger, glass.break_glass_reason) == (Trigger.BREAK_GLASS, "the fix for INC-42")
    assert Environment.objects.get(name="development").locked, (
        "break-glass leaves the lock in place"
    )
    assert outstanding_reviews() == [glass.pk]
    engine.review_break_glass(dave, glass.pk, "checked the diff")
    assert outstanding_reviews() == []
