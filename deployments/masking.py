"""Masking secrets in text that people will read (deployment logs, reasons)."""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings

MASK = "***"
# Shorter values would mask ordinary words; secrets are longer than this.
MIN_SECRET_LENGTH = 6

CREDENTIALS_IN_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s:/@]*):[^\s@/]+@"
)
AUTHORIZATION = re.compile(
    r"(?i)\b(?P<name>(?:proxy-)?authorization|x-api-key|api[-_]?key)(?P<sep>\"?\s*[:=]\s*\"?)"
    r"(?:(?:bearer|basic|token)\s+)?[^\s\",]+"
)
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(?P<name>[a-z0-9_-]*(?:password|passwd|secret|token))(?P<sep>\"?\s*[:=]\s*\"?)[^\s\",]+"
)


@functools.cache
def configured_secrets() -> tuple[str, ...]:
    """Every secret value the portal knows, longest first so overlaps mask whole."""
    values = {
        settings.SECRET_KEY,
        settings.SLACK_WEBHOOK_URL,
        settings.NOTIFY_WEBHOOK_URL,
        settings.DATABASES["default"].get("PASSWORD", ""),
        *settings.PORTAL_MASKED_VALUES,
    }
    if settings.REDIS_URL:
        values.add(urlsplit(settings.REDIS_URL).password or "")
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def mask_secrets(text: str) -> str:
    """Replace configured secret values and credential-shaped text with ***."""
    for value in configured_secrets():
        if value in text:
            text = text.replace(value, MASK)
    text = CREDENTIALS_IN_URL.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    text = AUTHORIZATION.sub(rf"\g<name>\g<sep>{MASK}", text)
    return SECRET_ASSIGNMENT.sub(rf"\g<name>\g<sep>{MASK}", text)
