"""Admin pages for the catalog. The YAML is the source of truth, so these are for reading;
only the runtime lock of an environment is edited here.

Catalog text is shown masked like deployment output: a URL in the YAML may carry
`user:password@`, a migration command a `--password=…`, a check's params a token.
"""

import json
from collections.abc import Callable
from functools import cached_property

from django import forms
from django.contrib import admin
from django.db import models

from catalog.models import ChecklistTemplate, ChecklistTemplateItem, Cluster, Environment, Service
from portal.masking import mask_json, mask_secrets, people_text


def masked(model: type[models.Model], name: str) -> Callable[[models.Model], str]:
    """A read-only field or column showing `name` with secrets masked (JSON as JSON)."""
    field = model._meta.get_field(name)

    @admin.display(description=field.verbose_name, ordering=name)
    def show(obj: models.Model) -> str:
        value = getattr(obj, name)
        if isinstance(field, models.JSONField):
            return json.dumps(mask_json(value), ensure_ascii=False)
        return mask_secrets(value)

    show.__name__ = name
    return show


def masked_fields(model: type[models.Model], names: list[str]) -> list:
    """Free text and JSON of `names` masked; the rest (numbers, flags, choices, links) plain."""
    return [masked(model, name) if _free_text(model, name) else name for name in names]


def _free_text(model: type[models.Model], name: str) -> bool:
    field = model._meta.get_field(name)
    text_fields = (models.CharField, models.TextField, models.JSONField)
    return isinstance(field, text_fields) and not field.choices


class CatalogAdmin(admin.ModelAdmin):
    """Rows come from `sync_catalog`; editing them here would be overwritten by the next sync."""

    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Cluster)
class ClusterAdmin(CatalogAdmin):
    list_display = masked_fields(
        Cluster, ["name", "context", "kubeconfig_path", "in_cluster", "archived_at"]
    )
    fields = readonly_fields = masked_fields(
        Cluster, ["name", "kubeconfig_path", "context", "in_cluster", "archived_at"]
    )


@admin.register(Service)
class ServiceAdmin(CatalogAdmin):
    list_display = [
        "name", masked(Service, "image_repository"), "port", "workload_names", "archived_at"
    ]  # fmt: skip
    search_fields = ["name", "image_repository", "repository"]
    fields = readonly_fields = masked_fields(Service, [
        "name", "repository", "image_repository", "dockerfile", "build_context", "port",
        "health_path", "ready_path", "workloads", "smoke_checks", "migration_command",
        "owners", "archived_at",
    ])  # fmt: skip


class EnvironmentLockForm(forms.ModelForm):
    """The lock an admin edits here is shown to everyone signed in: its reason is
    stored masked, as `deployments.engine.lock` stores it."""

    class Meta:
        model = Environment
        fields = ["locked", "lock_reason"]

    def clean_lock_reason(self) -> str:
        return people_text(" ".join(self.cleaned_data["lock_reason"].split()))


@admin.register(Environment)
class EnvironmentAdmin(CatalogAdmin):
    form = EnvironmentLockForm
    list_display = [
        "name", "promotes_from", "cluster", "namespace", "required_approvals",
        "auto_rollback", "locked", "archived_at",
    ]  # fmt: skip
    list_filter = [
        "locked",
        "auto_rollback",
        "cluster",
        ("archived_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "namespace"]
    editable = ["locked", "lock_reason"]
    fields = [
        *masked_fields(Environment, [
            "name", "position", "promotes_from", "cluster", "namespace", "urls", "resolve",
            "required_approvals", "approver_group", "checklist_template", "freeze_windows",
            "rollout_timeout", "auto_rollback", "post_item_policy",
        ]),
        *editable,
        "archived_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.fields if field not in self.editable]


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    fields = readonly_fields = masked_fields(
        ChecklistTemplateItem, ["position", "phase", "text", "mode", "check_kind", "params"]
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(CatalogAdmin):
    list_display = ["name", "archived_at"]
    fields = readonly_fields = ["name", "archived_at"]
    inlines = [ChecklistTemplateItemInline]


# Read-only admin pages for history (deployments, releases): rows change only through
# the engine.
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
