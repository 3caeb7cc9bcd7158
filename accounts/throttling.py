"""Throttles on failed sign-ins and failed API tokens: fixed-window counters on the cache.

A *subject* is what failures are counted for: an account (its username, case-insensitive),
a client address, or an API token's visible prefix. Each counts its failures in fixed
windows of PORTAL_THROTTLE_WINDOW_SECONDS; the failure that reaches the limit within one
window *engages* the subject's throttle. While engaged, attempts are refused before the
password is checked or the token looked up, even a right one (else the throttle would
still answer an attacker's guesses). The wait starts at PORTAL_THROTTLE_FIRST_WAIT_SECONDS
and doubles each time the same subject engages again within a day, capped at
PORTAL_THROTTLE_MAX_WAIT_SECONDS: a back-off that slows guessing to a few tries per
quarter hour, never a lock that keeps a person out for good. The count starts again after
each engagement; a successful sign-in clears its account's count and back-off.

Engaging and lifting are audited; single failures are not: an attacker would otherwise
write an audit row per guess, and the engagement row says how many failures led to it.

If the cache cannot be reached, attempts are let through (logged): people must still be
able to sign in and roll back during a Redis outage, and the password still guards.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone
from redis.exceptions import RedisError

from audit import trail
from audit.actions import AuditAction

log = logging.getLogger(__name__)

# A subject whose throttle has not engaged for this long starts again at the first wait.
STRIKE_MEMORY = timedelta(days=1)
# The admin page looks at this many of the latest engagements (each one lists a subject).
LISTED_ENGAGEMENTS = 500
ENGAGEMENT_COUNTER = "throttle:engagements"

type Clock = Callable[[], datetime]
_clock: Clock = timezone.now


class Kind(models.TextChoices):
    """What a throttle counts failures of."""

    SIGNIN_ACCOUNT = "signin-account", "Sign-ins to an account"
    SIGNIN_ADDRESS = "signin-address", "Sign-ins from an address"
    API_PREFIX = "api-prefix", "API calls with a token prefix"
    API_ADDRESS = "api-address", "API calls from an address"


# How each kind is named in a refusal ("Too many failed … ; try again …").
REFUSALS = {
    Kind.SIGNIN_ACCOUNT: "Too many failed sign-ins for this account",
    Kind.SIGNIN_ADDRESS: "Too many failed sign-ins from your address ({subject})",
    Kind.API_PREFIX: "Too many failed API calls with the token {subject}…",
    Kind.API_ADDRESS: "Too many failed API calls from your address ({subject})",
}
# Said after the wait: a person typing the right password must not think it was wrong.
UNCHECKED = {
    Kind.SIGNIN_ACCOUNT: "Until then no password is checked, not even the right one.",
    Kind.SIGNIN_ADDRESS: "Until then no password is checked, not even the right one.",
    Kind.API_PREFIX: "Until then no token is checked, not even a valid one.",
    Kind.API_ADDRESS: "Until then no token is checked, not even a valid one.",
}
PER_ADDRESS = {Kind.SIGNIN_ADDRESS, Kind.API_ADDRESS}


@dataclass(frozen=True)
class Throttle:
    """An engaged throttle: `subject` is refused until `until`."""

    kind: Kind
    subject: str
    until: datetime
    engaged_at: datetime
    strikes: int  # how many times it engaged in a row (1 the first time)
    failures: int  # the failures that engaged it

    def seconds_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))

    def refusal(self, now: datetime) -> str:
        """What the person is told: why, how long to wait and until when."""
        reason = REFUSALS[self.kind].format(subject=self.subject)
        at = self.until.astimezone(UTC)
        return (
            f"{reason}; try again in {duration(self.seconds_left(now))} "
            f"(at {at:%H:%M} UTC), or ask an admin to lift it. {UNCHECKED[self.kind]}"
        )


def set_clock(clock: Clock) -> Clock:
    """Read the time from `clock` from now on (tests move it instead of sleeping);
    returns the clock used until now."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    return _clock()


def engaged(kind: Kind, subject: str) -> Throttle | None:
    """The throttle refusing `subject` now, or None."""
    with _cache_reachable():
        throttle = _read(kind, subject)
        if throttle is not None and throttle.until > now():
            return throttle
    return None


def record_failure(kind: Kind, subject: str) -> Throttle | None:
    """Count one failure of `subject`; returns the throttle when this one engaged it."""
    with _cache_reachable():
        window = int(settings.PORTAL_THROTTLE_WINDOW_SECONDS)
        key = _key(kind, subject, f"window:{int(now().timestamp()) // window}")
        cache.add(key, 0, timeout=window)
        # INCR is atomic on Redis: exactly one of several concurrent failures sees the
        # limit, so a throttle engages (and is audited) once.
        if _incr(key, window) == _limit(kind):
            cache.delete(key)  # the count starts again after the wait
            return _engage(kind, subject)
    return None


def forget(kind: Kind, subject: str) -> None:
    """A success: the subject's failures and back-off are forgotten (not an engaged
    throttle's wait: nothing succeeds while one is engaged)."""
    with _cache_reachable():
        window = int(settings.PORTAL_THROTTLE_WINDOW_SECONDS)
        cache.delete(_key(kind, subject, f"window:{int(now().timestamp()) // window}"))
        throttle = _read(kind, subject)
        if throttle is not None and throttle.until <= now():
            cache.delete(_key(kind, subject, "state"))


