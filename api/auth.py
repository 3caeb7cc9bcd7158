"""Bearer tokens for the API, and the checks a CI token meets before any action.

A personal token acts as its owner (accounts/roles.py decides, as on the pages); a CI
token acts as its service account and only within its scopes and environments.
These checks are the API's own, to say precisely what is missing; the rules in
accounts/roles.py refuse the same things again for anything that calls the domain.
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from accounts import throttling
from accounts.scopes import Scope
from accounts.throttling import Kind
from api.errors import ApiError
from api.models import ApiToken
from api.tokens import PREFIX_LENGTH, TOKEN_FORMAT, TokenRefused, authenticate, owner_refusal


class ApiRequest(HttpRequest):
    """The request an endpoint behind TokenAuth gets (for the types only: ninja sets
    `auth` to what TokenAuth returned, TokenAuth sets `api_token` for the audit of
    writes and the access log)."""

    auth: ApiToken
    api_token: ApiToken


class TokenAuth(HttpBearer):
    """`Authorization: Bearer vzp_…`; every way the token fails is a 401 saying which.
    A sound token whose owner may do nothing now (a person with no role any more, a
    deactivated CI identity) is a 403 saying so, for reads and writes alike.

    Failures are throttled per client address and per token prefix (accounts/throttling):
    while a throttle is engaged the answer is a 429 with Retry-After, given before the
    token is looked up, even for a valid token (else the throttle would still tell an
    attacker which of their guesses is right).
    """

    def __call__(self, request: HttpRequest) -> ApiToken:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        prefix, address = visible_prefix(secret), throttling.address_of(request)
        refuse_when_throttled(prefix, address)
        try:
            if not header:
                raise ApiError(401, "No API token: send the header Authorization: Bearer <token>.")
            if scheme.lower() != "bearer" or not secret:
                raise ApiError(401, "The Authorization header must read: Bearer <token>.")
            return self.authenticate(request, secret)
        except ApiError as refused:
            if refused.status != 401:
                raise  # a sound token whose owner may do nothing: no guess to throttle
            if prefix is not None:
                throttling.record_failure(Kind.API_PREFIX, prefix)
            throttling.record_failure(Kind.API_ADDRESS, address)
            raise

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        try:
            found = authenticate(token)
        except TokenRefused as refused:
            raise ApiError(401, str(refused)) from None
        # The audit (of writes) and the access log read it here. (A plain HttpRequest in
        # ninja's signature: ApiRequest declares the attribute.)
        request.api_token = found  # type: ignore[attr-defined]
        refusal = owner_refusal(found)
        if refusal:
            raise ApiError(403, refusal)
        return found


def visible_prefix(secret: str) -> str | None:
    """The prefix stored on the token a well-formed secret would be; None for anything
    else (its first characters may belong to another kind of secret: never kept)."""
    return secret[:PREFIX_LENGTH] if TOKEN_FORMAT.match(secret) else None


def refuse_when_throttled(prefix: str | None, address: str) -> None:
    """A 429 saying how long to wait, when the prefix or the address is throttled."""
    throttle = throttling.engaged(Kind.API_PREFIX, prefix) if prefix is not None else None
    throttle = throttle or throttling.engaged(Kind.API_ADDRESS, address)
    if throttle is None:
        return
    now = throttling.now()
    seconds = throttle.seconds_left(now)
    raise ApiError(
        429,
        throttle.refusal(now),
        {"retry_after_seconds": seconds, "until": throttle.until.isoformat()},
        headers={"Retry-After": str(seconds)},
    )


def actor_of(request: ApiRequest):
    """The user the request acts as: the owner, or the CI identity's service account."""
    return request.auth.user


def require_scope(
    request: ApiRequest,
    scope: Scope,
    environment: str | None = None,
    *,
    or_scope: Scope | None = None,
) -> None:
    """A CI token must hold `scope` or `or_scope` (and `environment`, when named); a
    personal token passes here and meets its owner's roles in the domain."""
    token: ApiToken = request.auth
    if not token.is_ci or (or_scope is not None and or_scope in token.scopes):
        return
    if scope not in token.scopes:
        raise ApiError(
            403,
            f"This CI token ({token.prefix}…) lacks the scope {scope}; it has "
            f"{', '.join(token.scopes) or 'none'}. Ask an admin for a token with {scope}.",
        )
    if environment is not None and environment not in token.environments:
        allowed = ", ".join(token.environments) or "no environment"
        raise ApiError(
            403,
            f"This CI token ({token.prefix}…) may deploy only to {allowed}, not to {environment}.",
        )


def require_person(request: ApiRequest, what: str) -> None:
    """Approvals and checklist answers are a person's word: never a CI token's."""
    if request.auth.is_ci:
        raise ApiError(
            403,
            f"CI tokens can never {what}; a person does it with a personal token or the page.",
        )
