"""Admin pages: history is read-only; transitions only ever go through the engine.

Text is shown masked (rows are masked when written; this also covers rows written
before a pattern was added).
"""

from functools import cached_property

from django.contrib import admin

from catalog.admin import masked, masked_fields
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
    @cached_property
    def shown_fields(self) -> list:
        """Every field (timestamps too), free text and JSON masked; the same objects on each call.

        Shown read-only, so a non-editable field such as `created_at` is fine here: the
        form excludes every read-only name (listing one in an inline's `fields` without
        `readonly_fields` is what made the Approval inline a FieldError).
        """
        names = [field.name for field in self.model._meta.fields]
        return masked_fields(self.model, names)

    def get_fields(self, request, obj=None):
        return self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        return self.shown_fields

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
