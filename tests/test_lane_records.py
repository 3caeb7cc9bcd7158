"""A lane's record on pages reads only its newest successes, whatever its history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.lane_history import lane_records, rollback_targets
from deployments.models import Lane
from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """web 1.0.0 … 1.5.0 succeeded in staging, one after the other, 1.5.0 last."""
    service, staging = make_service(), make_environment("staging")
    start = timezone.now() - timedelta(days=10)
    releases = [make_release(service, f"1.{n}.0") for n in range(6)]
    for n, release in enumerate(releases):
        make_deployment(
            release, staging, state=DeploymentState.SUCCEEDED,
            finished_at=start + timedelta(hours=n),
        )  # fmt: skip
    return service, staging, releases


def test_a_page_record_holds_the_releases_of_the_newest_successes_only(history):
    service, staging, releases = history
    lane = Lane.objects.get(service=service, environment=staging)
    record = lane_records([lane], recent=3)[lane.pk]
    assert [r.version for r in record.succeeded] == ["1.5.0", "1.4.0", "1.3.0"]
    assert record.running == releases[5]
    assert [r.version for r in record.rollback_targets] == ["1.4.0", "1.3.0"]


def test_the_engine_still_sees_every_earlier_success(history):
    service, staging, _ = history
    targets = rollback_targets(service, staging)
    assert [r.version for r in targets] == ["1.4.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0"]


def test_a_release_that_succeeded_twice_is_offered_once(history):
    service, staging, releases = history
    make_deployment(
        releases[4], staging, state=DeploymentState.SUCCEEDED,
        finished_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    make_deployment(
        releases[5], staging, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
    )
    lane = Lane.objects.get(service=service, environment=staging)
    record = lane_records([lane], recent=3)[lane.pk]
    assert [r.version for r in record.succeeded] == ["1.5.0", "1.4.0"]
