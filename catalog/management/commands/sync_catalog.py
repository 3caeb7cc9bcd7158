"""`manage.py sync_catalog FILE [--check]`: validate the catalog YAML and sync it."""

from django.core.management.base import BaseCommand, CommandError

from catalog.catalog_file import CatalogInvalid, apply_catalog, load_catalog


class Command(BaseCommand):
    help = (
        "Validate a catalog file (clusters, checklists, services, environments) and upsert it "
        "in one transaction; what the file no longer lists is archived, never deleted."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the catalog YAML, e.g. examples/vizora.yaml")
        parser.add_argument("--check", action="store_true", help="validate only; write nothing")

    def handle(self, *args, file: str, check: bool, **options) -> None:
        try:
            catalog = load_catalog(file)
        except CatalogInvalid as invalid:
            count = len(invalid.lines)
            header = f"{file}: {count} error{'s' if count != 1 else ''}, nothing changed"
            raise CommandError("\n".join([header, *invalid.lines])) from invalid
        if check:
            self.stdout.write(f"{file}: valid ({catalog.describe()})")
            return
        for line in apply_catalog(catalog).lines():
            self.stdout.write(line)
