"""Reading a catalog file: screen it, compose its YAML node tree, check it, collect every error."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings

from catalog.catalog_file.errors import CatalogError, CatalogInvalid
from catalog.catalog_file.nodes import Context, Entry
from catalog.catalog_file.references import check_references
from catalog.catalog_file.schema import CATALOG
from catalog.catalog_file.screening import Refused, compose_screened, screen_text, too_large


@dataclass(frozen=True)
class Catalog:
    """A valid catalog: each section's entries in file order, defaults filled in."""

    clusters: list[Entry]
    checklists: list[Entry]
    services: list[Entry]
    environments: list[Entry]

    def describe(self) -> str:
        counts = {
            "clusters": len(self.clusters),
            "checklists": len(self.checklists),
            "services": len(self.services),
            "environments": len(self.environments),
        }
        return ", ".join(
            f"{count} {section if count != 1 else section.removesuffix('s')}"
            for section, count in counts.items()
        )


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file; raise CatalogInvalid listing every error.

    A file over PORTAL_CATALOG_MAX_BYTES is refused without being read whole.
    """
    filename = str(path)
    limit = settings.PORTAL_CATALOG_MAX_BYTES
    try:
        with Path(path).open("rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise CatalogInvalid(filename, [CatalogError(0, "", "no such file")]) from None
    except OSError as error:
        raise CatalogInvalid(filename, [CatalogError(0, "", f"cannot read: {error}")]) from None
    if len(data) > limit:
        raise CatalogInvalid(filename, [too_large(limit)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CatalogInvalid(filename, [not_utf8(data, error)]) from None
    return parse_catalog(text, filename)


def not_utf8(data: bytes, error: UnicodeDecodeError) -> CatalogError:
    line = data.count(b"\n", 0, error.start) + 1
    byte = data[error.start : error.start + 1].hex()
    return CatalogError(line, "", f"not UTF-8 text (byte 0x{byte}); save the file as UTF-8")


def parse_catalog(text: str, filename: str = "<catalog>") -> Catalog:
    """Validate catalog YAML given as text; raise CatalogInvalid listing every error."""
    ctx = Context()
    checked = check_document(text, ctx)
    if ctx.errors or checked is None:
        raise CatalogInvalid(filename, ctx.errors)
    return Catalog(
        clusters=checked["clusters"],
        checklists=checked["checklists"],
        services=checked["services"],
        environments=checked["environments"],
    )


def check_document(text: str, ctx: Context) -> Entry | None:
    """The checked top-level mapping, after the checks across sections; errors go to ctx.

    Text refused by the screening is not checked further: its values would be
    echoed in the messages, control characters and all.
    """
    screen_text(text, ctx)
    if ctx.errors:
        return None
    root = compose(text, ctx)
    if root is None or ctx.errors:
        return None
    checked = CATALOG.check(root, "", ctx)
    if not isinstance(checked, Entry):
        return None
    check_references(checked, ctx)
    return checked


def compose(text: str, ctx: Context) -> yaml.Node | None:
    """The document's node tree; None (with the error recorded) if it is empty, not YAML,
    or past a limit of the screening."""
    try:
        root = compose_screened(text, ctx)
    except Refused as refused:
        ctx.error(refused.line, "", refused.message)
        return None
    except yaml.MarkedYAMLError as error:
        ctx.error(syntax_error_line(error), "", f"invalid YAML: {syntax_problem(error)}")
        return None
    except yaml.YAMLError as error:
        ctx.error(1, "", f"invalid YAML: {error}")
        return None
    if root is None:
        ctx.error(1, "", "the file is empty (expected clusters, services and environments)")
    return root


def syntax_error_line(error: yaml.MarkedYAMLError) -> int:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark else 1


def syntax_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or "syntax error"
    if error.context and error.context_mark:
        return f"{problem} ({error.context} at line {error.context_mark.line + 1})"
    return problem
