"""Every try of every notification is kept: its rendered body, the host it went to (never
the webhook's secret path), the answer's status or the error, when and how long.

Deliveries go to a real HTTP receiver on 127.0.0.1.
"""

import json

import pytest
from django.utils import timezone

from deployments.models import DeliveryAttempt, Notification
from deployments.notifications import outbox
from deployments.states import NotificationEvent, NotificationState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.test_notifications import SECRET, Receiver, closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def receivers():
    started = []

    def start(**options) -> Receiver:
        started.append(Receiver(**options).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def quick(settings):
    settings.SLACK_WEBHOOK_URL = ""
    settings.NOTIFY_WEBHOOK_URL = ""
    settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 30
    settings.PORTAL_NOTIFY_MAX_ATTEMPTS = 3
    settings.PORTAL_NOTIFY_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def notification(alice):
    release = make_release(make_service("web"), "2.1.0")
    deployment = make_deployment(
        release, make_environment("production"), requested_by=alice, state="failed"
    )
    deployment.reason = "rollout exceeded its progress deadline"
    deployment.save(update_fields=["reason"])
    return Notification.objects.create(deployment=deployment, event=NotificationEvent.FAILED)


def make_due(notification: Notification) -> None:
    """The retry's time has come (instead of waiting out the back-off)."""
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())


def test_a_failed_then_accepted_slack_message_keeps_both_tries_with_body_and_host(
    quick, notification, receivers
):
    slack = receivers(fail_first=1)
    quick.SLACK_WEBHOOK_URL = slack.url

    outbox.deliver(notification.pk)
    make_due(notification)
    assert outbox.deliver(notification.pk) is None

    first, second = DeliveryAttempt.objects.filter(notification=notification)
    host = f"127.0.0.1:{slack.server.server_port}"
    assert (first.channel, first.destination, first.status_code) == ("slack", host, 500)
    assert not first.accepted and "HTTP 500" in first.error
    assert (second.status_code, second.accepted, second.error) == (200, True, "")
    assert second.attempted_at >= first.attempted_at
    assert second.body == slack.accepted[0]  # exactly what Slack got
    assert "web 2.1.0 → production failed" in second.body["text"]
    for attempt in (first, second):
        assert SECRET not in json.dumps([attempt.destination, attempt.error, attempt.body])


def test_each_channel_keeps_its_own_message(quick, notification, receivers):
    slack, webhook = receivers(), receivers()
    quick.SLACK_WEBHOOK_URL, quick.NOTIFY_WEBHOOK_URL = slack.url, webhook.url

    outbox.deliver(notification.pk)

    attempts = {a.channel: a for a in DeliveryAttempt.objects.filter(notification=notification)}
    assert set(attempts) == {"slack", "webhook"}
    assert "blocks" in attempts["slack"].body
    assert attempts["webhook"].body["event"] == "failed"
    assert attempts["webhook"].body["reason"] == "rollout exceeded its progress deadline"


def test_an_unreachable_webhook_is_kept_as_a_try_with_the_error_and_no_status(quick, notification):
    port = closed_port()
    quick.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{port}/hooks/{SECRET}"

    outbox.deliver(notification.pk)

    attempt = DeliveryAttempt.objects.get(notification=notification)
    assert attempt.destination == f"127.0.0.1:{port}"
    assert attempt.status_code is None and not attempt.accepted
    assert "could not reach" in attempt.error and SECRET not in attempt.error
    assert attempt.body["summary"].startswith("web 2.1.0 → production failed")


def test_a_try_given_up_keeps_every_attempt(quick, notification, receivers):
    slack = receivers(fail_first=5)
    quick.SLACK_WEBHOOK_URL = slack.url

    for _ in range(3):
        outbox.deliver(notification.pk)
        make_due(notification)

    notification.refresh_from_db()
    assert notification.state == NotificationState.GIVEN_UP
    codes = list(
        DeliveryAttempt.objects.filter(notification=notification).values_list(
            "status_code", flat=True
        )
    )
    assert codes == [500, 500, 500]


def test_a_duplicate_try_before_the_retry_is_due_keeps_no_attempt(quick, notification, receivers):
    slack = receivers(fail_first=1)
    quick.SLACK_WEBHOOK_URL = slack.url

    outbox.deliver(notification.pk)
    outbox.deliver(notification.pk)  # the sweeper's duplicate: nothing is sent

    assert DeliveryAttempt.objects.filter(notification=notification).count() == 1
