"""The catalog as code: validate a YAML catalog file and sync it into the catalog models.

catalog = load_catalog("examples/vizora.yaml")   # raises CatalogInvalid(.lines)
summary = apply_catalog(catalog)                 # one transaction; SyncSummary
print("\\n".join(summary.lines()))
"""

from environments.catalog.apply import apply_catalog
from environments.catalog.errors import CatalogError, CatalogInvalid
from environments.catalog.loader import Catalog, load_catalog, parse_catalog
from environments.catalog.summary import Action, Change, SyncSummary
from environments.catalog.values import parse_duration


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
    "load_catalog",
    "parse_catalog",
    "parse_duration",
    "sync_catalog",
]
