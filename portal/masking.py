"""Masking secrets in text that people will read (deployment logs, reasons, step results,
notifications, admin pages), and stripping terminal escape sequences from it.

Secrets are found three ways: the values the portal itself knows (its settings), the
shapes that issued credentials have (an AWS key id, a `ghp_` token, a JWT…), and the
places credentials are written (`user:password@` in a URL, `password=…`).
"""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings

MASK = "***"
# Shorter values would mask ordinary words; secrets are longer than this.
MIN_SECRET_LENGTH = 6

# Escape sequences a terminal obeys: OSC (window titles, hyperlinks, clipboard writes)
# and DCS/SOS/PM/APC strings with their payload, CSI (colours, cursor moves, clearing
# the screen), then any other two-character escape. 7-bit and 8-bit (C1) forms.
TERMINAL_ESCAPE = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
)
# Left-over control characters (a carriage return or backspaces overwrite what a
# terminal shows); tab and newline stay.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Names under which a secret is written: `DB_PASSWORD=…`, `"SecretAccessKey": "…"`.
SECRET_NAME = (
    r"[a-z0-9_-]*(?:password|passwd|secret|token|signature"
    r"|secret[_-]?(?:access[_-]?)?key|private[_-]?key)"
)
HEADER_NAME = r"(?:proxy-)?authorization|x-api-key|api[-_]?key"
SEPARATOR = r"\"?\s*[:=]\s*\"?"

CREDENTIALS_IN_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s:/?#@\"'<>]*):[^\s/?#\"'<>]*@"
)
AUTHORIZATION = re.compile(
    rf"(?i)\b(?P<name>{HEADER_NAME})(?P<sep>{SEPARATOR})"
    r"(?:(?:bearer|basic|token)\s+)?[^\s\",]+"
)
# A value already masked is left alone: `x-access-token:***@github.com/o/r` keeps its host.
SECRET_ASSIGNMENT = re.compile(
    rf"(?i)\b(?P<name>{SECRET_NAME})(?P<sep>{SEPARATOR})(?!{re.escape(MASK)})[^\s\",]+"
)
SECRET_KEY_NAME = re.compile(rf"(?i)(?:{SECRET_NAME}|{HEADER_NAME})")
SLACK_WEBHOOK_PATH = re.compile(
    r"(?P<keep>\bhooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)[^\s\"'<>]+"
)
# Issued credentials, recognisable by their prefix and alphabet wherever they appear.
CREDENTIAL_SHAPES = [
    # AWS access key ids: a four-letter kind (AKIA long-lived, ASIA temporary…) + 16.
    re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}\b"),
    re.compile(r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{10,}"),  # Stripe secret/restricted keys
    re.compile(r"\bxox[a-z]-[0-9A-Za-z-]{10,}"),  # Slack bot, user and config tokens
    re.compile(r"\bxapp-\d-[0-9A-Za-z-]{10,}"),  # Slack app-level tokens
    re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36,}"),  # GitHub tokens (personal, OAuth, app)
    re.compile(r"\bgithub_pat_[0-9A-Za-z_]{22,}"),  # GitHub fine-grained tokens
    re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"),  # JWTs: header.payload.signature
]
# An AWS secret access key is 40 characters of base64 with no prefix. A git sha is 40
# characters too, but lowercase hex: only a run mixing upper case, lower case and digits
# counts, and only a whole run (an image digest's 64 hex digits never match).
AWS_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


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


def strip_terminal_escapes(text: str) -> str:
    """Drop escape sequences and control characters, keeping the text they decorate."""
    return CONTROL_CHARACTER.sub("", TERMINAL_ESCAPE.sub("", text))


def mask_secrets(text: str) -> str:
    """Replace configured secret values and credential-shaped text with ***.

    Escape sequences go first: a colour code inside a token would hide it from the patterns.
    """
    text = strip_terminal_escapes(text)
    for value in configured_secrets():
        if value in text:
            text = text.replace(value, MASK)
    for shape in CREDENTIAL_SHAPES:
        text = shape.sub(MASK, text)
    text = AWS_SECRET_SHAPE.sub(_mask_if_mixed, text)
    text = SLACK_WEBHOOK_PATH.sub(rf"\g<keep>{MASK}", text)
    text = CREDENTIALS_IN_URL.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    text = AUTHORIZATION.sub(rf"\g<name>\g<sep>{MASK}", text)
    return SECRET_ASSIGNMENT.sub(rf"\g<name>\g<sep>{MASK}", text)


def mask_json(value):
    """`value` (decoded JSON) with every string masked, and the whole value of a key
    named like a secret (`{"password": "…"}`) replaced by ***."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {
            mask_json(key): MASK if _names_a_secret(key, item) else mask_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_json(item) for item in value]
    return value


def _names_a_secret(key, item) -> bool:
    return isinstance(key, str) and bool(item) and SECRET_KEY_NAME.fullmatch(key) is not None


def _mask_if_mixed(match: re.Match) -> str:
    run = match.group(0)
    mixed = (
        any(c.isupper() for c in run)
        and any(c.islower() for c in run)
        and any(c.isdigit() for c in run)
    )
    return MASK if mixed else run
