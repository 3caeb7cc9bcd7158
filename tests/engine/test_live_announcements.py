"""Every change a live page shows is announced, on commit, by the transaction that made it.

`announce.observers` (a hook added for exactly this) sees each publish in this process;
after every engine call the deployment's fingerprint as last announced must equal its
fingerprint in the database: a transition that forgot to announce leaves them apart.
A real Redis subscriber checks the same publishes arrive on the prefixed channels.
"""

import threading

import pytest
import redis
from django.conf import settings

from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode
from deployments import engine
from deployments.engine.claims import claim_next_step
from deployments.engine.runner import record_with_retries, run_claimed
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState, StepState
from live import announce
from live.fingerprints import deployment_fingerprints, lane_fingerprints
from tests.engine.conftest import register
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db(transaction=True)


class Announcements:
    """What was announced, with the fingerprint each announced deployment had then."""

    def __init__(self):
        self.messages: list[tuple[str, str]] = []
        self.prints: dict[int, list] = {}

    def __call__(self, channel: str, payload: str) -> None:
        self.messages.append((channel, payload))
        name = channel.removeprefix(settings.PORTAL_CHANNEL_PREFIX)
        if name.startswith(announce.DEPLOYMENT) and payload == announce.STATE:
            pk = int(name.removeprefix(announce.DEPLOYMENT))
            self.prints.setdefault(pk, []).append(deployment_fingerprints([pk])[pk])

    def assert_up_to_date(self, deployment_id: int) -> None:
        now = deployment_fingerprints([deployment_id])[deployment_id]
        announced = self.prints.get(deployment_id, [None])[-1]
        assert announced is not None and announced[1:] == now[1:], (
            f"#{deployment_id} changed without an announcement:\n"
            f" announced {announced}\n now       {now}"
        )

    def shown(self, deployment_id: int) -> list[tuple[str, tuple[str, ...]]]:
        """The deployment's state and step states as announced, repeats dropped."""
        seen = []
        for fingerprint in self.prints.get(deployment_id, []):
            entry = (fingerprint.state, tuple(step[1] for step in fingerprint.steps))
            if not seen or seen[-1] != entry:
                seen.append(entry)
        return seen


@pytest.fixture
def announcements():
    observer = Announcements()
    announce.observers.append(observer)
    yield observer
    announce.observers.remove(observer)


def test_every_step_of_a_pipeline_is_announced_as_it_changes(
    development_with_urls, middleware, announcements
):
    register(middleware, "2.0.0")
    deployment = engine.request_deployment("middleware", "2.0.0", "development")
    announcements.assert_up_to_date(deployment.pk)
    pause = threading.Event()
    while not Deployment.objects.get(pk=deployment.pk).is_final:
        if (claim := claim_next_step(deployment.pk, "test")) is None:
            pause.wait(0.05)  # between two looks of a step: the next is not due yet
            continue
        announcements.assert_up_to_date(deployment.pk)
        record_with_retries(claim, run_claimed(claim))
        announcements.assert_up_to_date(deployment.pk)
    assert Deployment.objects.get(pk=deployment.pk).state == DeploymentState.SUCCEEDED
    P, R, S = StepState.PENDING, StepState.RUNNING, StepState.SUCCEEDED
    assert announcements.shown(deployment.pk) == [
        ("pending", (P, P, P)),
        ("running", (R, P, P)), ("running", (S, P, P)),
        ("running", (S, R, P)), ("running", (S, S, P)),
        ("running", (S, S, R)), ("succeeded", (S, S, S)),
    ]  # fmt: skip
    lane = announce.lane_channel(deployment.lane_id)
    assert (lane, "state") in announcements.messages, "its lane's pages hear too"
    logs = [int(p.removeprefix("log:")) for c, p in announcements.messages if p.startswith("log:")]
    assert logs == sorted(logs) and logs[-1] == deployment.log.count()


@pytest.fixture
def gated(transactional_db, alice, bob, carol):
    """A production deployment waiting for its checklist, then for one approval."""
    web = make_service("web")
    staging = make_environment("staging")
    production = make_environment("production", promotes_from=staging, required_approvals=1)
    template = ChecklistTemplate.objects.create(name="production-checklist")
    template.items.create(
        position=1, phase=ChecklistPhase.PRE, mode=CheckMode.MANUAL, text="Review changes"
    )
    production.checklist_template = template
    production.save()
    release = make_release(web, "1.0.0")
    make_deployment(release, staging, state=DeploymentState.SUCCEEDED)
    return engine.promote(alice, "web", "1.0.0", "production")


def test_answers_approvals_cancel_and_review_are_announced(gated, announcements, bob, carol):
    pk = gated.pk
    assert claim_next_step(pk, "test") is None  # parks: waiting for the checklist
    announcements.assert_up_to_date(pk)
    engine.answer_item(bob, gated.checklist.get().pk, "passed", "diff read")
    announcements.assert_up_to_date(pk)
    assert claim_next_step(pk, "test") is None  # parks again: waiting for approval
    announcements.assert_up_to_date(pk)
    engine.decide(bob, pk, "approve", "go")
    announcements.assert_up_to_date(pk)
    engine.cancel(carol, pk)
    announcements.assert_up_to_date(pk)
    assert claim_next_step(pk, "test") is None  # ends cancelled
    announcements.assert_up_to_date(pk)
    assert Deployment.objects.get(pk=pk).state == DeploymentState.CANCELLED


def test_a_break_glass_review_is_announced(transactional_db, announcements, bob, carol):
    make_release(make_service("web"), "1.0.0")
    make_environment("development")
    glass = engine.break_glass(bob, "web", "1.0.0", "development", "site down")
    engine.review_break_glass(carol, glass.pk, "checked the diff")
    announcements.assert_up_to_date(glass.pk)


def test_a_lock_announces_every_lane_of_its_environment(gated, announcements, bob):
    lanes = list(Lane.objects.filter(environment__name="production").values_list("pk", flat=True))
    before = lane_fingerprints(lanes)
    engine.lock(bob, "production", "incident INC-7")
    assert lane_fingerprints(lanes) != before
    announced = {channel for channel, _ in announcements.messages}
    assert {announce.lane_channel(lane) for lane in lanes} <= announced


def test_publishes_reach_a_redis_subscriber_on_the_prefixed_channels(gated, bob):
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(announce.deployment_channel(gated.pk), announce.lane_channel(gated.lane_id))
    try:
        assert settings.PORTAL_CHANNEL_PREFIX.startswith("test-"), "tests never share channels"
        engine.cancel(bob, gated.pk)
        received = set()
        for _ in range(50):
            message = pubsub.get_message(timeout=0.1)
            if message:
                received.add((message["channel"].decode(), message["data"].decode()))
            if len(received) == 2:
                break
        assert received == {
            (announce.deployment_channel(gated.pk), "state"),
            (announce.lane_channel(gated.lane_id), "state"),
        }
    finally:
        pubsub.close()
        client.close()
