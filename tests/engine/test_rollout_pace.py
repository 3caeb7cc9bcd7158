"""When the next look at a rollout comes (issue 21's benchmark: 200 rollouts of minutes
each must not be read every second): half the time the rollout should still take at
its pace so far, within PORTAL_LOOK_SECONDS and PORTAL_LOOK_MAX_SECONDS; the shortest
while a new pod is in doubt or the controller has not seen the change yet."""

import pytest
from kubernetes import client

from deployments.steps.workloads import look_again_in, seconds_left

SHORTEST, LONGEST = 2.0, 15.0


@pytest.fixture(autouse=True)
def production_bounds(settings):
    settings.PORTAL_LOOK_SECONDS, settings.PORTAL_LOOK_MAX_SECONDS = SHORTEST, LONGEST


def rolling(replicas=4, updated=0, unavailable=0, generation=2, observed=2):
    """A Deployment read mid-rollout (maxSurge 1: one pod more than wanted while a new
    one starts)."""
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="svc", generation=generation),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(),
            template=client.V1PodTemplateSpec(),
        ),
        status=client.V1DeploymentStatus(
            observed_generation=observed, updated_replicas=updated,
            unavailable_replicas=unavailable or None,
        ),
    )  # fmt: skip


def test_the_time_left_is_the_pods_left_at_the_pace_of_those_available():
    # Two of four new pods available in 20 s (the third is starting): 2 more at 10 s each.
    assert seconds_left(rolling(updated=3, unavailable=1), 20.0) == pytest.approx(20.0)


def test_while_no_new_pod_is_available_one_takes_at_least_the_time_so_far():
    assert seconds_left(rolling(updated=1, unavailable=1), 6.0) == pytest.approx(24.0)


def test_with_every_new_pod_available_the_end_is_near():
    assert seconds_left(rolling(updated=4, unavailable=0), 30.0) == 0.0


def test_a_rollout_far_from_done_is_looked_at_after_half_the_time_it_should_still_take():
    assert look_again_in(rolling(updated=2, unavailable=1), 8.0, False) == pytest.approx(12.0)


def test_the_wait_between_looks_stays_within_the_shortest_and_the_longest():
    assert look_again_in(rolling(updated=1, unavailable=1), 0.5, False) == SHORTEST
    assert look_again_in(rolling(updated=1, unavailable=1), 300.0, False) == LONGEST
    assert look_again_in(rolling(updated=4, unavailable=0), 30.0, False) == SHORTEST


def test_a_new_pod_in_doubt_brings_the_next_look_to_the_shortest():
    assert look_again_in(rolling(updated=1, unavailable=1), 300.0, True) == SHORTEST


def test_a_change_the_controller_has_not_seen_yet_is_looked_at_soon():
    unseen = rolling(updated=0, unavailable=0, generation=3, observed=2)
    assert look_again_in(unseen, 300.0, False) == SHORTEST
