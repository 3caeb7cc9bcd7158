"""The pydantic building blocks of the catalog schema: value types and the Record base.

A value type (`Name`, `Duration`, ...) is an Annotated str, int or bool whose
validator takes a value of the plain tree (tree.py) and says in the catalog's
words what is wrong; each gives its JSON Schema for editors. A Record is a model
with a fixed set of keys: a null optional key counts as absent, an unknown key is
reported with the keys expected, and `rules` check the record as a whole.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError, core_schema

from catalog.catalog_file import values
from catalog.catalog_file.tree import BOOL, FLOAT, INT, Loc, Mapping, Scalar, describe

SINK = "problems"  # the validation context's list of Problems (the rules' findings)


@dataclass(frozen=True)
class Problem:
    """An error about a location, on the line of its value, or of its key (`at_key`), or of
    the key `line_key` inside it."""

    loc: Loc
    message: str
    at_key: bool = False
    line_key: str | None = None
    bad_value: bool = True  # False: about the record as a whole (a missing key, a rule)


def invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("catalog", "{message}", {"message": message})


class ValueType:
    """An Annotated marker: validates with `validate`, describes itself with `json_schema`."""

    description: str

    def wrong_type(self, value: Any) -> PydanticCustomError:
        return invalid(f"expected {self.description}, got {describe(value)}")

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict:
        return self.json_schema()


@dataclass(frozen=True)
class Text(ValueType):
    """A string. With `any_scalar`, the text as written whatever YAML guessed it was,
    so `5` or `2026-12-24T18:00:00` reach `problem` as text (durations, times)."""

    description: str = "a string"
    problem: Callable[[str], object] = lambda text: None  # a message, or a parser's ValueError
    any_scalar: bool = False
    max_length: int = 500
    regex: str | None = None  # the whole text matches it, or `mismatch` is the message
    mismatch: str = ""  # formatted with the text
    hint: dict = field(default_factory=dict)  # more JSON Schema for editors (not checked)

    def validate(self, value: Any) -> str:
        if isinstance(value, Scalar) and self.any_scalar:
            value = value.text
        if not isinstance(value, str):
            raise self.wrong_type(value)
        if not value.strip():
            raise invalid("must not be empty")
        if len(value) > self.max_length:
            raise invalid(f"is longer than {self.max_length} characters")
        if self.regex and not re.fullmatch(self.regex, value):
            raise invalid(self.mismatch.format(text=value))
        try:
            problem = self.problem(value)
        except ValueError as error:
            problem = str(error)
        if isinstance(problem, str):
            raise invalid(problem)
        return value

    def json_schema(self) -> dict:
        kinds = ["string", "number", "boolean"] if self.any_scalar else "string"
        schema = {"type": kinds, "description": self.description, "minLength": 1}
        schema |= {"maxLength": self.max_length} | self.hint
        return schema | ({"pattern": f"^(?:{self.regex})$"} if self.regex else {})


@dataclass(frozen=True)
class Choice(ValueType):
    choices: Sequence[str]
    what: str

    @property
    def description(self) -> str:
        return f"a {self.what}"

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        if value not in self.choices:
            expected = ", ".join(self.choices)
            raise invalid(f"unknown {self.what} '{value}' (expected one of: {expected})")
        return str(value)

    def json_schema(self) -> dict:
        return {"enum": [str(choice) for choice in self.choices], "description": self.description}


@dataclass(frozen=True)
class YamlScalar(ValueType):
    """A scalar of one of the given YAML tags as YAML reads it (booleans, numbers), and for
    a number, within its range."""

    tags: frozenset[str]
    description: str
    schema: dict
    minimum: int | None = None
    maximum: int | None = None

    def validate(self, value: Any) -> Any:
        if not (isinstance(value, Scalar) and value.tag in self.tags):
            raise self.wrong_type(value)
        low, high = self.minimum, self.maximum
        if (low is not None and value.value < low) or (high is not None and value.value > high):
            limits = f"at least {low}" if high is None else f"at most {high}"
            limits = f"{low} to {high}" if None not in (low, high) else limits
            raise invalid(f"{value.value} is out of range ({limits})")
        return value.value

    def json_schema(self) -> dict:
        return self.schema


def text(description: str, problem=None, max_length: int = 500, **options) -> Any:
    return Annotated[
        str, Text(description, problem or (lambda _: None), max_length=max_length, **options)
    ]


BOOLEAN = {"type": "boolean"}
DURATION_HINT = {"pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"}
SLUG = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NOT_A_SLUG = (
    "invalid name {text!r} (a slug: lowercase letters, digits and inner hyphens, "
    "at most 63 characters)"
)
IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*"
Boolean = Annotated[bool, YamlScalar(frozenset({BOOL}), "a boolean (true or false)", BOOLEAN)]
Number = Annotated[float, YamlScalar(frozenset({INT, FLOAT}), "a number", {"type": "number"})]
Name = text("a name", max_length=63, regex=SLUG, mismatch=NOT_A_SLUG)
String = text("a string")
String200 = text("a string", max_length=200)
String300 = text("a string", max_length=300)  # the model's CharField(max_length=300)
Duration = text("a duration", values.parse_duration, any_scalar=True, hint=DURATION_HINT)
Regex = text("a regular expression", values.regex_problem)
UrlPath = text("a path", values.url_path_problem, 200, hint={"pattern": "^/"})
HttpUrl = text("a URL", values.http_url_problem, hint={"pattern": "^https?://"})
Link = text("a link", values.link_problem, hint={"pattern": "^https?://"})
HostName = text("a host name", values.hostname_problem)
HostPort = text("host:port", values.host_port_problem)
TimeZone = text("a time zone", values.timezone_problem)
FreezeTime = text("a freeze window time", values.parse_freeze_time, any_scalar=True)
GitRepository = text("a git repository", values.git_repository_problem, 300)
ImageRepository = text("an image repository", values.image_repository_problem, 300)
BuildArgName = text(
    "a build argument name",
    max_length=100,
    regex=IDENTIFIER,
    mismatch="invalid build argument name {text!r} (letters, digits and _, not a digit first)",
)
# A build argument's value: text as written (`3`, `true` and dates stay strings).
BuildArgValue = text("a build argument value", max_length=1000, any_scalar=True)
UrlName = text("a URL name", max_length=63, regex=SLUG, mismatch=NOT_A_SLUG)
LabelName = text(
    "a Prometheus label name",
    max_length=100,
    regex=IDENTIFIER,
    mismatch="bad label name '{text}' (letters, digits and _, not starting with a digit)",
)


def choice(choices: Sequence[str], what: str) -> Any:
    return Annotated[str, Choice(tuple(choices), what)]


def integer(minimum: int | None = None, maximum: int | None = None) -> Any:
    bounds = {"minimum": minimum, "maximum": maximum}
    schema = {"type": "integer"} | {key: end for key, end in bounds.items() if end is not None}
    return Annotated[int, YamlScalar(frozenset({INT}), "an integer", schema, minimum, maximum)]


def list_of(item: Any, min_items: int = 0) -> Any:
    return Annotated[list[item], Field(min_length=min_items)] if min_items else list[item]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    @model_validator(mode="wrap")
    @classmethod
    def _catalog_record(cls, data: Any, handler: Any, info: Any) -> Any:
        """Null optional keys are absent and unknown keys are reported (then left out), so
        that the rest of the record is still checked; the rules run on a valid record."""
        sink = (info.context or {}).get(SINK)
        if not (isinstance(data, Mapping) and sink is not None):
            return handler(data)
        keys = {field.alias or name: field for name, field in cls.model_fields.items()}
        written = Mapping(data.loc)
        for key, value in data.items():
            if key not in keys:
                expected = ", ".join(keys) or "no keys"
                message = f"unknown key '{key}' (expected one of: {expected})"
                sink.append(Problem((*data.loc, key), message, at_key=True))
            elif value is not None or keys[key].is_required():
                written[key] = value
        record = handler(written)
        record.rules(Rules(written, info.context))
        return record

    def rules(self, rules: "Rules") -> None:
        """Checks across the record's keys (a subclass's); report with `rules.report`."""


@dataclass(frozen=True)
class Rules:
    """What a record's rules see: the keys written (not the defaults) and where to report."""

    written: Mapping
    context: dict

    def report(self, message: str, key: str | None = None, line_key: str | None = None) -> None:
        """Report about the record (on the line of `line_key` if given) or one of its keys."""
        loc = (*self.written.loc, key) if key else self.written.loc
        self.context[SINK].append(Problem(loc, message, key is not None, line_key, False))


def problem_of(error: Any, prefix: Loc = ()) -> Problem:
    """A pydantic error (`errors()` item) in the catalog's words, at its location."""
    loc, kind, context = (*prefix, *error["loc"]), error["type"], error.get("ctx") or {}
    if loc and loc[-1] == "[key]":
        return Problem(loc[:-1], f"key {context.get('message', error['msg'])}", at_key=True)
    if kind == "missing":
        return Problem(loc[:-1], f"missing required key '{loc[-1]}'", bad_value=False)
    if kind == "extra_forbidden":
        return Problem(loc, f"unknown key '{loc[-1]}'", at_key=True)
    if kind == "list_type":
        return Problem(loc, f"expected a list, got {describe(error['input'])}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(loc, f"expected a mapping, got {describe(error['input'])}")
    if kind == "too_short":
        return Problem(loc, f"needs at least {context['min_length']} item(s)")
    return Problem(loc, context.get("message", error["msg"]))
