"""Admin pages for releases: history, read-only (a release changes only by building)."""

from django.contrib import admin

from catalog.admin import ReadOnlyAdmin
from releases.models import Release


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["service", "version", "state", "image", "git_sha", "created_at"]
    list_filter = ["state", "service"]
    search_fields = ["version", "git_sha", "image", "notes"]
    date_hierarchy = "created_at"
