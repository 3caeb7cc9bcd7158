"""Admin pages: history is read-only; transitions only ever go through the engine.

Text is shown masked (rows are masked when written; this also covers rows written
before a pattern was added).
"""

from django.contrib import admin

from audit.models import AuditEvent
from catalog.admin import ReadOnlyAdmin, ReadOnlyInline, masked, masked_fields
from deployments.models import Approval, ChecklistItem, Deployment, LogLine, Notification, Step


class StepInline(ReadOnlyInline):
    model = Step
    fields = readonly_fields = masked_fields(
        Step, ["position", "kind", "state", "attempt", "started_at", "finished_at", "reason"]
    )


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = readonly_fields = masked_fields(
        Approval, ["user", "decision", "comment", "created_at"]
    )


class ChecklistInline(ReadOnlyInline):
    model = ChecklistItem
    fields = readonly_fields = masked_fields(ChecklistItem, [
        "phase", "text", "mode", "state", "answered_by", "answered_at", "evidence"
    ])  # fmt: skip


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "service", "release", "environment", "state", "trigger", "requested_by",
        "created_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["state", "trigger", "environment", "service", "verification"]
    search_fields = ["release__version", "reason", "requested_by__username"]
    date_hierarchy = "created_at"
    inlines = [StepInline, ApprovalInline, ChecklistInline]


@admin.register(LogLine)
class LogLineAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "seq", "step", masked(LogLine, "text"), "created_at"]
    search_fields = ["text"]
    list_select_related = ["step"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "deployment", "event", "state", "attempts", "sent_at", masked(Notification, "last_error")
    ]  # fmt: skip
    list_filter = ["event", "state"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target", "deployment"]
    list_filter = ["action"]
    search_fields = ["action", "target", "actor__username"]
    date_hierarchy = "created_at"
