"""`manage.py catalog_schema [--output FILE]`: the JSON Schema of a catalog file, for editors."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.catalog_file import catalog_json_schema


def schema_text() -> str:
    return json.dumps(catalog_json_schema(), indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = (
        "Print the JSON Schema of the catalog file (generated from the schema sync_catalog "
        "validates with), or write it to --output (docs/catalog.schema.json)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", metavar="FILE", help="write the schema to FILE")

    def handle(self, *args, output: str | None, **options) -> None:
        text = schema_text()
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
