"""Admins manage tokens here: issue CI tokens (the secret shown once), revoke any."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from api.models import ApiToken, ServiceAccount
from api.token_forms import CITokenForm
from api.tokens import TokenError, issue_ci_token, revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "kind", "user", "scope_list", "state", "expires_at",
                    "last_used"]  # fmt: skip
    list_filter = ["kind"]
    search_fields = ["prefix", "name", "user__username"]
    actions = ["revoke"]
    exclude = ["hashed"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ApiToken._meta.fields if f.name != "hashed"]

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit trail names them

    @admin.display(description="scopes")
    def scope_list(self, token: ApiToken) -> str:
        if not token.is_ci:
            return "as owner"
        places = f" → {', '.join(token.environments)}" if token.environments else ""
        return ", ".join(token.scopes) + places

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, token: ApiToken) -> str:
        return token.last_used()

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return token.state().label

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            try:
                revoke_token(request.user, token.pk)
            except TokenError as refused:
                self.message_user(request, str(refused), messages.WARNING)
            else:
                self.message_user(request, f"Revoked {token.prefix}… ({token.name}).")

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a CI token: name, scopes, environments, expiry; the secret once."""
        form = CITokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                token, secret = issue_ci_token(
                    request.user, data["name"], data["scopes"], data["environments"],
                    data["expires_in_days"],
                )  # fmt: skip
            except TokenError as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request,
                    f"CI token for {token.name}: {secret} — copy it now into the CI's "
                    "secrets; it is not shown again.",
                    messages.SUCCESS,
                )
                return redirect("admin:tokens_apitoken_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Issue a CI token",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/tokens/ci_token_add.html", context)


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at"]
    readonly_fields = ["name", "user", "created_at"]

    def has_add_permission(self, request):
        return False  # created with the identity's first CI token
