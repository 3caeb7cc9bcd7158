"""The catalog as code: validate a YAML catalog file and sync it into the catalog models.

catalog = load_catalog("examples/vizora.yaml")   # raises CatalogInvalid(.lines)
summary = apply_catalog(catalog)                 # one transaction; SyncSummary
print("\\n".join(summary.lines()))
schema = catalog_json_schema()                   # the JSON Schema for editors
"""

from catalog.catalog_file.apply import apply_catalog
from catalog.catalog_file.errors import CatalogError, CatalogInvalid
from catalog.catalog_file.loader import Catalog, load_catalog, parse_catalog
from catalog.catalog_file.schema import json_schema as catalog_json_schema
from catalog.catalog_file.summary import Action, Change, SyncSummary
from catalog.catalog_file.values import parse_duration


def sync_catalog(path: str) -> SyncSummary:
    """Validate the file and apply it; raise CatalogInvalid (writing nothing) if it has errors."""
    return apply_catalog(load_catalog(path))


__all__ = [
    "Action",
    "Catalog",
    "CatalogError",
    "CatalogInvalid",
    "Change",
    "SyncSummary",
    "apply_catalog",
    "catalog_json_schema",
    "load_catalog",
    "parse_catalog",
    "parse_duration",
    "sync_catalog",
]
