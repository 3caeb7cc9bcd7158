"""The value types a catalog schema is declared with; each checks one YAML node.

A type's `check(node, path, ctx)` returns the Python value, or INVALID after
recording why in `ctx`. Records keep going after an error so that one run
reports every problem in the file.
"""

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from catalog.catalog_file.nodes import (
    BOOL,
    FLOAT,
    INT,
    INVALID,
    NULL,
    STR,
    Context,
    Entry,
    child_path,
    describe,
    is_null,
    item_path,
    line_of,
    mapping_items,
)
from catalog.catalog_file.values import (
    build_arg_name_problem,
    duration_problem,
    freeze_time_problem,
    git_repository_problem,
    host_port_problem,
    hostname_problem,
    http_url_problem,
    image_repository_problem,
    link_problem,
    regex_problem,
    slug_problem,
    timezone_problem,
    url_path_problem,
)

NO_DEFAULT = object()

# What is wrong with a text, or None when it is fine.
TextProblem = Callable[[str], str | None]
# A rule over a whole record, run after its keys were checked: (entry, node, ctx).
RecordRule = Callable[[Entry, MappingNode, Context], None]


def no_problem(text: str) -> str | None:
    return None


class Type(ABC):
    description = "a value"

    @abstractmethod
    def check(self, node: Node, path: str, ctx: Context) -> Any:
        """The value of `node` converted, or INVALID after reporting what is wrong."""

    def wrong_type(self, node: Node, path: str, ctx: Context) -> Any:
        ctx.error(node, path, f"expected {self.description}, got {describe(node)}")
        return INVALID


@dataclass(frozen=True)
class Text(Type):
    """A string. With `any_scalar`, the text as written whatever YAML guessed it was,
    so `5` or `2026-12-24T18:00:00` reach `problem` as text (durations, times)."""

    description: str = "a string"
    problem: TextProblem = no_problem
    any_scalar: bool = False
    max_length: int = 500

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, ScalarNode) or node.tag == NULL:
            return self.wrong_type(node, path, ctx)
        if node.tag != STR and not self.any_scalar:
            return self.wrong_type(node, path, ctx)
        text = node.value
        problem = self.text_problem(text)
        if problem:
            ctx.error(node, path, problem)
            return INVALID
        return text

    def text_problem(self, text: str) -> str | None:
        if not text.strip():
            return "must not be empty"
        if len(text) > self.max_length:
            return f"is longer than {self.max_length} characters"
        return self.problem(text)


@dataclass(frozen=True)
class Choice(Type):
    values: Sequence[str]
    what: str

    @property
    def description(self) -> str:
        return f"a {self.what}"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, ScalarNode) or node.tag != STR:
            return self.wrong_type(node, path, ctx)
        if node.value not in self.values:
            expected = ", ".join(self.values)
            message = f"unknown {self.what} '{node.value}' (expected one of: {expected})"
            ctx.error(node, path, message)
            return INVALID
        return node.value


@dataclass(frozen=True)
class Integer(Type):
    minimum: int | None = None
    maximum: int | None = None
    description: str = "an integer"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            return self.wrong_type(node, path, ctx)
        value = ctx.scalar(node)
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and value > self.maximum
        if too_low or too_high:
            ctx.error(node, path, f"{value} is out of range ({self.range_text()})")
            return INVALID
        return value

    def range_text(self) -> str:
        if self.maximum is None:
            return f"at least {self.minimum}"
        if self.minimum is None:
            return f"at most {self.maximum}"
        return f"{self.minimum} to {self.maximum}"


@dataclass(frozen=True)
class Scalar(Type):
    """A scalar of one of the given YAML tags, as YAML constructs it (booleans, numbers)."""

    tags: frozenset[str]
    description: str

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, ScalarNode) or node.tag not in self.tags:
            return self.wrong_type(node, path, ctx)
        return ctx.scalar(node)


BOOLEAN = Scalar(frozenset({BOOL}), "a boolean (true or false)")
NUMBER = Scalar(frozenset({INT, FLOAT}), "a number")


