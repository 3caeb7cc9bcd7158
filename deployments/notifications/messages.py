"""What a notification says: a Slack Block Kit message and a plain JSON payload.

Both carry the same facts, worded for an engineer reading them at 3 a.m.:
"web 2.1.0 → production failed: rollout exceeded its progress deadline;
rolled back to 2.0.3". Facts are read when the message is sent, so a late
"started" message shows the deployment's state as it is now.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from deployments.engine.reasons import restored_versions
from deployments.models import Deployment, Notification
from deployments.states import DeploymentState, NotificationEvent, Trigger

EMOJI: dict[str, str] = {
    NotificationEvent.REQUESTED: "📝",
    NotificationEvent.AWAITING_APPROVAL: "⏳",
    NotificationEvent.STARTED: "🚀",
    NotificationEvent.SUCCEEDED: "✅",
    NotificationEvent.FAILED: "❌",
    NotificationEvent.ROLLED_BACK: "↩️",
    NotificationEvent.ROLLBACK_FAILED: "🚨",
    NotificationEvent.REJECTED: "🛑",
    NotificationEvent.CANCELLED: "⏹️",
}
# The events whose message says why (the deployment's reason).
EXPLAINED_EVENTS = {
    NotificationEvent.AWAITING_APPROVAL,
    NotificationEvent.FAILED,
    NotificationEvent.ROLLED_BACK,
    NotificationEvent.ROLLBACK_FAILED,
    NotificationEvent.REJECTED,
    NotificationEvent.CANCELLED,
}
TRIGGER_NOTES: dict[str, str] = {
    Trigger.ROLLBACK: "rollback",
    Trigger.BREAK_GLASS: "break-glass",
    Trigger.API: "API",
}
# Slack refuses a header over 150 characters and a text object over 3,000.
HEADER_LIMIT = 150
TEXT_LIMIT = 2900


def slack_message(notification: Notification) -> dict:
    """A Block Kit message: `text` fallback, header, reason, facts, "Open deployment" button."""
    url = deployment_url(notification.deployment)
    emoji = EMOJI[notification.event]
    blocks = [
        {"type": "header", "text": _plain(_cut(f"{emoji} {_title(notification)}", HEADER_LIMIT))}
    ]
    if reason := _reason(notification):
        blocks.append({"type": "section", "text": _mrkdwn(f"*Reason*\n{_escape(reason)}")})
    fields = [_mrkdwn(f"*{label}*\n{_escape(value)}") for label, value in _facts(notification)]
    blocks.append({"type": "section", "fields": fields})
    button = {"type": "button", "text": _plain("Open deployment"), "url": url}
    blocks.append({"type": "actions", "elements": [button]})
    fallback = f"{emoji} {_escape(_cut(summary(notification), TEXT_LIMIT))} <{url}|Open deployment>"
    return {"text": fallback, "blocks": blocks}


def webhook_payload(notification: Notification) -> dict:
    """The same facts as plain JSON; times in ISO 8601, `requested_by` None for the system."""
    deployment = notification.deployment
    duration = deployment.duration
    return {
        "event": notification.event,
        "summary": summary(notification),
        "deployment_id": deployment.pk,
        "service": deployment.service.name,
        "version": deployment.release.version,
        "image": deployment.release.image,
        "environment": deployment.environment.name,
        "trigger": deployment.trigger,
        "requested_by": _username(deployment),
        "state": deployment.state,
        "reason": deployment.reason,
        "rolled_back_to": _rolled_back_to(notification),
        "started_at": _iso(deployment.started_at),
        "finished_at": _iso(deployment.finished_at),
        "duration_seconds": duration.total_seconds() if duration else None,
        "url": deployment_url(deployment),
    }


def summary(notification: Notification) -> str:
    """One line: "web 2.1.0 → production failed: <reason>; rolled back to 2.0.3"."""
    reason, tail = _reason(notification), _tail(notification)
    if tail and tail.removeprefix("; ") in reason:
        tail = ""  # the engine's reason already says where the rollback went
    return _headline(notification) + (f": {reason}" if reason else "") + tail


def deployment_url(deployment: Deployment) -> str:
    """The deployment page, absolute: PORTAL_BASE_URL + /deployments/<id>/."""
    path = reverse("deployment-detail", args=[deployment.pk])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _title(notification: Notification) -> str:
    return _headline(notification) + _tail(notification)


def _headline(notification: Notification) -> str:
    deployment = notification.deployment
    subject = f"{deployment.service.name} {deployment.release.version} → "
    subject += deployment.environment.name
    if note := TRIGGER_NOTES.get(deployment.trigger):
        subject += f" ({note})"
    headlines: dict[str, str] = {
        NotificationEvent.REQUESTED: f"{_who(deployment)} requested {subject}",
        NotificationEvent.AWAITING_APPROVAL: f"{subject} is waiting for approval",
        NotificationEvent.STARTED: f"{subject} started",
        NotificationEvent.SUCCEEDED: f"{subject} succeeded",
        NotificationEvent.FAILED: f"{subject} failed",
        NotificationEvent.ROLLED_BACK: f"{subject} failed",
        NotificationEvent.ROLLBACK_FAILED: f"{subject} failed and the rollback failed too",
        NotificationEvent.REJECTED: f"{subject} was rejected",
        NotificationEvent.CANCELLED: f"{subject} was {_cancelled_how(deployment)}",
    }
    return headlines[notification.event]


def _cancelled_how(deployment: Deployment) -> str:
    return "superseded" if deployment.state == DeploymentState.SUPERSEDED else "cancelled"


def _tail(notification: Notification) -> str:
    duration = notification.deployment.duration
    if notification.event == NotificationEvent.SUCCEEDED and duration:
        return f" in {_human(duration)}"
    if notification.event == NotificationEvent.ROLLED_BACK:
        version = _rolled_back_to(notification)
        return f"; rolled back to {version}" if version else "; rolled back"
    return ""


def _reason(notification: Notification) -> str:
    if notification.event not in EXPLAINED_EVENTS:
        return ""
    return " ".join(notification.deployment.reason.split())


def _facts(notification: Notification) -> list[tuple[str, str]]:
    deployment = notification.deployment
    facts = [
        ("Service", deployment.service.name),
        ("Version", deployment.release.version),
        ("Environment", deployment.environment.name),
        ("Requested by", _who(deployment)),
        ("State", deployment.get_state_display()),
        ("Trigger", deployment.get_trigger_display()),
    ]
    if deployment.duration:
        facts.append(("Duration", _human(deployment.duration)))
    if version := _rolled_back_to(notification):
        facts.append(("Rolled back to", version))
    return facts


def _rolled_back_to(notification: Notification) -> str | None:
    """The version restored (`reasons.restored_versions`), when the rollback restored one."""
    if notification.event != NotificationEvent.ROLLED_BACK:
        return None
    versions = restored_versions(notification.deployment)
    return versions[0] if len(versions) == 1 else None


def _who(deployment: Deployment) -> str:
    return _username(deployment) or "system"


def _username(deployment: Deployment) -> str | None:
    user = deployment.requested_by
    return user.get_username() if user else None


def _human(duration: timedelta) -> str:
    seconds = round(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _escape(text: str) -> str:
    # Slack mrkdwn treats &, < and > as control characters (links, mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": _cut(text, TEXT_LIMIT)}
