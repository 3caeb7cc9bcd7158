"""Bearer tokens for the API, and the checks a CI token meets before any action.

A personal token acts as its owner (portal/roles.py decides, as on the pages); a CI
token acts as its service account and only within its scopes and environments.
These checks are the API's own, to say precisely what is missing; the rules in
portal/roles.py refuse the same things again for anything that calls the domain.
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from deployments.api.errors import ApiError
from tokens.issuing import TokenRefused, authenticate, owner_refusal
from tokens.models import ApiToken, Scope


class TokenAuth(HttpBearer):
    """`Authorization: Bearer vzp_…`; every way the token fails is a 401 saying which.
    A sound token whose owner may do nothing now (a person with no role any more, a
    deactivated CI identity) is a 403 saying so, for reads and writes alike."""

    def __call__(self, request: HttpRequest) -> ApiToken:
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(401, "No API token: send the header Authorization: Bearer <token>.")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "The Authorization header must read: Bearer <token>.")
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        try:
            found = authenticate(token)
        except TokenRefused as refused:
            raise ApiError(401, str(refused)) from None
        request.api_token = found  # the audit middleware records the use
        refusal = owner_refusal(found)
        if refusal:
            raise ApiError(403, refusal)
        return found


def actor_of(request: HttpRequest):
    """The user the request acts as: the owner, or the CI identity's service account."""
    return request.auth.user


def require_scope(
    request: HttpRequest,
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


def require_person(request: HttpRequest, what: str) -> None:
    """Approvals and checklist answers are a person's word: never a CI token's."""
    if request.auth.is_ci:
        raise ApiError(
            403,
            f"CI tokens can never {what}; a person does it with a personal token or the page.",
        )
