"""Reading a catalog file: screen it, compose its YAML node tree, validate the plain tree
with the pydantic schema, and collect every error on its line."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from pydantic import ValidationError

from catalog.catalog_file.errors import CatalogError, CatalogInvalid, Context
from catalog.catalog_file.references import check_references
from catalog.catalog_file.schema import SECTIONS, CatalogFile
from catalog.catalog_file.screening import Refused, compose_screened, screen_text, too_large
from catalog.catalog_file.tree import Entry, Marks, build, entries, format_path
from catalog.catalog_file.value_types import SINK, Problem, problem_of


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
    sections = check_document(text, ctx)
    if ctx.errors or sections is None:
        raise CatalogInvalid(filename, ctx.errors)
    return Catalog(**sections)


def check_document(text: str, ctx: Context) -> dict[str, list[Entry]] | None:
    """Each section's valid entries, after the checks across sections; errors go to ctx.

    Text refused by the screening is not checked further: its values would be
    echoed in the messages, control characters and all.
    """
    screen_text(text, ctx)
    if ctx.errors:
        return None
    root = compose(text, ctx)
    if root is None or ctx.errors:
        return None
    marks = Marks()
    tree = build(root, marks)
    ctx.errors.extend(marks.errors)
    problems: list[Problem] = []
    try:
        catalog = CatalogFile.model_validate(tree, context={SINK: problems})
        sections = entries(catalog.model_dump(by_alias=True, exclude_none=True), (), marks)
    except ValidationError as invalid:
        problems.extend(problem_of(error) for error in invalid.errors())
        sections = valid_entries(tree, problems, marks)
    # A refused key's value is not checked (as the key is not), so it is not reported.
    keys = {problem.loc for problem in problems if problem.at_key and problem.bad_value}
    for problem in problems:
        if problem.at_key or not any(problem.loc[:n] in keys for n in range(len(problem.loc) + 1)):
            ctx.errors.append(catalog_error(problem, marks))
    check_references(sections, ctx)
    return sections


def valid_entries(tree: object, problems: list[Problem], marks: Marks) -> dict[str, list]:
    """Each section's entries as written, less the values that were refused and with the
    section's defaults, so that the checks across sections still run on what is valid."""
    refused = {problem.loc for problem in problems if problem.bad_value}
    root = entries(tree, (), marks, refused) if isinstance(tree, dict) else {}
    sections: dict[str, list] = {}
    for section, model in SECTIONS.items():
        written = root.get(section)
        sections[section] = [entry for entry in written or [] if isinstance(entry, dict)]
        for entry in sections[section]:
            for name, field in model.model_fields.items():
                if not field.is_required():
                    entry.setdefault(
                        field.alias or name, field.get_default(call_default_factory=True)
                    )
    return sections


def catalog_error(problem: Problem, marks: Marks) -> CatalogError:
    """A problem on its line: of the key, of a key inside (line_key), or of the value."""
    if problem.line_key:
        line = marks.line((*problem.loc, problem.line_key), key=True)
    else:
        line = marks.line(problem.loc, key=problem.at_key)
    return CatalogError(line, format_path(problem.loc), problem.message)


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
