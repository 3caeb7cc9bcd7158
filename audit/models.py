"""The audit trail's one table: every action by a person or by the system.

A leaf: models elsewhere are named by label, not imported, so every app may write
here without importing upward. The table keeps the name it had under deployments/.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class AuditEvent(models.Model):
    """Append-only record of every action by a person or by the system (actor empty)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=60)
    deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit",
    )
    # The environment and service an action concerns, copied from the deployment (or
    # given, for a lock) so the environment timeline reads one table by one index.
    environment = models.ForeignKey(
        "environments.Environment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit",
        db_index=False,  # audit_environment_timeline leads with it
    )
    service = models.ForeignKey(
        "environments.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit",
        db_index=False,  # filtered within an environment's rows, never looked up alone
    )
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "deployments_auditevent"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["action", "created_at"]),
            # The timeline pages newest first by (created_at, id) within an environment.
            models.Index(
                fields=["environment", "-created_at", "-id"], name="audit_environment_timeline"
            ),
            # The timeline filtered by person: only people's rows (most are the portal's).
            models.Index(
                fields=["environment", "actor", "-created_at", "-id"],
                condition=Q(actor__isnull=False),
                name="audit_person_timeline",
            ),
        ]

    def __str__(self) -> str:
        who = self.actor or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        # History is append-only: an audit row, once written, is never rewritten.
        if self.pk is not None:
            raise ValueError("Audit events are append-only and cannot be changed.")
        super().save(*args, **kwargs)
