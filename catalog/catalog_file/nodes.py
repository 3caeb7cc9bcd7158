"""Walking a composed YAML node tree while collecting errors with their lines.

`yaml.safe_load` forgets where each value was and lets a repeated key silently
overwrite the first, so the catalog is read with `yaml.compose` and checked
node by node; the helpers here are shared by every value type.
"""

import re
from collections.abc import Iterator

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from catalog.catalog_file.errors import CatalogError

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (TAG + name for name in ("str", "int", "float", "bool", "null"))
MERGE = TAG + "merge"
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


class Invalid:
    """Marks a value that failed its check (the error is already recorded)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = Invalid()


class Context:
    """The errors found so far in one file, and a constructor for its scalars."""

    def __init__(self) -> None:
        self.errors: list[CatalogError] = []
        self._constructor = SafeConstructor()

    def error(self, where: Node | int, path: str, message: str) -> None:
        line = where if isinstance(where, int) else line_of(where)
        self.errors.append(CatalogError(line, path, message))

    def scalar(self, node: ScalarNode) -> object:
        return self._constructor.construct_object(node)


class Entry(dict):
    """A checked mapping that remembers its path and the line of itself and each key."""

    def __init__(self, path: str, line: int) -> None:
        super().__init__()
        self.path = path
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def path_of(self, key: str) -> str:
        return child_path(self.path, key)


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def child_path(path: str, key: str) -> str:
    step = key if PLAIN_KEY.match(key) else f'"{key}"'
    if not path:
        return step
    return f"{path}.{step}" if PLAIN_KEY.match(key) else f"{path}[{step}]"


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return TAG_DESCRIPTIONS.get(node.tag, f"a value tagged {node.tag}")


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL


def mapping_items(node: MappingNode, path: str, ctx: Context) -> Iterator[tuple[str, Node, Node]]:
    """Yield (key, key node, value node) once per key; report repeated and non-string keys."""
    first_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        if key_node.tag == MERGE:
            ctx.error(key_node, path, "merge keys (<<) are not supported; write the keys out")
            continue
        if not (isinstance(key_node, ScalarNode) and key_node.tag == STR):
            ctx.error(key_node, path, f"keys must be strings, got {describe(key_node)}")
            continue
        key = key_node.value
        if key in first_lines:
            message = f"duplicate key '{key}' (first at line {first_lines[key]})"
            ctx.error(key_node, child_path(path, key), message)
            continue
        first_lines[key] = line_of(key_node)
        yield key, key_node, value_node


def plain(value: object) -> object:
    """Entries and Items as plain dicts and lists, for storing and comparing as JSON."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
