"""The notification outbox: recorded once with the engine's transaction, delivered with retries.

Deliveries go to a real HTTP receiver on 127.0.0.1; enqueues go to the real
Redis broker, on this test run's own queue.
"""

import base64
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from deployments.models import Notification
from deployments.notifications import outbox
from deployments.states import DeploymentState, NotificationEvent, NotificationState
from deployments.tasks import send_notification
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

SECRET = "T0000/B0000/secret-token-xyz"


class Receiver:
    """A webhook receiver on 127.0.0.1 that records bodies and fails the first N requests."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0):
        self.fail_first = fail_first
        self.delay = delay
        self.received: list[dict] = []
        self.accepted: list[dict] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, body: dict) -> int:
        with self._lock:
            self.received.append(body)
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            self.accepted.append(body)
            return 200

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver._answer(body)
                time.sleep(receiver.delay)
                text = b"ok" if status == 200 else b"internal_error"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left, as the timeout test wants

            def log_message(self, format, *args):
                pass

        return Handler

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def start_receiver():
    started = []

    def start(**options) -> Receiver:
        started.append(Receiver(**options).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def quick(settings):
    """Short backoff, three attempts, no channel until a test points one at a receiver."""
    settings.SLACK_WEBHOOK_URL = ""
    settings.NOTIFY_WEBHOOK_URL = ""
    settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 0.05
    settings.PORTAL_NOTIFY_MAX_ATTEMPTS = 3
    settings.PORTAL_NOTIFY_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def notification_queue(settings):
    """Reads the notification ids waiting on this run's Redis queue; empties it after."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = settings.CELERY_QUEUES["notifications"]
    client.delete(queue)

    def waiting_ids() -> list[int]:
        ids = []
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            assert message["headers"]["task"] == send_notification.name
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.append(args[0])
        return sorted(ids)

    yield waiting_ids
    client.delete(queue)
    client.close()


@pytest.fixture
def deployment(alice):
    release = make_release(make_service("web"), "2.1.0")
    return make_deployment(
        release, make_environment("production"), requested_by=alice, state="running"
    )


@pytest.fixture
def notification(deployment):
    return Notification.objects.create(deployment=deployment, event=NotificationEvent.STARTED)


def deliver_until_done(notification_id: int, limit: int = 10) -> int:
    """Call deliver as the task does: again after the delay it returns. Returns the tries."""
    for tries in range(1, limit + 1):
        retry_in = outbox.deliver(notification_id)
        if retry_in is None:
            return tries
        time.sleep(retry_in)
    raise AssertionError(f"still retrying after {limit} tries")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Recording: notify


