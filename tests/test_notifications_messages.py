"""What the notifications say: the Slack Block Kit message and the webhook's JSON."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Notification
from deployments.notifications.messages import slack_message, summary, webhook_payload
from deployments.states import DeploymentState, NotificationEvent, Trigger
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

DEADLINE = "rollout exceeded its progress deadline"


@pytest.fixture
def lane():
    return make_service("web"), make_environment("production")


@pytest.fixture
def make_notification(lane, alice):
    service, environment = lane

    def make(event, version="2.1.0", **fields) -> Notification:
        fields.setdefault("requested_by", alice)
        deployment = make_deployment(make_release(service, version), environment, **fields)
        return Notification.objects.create(deployment=deployment, event=event)

    return make


@pytest.fixture
def finished():
    finished_at = timezone.now()
    return {
        "started_at": finished_at - timedelta(minutes=4, seconds=12),
        "finished_at": finished_at,
    }


def slack_texts(message: dict) -> str:
    """Every text Slack would show, joined: header, sections, fields, buttons."""
    texts = [message["text"]]
    for block in message["blocks"]:
        texts.append(block.get("text", {}).get("text", ""))
        texts.extend(field["text"] for field in block.get("fields", []))
        texts.extend(element["text"]["text"] for element in block.get("elements", []))
    return "\n".join(texts)


def open_button(message: dict) -> dict:
    (actions,) = [block for block in message["blocks"] if block["type"] == "actions"]
    return actions["elements"][0]


def test_slack_message_links_the_deployment_page_and_names_service_version_place_and_who(
    make_notification, settings
):
    settings.PORTAL_BASE_URL = "https://deploy.vizora.example"
    notification = make_notification(NotificationEvent.STARTED, state=DeploymentState.RUNNING)

    message = slack_message(notification)

    url = f"https://deploy.vizora.example/deployments/{notification.deployment_id}/"
    assert open_button(message) == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open deployment", "emoji": True},
        "url": url,
    }
    assert message["blocks"][0]["text"]["text"] == "🚀 web 2.1.0 → production started"
    assert message["text"].startswith("🚀 web 2.1.0 → production started")
    assert f"<{url}|Open deployment>" in message["text"]
    texts = slack_texts(message)
    for fact in ("*Service*\nweb", "*Version*\n2.1.0", "*Environment*\nproduction"):
        assert fact in texts
    assert "*Requested by*\nalice" in texts
    assert "*State*\nRunning" in texts
    assert "Duration" not in texts


def test_slack_message_of_a_finished_deployment_shows_its_duration(make_notification, finished):
    notification = make_notification(
        NotificationEvent.SUCCEEDED, state=DeploymentState.SUCCEEDED, **finished
    )

    message = slack_message(notification)

    assert message["blocks"][0]["text"]["text"] == "✅ web 2.1.0 → production succeeded in 4m 12s"
    assert "*Duration*\n4m 12s" in slack_texts(message)


def test_a_rolled_back_deployment_reads_as_one_line_with_reason_and_previous_version(
    make_notification, lane, finished
):
    service, environment = lane
    older = make_release(service, "2.0.3")
    make_deployment(older, environment, state=DeploymentState.SUCCEEDED)
    notification = make_notification(
        NotificationEvent.ROLLED_BACK,
        state=DeploymentState.ROLLED_BACK,
        reason=DEADLINE,
        previous_images={"vizora-web": {"web": older.image}},
        **finished,
    )

    assert summary(notification) == (
        "web 2.1.0 → production failed: rollout exceeded its progress deadline; "
        "rolled back to 2.0.3"
    )
    message = slack_message(notification)
    assert message["blocks"][0]["text"]["text"] == (
        "↩️ web 2.1.0 → production failed; rolled back to 2.0.3"
    )
    texts = slack_texts(message)
    assert f"*Reason*\n{DEADLINE}" in texts
    assert "*State*\nRolled back" in texts
    assert "*Rolled back to*\n2.0.3" in texts


def test_rolled_back_version_falls_back_to_the_tag_of_the_images_it_ran_before(
    make_notification,
):
    before = "ghcr.io/your-org/vizora-web:1.9.0@sha256:" + "a" * 64
    notification = make_notification(
        NotificationEvent.ROLLED_BACK,
        state=DeploymentState.ROLLED_BACK,
        reason=DEADLINE,
        previous_images={"vizora-web": {"web": before}},
    )

    assert summary(notification).endswith("; rolled back to 1.9.0")


def test_a_reason_that_names_the_rolled_back_version_is_not_repeated(make_notification):
    before = "ghcr.io/your-org/vizora-web:1.9.0@sha256:" + "a" * 64
    notification = make_notification(
        NotificationEvent.ROLLED_BACK,
        state=DeploymentState.ROLLED_BACK,
        reason="Smoke test GET https://api.vizora.com/health answered 500; rolled back to 1.9.0.",
        previous_images={"vizora-web": {"web": before}},
    )

    assert summary(notification) == (
        "web 2.1.0 → production failed: Smoke test GET https://api.vizora.com/health "
        "answered 500; rolled back to 1.9.0."
    )


def test_a_failure_says_why(make_notification):
    notification = make_notification(
        NotificationEvent.FAILED, state=DeploymentState.FAILED, reason="smoke test / got 502"
    )

    assert summary(notification) == "web 2.1.0 → production failed: smoke test / got 502"
    assert "*Reason*\nsmoke test / got 502" in slack_texts(slack_message(notification))


def test_a_system_deployment_says_system_and_names_its_trigger(make_notification):
    notification = make_notification(
        NotificationEvent.REQUESTED, requested_by=None, trigger=Trigger.ROLLBACK
    )

    assert summary(notification) == "system requested web 2.1.0 → production (rollback)"
    assert "*Requested by*\nsystem" in slack_texts(slack_message(notification))
    assert webhook_payload(notification)["requested_by"] is None


def test_slack_text_escapes_mentions_and_links_in_a_reason(make_notification):
    notification = make_notification(
        NotificationEvent.FAILED, state=DeploymentState.FAILED, reason="<!channel> a & <b>"
    )

    texts = slack_texts(slack_message(notification))

    assert "<!channel>" not in texts
    assert "&lt;!channel&gt; a &amp; &lt;b&gt;" in texts


def test_webhook_payload_has_the_same_facts_as_plain_json(
    make_notification, lane, finished, settings
):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    service, environment = lane
    older = make_release(service, "2.0.3")
    make_deployment(older, environment, state=DeploymentState.SUCCEEDED)
    notification = make_notification(
        NotificationEvent.ROLLED_BACK,
        state=DeploymentState.ROLLED_BACK,
        reason=DEADLINE,
        previous_images={"vizora-web": {"web": older.image}},
        **finished,
    )
    deployment = notification.deployment

    payload = webhook_payload(notification)

    assert payload == {
        "event": "rolled_back",
        "summary": summary(notification),
        "deployment_id": deployment.pk,
        "service": "web",
        "version": "2.1.0",
        "image": deployment.release.image,
        "environment": "production",
        "trigger": "promote",
        "requested_by": "alice",
        "state": "rolled_back",
        "reason": DEADLINE,
        "rolled_back_to": "2.0.3",
        "started_at": finished["started_at"].isoformat(),
        "finished_at": finished["finished_at"].isoformat(),
        "duration_seconds": 252.0,
        "url": f"http://127.0.0.1:8000/deployments/{deployment.pk}/",
    }
    assert "@sha256:" in payload["image"]
