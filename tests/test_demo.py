"""Demo data: the baseline every demo lane starts on is history, so rolling back to it works."""

import pytest
from django.utils import timezone

from catalog.catalog_file import sync_catalog
from catalog.models import Environment, Service
from demo import seed
from deployments.lane_history import rollback_targets
from deployments.models import Deployment
from deployments.states import DeploymentState
from tests.factories import make_deployment

pytestmark = pytest.mark.django_db

EXAMPLE = "examples/vizora.yaml"


@pytest.fixture
def demo_catalog():
    sync_catalog(EXAMPLE)
    seed.register_demo_releases()


def test_the_baseline_is_recorded_as_running_in_every_lane_once(demo_catalog):
    lanes = Service.objects.active().count() * Environment.objects.active().count()
    assert seed.record_demo_baseline() == lanes
    assert seed.record_demo_baseline() == 0
    baseline = Deployment.objects.filter(state=DeploymentState.SUCCEEDED)
    assert baseline.count() == lanes
    assert set(baseline.values_list("release__version", flat=True)) == {"1.0.0"}


def test_after_a_promotion_the_demo_can_roll_back_to_the_baseline(demo_catalog):
    seed.record_demo_baseline()
    middleware = Service.objects.get(name="middleware")
    staging = Environment.objects.get(name="staging")
    newer = middleware.releases.get(version="1.1.0")
    make_deployment(newer, staging, state=DeploymentState.SUCCEEDED, finished_at=timezone.now())
    assert [r.version for r in rollback_targets(middleware, staging)] == ["1.0.0"]