@dataclass(frozen=True)
class ListOf(Type):
    item: Type
    min_items: int = 0
    description: str = "a list"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, SequenceNode):
            return self.wrong_type(node, path, ctx)
        if len(node.value) < self.min_items:
            ctx.error(node, path, f"needs at least {self.min_items} item(s)")
        items = [
            self.item.check(item_node, item_path(path, index), ctx)
            for index, item_node in enumerate(node.value)
        ]
        return [item for item in items if item is not INVALID]


@dataclass(frozen=True)
class MapOf(Type):
    """A mapping whose keys are chosen by the author (URL names, host names)."""

    key: Text
    value: Type
    description: str = "a mapping"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, MappingNode):
            return self.wrong_type(node, path, ctx)
        entry = Entry(path, line_of(node))
        for key, key_node, value_node in mapping_items(node, path, ctx):
            problem = self.key.text_problem(key)
            if problem:
                ctx.error(key_node, child_path(path, key), f"key {problem}")
                continue
            entry.key_lines[key] = line_of(key_node)
            value = self.value.check(value_node, child_path(path, key), ctx)
            if value is not INVALID:
                entry[key] = value
        return entry


class AnyMapping(Type):
    """A mapping checked later by a record rule (check params depend on the check kind)."""

    description = "a mapping"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        return node if isinstance(node, MappingNode) else self.wrong_type(node, path, ctx)


@dataclass(frozen=True)
class Field:
    type: Type
    required: bool = False
    default: Any = NO_DEFAULT


@dataclass(frozen=True)
class Record(Type):
    """A mapping with a fixed set of keys; optional keys may be null (= absent)."""

    fields: dict[str, Field]
    rules: tuple[RecordRule, ...] = field(default=())
    description: str = "a mapping"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if not isinstance(node, MappingNode):
            return self.wrong_type(node, path, ctx)
        entry = Entry(path, line_of(node))
        for key, key_node, value_node in mapping_items(node, path, ctx):
            self.check_key(entry, key, key_node, value_node, ctx)
        self.fill_absent(entry, node, ctx)
        for rule in self.rules:
            rule(entry, node, ctx)
        return entry

    def check_key(self, entry: Entry, key: str, key_node: Node, value_node: Node, ctx: Context):
        spec = self.fields.get(key)
        if spec is None:
            expected = ", ".join(self.fields) or "no keys"
            message = f"unknown key '{key}' (expected one of: {expected})"
            ctx.error(key_node, entry.path_of(key), message)
            return
        if is_null(value_node) and not spec.required:
            return
        entry.key_lines[key] = line_of(key_node)
        value = spec.type.check(value_node, entry.path_of(key), ctx)
        if value is not INVALID:
            entry[key] = value

    def fill_absent(self, entry: Entry, node: MappingNode, ctx: Context) -> None:
        for key, spec in self.fields.items():
            if key in entry.key_lines:
                continue
            if spec.required:
                ctx.error(node, entry.path, f"missing required key '{key}'")
            elif spec.default is not NO_DEFAULT:
                entry[key] = copy.deepcopy(spec.default)


# The text types shared by the sections and the check kinds.
NAME = Text("a name", slug_problem, max_length=63)
STRING = Text("a string")
STRING_300 = Text("a string", max_length=300)  # the model's CharField(max_length=300)
STRING_200 = Text("a string", max_length=200)
DURATION = Text("a duration", duration_problem, any_scalar=True)
REGEX = Text("a regular expression", regex_problem)
URL_PATH = Text("a path", url_path_problem, max_length=200)
HTTP_URL = Text("a URL", http_url_problem)
HOSTNAME = Text("a host name", hostname_problem)
HOST_PORT = Text("host:port", host_port_problem)
TIMEZONE = Text("a time zone", timezone_problem)
FREEZE_TIME = Text("a freeze window time", freeze_time_problem, any_scalar=True)
LINK = Text("a link", link_problem, max_length=500)
GIT_REPOSITORY = Text("a git repository", git_repository_problem, max_length=300)
IMAGE_REPOSITORY = Text("an image repository", image_repository_problem, max_length=300)
BUILD_ARG_NAME = Text("a build argument name", build_arg_name_problem, max_length=100)
# A build argument's value: text as written (`3`, `true` and dates stay strings).
BUILD_ARG_VALUE = Text("a build argument value", any_scalar=True, max_length=1000)
