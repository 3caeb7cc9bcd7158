"""Admin pages: history is read-only; transitions only ever go through the engine."""

from django.contrib import admin

from deployments.models import (
    Approval,
    AuditEvent,
    ChecklistItem,
    Deployment,
    LogLine,
    Notification,
    Release,
    Step,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["service", "version", "state", "image", "git_sha", "created_at"]
    list_filter = ["state", "service"]
    search_fields = ["version", "git_sha", "image", "notes"]
    date_hierarchy = "created_at"


class StepInline(ReadOnlyInline):
    model = Step
    fields = ["position", "kind", "state", "attempt", "started_at", "finished_at", "reason"]


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["user", "decision", "comment", "created_at"]


class ChecklistInline(ReadOnlyInline):
    model = ChecklistItem
    fields = ["phase", "text", "mode", "state", "answered_by", "answered_at", "evidence"]


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
    list_display = ["deployment", "seq", "step", "text", "created_at"]
    search_fields = ["text"]
    list_select_related = ["step"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "event", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["event", "state"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target", "deployment"]
    list_filter = ["action"]
    search_fields = ["action", "target", "actor__username"]
    date_hierarchy = "created_at"
