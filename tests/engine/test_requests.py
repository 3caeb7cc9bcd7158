"""Requests refused before anything is recorded, gates that park, cancellation."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode
from deployments import engine
from deployments.engine import DeploymentRequestError, request_deployment
from deployments.engine.claims import claim_next_step
from deployments.models import Deployment
from deployments.states import ChecklistState, DeploymentState, StepKind, StepState
from portal.refusals import ActionRefused
from releases.models import Release
from releases.states import ReleaseState
from tests.engine.conftest import register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("service", "version", "environment", "message"),
    [
        ("nope", "1.0.0", "development", "There is no service 'nope'; known services: web"),
        ("web", "9.9.9", "development", "web has no release '9.9.9'; register it first"),
        ("web", "1.0.0", "moon", "There is no environment 'moon'; known environments: development"),
    ],
)
def test_a_request_naming_something_unknown_is_refused_and_records_nothing(
    development, web, service, version, environment, message
):
    register(web, "1.0.0")
    with pytest.raises(DeploymentRequestError, match=message):
        request_deployment(service, version, environment)
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.filter(action="deployment.requested").exists()


def test_a_release_that_is_not_ready_is_refused(development, web):
    Release.objects.create(service=web, version="1.1.0", state=ReleaseState.BUILDING)
    with pytest.raises(DeploymentRequestError, match=r"web 1\.1\.0 is building, not ready"):
        request_deployment("web", "1.1.0", "development")
    assert not Deployment.objects.exists()


def test_an_outsider_may_not_request_a_deployment(development, web, oscar):
    register(web, "1.0.0")
    with pytest.raises(DeploymentRequestError, match="oscar may not deploy to development"):
        request_deployment("web", "1.0.0", "development", actor=oscar)
    assert not Deployment.objects.exists()


def test_the_promote_command_names_what_is_wrong(development, web):
    with pytest.raises(CommandError, match="There is no environment 'moon'"):
        call_command("promote", "web", "1.0.0", "--to", "moon")


@pytest.fixture
def gated(development):
    development.required_approvals = 1
    development.save()
    return development


def test_an_approval_gate_parks_without_holding_the_lane_and_resumes_when_approved(
    gated, web, alice, bob
):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development", actor=alice)
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    approval_step = deployment.steps.get(kind=StepKind.APPROVAL)
    assert (deployment.state, approval_step.state) == (DeploymentState.PENDING, StepState.WAITING)
    assert deployment.reason == "Waiting for 1 approval from a lead."
    assert deployment.notifications.filter(event="awaiting_approval").count() == 1
    engine.decide(bob, deployment.pk, "approve", "LGTM")
    claim = claim_next_step(deployment.pk, "w")
    assert claim is not None and claim.kind == StepKind.ROLLOUT
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.RUNNING


def test_a_requester_cannot_approve_their_own_deployment(gated, web, bob):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development", actor=bob)
    claim_next_step(deployment.pk, "w")  # the gate asks for approval
    with pytest.raises(ActionRefused, match="Nobody approves their own deployment"):
        engine.decide(bob, deployment.pk, "approve")
    assert not deployment.approvals.exists()


def test_a_rejection_ends_the_deployment_rejected(gated, web, alice, bob):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development", actor=alice)
    claim_next_step(deployment.pk, "w")  # the gate asks for approval
    engine.decide(bob, deployment.pk, "reject", "Not during the incident")
    claim_next_step(deployment.pk, "w")
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.REJECTED
    assert deployment.reason == "Rejected by bob: Not during the incident"
    assert list(deployment.notifications.order_by("pk").values_list("event", flat=True)) == [
        "requested", "awaiting_approval", "rejected",
    ]  # fmt: skip


def test_cancelling_a_pending_deployment_ends_it_at_once(gated, web, alice):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development", actor=alice)
    engine.cancel(alice, deployment.pk)
    claim_next_step(deployment.pk, "w")
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.CANCELLED
    assert deployment.reason == "Cancelled by alice."
    assert set(deployment.steps.values_list("state", flat=True)) == {StepState.CANCELLED}
    assert list(deployment.notifications.values_list("event", flat=True)) == [
        "requested", "cancelled",
    ]  # fmt: skip


def test_awaiting_approval_is_announced_only_once_the_pre_deployment_items_are_done(
    gated, web, alice
):
    template = ChecklistTemplate.objects.create(name="gates")
    template.items.create(
        position=1, phase=ChecklistPhase.PRE, text="Review changes", mode=CheckMode.MANUAL
    )
    gated.checklist_template = template
    gated.save()
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development", actor=alice)
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.reason == "Waiting for the pre-deployment checklist: Review changes."
    assert not deployment.notifications.filter(event="awaiting_approval").exists()
    deployment.checklist.update(state=ChecklistState.PASSED)
    assert claim_next_step(deployment.pk, "w") is None
    assert deployment.notifications.filter(event="awaiting_approval").count() == 1


def test_a_running_deployment_stops_at_its_next_safe_point(development, web):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development")
    claim = claim_next_step(deployment.pk, "w")
    engine.cancel(None, deployment.pk)
    from deployments.engine.outcomes import record_outcome
    from deployments.steps import StepOutcome

    record_outcome(deployment.pk, claim.step_id, claim.attempt, StepOutcome(True))
    deployment.steps.create(kind=StepKind.ROLLOUT, position=9)  # a later step never runs
    assert claim_next_step(deployment.pk, "w") is None
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.CANCELLED


def test_cancel_refuses_a_finished_deployment_and_other_engineers(development, web, alice):
    register(web, "1.0.0")
    deployment = request_deployment("web", "1.0.0", "development")
    with pytest.raises(ActionRefused, match="may not cancel"):
        engine.cancel(alice, deployment.pk)
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.SUCCEEDED)
    with pytest.raises(CommandError, match="already ended"):
        call_command("cancel", str(deployment.pk))
