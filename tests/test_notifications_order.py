"""The outbox keeps a deployment's events in order without flooding: a row held behind an
earlier one in back-off looks again only after that one's next try, and goes out as soon
as the earlier one is sent or given up.

The outbox runs as the worker and the beat would, on a clock moved by hand (no sleeping):
each message is handled when due, `deliver`'s answer is re-queued after its delay, what
the outbox enqueues itself is read from this run's real Redis queue, and the sweeper runs
every PORTAL_SWEEP_SECONDS. Deliveries go to a real HTTP receiver on 127.0.0.1.
"""

import base64
import heapq
import itertools
import json
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from deployments.models import Notification
from deployments.notifications import outbox
from deployments.states import NotificationEvent, NotificationState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.clock import FakeClock
from tests.harness.receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)  # the release of a held row is on_commit

OUTAGE = timedelta(minutes=15)


class Outbox:
    """The outbox's messages on a hand-moved clock: what the worker and the beat do."""

    def __init__(self, clock: FakeClock, settings):
        self.clock, self.settings = clock, settings
        self.due: list[tuple] = []  # (when, order sent, notification id)
        self.order = itertools.count()
        self.handled: Counter[int] = Counter()  # deliver calls per row: the messages
        self.redis = redis.Redis.from_url(settings.REDIS_URL)
        self.queue = settings.CELERY_QUEUES["notifications"]
        self.redis.delete(self.queue)
        self.next_sweep = clock()

    def send(self, notification_id: int, after: float = 0.0) -> None:
        when = self.clock() + timedelta(seconds=after)
        heapq.heappush(self.due, (when, next(self.order), notification_id))

    def run_until(self, end) -> None:
        """Handle every message and sweep due before `end`, moving the clock to each."""
        while True:
            self._take_enqueued()
            upcoming = min(self.next_sweep, self.due[0][0]) if self.due else self.next_sweep
            if upcoming > end:
                self.clock.current = end
                return
            self.clock.current = max(self.clock(), upcoming)
            if self.next_sweep <= self.clock():
                outbox.enqueue_due()
                self.next_sweep = self.clock() + timedelta(
                    seconds=self.settings.PORTAL_SWEEP_SECONDS
                )
                continue
            _, _, notification_id = heapq.heappop(self.due)
            self.handled[notification_id] += 1
            retry_in = outbox.deliver(notification_id)  # as the task does
            if retry_in is not None:
                self.send(notification_id, after=retry_in)

    def _take_enqueued(self) -> None:
        for raw in self.redis.lrange(self.queue, 0, -1):
            body = json.loads(base64.b64decode(json.loads(raw)["body"]))
            self.send(body[0][0])
        self.redis.delete(self.queue)

    def close(self) -> None:
        self.redis.delete(self.queue)
        self.redis.close()


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock(timezone.now())
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def slack_down(settings):
    """A webhook receiver that fails every request until `fail_first` is set to 0."""
    with WebhookReceiver(fail_first=10**9) as receiver:
        settings.SLACK_WEBHOOK_URL = ""
        settings.NOTIFY_WEBHOOK_URL = receiver.url
        settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 2.0
        settings.PORTAL_NOTIFY_MAX_ATTEMPTS = 30  # keeps trying through the whole outage
        settings.PORTAL_NOTIFY_TIMEOUT_SECONDS = 2.0
        settings.PORTAL_SWEEP_SECONDS = 15.0
        yield receiver


@pytest.fixture
def world(clock, settings):
    engine = Outbox(clock, settings)
    yield engine
    engine.close()


@pytest.fixture
def started_then_failed(alice, clock):
    """Two events of one deployment, recorded in this order."""
    deployment = make_deployment(
        make_release(make_service("web"), "2.1.0"),
        make_environment("production"),
        requested_by=alice,
        state="failed",
    )
    return tuple(
        Notification.objects.create(deployment=deployment, event=event)
        for event in (NotificationEvent.STARTED, NotificationEvent.FAILED)
    )


def test_a_row_held_behind_one_in_back_off_is_not_looked_at_more_often_than_that_one_is_tried(
    slack_down, world, clock, started_then_failed
):
    started, failed = started_then_failed
    world.send(started.pk)
    world.send(failed.pk)

    world.run_until(clock() + OUTAGE)

    tries_of_started = Notification.objects.get(pk=started.pk).attempts
    assert 5 <= tries_of_started <= 15  # backing off: 2, 4, 8 … up to 600 s apart
    # One look per try of the row it waits for, and the odd sweep: not one every 0.5 s.
    assert world.handled[failed.pk] <= tries_of_started + 3
    assert Notification.objects.get(pk=failed.pk).attempts == 0  # never sent out of order
    assert slack_down.events() == []


def test_once_the_channel_is_back_both_events_arrive_in_order_and_the_held_one_at_once(
    slack_down, world, clock, started_then_failed
):
    started, failed = started_then_failed
    world.send(started.pk)
    world.send(failed.pk)
    world.run_until(clock() + OUTAGE)

    slack_down.fail_first = 0
    world.run_until(clock() + timedelta(minutes=11))  # past the longest back-off

    started.refresh_from_db()
    failed.refresh_from_db()
    assert slack_down.events() == ["started", "failed"]
    assert (started.state, failed.state) == (NotificationState.SENT, NotificationState.SENT)
    assert failed.attempts == 1
    # Released by the earlier row's delivery, not by its own timer or the next sweep.
    assert failed.sent_at - started.sent_at < timedelta(seconds=1)


def test_a_held_row_records_its_next_look_so_the_sweeper_does_not_send_it_early(
    slack_down, world, clock, started_then_failed
):
    started, failed = started_then_failed
    world.send(started.pk)
    world.send(failed.pk)
    world.run_until(clock() + timedelta(minutes=3))

    started.refresh_from_db()
    failed.refresh_from_db()
    assert started.next_attempt_at > clock()  # in back-off
    assert failed.next_attempt_at >= started.next_attempt_at  # looks again after it
    assert failed.next_attempt_at <= started.next_attempt_at + timedelta(seconds=5)

    world.redis.delete(world.queue)
    clock.current = started.next_attempt_at - timedelta(seconds=1)
    assert outbox.enqueue_due() == 0


def test_when_the_earlier_row_is_given_up_the_held_one_is_sent_at_once(
    slack_down, world, clock, started_then_failed, settings
):
    settings.PORTAL_NOTIFY_MAX_ATTEMPTS = 3
    started, failed = started_then_failed
    world.send(started.pk)
    world.send(failed.pk)
    world.run_until(clock() + timedelta(seconds=5))  # the second try of "started" failed
    started.refresh_from_db()

    slack_down.fail_first = 1  # its third and last try fails; the channel is back after
    world.run_until(started.next_attempt_at)  # up to that last try, not a moment later

    started.refresh_from_db()
    failed.refresh_from_db()
    assert started.state == NotificationState.GIVEN_UP
    assert failed.state == NotificationState.SENT
    assert slack_down.events() == ["failed"]
    assert failed.attempts == 1
