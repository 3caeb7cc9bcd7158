"""Making the catalog rows match a validated catalog, in one transaction."""

from collections.abc import Iterator
from datetime import datetime

from django.db import models, transaction
from django.utils import timezone

from catalog.catalog_file.loader import Catalog
from catalog.catalog_file.model_fields import (
    ITEM_FIELDS,
    RowIds,
    catalog_keys,
    checklist_item_rows,
    cluster_fields,
    environment_fields,
    service_fields,
)
from catalog.catalog_file.summary import Action, SyncSummary
from catalog.catalog_file.tree import Entry
from catalog.models import ChecklistTemplate, ChecklistTemplateItem, Cluster, Environment, Service


@transaction.atomic
def apply_catalog(catalog: Catalog) -> SyncSummary:
    """Upsert a validated catalog by name, in one transaction; return what changed.

    Rows the file no longer lists are archived (never deleted) and restored when
    they come back; a template's items are replaced only when they differ; an
    environment's lock is never touched. Nothing is written when nothing changed.
    """
    sync = CatalogSync(timezone.now())
    ids = RowIds(
        clusters=sync.clusters(catalog.clusters),
        checklists=sync.checklists(catalog.checklists),
        environments={},  # filled as they are synced, parents first
    )
    sync.services(catalog.services)
    sync.environments(catalog.environments, ids)
    return sync.summary


class CatalogSync:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.summary = SyncSummary()

    def clusters(self, entries: list[Entry]) -> dict[str, int]:
        existing = locked_rows(Cluster)
        ids = {
            entry["name"]: self.upsert(existing, "cluster", entry["name"], cluster_fields(entry)).pk
            for entry in entries
        }
        self.archive_missing(existing, "cluster", ids)
        return ids

    def checklists(self, entries: list[Entry]) -> dict[str, int]:
        existing = locked_rows(ChecklistTemplate)
        ids = {}
        for entry in entries:
            is_new = entry["name"] not in existing
            template = self.upsert(existing, "checklist", entry["name"], {})
            self.sync_items(template, checklist_item_rows(entry), is_new)
            ids[entry["name"]] = template.pk
        self.archive_missing(existing, "checklist", ids)
        return ids

    def services(self, entries: list[Entry]) -> None:
        existing = locked_rows(Service)
        names = {entry["name"] for entry in entries}
        for entry in entries:
            self.upsert(existing, "service", entry["name"], service_fields(entry))
        self.archive_missing(existing, "service", names)

    def environments(self, entries: list[Entry], ids: RowIds) -> None:
        existing = locked_rows(Environment)
        for position, entry in parents_first(entries):
            fields = environment_fields(entry, position, ids)
            row = self.upsert(existing, "environment", entry["name"], fields)
            ids.environments[entry["name"]] = row.pk
        self.archive_missing(existing, "environment", ids.environments)

    def upsert(
        self, existing: dict[str, models.Model], kind: str, name: str, fields: dict
    ) -> models.Model:
        row = existing.get(name)
        if row is None:
            self.summary.add(Action.CREATED, kind, name)
            return MODELS[kind].objects.create(name=name, **fields)
        changed = [field for field, value in fields.items() if getattr(row, field) != value]
        restored = row.archived_at is not None
        if changed or restored:
            for field in changed:
                setattr(row, field, fields[field])
            row.archived_at = None
            row.save(update_fields=[*changed, "archived_at", "updated_at"])
        if restored:
            self.summary.add(Action.RESTORED, kind, name)
        if changed:
            self.summary.add(Action.UPDATED, kind, name, catalog_keys(changed))
        return row

    def sync_items(self, template: ChecklistTemplate, rows: list[dict], is_new: bool) -> None:
        """Template items hold no history (deployments copy them), so replace them wholesale."""
        current = list(template.items.order_by("position").values(*ITEM_FIELDS))
        if current == rows:
            return
        template.items.all().delete()
        ChecklistTemplateItem.objects.bulk_create(
            ChecklistTemplateItem(template=template, **row) for row in rows
        )
        if not is_new:
            template.save(update_fields=["updated_at"])
            self.summary.add(Action.UPDATED, "checklist", template.name, ("items",))

    def archive_missing(self, existing: dict[str, models.Model], kind: str, keep) -> None:
        for name, row in existing.items():
            if name not in keep and row.archived_at is None:
                row.archived_at = self.now
                row.save(update_fields=["archived_at", "updated_at"])
                self.summary.add(Action.ARCHIVED, kind, name)


MODELS: dict[str, type[models.Model]] = {
    "cluster": Cluster,
    "checklist": ChecklistTemplate,
    "service": Service,
    "environment": Environment,
}


def locked_rows(model: type[models.Model]) -> dict[str, models.Model]:
    """Every row by name, archived ones too, locked until commit.

    A concurrent sync waits here and then diffs against committed rows; two syncs
    racing to create the same name cannot both win (the name is unique), and the
    loser's transaction changes nothing.
    """
    return {row.name: row for row in model.objects.select_for_update().order_by("pk")}


def parents_first(entries: list[Entry]) -> Iterator[tuple[int, Entry]]:
    """(position in the file, entry), each environment after the one it promotes from."""
    by_name = {entry["name"]: (position, entry) for position, entry in enumerate(entries)}
    done: set[str] = set()

    def visit(name: str) -> Iterator[tuple[int, Entry]]:
        if name in done:
            return
        done.add(name)
        position, entry = by_name[name]
        if entry.get("promotes_from"):
            yield from visit(entry["promotes_from"])
        yield position, entry

    for entry in entries:
        yield from visit(entry["name"])
