"""A composed YAML node tree as a plain tree for pydantic, with the line of every value.

`yaml.safe_load` forgets where each value was and lets a repeated key silently
overwrite the first, so the catalog is composed (`yaml.compose`) and turned into
plain dicts, lists and strings here; each value's line is kept in `Marks` under
its location (the tuple pydantic names in an error's `loc`).
"""

import re
from dataclasses import dataclass, field

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from catalog.catalog_file.errors import CatalogError

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE = (
    TAG + name for name in ("str", "int", "float", "bool", "null", "merge")
)
TAG_DESCRIPTIONS = {
    STR: "a string",
    INT: "an integer",
    FLOAT: "a number",
    BOOL: "a boolean",
    NULL: "null",
    TAG + "timestamp": "a date",
    TAG + "binary": "binary data",
}
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*\Z")
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Scalar:
    """A scalar that is not a string or null: its tag, its text as written, YAML's value."""

    tag: str
    text: str
    value: object = None


class Mapping(dict):
    """A mapping of the file that knows where it is: its location (validators report
    against it) and, given the marks, the lines of itself and its keys."""

    def __init__(self, loc: Loc, marks: "Marks | None" = None) -> None:
        super().__init__()
        self.loc, self.marks = loc, marks

    @property
    def path(self) -> str:
        return format_path(self.loc)

    @property
    def line(self) -> int:
        return self.marks.line(self.loc)

    def line_of(self, key: str) -> int:
        return self.marks.line((*self.loc, key), key=True)

    def path_of(self, key: str) -> str:
        return child_path(self.path, key)


Entry = Mapping  # a valid entry of a section, as the checks across sections see it


@dataclass
class Marks:
    """The line of each location's key and value; errors found while building the tree."""

    lines: dict[Loc, tuple[int, int]] = field(default_factory=dict)  # loc: (key, value)
    errors: list[CatalogError] = field(default_factory=list)

    def line(self, loc: Loc, key: bool = False) -> int:
        """The line of the value (or key) at loc, or of the nearest enclosing written value."""
        while loc not in self.lines and loc:
            loc, key = loc[:-1], False
        return self.lines.get(loc, (1, 1))[0 if key else 1]


def build(node: Node, marks: Marks, loc: Loc = (), key_line: int | None = None) -> object:
    """The plain value of `node`: dict (Mapping), list, str, None or Scalar."""
    line = node.start_mark.line + 1
    marks.lines[loc] = (key_line or line, line)
    if isinstance(node, SequenceNode):
        return [build(item, marks, (*loc, index)) for index, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        mapping = Mapping(loc, marks)
        for key_node, value_node in node.value:
            key = mapping_key(key_node, mapping, marks)
            if key is not None:
                mapping[key] = build(value_node, marks, (*loc, key), line_of(key_node))
        return mapping
    if node.tag == STR:
        return node.value
    if node.tag == NULL:
        return None
    constructed = node.tag in (INT, FLOAT, BOOL)  # what a schema type takes as YAML reads it
    return Scalar(
        node.tag, node.value, SafeConstructor().construct_object(node) if constructed else None
    )


def mapping_key(key_node: Node, mapping: Mapping, marks: Marks) -> str | None:
    """The key, or None after recording why it is refused (merge, not a string, repeated)."""
    path, line = format_path(mapping.loc), line_of(key_node)
    if key_node.tag == MERGE:
        message = "merge keys (<<) are not supported; write the keys out"
    elif not (isinstance(key_node, ScalarNode) and key_node.tag == STR):
        shape = {} if isinstance(key_node, MappingNode) else []
        kind = Scalar(key_node.tag, "") if isinstance(key_node, ScalarNode) else shape
        message = f"keys must be strings, got {describe(kind)}"
    elif key_node.value in mapping:
        key = key_node.value
        first = marks.line((*mapping.loc, key), key=True)
        path, message = child_path(path, key), f"duplicate key '{key}' (first at line {first})"
    else:
        return key_node.value
    marks.errors.append(CatalogError(line, path, message))
    return None


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def describe(value: object) -> str:
    """What a value of the plain tree is, for `expected ..., got ...`."""
    if isinstance(value, Scalar):
        return TAG_DESCRIPTIONS.get(value.tag, f"a value tagged {value.tag}")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else "a string"


def child_path(path: str, key: str) -> str:
    step = key if PLAIN_KEY.match(key) else f'"{key}"'
    if not path:
        return step
    return f"{path}.{step}" if PLAIN_KEY.match(key) else f"{path}[{step}]"


def format_path(loc: Loc) -> str:
    """`environments[1].urls.app` for ("environments", 1, "urls", "app")."""
    path = ""
    for step in loc:
        path = f"{path}[{step}]" if isinstance(step, int) else child_path(path, step)
    return path


def entries(
    value: object, loc: Loc, marks: Marks, refused: frozenset | set = frozenset()
) -> object:
    """A value with each mapping as an Entry that knows its lines; the values at `refused`
    locations and nulls are left out."""
    if isinstance(value, list):
        items = ((item, (*loc, index)) for index, item in enumerate(value))
        return [entries(item, at, marks, refused) for item, at in items if at not in refused]
    if not isinstance(value, dict):
        return value
    entry = Entry(loc, marks)
    for key, item in value.items():
        if item is not None and (*loc, key) not in refused:
            entry[key] = entries(item, (*loc, key), marks, refused)
    return entry


def plain(value: object) -> object:
    """Entries as plain dicts and lists, for storing and comparing as JSON."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