def lift(kind: Kind, subject: str, actor=None, via: str = "") -> Throttle:
    """End `subject`'s throttle now, with its back-off and count; audited.

    Raises LookupError when no throttle of `kind` refuses `subject` now.
    """
    subject = normalised(kind, subject)
    throttle = engaged(kind, subject)
    if throttle is None:
        raise LookupError(f"No {Kind(kind).label.lower()} throttle refuses {subject!r} now.")
    cache.delete(_key(kind, subject, "state"))
    window = int(settings.PORTAL_THROTTLE_WINDOW_SECONDS)
    cache.delete(_key(kind, subject, f"window:{int(now().timestamp()) // window}"))
    trail.record(
        AuditAction.THROTTLE_LIFTED,
        actor=actor,
        target=f"{kind}:{subject}",
        kind=kind,
        subject=subject,
        until=throttle.until.isoformat(),
        via=via,
    )
    return throttle


def active() -> list[Throttle]:
    """Every throttle refusing now, latest first, from the latest engagements."""
    with _cache_reachable():
        last = cache.get(ENGAGEMENT_COUNTER) or 0
        numbers = range(last, max(0, last - LISTED_ENGAGEMENTS), -1)
        slots = [f"throttle:engagement:{n}" for n in numbers]
        found, seen = [], set()
        for kind, subject in (cache.get_many(slots) or {}).values():
            throttle = engaged(Kind(kind), subject) if (kind, subject) not in seen else None
            seen.add((kind, subject))
            if throttle is not None:
                found.append(throttle)
        return sorted(found, key=lambda t: t.engaged_at, reverse=True)
    return []


def normalised(kind: Kind, subject: str) -> str:
    """The subject as throttles count it: usernames case-insensitive, an IPv6 address
    as its /64 (one host holds a whole /64, and would otherwise rotate through it)."""
    subject = subject.strip()
    if kind == Kind.SIGNIN_ACCOUNT:
        return subject.lower()
    if kind in PER_ADDRESS:
        return _address(subject)
    return subject


def address_of(request) -> str:
    """The client address a request came from: REMOTE_ADDR, or, when PORTAL_TRUSTED_PROXY
    says a proxy stands in front of the portal, the last hop of X-Forwarded-For (the one
    that proxy appended; earlier hops are whatever the client claimed)."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if settings.PORTAL_TRUSTED_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if hops[-1]:
            address = hops[-1]
    return _address(address)


def _address(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:100]
    if parsed.version == 6 and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(getattr(parsed, "ipv4_mapped", None) or parsed)


def _engage(kind: Kind, subject: str) -> Throttle:
    previous = _read(kind, subject)
    moment = now()
    strikes = 1
    if previous is not None and moment - previous.engaged_at < STRIKE_MEMORY:
        strikes = previous.strikes + 1
    wait = min(
        settings.PORTAL_THROTTLE_FIRST_WAIT_SECONDS * 2 ** min(strikes - 1, 30),
        settings.PORTAL_THROTTLE_MAX_WAIT_SECONDS,
    )
    throttle = Throttle(
        kind, subject, moment + timedelta(seconds=wait), moment, strikes, _limit(kind)
    )
    memory = int(STRIKE_MEMORY.total_seconds()) + wait
    cache.set(_key(kind, subject, "state"), _stored(throttle), timeout=memory)
    slot = _incr(ENGAGEMENT_COUNTER, None)
    cache.set(f"throttle:engagement:{slot}", (str(kind), subject), timeout=wait)
    log.warning("throttle engaged: %s %s for %s s", kind, subject, wait)
    trail.record(
        AuditAction.THROTTLE_ENGAGED,
        target=f"{kind}:{subject}",
        kind=kind,
        subject=subject,
        failures=throttle.failures,
        window_seconds=settings.PORTAL_THROTTLE_WINDOW_SECONDS,
        wait_seconds=wait,
        until=throttle.until.isoformat(),
        strikes=strikes,
    )
    return throttle


def _limit(kind: Kind) -> int:
    if kind in PER_ADDRESS:
        return settings.PORTAL_THROTTLE_ADDRESS_FAILURES
    return settings.PORTAL_THROTTLE_ACCOUNT_FAILURES


def _incr(key: str, timeout: int | None) -> int:
    """Add one to a counter, creating it when it expired meanwhile."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the add and the incr
        cache.add(key, 1, timeout=timeout)
        return 1


def _key(kind: Kind, subject: str, part: str) -> str:
    # A digest, not the subject: usernames may hold spaces or be long, which cache keys
    # must not (Django warns, and tests turn warnings into errors).
    digest = hashlib.sha256(f"{kind}\0{subject}".encode()).hexdigest()[:32]
    return f"throttle:{kind}:{digest}:{part}"


def _stored(throttle: Throttle) -> dict:
    return {
        "subject": throttle.subject,
        "until": throttle.until.timestamp(),
        "engaged_at": throttle.engaged_at.timestamp(),
        "strikes": throttle.strikes,
        "failures": throttle.failures,
    }


def _read(kind: Kind, subject: str) -> Throttle | None:
    stored = cache.get(_key(kind, subject, "state"))
    if not stored:
        return None
    return Throttle(
        kind=Kind(kind),
        subject=stored["subject"],
        until=datetime.fromtimestamp(stored["until"], UTC),
        engaged_at=datetime.fromtimestamp(stored["engaged_at"], UTC),
        strikes=stored["strikes"],
        failures=stored["failures"],
    )


@contextmanager
def _cache_reachable() -> Iterator[None]:
    """Let the attempt through when the cache is unreachable (see the module's docstring)."""
    try:
        yield
    except (RedisError, OSError) as error:
        log.warning("throttles skipped: the cache is unreachable (%s)", type(error).__name__)


def duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
