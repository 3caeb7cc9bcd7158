"""Rules the database enforces, whatever the Python code above it does."""

import pytest
from django.db import IntegrityError, transaction

from deployments.models import Approval, LogLine, Notification
from deployments.states import Decision, DeploymentState, NotificationEvent
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def lane():
    service = make_service("web")
    environment = make_environment("staging")
    return service, environment


def test_two_running_deployments_in_one_lane_are_refused(lane):
    service, environment = lane
    make_deployment(make_release(service, "1.0.0"), environment, state=DeploymentState.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_deployment(make_release(service, "1.1.0"), environment, state=DeploymentState.RUNNING)


def test_running_deployments_in_different_lanes_are_allowed(lane):
    service, environment = lane
    other_environment = make_environment("production")
    make_deployment(make_release(service, "1.0.0"), environment, state=DeploymentState.RUNNING)
    make_deployment(
        make_release(service, "1.1.0"), other_environment, state=DeploymentState.RUNNING
    )


def test_queued_and_finished_deployments_do_not_hold_the_lane(lane):
    service, environment = lane
    for version, state in [("1.0.0", "queued"), ("1.1.0", "queued"), ("1.2.0", "succeeded")]:
        make_deployment(make_release(service, version), environment, state=state)
    make_deployment(make_release(service, "1.3.0"), environment, state=DeploymentState.RUNNING)


def test_a_person_approves_a_deployment_once(lane, bob):
    service, environment = lane
    deployment = make_deployment(make_release(service), environment)
    Approval.objects.create(deployment=deployment, user=bob, decision=Decision.APPROVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.create(deployment=deployment, user=bob, decision=Decision.REJECT)


def test_log_sequence_numbers_are_unique_per_deployment(lane):
    service, environment = lane
    first = make_deployment(make_release(service, "1.0.0"), environment)
    second = make_deployment(make_release(service, "1.1.0"), environment)
    LogLine.objects.create(deployment=first, seq=1, text="a")
    LogLine.objects.create(deployment=second, seq=1, text="same seq, other deployment")
    with pytest.raises(IntegrityError), transaction.atomic():
        LogLine.objects.create(deployment=first, seq=1, text="duplicate")


def test_one_notification_per_deployment_and_event(lane):
    service, environment = lane
    deployment = make_deployment(make_release(service), environment)
    Notification.objects.create(deployment=deployment, event=NotificationEvent.STARTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(deployment=deployment, event=NotificationEvent.STARTED)


def test_a_release_version_is_unique_per_service(lane):
    service, _ = lane
    make_release(service, "1.0.0")
    make_release(make_service("api"), "1.0.0")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_release(service, "1.0.0")


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/your-org/vizora-web:1.0.0",
        "ghcr.io/your-org/vizora-web:1.0.0@sha256:abc",
        "ghcr.io/your-org/vizora-web:1.0.0@sha256:" + "G" * 64,
    ],
)
def test_a_ready_release_image_must_carry_a_sha256_digest(lane, image):
    service, _ = lane
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(service=service, version="9", image=image, state=ReleaseState.READY)


def test_a_release_still_building_may_have_no_image_yet(lane):
    service, _ = lane
    Release.objects.create(service=service, version="2.0.0", state=ReleaseState.BUILDING)


def test_audit_events_are_append_only(alice):
    from audit import trail

    event = trail.record("test.action", actor=alice, target="x")
    event.action = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