def test_notifying_one_event_twice_records_one_row_and_enqueues_once(
    deployment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.notify(deployment, NotificationEvent.REQUESTED)
        second = outbox.notify(deployment, NotificationEvent.REQUESTED)
    assert first is not None and first.state == NotificationState.PENDING
    assert second is None
    assert Notification.objects.filter(deployment=deployment).count() == 1
    assert len(callbacks) == 1


def test_each_event_of_a_deployment_gets_its_own_row(deployment):
    for event in (NotificationEvent.REQUESTED, NotificationEvent.STARTED, "failed"):
        assert outbox.notify(deployment, event) is not None
    assert set(deployment.notifications.values_list("event", flat=True)) == {
        "requested",
        "started",
        "failed",
    }


def test_notify_enqueues_send_notification_on_the_broker_after_commit(
    deployment, notification_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = outbox.notify(deployment, NotificationEvent.STARTED)
        assert notification_queue() == []  # not before the engine's transaction commits
    assert notification_queue() == [row.pk]


def test_a_duplicate_notify_leaves_the_callers_transaction_usable(deployment):
    with transaction.atomic():
        outbox.notify(deployment, NotificationEvent.SUCCEEDED)
        assert outbox.notify(deployment, NotificationEvent.SUCCEEDED) is None
        deployment.state = DeploymentState.SUCCEEDED
        deployment.save(update_fields=["state"])  # would fail in an aborted transaction
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED


def test_notify_in_a_transaction_that_rolls_back_leaves_no_row_and_sends_nothing(
    deployment, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.notify(deployment, NotificationEvent.FAILED)
        raise RuntimeError("the engine's transition failed")
    assert not Notification.objects.exists()
    assert callbacks == []


def test_a_broker_outage_at_commit_is_logged_and_the_sweeper_enqueues_the_row_later(
    deployment, notification_queue, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(current_app, "send_task", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            row = outbox.notify(deployment, NotificationEvent.STARTED)
    assert "Could not enqueue notification" in caplog.text
    assert outbox.enqueue_due(now=timezone.now() + timedelta(minutes=2)) == 1
    assert notification_queue() == [row.pk]


# Delivery


def test_delivery_posts_to_slack_and_the_webhook_and_marks_the_row_sent(
    quick, notification, start_receiver
):
    slack, webhook = start_receiver(), start_receiver()
    quick.SLACK_WEBHOOK_URL, quick.NOTIFY_WEBHOOK_URL = slack.url, webhook.url

    assert outbox.deliver(notification.pk) is None

    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert notification.sent_at is not None
    assert notification.delivered_to == ["slack", "webhook"]
    assert notification.attempts == 1
    assert "blocks" in slack.accepted[0]
    assert webhook.accepted[0]["deployment_id"] == notification.deployment_id


def test_a_500_then_200_is_retried_and_sent_once(quick, notification, start_receiver):
    slack = start_receiver(fail_first=1)
    quick.SLACK_WEBHOOK_URL = slack.url

    retry_in = outbox.deliver(notification.pk)
    notification.refresh_from_db()
    assert 0 < retry_in < 1
    assert notification.state == NotificationState.PENDING
    assert notification.attempts == 1
    assert "HTTP 500" in notification.last_error
    assert notification.next_attempt_at > timezone.now()

    time.sleep(retry_in)
    assert outbox.deliver(notification.pk) is None
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert notification.attempts == 2
    assert len(slack.received) == 2
    assert len(slack.accepted) == 1


def test_when_slack_is_down_the_webhook_is_not_sent_again_on_retry(
    quick, notification, start_receiver
):
    slack, webhook = start_receiver(fail_first=2), start_receiver()
    quick.SLACK_WEBHOOK_URL, quick.NOTIFY_WEBHOOK_URL = slack.url, webhook.url

    assert deliver_until_done(notification.pk) == 3

    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert notification.delivered_to == ["webhook", "slack"]
    assert len(webhook.received) == 1
    assert len(slack.accepted) == 1


def test_a_try_before_the_retry_is_due_sends_nothing(quick, notification, start_receiver):
    # A duplicate message (the sweeper and the scheduled retry) must not double-send.
    slack = start_receiver(fail_first=1)
    quick.SLACK_WEBHOOK_URL = slack.url
    quick.PORTAL_NOTIFY_BACKOFF_SECONDS = 30

    assert outbox.deliver(notification.pk) > 20
    assert outbox.deliver(notification.pk) is None
    assert len(slack.received) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


def test_delivery_gives_up_after_max_attempts_and_logs_the_reason_without_the_url(
    quick, notification, start_receiver, caplog
):
    slack = start_receiver(fail_first=100)
    quick.SLACK_WEBHOOK_URL = slack.url
    caplog.set_level(logging.INFO, logger="deployments.notifications")

    assert deliver_until_done(notification.pk) == 3

    notification.refresh_from_db()
    assert notification.state == NotificationState.GIVEN_UP
    assert notification.attempts == 3
    assert len(slack.received) == 3
    assert "HTTP 500 internal_error" in notification.last_error
    assert SECRET not in notification.last_error
    gave_up = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(gave_up) == 1
    assert "Gave up" in gave_up[0].getMessage()
    assert "HTTP 500" in gave_up[0].getMessage()
    assert all("secret-token" not in record.getMessage() for record in caplog.records)
    assert outbox.deliver(notification.pk) is None
    assert len(slack.received) == 3


@pytest.mark.parametrize("state", [NotificationState.SENT, NotificationState.GIVEN_UP])
def test_deliver_on_a_finished_row_sends_nothing(quick, notification, start_receiver, state):
    slack = start_receiver()
    quick.SLACK_WEBHOOK_URL = slack.url
    Notification.objects.filter(pk=notification.pk).update(state=state)

    assert outbox.deliver(notification.pk) is None
    assert slack.received == []


def test_deliver_of_a_missing_row_does_nothing(quick):
    assert outbox.deliver(987654321) is None


def test_an_unreachable_receiver_is_a_failure_with_a_clear_reason(quick, notification):
    port = closed_port()
    quick.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{port}/hooks/{SECRET}"

    retry_in = outbox.deliver(notification.pk)

    notification.refresh_from_db()
    assert retry_in is not None
    assert notification.state == NotificationState.PENDING
    assert notification.last_error.startswith(f"webhook: could not reach http://127.0.0.1:{port}/…")
    assert "refused" in notification.last_error.lower()
    assert SECRET not in notification.last_error


def test_a_receiver_that_answers_too_late_is_a_timeout(quick, notification, start_receiver):
    slow = start_receiver(delay=1.0)
    quick.SLACK_WEBHOOK_URL = slow.url
    quick.PORTAL_NOTIFY_TIMEOUT_SECONDS = 0.2

    assert outbox.deliver(notification.pk) is not None

    notification.refresh_from_db()
    assert notification.last_error.startswith("slack: timed out after 0.2s")


def test_with_no_channel_configured_the_row_is_marked_sent_with_nothing_delivered(
    quick, notification
):
    assert outbox.deliver(notification.pk) is None
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert notification.delivered_to == []


def test_a_row_whose_last_try_never_finished_is_given_up_without_sending(
    quick, notification, start_receiver
):
    # The worker died mid-try on the last attempt: its lease ran out, attempts are spent.
    slack = start_receiver()
    quick.SLACK_WEBHOOK_URL = slack.url
    Notification.objects.filter(pk=notification.pk).update(
        attempts=3, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    assert outbox.deliver(notification.pk) is None

    notification.refresh_from_db()
    assert notification.state == NotificationState.GIVEN_UP
    assert slack.received == []


def test_backoff_doubles_per_attempt_with_a_little_jitter_and_a_cap(settings):
    settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 2.0
    assert 1.8 <= outbox.backoff_seconds(1) <= 2.2
    assert 3.6 <= outbox.backoff_seconds(2) <= 4.4
    assert 14.4 <= outbox.backoff_seconds(4) <= 17.6
    assert outbox.backoff_seconds(40) <= outbox.MAX_BACKOFF_SECONDS * 1.1


# The sweeper: enqueue_due


def test_enqueue_due_picks_up_due_and_lost_rows_and_ignores_the_others(
    deployment, notification_queue
):
    now = timezone.now()
    rows = {
        event: Notification.objects.create(deployment=deployment, event=event)
        for event in list(NotificationEvent)[:6]  # six rows of one deployment, one per event
    }
    due, lost, fresh, later, sent, given_up = rows.values()
    Notification.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(seconds=1))
    Notification.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=5))
    Notification.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=1))
    for row, state in ((sent, NotificationState.SENT), (given_up, NotificationState.GIVEN_UP)):
        Notification.objects.filter(pk=row.pk).update(
            state=state, created_at=now - timedelta(minutes=5), next_attempt_at=None
        )

    assert outbox.enqueue_due(now=now) == 2
    assert notification_queue() == sorted([due.pk, lost.pk])
    assert fresh.pk not in notification_queue()
