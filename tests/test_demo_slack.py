"""The demo's Slack: answers as Slack's incoming webhook does, keeps what it got, shows it;
and the portal's outbox delivers to it as it would to Slack."""

import threading
from pathlib import Path

import httpx
import pytest

from demo import slack as demo_slack
from deployments.models import DeliveryAttempt, Notification
from deployments.notifications import outbox
from deployments.states import NotificationEvent, NotificationState
from tests.factories import make_deployment, make_environment, make_release, make_service

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def receiver():
    server = demo_slack.make_server(demo_slack.Inbox(), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_message_is_answered_ok_as_slack_does_and_shown_on_the_page(receiver):
    message = {
        "text": "✅ web 2.1.0 → staging succeeded <http://127.0.0.1:8000/deployments/7/|Open>",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "✅ web 2.1.0 succeeded"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open deployment"},
                        "url": "http://127.0.0.1:8000/deployments/7/",
                    }
                ],
            },
        ],
    }

    answer = httpx.post(receiver + demo_slack.WEBHOOK_PATH, json=message)
    page = httpx.get(receiver + "/").text

    assert (answer.status_code, answer.text) == (200, "ok")
    assert answer.headers["content-type"].startswith("text/plain")
    assert "✅ web 2.1.0 succeeded" in page
    assert 'href="http://127.0.0.1:8000/deployments/7/">Open deployment</a>' in page
    kept = httpx.get(receiver + "/messages.json").json()
    assert [item["body"] for item in kept] == [message]


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        (demo_slack.WEBHOOK_PATH, b"not json", 400, "invalid_payload"),
        (demo_slack.WEBHOOK_PATH, b'{"blocks": []}', 400, "no_text"),
        ("/hooks/elsewhere", b'{"text": "hi"}', 404, "no_service"),
    ],
)
def test_what_slack_refuses_is_refused_the_same_way_and_not_kept(
    receiver, path, body, status, says
):
    answer = httpx.post(receiver + path, content=body)

    assert (answer.status_code, answer.text) == (status, says)
    assert httpx.get(receiver + "/messages.json").json() == []
    assert "Nothing yet" in httpx.get(receiver + "/").text


def test_the_page_escapes_what_it_shows(receiver):
    httpx.post(receiver + demo_slack.WEBHOOK_PATH, json={"text": "<script>alert(1)</script>"})
    page = httpx.get(receiver + "/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.django_db
def test_the_portal_delivers_to_the_demo_receiver_and_keeps_the_try(receiver, settings, alice):
    settings.SLACK_WEBHOOK_URL = receiver + demo_slack.WEBHOOK_PATH
    settings.NOTIFY_WEBHOOK_URL = ""
    release = make_release(make_service("web"), "2.1.0")
    deployment = make_deployment(release, make_environment("staging"), state="succeeded")
    notification = Notification.objects.create(
        deployment=deployment, event=NotificationEvent.SUCCEEDED
    )

    assert outbox.deliver(notification.pk) is None

    notification.refresh_from_db()
    attempt = DeliveryAttempt.objects.get(notification=notification)
    assert notification.state == NotificationState.SENT
    assert (attempt.status_code, attempt.accepted) == (200, True)
    assert attempt.destination == receiver.removeprefix("http://")
    page = httpx.get(receiver + "/").text
    assert "web 2.1.0 → staging succeeded" in page
    assert f'/deployments/{deployment.pk}/">Open deployment</a>' in page


def test_make_run_starts_the_receiver_and_points_slack_at_it():
    assert "slack: python -m demo.slack" in (REPO / "Procfile").read_text().splitlines()
    demo = (REPO / "bin" / "demo").read_text()
    assert 'SLACK_WEBHOOK_URL="${SLACK_WEBHOOK_URL:-$(python -m demo.slack --url)}"' in demo
    assert (
        demo_slack.webhook_url(7600) == "http://127.0.0.1:7600/services/TDEMO/BDEMO/demo-receiver"
    )


def test_the_status_line_says_where_to_look(monkeypatch):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("DEMO_SLACK_PORT", raising=False)
    assert demo_slack.status_line().startswith("Slack: http://127.0.0.1:7600/ shows what")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x")
    assert "the SLACK_WEBHOOK_URL you set" in demo_slack.status_line()


def test_a_message_with_blocks_is_shown_once_as_slack_shows_it_without_raw_markup(receiver):
    message = {
        "text": "✅ web 2.1.0 succeeded <http://127.0.0.1:8000/deployments/12/|Open deployment>",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "✅ web 2.1.0 succeeded"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Service*\nweb"}]},
        ],
    }

    httpx.post(receiver + demo_slack.WEBHOOK_PATH, json=message)
    page = httpx.get(receiver + "/").text

    assert page.count("web 2.1.0 succeeded") == 1
    assert "|Open deployment" not in page
    assert "<strong>Service</strong><br>web" in page
