"""Reading a catalog file: compose the YAML node tree, check it, collect every error."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from environments.catalog.errors import CatalogError, CatalogInvalid
from environments.catalog.nodes import Context, Entry
from environments.catalog.references import check_references
from environments.catalog.schema import CATALOG


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
    """Read and validate a catalog file; raise CatalogInvalid listing every error."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogInvalid(filename, [CatalogError(0, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogInvalid(filename, [CatalogError(0, "", f"cannot read: {error}")]) from None
    return parse_catalog(text, filename)


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
    """The checked top-level mapping, after the checks across sections; errors go to ctx."""
    root = compose(text, ctx)
    if root is None:
        return None
    checked = CATALOG.check(root, "", ctx)
    if not isinstance(checked, Entry):
        return None
    check_references(checked, ctx)
    return checked


def compose(text: str, ctx: Context) -> yaml.Node | None:
    """The document's node tree; None (with the error recorded) if it is empty or not YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
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
