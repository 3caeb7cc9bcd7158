"""Masking secrets in text that people will read (deployment logs, reasons, step results,
notifications, admin pages), and stripping terminal escape sequences from it.

Secrets are found three ways: the values the portal itself knows (its settings), the
shapes that issued credentials have (an AWS key id, a `ghp_` token, the portal's own
`vzp_` tokens, a PEM private key block, a JWT…), and the places credentials are
written (`user:password@` in a URL, `password=…`, `PASSWORD: "with spaces"`).

`mask_secrets` serves machine output line by line; `people_text` is the same masking
for what people type (lock reasons, notes, comments), applied once by the domain
function that stores it.
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
    rf"(?i)\b(?P<name>{SECRET_NAME})(?P<sep>{SEPARATOR})(?!['\"]?{re.escape(MASK)})[^\s\",]+"
)
SECRET_KEY_NAME = re.compile(rf"(?i)(?:{SECRET_NAME}|{HEADER_NAME})")
# `DB_PASSWORD = 'hunter2 with spaces'`, `"api_key": "two words"`: the whole quoted value,
# up to its closing quote (an escaped one does not close it) or the end of the line.
QUOTED_SECRET = re.compile(
    rf"(?im)\b(?P<name>{SECRET_NAME}|{HEADER_NAME})(?P<sep>[\"']?\s*[:=]\s*)(?P<quote>[\"'])"
    rf"(?!{re.escape(MASK)}(?P=quote))(?:\\.|(?!(?P=quote))[^\\\n])*(?:(?P<close>(?P=quote))|$)"
)
# A private key block, across lines or pasted on one: the markers stay, the key goes. A
# block cut before its END marker is masked to the end of the text.
PRIVATE_KEY_LABEL = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?"
PRIVATE_KEY_BLOCK = re.compile(
    rf"(?P<begin>-----BEGIN {PRIVATE_KEY_LABEL}-----)(?P<lead>\s*).*?"
    rf"(?:(?P<trail>\s*)(?P<end>-----END {PRIVATE_KEY_LABEL}-----)|\Z)",
    re.DOTALL,
)
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
    # The portal's own API tokens (api/tokens.py: vzp_ + 43); the 12-character
    # prefix pages show to recognise a token is far shorter and stays.
    re.compile(r"\bvzp_[A-Za-z0-9_-]{32,}"),
    re.compile(r"\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),  # npm access tokens
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),  # GitLab personal access tokens
    re.compile(r"\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"),  # Google API keys
]
# One pass over the text for all of them (a line is masked on every emit).
CREDENTIAL_SHAPE = re.compile("|".join(f"(?:{shape.pattern})" for shape in CREDENTIAL_SHAPES))
# The word every secret name above contains: the name patterns, slow on long lines, run
# only on text that has one.
SECRET_WORD = re.compile(
    r"(?i)pass(?:word|wd)|secret|token|signature|private[_-]?key|authorization|api[-_]?key"
)
# An AWS secret access key is 40 characters of base64 with no prefix. A git sha is 40
# characters too, but lowercase hex: only a run mixing upper case, lower case and digits
# counts, and only a whole run (an image digest's 64 hex digits never match).
AWS_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# The same key written after a `/` (`AKIA…/wJalr…` as some tools print the pair, or
# `creds /wJalr…`): a run that is `/` and exactly 40 more. An absolute path of that
# length is the risk, so a run with more than two further slashes counts as a path
# (the key's alphabet has 64 characters, one of them `/`: three in 40 are rare).
AWS_SECRET_AFTER_SLASH = re.compile(
    r"(?<![A-Za-z0-9/+=])/(?P<key>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
MAX_SLASHES_IN_AWS_SECRET = 2
# Where its name says what it is, the key is masked whatever characters it mixes.
AWS_SECRET_AFTER_NAME = re.compile(
    r"(?i)\b(?P<name>aws[_-]?secret[_-]?access[_-]?key)(?P<sep>[\s\"':=]+)"
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
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
    # Whole blocks first: a piece of a key masked by another shape would hide its markers.
    text = PRIVATE_KEY_BLOCK.sub(_mask_private_key, text)
    text = CREDENTIAL_SHAPE.sub(MASK, text)
    text = AWS_SECRET_AFTER_NAME.sub(rf"\g<name>\g<sep>{MASK}", text)
    text = AWS_SECRET_SHAPE.sub(_mask_if_mixed, text)
    text = AWS_SECRET_AFTER_SLASH.sub(_mask_after_slash, text)
    text = SLACK_WEBHOOK_PATH.sub(rf"\g<keep>{MASK}", text)
    text = CREDENTIALS_IN_URL.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    if not SECRET_WORD.search(text):
        return text
    # Quoted values before bare ones: `'hunter2 with spaces'` is one value, not one word.
    text = QUOTED_SECRET.sub(_mask_quoted, text)
    text = AUTHORIZATION.sub(rf"\g<name>\g<sep>{MASK}", text)
    return SECRET_ASSIGNMENT.sub(rf"\g<name>\g<sep>{MASK}", text)


def people_text(value: str) -> str:
    """What a person typed, as it may be stored and shown to everyone: secrets masked
    and terminal escapes and control characters dropped (tabs and newlines stay).

    The domain functions that store free text (reasons, notes, comments, token names)
    call it once, before the row is written and audited."""
    return mask_secrets(value) if value else value


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
    return MASK if _mixed(run) else run


def _mask_after_slash(match: re.Match) -> str:
    key = match["key"]
    looks_like_key = _mixed(key) and key.count("/") <= MAX_SLASHES_IN_AWS_SECRET
    return f"/{MASK}" if looks_like_key else match.group(0)


def _mixed(run: str) -> bool:
    """Upper case, lower case and digits together: random, unlike a git sha or a word."""
    return (
        any(c.isupper() for c in run)
        and any(c.islower() for c in run)
        and any(c.isdigit() for c in run)
    )


def _mask_quoted(match: re.Match) -> str:
    return f"{match['name']}{match['sep']}{match['quote']}{MASK}{match['close'] or ''}"


def _mask_private_key(match: re.Match) -> str:
    if match["end"] is None:  # cut before its END marker: nothing after BEGIN is kept
        return f"{match['begin']}{match['lead'] or ''}{MASK}"
    return f"{match['begin']}{match['lead']}{MASK}{match['trail']}{match['end']}"
