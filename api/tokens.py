"""Issuing, checking and revoking API tokens: the pages, the admin and the API call these.

A token is `vzp_` and 32 random bytes (URL-safe base64); only its SHA-256 is kept,
with its first 12 characters for people to recognise it. Every issue and revocation
is audited; the secret never is.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone

from accounts import roles
from accounts.scopes import Scope
from api.models import ApiToken, ServiceAccount, TokenKind, TokenState
from audit import trail
from audit.actions import AuditAction
from catalog.models import Environment
from portal.masking import people_text

TOKEN_PREFIX = "vzp_"
TOKEN_FORMAT = re.compile(r"^vzp_[A-Za-z0-9_-]{43}\Z")  # token_urlsafe(32) is 43 characters
PREFIX_LENGTH = 12
LAST_USED_EVERY = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


class TokenError(ValueError):
    """A token request that cannot be honoured; the message says what to fix."""


class TokenRefused(Exception):
    """A presented token that does not authenticate (missing, wrong, expired, revoked)."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_personal_token(
    owner: User, name: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """A token that acts as `owner` under their roles; returns it and its secret (shown once)."""
    if not roles.can_have_personal_token(owner):
        raise TokenError(f"{owner.get_username()} may not hold API tokens (no role in the portal).")
    return _issue(TokenKind.PERSONAL, owner, _name(name), [], [], expires_in_days, owner)


def issue_ci_token(
    actor: User,
    name: str,
    scopes: list[str],
    environments: list[str],
    expires_in_days: int | None,
) -> tuple[ApiToken, str]:
    """A token for the CI identity `name` (its service account is created on first use)."""
    if not roles.can_manage_ci_tokens(actor):
        raise TokenError(f"{actor.get_username()} may not issue CI tokens; an admin may.")
    name = _name(name)
    scopes = _scopes(scopes)
    environments = _environments(environments)
    if environments and Scope.DEPLOYMENTS_WRITE not in scopes:
        raise TokenError(
            f"Environments limit {Scope.DEPLOYMENTS_WRITE}; add that scope or leave them out."
        )
    with transaction.atomic():
        account = service_account(name)
        user = account.user
        return _issue(TokenKind.CI, user, name, scopes, environments, expires_in_days, actor)


def service_account(name: str) -> ServiceAccount:
    """The service account of a CI identity, created with an unusable password."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,60}", name):
        raise TokenError(
            f"{name!r} is not a CI identity name; use lowercase letters, digits and -."
        )
    found = ServiceAccount.objects.filter(name=name).select_related("user").first()
    if found is not None:
        return found
    username = f"ci-{name}"
    users = get_user_model().objects
    if users.filter(username=username).exists():
        raise TokenError(f"A user {username!r} exists already and is not a CI identity.")
    user = users.create_user(username=username, password=None)  # unusable password
    user.groups.add(Group.objects.get_or_create(name=roles.SERVICE_ACCOUNT)[0])
    return ServiceAccount.objects.create(user=user, name=name)


def _issue(kind, user, name, scopes, environments, expires_in_days, actor):
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise TokenError(f"Expiry must be 1 to {MAX_EXPIRY_DAYS} days, not {expires_in_days}.")
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    with transaction.atomic():
        token = ApiToken.objects.create(
            kind=kind,
            user=user,
            name=name,
            scopes=scopes,
            environments=environments,
            prefix=secret[:PREFIX_LENGTH],
            hashed=hash_token(secret),
            created_by=actor,
            expires_at=expires_at,
        )
        trail.record(
            AuditAction.TOKEN_ISSUED,
            actor=actor,
            target=f"token:{token.prefix}",
            kind=kind,
            name=name,
            scopes=scopes,
            environments=environments,
        )
    return token, secret


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke a token at once: its owner (personal) or an admin may."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or not roles.can_revoke_token(actor, token):
            raise TokenError(f"There is no token #{token_id} that you may revoke.")
        if token.revoked_at is not None:
            raise TokenError(f"Token {token.prefix}… was revoked already.")
        token.revoked_at, token.revoked_by = timezone.now(), actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        trail.record(
            AuditAction.TOKEN_REVOKED, actor=actor, target=f"token:{token.prefix}", name=token.name
        )
    return token


def authenticate(secret: str) -> ApiToken:
    """The active token `secret` is, with its user; TokenRefused says why not."""
    if not TOKEN_FORMAT.match(secret):
        raise TokenRefused(
            "That is not a portal API token: tokens start with vzp_ followed by 43 "
            "characters; copy it again from the Your tokens page."
        )
    hashed = hash_token(secret)
    # One query: the token, its user and the groups the role rules read.
    token = (
        ApiToken.objects.select_related("user")
        .annotate(role_groups=roles.role_groups_of(OuterRef("user_id")))
        .filter(hashed=hashed)
        .first()
    )
    if token is None or not hmac.compare_digest(token.hashed, hashed):
        raise TokenRefused("Unknown API token: it was never issued here; create a new one.")
    state = token.state()
    if state == TokenState.REVOKED:
        raise TokenRefused(
            f"API token {token.prefix}… was revoked at {token.revoked_at:%Y-%m-%d %H:%M} UTC; "
            "create a new one."
        )
    if state == TokenState.EXPIRED:
        raise TokenRefused(
            f"API token {token.prefix}… expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; "
            "create a new one."
        )
    roles.remember_groups(token.user, token.role_groups)
    # accounts/roles.py reads a CI token's scopes from here (with getattr: people have none).
    token.user.api_token = token
    touch(token)
    return token


def owner_refusal(token: ApiToken) -> str:
    """Why the owner of an authenticated token may do nothing through it now, "" when
    they may. The token itself is sound (that was `authenticate`'s question); its owner
    is not: a person with no role any more (removed from every group, or deactivated),
    who may then neither read nor act, or a deactivated CI identity."""
    name = token.user.get_username()
    if token.is_ci:
        if token.user.is_active:
            return ""
        return (
            f"The CI identity of this token ({token.prefix}…), {name}, is deactivated; ask "
            "an admin to activate it again or to issue a token of another one."
        )
    if roles.can_have_personal_token(token.user):
        return ""
    return (
        f"The owner of this token ({token.prefix}…), {name}, has no role in the portal any "
        "more; ask an admin to give them one again, or use a token of someone who has one."
    )


def touch(token: ApiToken, now: datetime | None = None) -> bool:
    """Record the use in `last_used_at`, at most once a minute per token: no query while
    the loaded value is fresh, else one conditional UPDATE (two requests racing past
    the first check still write once). Whether this call wrote it."""
    now = now or timezone.now()
    stale = now - LAST_USED_EVERY
    if token.last_used_at is not None and token.last_used_at >= stale:
        return False
    written = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale))
        .update(last_used_at=now)
    )
    if written:
        token.last_used_at = now
    return bool(written)


def _name(name: str) -> str:
    """What people call a token, stored masked: a pasted secret would be listed beside it."""
    name = people_text(" ".join(name.split()))
    if not name or len(name) > 100:
        raise TokenError("Give the token a name of 1 to 100 characters (what it is for).")
    return name


def _scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise TokenError(f"Unknown scopes {', '.join(unknown)}; use {', '.join(Scope.values)}.")
    if not scopes:
        raise TokenError(f"A CI token needs at least one scope: {', '.join(Scope.values)}.")
    return sorted(set(scopes))


def _environments(names: list[str]) -> list[str]:
    known = set(Environment.objects.values_list("name", flat=True))
    unknown = sorted(set(names) - known)
    if unknown:
        raise TokenError(
            f"There is no environment {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )
    return sorted(set(names))
