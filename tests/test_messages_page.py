"""The admins' Messages page and the deployment page's "Messages" section: what the
portal sent, where (the host only), each try; filtered by GET with clear errors."""

import html
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import DeliveryAttempt, Notification
from deployments.states import NotificationEvent, NotificationState
from tests.factories import make_deployment, make_environment, make_release, make_service
from web.message_log import PAGE_SIZE

pytestmark = pytest.mark.django_db

SECRET_PATH = "/services/T0000/B0000/secret-token-xyz"


@pytest.fixture
def world(alice):
    service = make_service("web")
    staging, production = make_environment("staging"), make_environment("production")
    first = make_deployment(make_release(service, "2.1.0"), staging, requested_by=alice)
    second = make_deployment(make_release(service, "2.2.0"), production, requested_by=alice)
    return first, second


def sent(deployment, event, *, channel="slack", answers=(200,), state=NotificationState.SENT):
    """A notification with one try per answer (an int: HTTP status; a str: an error)."""
    notification = Notification.objects.create(
        deployment=deployment, event=event, state=state, attempts=len(answers)
    )
    start = timezone.now()
    for number, answer in enumerate(answers):
        ok = answer == 200
        DeliveryAttempt.objects.create(
            notification=notification,
            channel=channel,
            destination="hooks.slack.com" if channel == "slack" else "hooks.example.com",
            body={"text": f"✅ web → {deployment.environment.name} {event} (#{deployment.pk})"}
            if channel == "slack"
            else {"summary": f"web {event} #{deployment.pk}", "event": event},
            attempted_at=start + timedelta(seconds=number),
            duration_ms=12,
            status_code=answer if isinstance(answer, int) else None,
            accepted=ok,
            error="" if ok else (f"answered HTTP {answer}" if isinstance(answer, int) else answer),
        )
    return notification


# Who may see it


def test_an_admin_sees_every_message_with_its_text_host_and_tries(client, carol, world):
    first, second = world
    sent(first, NotificationEvent.STARTED, answers=(500, 200))
    sent(second, NotificationEvent.FAILED, channel="webhook", answers=("timed out after 5s",))
    client.force_login(carol)

    response = client.get("/messages/")

    page = response.content.decode()
    assert response.status_code == 200
    assert f"✅ web → staging started (#{first.pk})" in page
    assert "hooks.slack.com" in page and "hooks.example.com" in page
    assert "HTTP 500" in page and "HTTP 200 ok" in page and "timed out after 5s" in page
    assert "after 2 tries" in page
    assert SECRET_PATH not in page


@pytest.mark.parametrize("persona", ["alice", "bob", "oscar"])
def test_everyone_but_an_admin_is_refused_the_messages_page(client, persona, request, world):
    sent(world[0], NotificationEvent.STARTED)
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/messages/")

    assert response.status_code == 403
    assert "Only admins see the messages" in response.content.decode()
    assert "hooks.slack.com" not in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_the_login_page(client, world):
    response = client.get("/messages/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_admins_find_the_messages_page_in_the_header(client, carol, alice):
    client.force_login(carol)
    assert 'href="/messages/"' in client.get("/").content.decode()
    client.force_login(alice)
    assert 'href="/messages/"' not in client.get("/").content.decode()


# Filters


def test_filtering_by_deployment_channel_and_state(client, carol, world):
    first, second = world
    sent(first, NotificationEvent.STARTED)
    sent(first, NotificationEvent.SUCCEEDED, channel="webhook")
    sent(second, NotificationEvent.FAILED, answers=(500, 500), state=NotificationState.GIVEN_UP)
    client.force_login(carol)

    def events(query: str) -> list[str]:
        response = client.get(f"/messages/?{query}")
        assert response.status_code == 200
        return [n.event for n in (row.notification for row in response.context["log"].rows)]

    assert events(f"deployment={first.pk}") == ["succeeded", "started"]
    assert events("channel=webhook") == ["succeeded"]
    assert events("state=given_up") == ["failed"]
    assert events(f"deployment={first.pk}&channel=slack&state=sent") == ["started"]
    assert events(f"deployment={second.pk}&state=sent") == []


def test_a_deployment_typed_as_on_its_page_with_a_hash_is_accepted(client, carol, world):
    first, _ = world
    sent(first, NotificationEvent.STARTED)
    client.force_login(carol)

    response = client.get("/messages/", {"deployment": f" #{first.pk} "})

    assert response.status_code == 200
    assert [row.notification.deployment for row in response.context["log"].rows] == [first]


def test_the_deployment_filter_shows_an_example_of_what_to_type(client, carol):
    client.force_login(carol)

    page = client.get("/messages/").content.decode()

    assert 'placeholder="e.g. 42"' in page


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("deployment=abc", "Deployment must be a number, like 42."),
        ("deployment=%2312x", "Deployment must be a number, like 42."),
        ("deployment=0", "Deployment must be a number of 1 or more, like 42."),
        ("channel=email", "Channel must be one of Slack, Webhook (or any)."),
        ("state=lost", "State must be one of Pending, Sent, Given up (or any)."),
        ("page=x", "page must be a page number, e.g. ?page=2."),
    ],
)
def test_a_bad_filter_is_a_400_saying_what_to_fix(client, carol, world, query, says):
    sent(world[0], NotificationEvent.STARTED)
    client.force_login(carol)

    response = client.get(f"/messages/?{query}")

    assert response.status_code == 400
    assert says in html.unescape(response.content.decode())
    assert response.context["log"].rows == []


