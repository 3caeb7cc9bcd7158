"""Read model of the messages the portal sent: the admins' Messages page and the deployment
page's "Messages" section.

A message is an outbox row (one per deployment and event) with, per channel, what was
posted (the rendered body), the host it went to and each try's status or error. Filters
come from GET parameters and are validated with a sentence saying what to fix.
"""

import html
import json
from dataclasses import dataclass, field

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from deployments.models import DeliveryAttempt, Deployment, Notification
from deployments.notifications.slack_markup import mrkdwn_to_html
from deployments.states import NotificationChannel, NotificationState

PAGE_SIZE = 25
ANY = [("", "any")]


class DeploymentNumberField(forms.IntegerField):
    """A deployment's number as people copy it from its page: "42" or "#42"."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().removeprefix("#")
        return super().to_python(value)


class MessageFilters(forms.Form):
    """The Messages page's filters: `?deployment=<id>&channel=slack&state=given_up&page=2`.

    Errors name the form's fields as the page labels them; `page` is only in links."""

    deployment = DeploymentNumberField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Deployment must be a number, like 42.",
            "min_value": "Deployment must be a number of 1 or more, like 42.",
        },
    )
    channel = forms.ChoiceField(required=False, choices=ANY + NotificationChannel.choices)
    state = forms.ChoiceField(required=False, choices=ANY + NotificationState.choices)
    page = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "page must be a page number, e.g. ?page=2.",
            "min_value": "page must be 1 or more.",
        },
    )

    def __init__(self, data):
        super().__init__(data)
        for name, choices in (("channel", NotificationChannel), ("state", NotificationState)):
            self.fields[name].error_messages["invalid_choice"] = (
                f"{name.capitalize()} must be one of {', '.join(choices.labels)} (or any)."
            )

    def problem(self) -> str:
        """All that is wrong with the filters, one sentence per field; "" when they are fine."""
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


@dataclass(frozen=True)
class ChannelMessage:
    """What one channel got for one notification: the latest body and every try."""

    channel: str
    destination: str
    attempts: list[DeliveryAttempt]

    @property
    def latest(self) -> DeliveryAttempt:
        return self.attempts[-1]

    @property
    def accepted(self) -> bool:
        return any(attempt.accepted for attempt in self.attempts)

    @property
    def label(self) -> str:
        return NotificationChannel(self.channel).label

    @property
    def text(self) -> str:
        """The message in one line, as a person reads it (Slack's fallback text, the
        webhook's summary)."""
        body = self.latest.body or {}
        return str(body.get("text") or body.get("summary") or "")

    @property
    def said_html(self) -> str:
        """The text as the channel shows it: Slack's mrkdwn rendered, other text escaped."""
        if self.channel == NotificationChannel.SLACK:
            return mrkdwn_to_html(self.text)
        return html.escape(self.text)

    @property
    def body_json(self) -> str:
        return json.dumps(self.latest.body, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class MessageRow:
    notification: Notification
    channels: list[ChannelMessage] = field(default_factory=list)

    @property
    def nothing_sent_because(self) -> str:
        """Why no channel has a try, in words ("" when one has)."""
        if self.channels:
            return ""
        if self.notification.state == NotificationState.SENT:
            return (
                "No channel was configured (SLACK_WEBHOOK_URL, NOTIFY_WEBHOOK_URL): nothing left."
            )
        return "Not tried yet."


@dataclass(frozen=True)
class MessagesPage:
    form: MessageFilters
    problem: str
    page: Page | None
    rows: list[MessageRow]
    query: str  # the valid filters as a query string, for the page links


def messages_page(params) -> MessagesPage:
    """The Messages page for these GET parameters; with a problem and no rows when bad."""
    form = MessageFilters(params)
    if not form.is_valid():
        return MessagesPage(form, form.problem(), None, [], "")
    filters = form.cleaned_data
    paginator = Paginator(_filtered(filters), PAGE_SIZE)
    page = paginator.get_page(filters["page"] or 1)
    query = "&".join(
        f"{name}={filters[name]}" for name in ("deployment", "channel", "state") if filters[name]
    )
    return MessagesPage(form, "", page, message_rows(page.object_list), query)


def deployment_messages(deployment: Deployment) -> list[MessageRow]:
    """Every message sent about one deployment, newest first (as the Messages page lists)."""
    return message_rows(_with_attempts(deployment.notifications.order_by("-created_at", "-pk")))


def message_rows(notifications) -> list[MessageRow]:
    return [MessageRow(n, _by_channel(n.delivery_attempts.all())) for n in notifications]


def _filtered(filters: dict) -> QuerySet:
    rows = Notification.objects.order_by("-created_at", "-pk")
    if filters["deployment"]:
        rows = rows.filter(deployment_id=filters["deployment"])
    if filters["state"]:
        rows = rows.filter(state=filters["state"])
    if filters["channel"]:
        rows = rows.filter(
            pk__in=DeliveryAttempt.objects.filter(channel=filters["channel"]).values(
                "notification_id"
            )
        )
    return _with_attempts(rows)


def _with_attempts(rows: QuerySet) -> QuerySet:
    attempts = DeliveryAttempt.objects.order_by("attempted_at", "pk")
    return rows.select_related(
        "deployment__service", "deployment__environment", "deployment__release"
    ).prefetch_related(Prefetch("delivery_attempts", queryset=attempts))


def _by_channel(attempts) -> list[ChannelMessage]:
    grouped: dict[str, list[DeliveryAttempt]] = {}
    for attempt in attempts:
        grouped.setdefault(attempt.channel, []).append(attempt)
    return [
        ChannelMessage(channel, tries[-1].destination, tries) for channel, tries in grouped.items()
    ]
