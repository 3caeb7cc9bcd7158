"""Posting a JSON body to a webhook with httpx: one try, a short reason on failure.

Webhook URLs are secrets (a Slack incoming-webhook URL is its own credential),
so nothing here ever puts one in a reason: reasons are masked with `mask_urls`.
Bodies leave masked too (`mask_json`): whatever a message quotes (a reason, an image
reference) may carry a secret that slipped past the place it was written.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from deployments.notifications import messages
from deployments.states import NotificationChannel
from portal.masking import mask_json

URL_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
MAX_BODY_IN_REASON = 80


@dataclass(frozen=True)
class Channel:
    """A configured destination: its name in `delivered_to`, its URL and its message."""

    name: str
    url: str
    build: Callable[..., dict]


@dataclass(frozen=True)
class PostResult:
    ok: bool
    reason: str = ""
    status_code: int | None = None  # None: no answer (unreachable, timed out, not built)


def configured_channels() -> list[Channel]:
    """The channels whose URL is set, in a fixed order (Slack first)."""
    candidates = [
        Channel(NotificationChannel.SLACK, settings.SLACK_WEBHOOK_URL, messages.slack_message),
        Channel(NotificationChannel.WEBHOOK, settings.NOTIFY_WEBHOOK_URL, messages.webhook_payload),
    ]
    return [channel for channel in candidates if channel.url]


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/services/T/B/secret` → `https://hooks.slack.com/…`."""
    host = destination_host(url)
    return "<url>" if host == "<url>" else f"{urlsplit(url).scheme}://{host}/…"


def destination_host(url: str) -> str:
    """`https://hooks.slack.com/services/T/B/secret` → `hooks.slack.com`: where a message
    went, safe to show (the path of a webhook URL is its credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    return f"{host}{port}" if host else "<url>"


def mask_urls(text: str) -> str:
    """Replace every URL in `text` by its masked form (user info, path and query go)."""
    return URL_PATTERN.sub(lambda match: mask_url(match.group(0)), text)


class HideWebhookUrls(logging.Filter):
    """Masks the configured webhook URLs in httpx's own log records.

    httpx logs every request's full URL at INFO ("HTTP Request: POST <url>"),
    and a webhook URL is a credential. Other URLs (kubesim, Prometheus) stay.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and (secrets := _configured_urls()):
            record.args = tuple(
                mask_url(str(arg)) if str(arg) in secrets else arg for arg in record.args
            )
        return True


def _configured_urls() -> set[str]:
    urls = set()
    for channel in configured_channels():
        try:
            urls.add(str(httpx.URL(channel.url)))  # as httpx prints it
        except httpx.InvalidURL:
            urls.add(channel.url)
    return urls


def _hide_webhook_urls_in_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, HideWebhookUrls) for f in httpx_logger.filters):
        httpx_logger.addFilter(HideWebhookUrls())


_hide_webhook_urls_in_httpx_logs()


def post_json(url: str, body: dict) -> PostResult:
    """POST `body`, masked, once; ok on 2xx. Never raises for network trouble: it is a reason."""
    timeout = float(settings.PORTAL_NOTIFY_TIMEOUT_SECONDS)
    try:
        response = httpx.post(url, json=mask_json(body), timeout=timeout)
    except httpx.TimeoutException:
        return PostResult(False, f"timed out after {timeout:g}s talking to {mask_url(url)}")
    except httpx.HTTPError as exc:
        detail = mask_urls(str(exc)) or type(exc).__name__
        return PostResult(False, f"could not reach {mask_url(url)}: {detail}")
    status = response.status_code
    if response.is_success:
        return PostResult(True, status_code=status)
    reason = f"{mask_url(url)} answered HTTP {status}{_body(response)}"
    return PostResult(False, reason, status_code=status)


def _body(response: httpx.Response) -> str:
    # Slack answers errors with a short code ("invalid_payload", "no_service");
    # a generic receiver may answer anything, so keep it short and masked.
    text = " ".join(response.text.split())[:MAX_BODY_IN_REASON]
    return f" {mask_urls(text)}" if text else ""
