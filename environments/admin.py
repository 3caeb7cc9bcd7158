"""Admin pages for the catalog. The YAML is the source of truth, so these are for reading;
only the runtime lock of an environment is edited here."""

from django.contrib import admin

from environments.models import (
    ChecklistTemplate,
    ChecklistTemplateItem,
    Cluster,
    Environment,
    Service,
)


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
    list_display = ["name", "context", "kubeconfig_path", "in_cluster", "archived_at"]
    readonly_fields = ["name", "kubeconfig_path", "context", "in_cluster", "archived_at"]


@admin.register(Service)
class ServiceAdmin(CatalogAdmin):
    list_display = ["name", "image_repository", "port", "workload_names", "archived_at"]
    search_fields = ["name", "image_repository", "repository"]
    readonly_fields = [
        "name", "repository", "image_repository", "dockerfile", "build_context", "port",
        "health_path", "ready_path", "workloads", "smoke_checks", "migration_command",
        "owners", "archived_at",
    ]  # fmt: skip


@admin.register(Environment)
class EnvironmentAdmin(CatalogAdmin):
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
    fields = [
        "name", "position", "promotes_from", "cluster", "namespace", "urls", "resolve",
        "required_approvals", "approver_group", "checklist_template", "freeze_windows",
        "rollout_timeout", "auto_rollback", "post_item_policy", "locked", "lock_reason",
        "archived_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.fields if field not in {"locked", "lock_reason"}]


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    fields = ["position", "phase", "text", "mode", "check_kind", "params"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(CatalogAdmin):
    list_display = ["name", "archived_at"]
    readonly_fields = ["name", "archived_at"]
    inlines = [ChecklistTemplateItemInline]