def test_messages_are_paged_newest_first_keeping_the_filters(client, carol, world):
    first, _ = world
    deployments = [first] + [
        make_deployment(first.release, first.environment, state="succeeded")
        for _ in range(PAGE_SIZE)
    ]
    for minutes, deployment in enumerate(deployments):
        notification = sent(deployment, NotificationEvent.STARTED)
        Notification.objects.filter(pk=notification.pk).update(
            created_at=timezone.now() + timedelta(minutes=minutes)
        )
    client.force_login(carol)

    page_one = client.get("/messages/?channel=slack")
    page_two = client.get("/messages/?channel=slack&page=2")

    assert len(page_one.context["log"].rows) == PAGE_SIZE
    assert 'href="?channel=slack&amp;page=2"' in page_one.content.decode()
    assert [row.notification.deployment for row in page_two.context["log"].rows] == [first]


# The deployment page's section


def test_an_admin_sees_the_deployments_messages_on_its_page(client, carol, world):
    first, second = world
    sent(first, NotificationEvent.STARTED, answers=(500, 200))
    sent(second, NotificationEvent.FAILED)
    client.force_login(carol)

    page = client.get(f"/deployments/{first.pk}/").content.decode()

    assert 'id="sent-messages"' in page
    assert f"✅ web → staging started (#{first.pk})" in page
    assert f"#{second.pk})" not in page  # only this deployment's
    assert f'href="/messages/?deployment={first.pk}"' in page


def test_the_deployment_page_lists_its_messages_newest_first_as_the_messages_page_does(
    client, carol, world
):
    first, _ = world
    for minutes, event in enumerate([NotificationEvent.STARTED, NotificationEvent.SUCCEEDED]):
        notification = sent(first, event)
        Notification.objects.filter(pk=notification.pk).update(
            created_at=timezone.now() + timedelta(minutes=minutes)
        )
    client.force_login(carol)

    on_deployment = client.get(f"/deployments/{first.pk}/").context["sent_messages"]
    on_messages = client.get(f"/messages/?deployment={first.pk}").context["log"].rows

    assert [row.notification.event for row in on_deployment] == ["succeeded", "started"]
    assert [row.notification for row in on_messages] == [row.notification for row in on_deployment]


@pytest.mark.parametrize("persona", ["alice", "bob", "oscar"])
def test_others_do_not_see_the_messages_section(client, persona, request, world):
    sent(world[0], NotificationEvent.STARTED)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(f"/deployments/{world[0].pk}/")

    assert response.status_code == 200
    assert 'id="sent-messages"' not in response.content.decode()
    assert "hooks.slack.com" not in response.content.decode()


def test_a_message_sent_to_no_channel_says_none_was_configured(client, carol, world):
    Notification.objects.create(
        deployment=world[0], event=NotificationEvent.STARTED, state=NotificationState.SENT
    )
    client.force_login(carol)

    page = client.get(f"/deployments/{world[0].pk}/").content.decode()

    assert "No channel was configured (SLACK_WEBHOOK_URL, NOTIFY_WEBHOOK_URL)" in page


def test_the_slack_text_is_shown_as_slack_shows_it_not_as_raw_markup(client, carol, world):
    notification = sent(world[0], NotificationEvent.STARTED)
    notification.delivery_attempts.update(
        body={"text": "*web* <http://127.0.0.1:8000/deployments/12/|Open deployment> <b>"}
    )
    client.force_login(carol)

    page = client.get("/messages/").content.decode()

    said = page.split('<blockquote class="said">')[1].split("</blockquote>")[0]
    assert said == (
        '<strong>web</strong> <a href="http://127.0.0.1:8000/deployments/12/">Open deployment</a>'
        " &lt;b&gt;"
    )
