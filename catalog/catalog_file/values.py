r"""Checks and parsers for the catalog's text values: names, durations, URLs, times.

Each `*_problem(text)` returns a message saying what is wrong, or None; a `parse_*`
raises ValueError saying so. (Names are checked by their pattern: value_types.py.) Patterns end
with `\Z`, not `$`, which also matches before a final newline (`"web\n"`); a refused
value is shown with repr() so that a newline in it is visible.
"""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")
LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}\Z){LABEL}(\.{LABEL})*\Z")
WEEKLY_TIME = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)\Z")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DURATION_HINT = "a number and unit like 30s, 5m, 1h30m, 26h or 2d"
FREEZE_TIME_HINT = "a weekday and time like 'fri 16:00', or an ISO datetime like '2026-12-24T18:00'"


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `1h30m`, `26h`, `2d` as a timedelta; ValueError for anything else."""
    match = DURATION.match(text)
    if not text or not match:
        raise ValueError(f"bad duration {text!r} ({DURATION_HINT})")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not duration:
        raise ValueError(f"bad duration {text!r} (must be longer than zero)")
    return duration


def http_url_problem(text: str) -> str | None:
    try:
        parts = urlsplit(text)  # raises ValueError for a bad IPv6 literal ("http://[x")
        hostname, scheme = parts.hostname, parts.scheme
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        hostname = scheme = None
    if scheme in ("http", "https") and hostname and HOSTNAME.match(hostname):
        return None
    return f"invalid URL '{text}' (expected http:// or https:// and a host name)"


# Filled by web/item_links.py for each deployment.
LINK_PLACEHOLDERS = (
    "service", "environment", "namespace", "from", "to", "start", "end", "range",
)  # fmt: skip


def link_problem(text: str) -> str | None:
    """A URL template: an http(s) URL with any of the LINK_PLACEHOLDERS in it."""
    names = re.findall(r"{([^{}]*)}", text)
    unknown = [name for name in names if name not in LINK_PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in LINK_PLACEHOLDERS)
        return f"unknown placeholder {{{unknown[0]}}} in link '{text}' (use {known})"
    filled = text
    for name in LINK_PLACEHOLDERS:
        filled = filled.replace(f"{{{name}}}", "x")
    return (
        http_url_problem(filled) and f"invalid link '{text}' (expected an http:// or https:// URL)"
    )


def hostname_problem(text: str) -> str | None:
    return None if HOSTNAME.match(text) else f"invalid host name {text!r}"


def host_port_problem(text: str) -> str | None:
    host, _, port = text.rpartition(":")
    if host and HOSTNAME.match(host) and port.isdigit() and 0 < int(port) < 65536:
        return None
    return f"'{text}' is not host:port (like 127.0.0.1:7101)"


def url_path_problem(text: str) -> str | None:
    return None if text.startswith("/") else f"path '{text}' must start with /"


def regex_problem(text: str) -> str | None:
    try:
        re.compile(text)
    except re.error as error:
        return f"invalid regular expression '{text}': {error}"
    return None


def timezone_problem(text: str) -> str | None:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone '{text}' (use an IANA name like Europe/London)"
    return None


def parse_freeze_time(text: str) -> tuple[int, int, int] | datetime:
    """`fri 16:00` as (weekday, hour, minute), Monday = 0; an ISO datetime as a datetime."""
    weekly = WEEKLY_TIME.match(text)
    if weekly:
        day, hour, minute = weekly.groups()
        return WEEKDAYS.index(day), int(hour), int(minute)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad freeze window time {text!r} (expected {FREEZE_TIME_HINT})") from None


def image_repository_problem(text: str) -> str | None:
    last_segment = text.rsplit("/", 1)[-1]
    if "@" in text or ":" in last_segment:
        return f"image '{text}' must be a repository without tag or digest"
    if text != text.lower() or " " in text:
        return f"invalid image repository '{text}' (lowercase, no spaces)"
    return None


URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
REPOSITORY_HINT = (
    "an http(s) URL, an ssh:// URL, an address like git@github.com:org/repo.git, "
    "or a path to a local repository"
)


def git_repository_problem(text: str) -> str | None:
    """What git may clone and a page may show: an http(s) or ssh:// URL with a host, an
    scp-style `user@host:path`, or a path (absolute, relative, `~/…`). A value that starts
    with any other scheme (`javascript:`, `data:`, `file:`) is refused, as is one with
    surrounding spaces or control characters (browsers drop those before the scheme)."""
    refused = f"repository {text!r} cannot be cloned: use {REPOSITORY_HINT}"
    if text != text.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return refused
    scheme = URL_SCHEME.match(text)
    if scheme is None:  # a path, or scp-style (`git@host:path`: `@` comes before the colon)
        return None
    if scheme[0].lower() in ("http:", "https:", "ssh:") and _url_host(text):
        return None
    return refused


def _url_host(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    hostname = parts.hostname
    return hostname if hostname and HOSTNAME.match(hostname) else None
