"""A rolled-back deployment's reason: the first thing that failed, then where the
rollback went, in the past tense."""

import pytest

from deployments.engine import reasons
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

CAUSE = "Error rate peaked at 0.344/s (at most 0.05/s allowed) during the soak."


@pytest.fixture
def lane():
    return make_service("web"), make_environment("production")


def test_a_rolled_back_deployment_names_the_release_that_is_back(lane):
    service, environment = lane
    before = make_release(service, "1.0.0")
    deployment = make_deployment(
        make_release(service, "1.7.0"), environment, reason=CAUSE,
        previous_images={"vizora-web": {"web": before.image}},
    )  # fmt: skip

    assert reasons.rolled_back(deployment) == (
        "Error rate peaked at 0.344/s (at most 0.05/s allowed) during the soak; "
        "rolled back to 1.0.0."
    )


def test_an_image_the_portal_never_released_is_named_by_its_tag(lane):
    service, environment = lane
    deployment = make_deployment(
        make_release(service, "1.7.0"), environment, reason="Cancelled by alice.",
        previous_images={"vizora-web": {"web": "ghcr.io/your-org/vizora-web:0.9.1"}},
    )  # fmt: skip

    assert reasons.rolled_back(deployment) == "Cancelled by alice; rolled back to 0.9.1."


def test_a_failed_rollback_follows_the_cause_and_says_why(lane):
    service, environment = lane
    before = make_release(service, "1.0.0")
    deployment = make_deployment(
        make_release(service, "1.7.0"), environment, reason=CAUSE,
        previous_images={"vizora-web": {"web": before.image}},
    )  # fmt: skip

    assert reasons.rollback_failed(deployment, "Rollback rollout failed: deadline exceeded.") == (
        "Error rate peaked at 0.344/s (at most 0.05/s allowed) during the soak, followed by "
        "a failed rollback to 1.0.0: Rollback rollout failed: deadline exceeded."
    )
