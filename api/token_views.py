"""Your tokens: list, create (the secret is shown once) and revoke API tokens.

Creating is Post/Redirect/Get: the POST issues the token and keeps its secret in the
session, the page it redirects to shows the secret and forgets it, so a reload neither
issues a second token nor shows the secret again."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from api.models import ApiToken, TokenKind
from api.token_forms import PersonalTokenForm
from api.tokens import TokenError, issue_personal_token, revoke_token

NEW_SECRET_KEY = "tokens.new_secret"  # the session key holding a new secret until shown


@require_GET
@login_required
def token_list(request):
    return render(request, "tokens.html", _context(request, PersonalTokenForm()))


@require_POST
@never_cache
@login_required
def create(request):
    form = PersonalTokenForm(request.POST)
    if not form.is_valid():
        return render(request, "tokens.html", _context(request, form), status=400)
    try:
        token, secret = issue_personal_token(
            request.user, form.cleaned_data["name"], form.cleaned_data["expires_in_days"]
        )
    except TokenError as refused:
        form.add_error(None, str(refused))
        context = {**_context(request, form), "reason": str(refused)}
        return render(request, "tokens.html", context, status=403)
    # Kept server-side (database sessions) only until the page below pops it.
    request.session[NEW_SECRET_KEY] = {"pk": token.pk, "secret": secret}
    return redirect("token-created")


@require_GET
@never_cache
@login_required
def created(request):
    """The new token's secret, once: popped from the session, so a reload says it was shown."""
    new = request.session.pop(NEW_SECRET_KEY, None) or {}
    token = ApiToken.objects.filter(pk=new["pk"], user=request.user).first() if new else None
    context = {"token": token, "secret": new.get("secret") if token else None}
    return render(request, "token_created.html", context)


@require_POST
@login_required
def revoke(request, pk: int):
    try:
        token = revoke_token(request.user, pk)
    except TokenError as refused:
        context = {"reason": str(refused), "back": reverse("tokens")}
        return render(request, "refused.html", context, status=403)
    messages.success(request, f"Token {token.prefix}… ({token.name}) is revoked.")
    return redirect("tokens")


def _context(request, form) -> dict:
    ci_tokens = None
    if roles.can_manage_ci_tokens(request.user):
        ci_tokens = ApiToken.objects.filter(kind=TokenKind.CI).select_related("user")
    return {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user, kind=TokenKind.PERSONAL),
        "ci_tokens": ci_tokens,
        "may_have_tokens": roles.can_have_personal_token(request.user),
    }
