"""API tokens: personal ones act as their owner, CI ones as a named service identity.

Only a SHA-256 of the secret is stored (the secret is shown once), with a visible
prefix to tell tokens apart. Rows are never deleted: revocation is soft.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.scopes import Scope


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    CI = "ci", "CI"


class TokenState(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ServiceAccount(models.Model):
    """The user a CI identity acts as: an unusable password and no role groups, so it
    can never sign in and passes no person's rule (see accounts/roles.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account"
    )
    name = models.SlugField(max_length=100, unique=True, help_text="The CI identity, e.g. github.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text="Personal: the owner. CI: the identity's service account.",
    )
    name = models.CharField(max_length=100, help_text="What it is for (CI: the identity).")
    scopes = models.JSONField(default=list, blank=True, help_text="CI tokens only.")
    environments = models.JSONField(
        default=list,
        blank=True,
        help_text=f"Where {Scope.DEPLOYMENTS_WRITE} may deploy (CI tokens).",
    )
    prefix = models.CharField(max_length=12, help_text="The visible start of the token.")
    hashed = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="token_owner_newest")]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({self.get_kind_display()})"

    def state(self, now=None) -> TokenState:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    def last_used(self, now=None) -> str:
        """How the lists say it: "Last used 3 minutes ago" or "Never used" (to the
        minute at best: `last_used_at` is written at most once a minute)."""
        if self.last_used_at is None:
            return "Never used"
        now = now or timezone.now()
        if now - self.last_used_at < timedelta(minutes=1):
            return "Last used less than a minute ago"
        return f"Last used {timesince(self.last_used_at, now, depth=1)} ago"

    @property
    def is_ci(self) -> bool:
        return self.kind == TokenKind.CI

    def allows(self, scope: str, environment: str | None = None) -> bool:
        """Whether a CI token holds `scope` (for `environment`, when one is named)."""
        if scope not in self.scopes:
            return False
        return environment is None or environment in self.environments


class IdempotentRequest(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed to its retries (24 h)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, help_text="Empty while it acts.")
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="one_answer_per_token_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_expiry")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] → {self.status or 'in progress'}"
