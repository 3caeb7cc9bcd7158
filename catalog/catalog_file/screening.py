"""Refusing what is not a catalog before its node tree is built.

A catalog is a few hundred lines of plain text. A binary or damaged file, a
control character (PostgreSQL refuses NUL; a terminal obeys ESC), a document
nested thousands deep (PyYAML composes recursively) or aliases that expand
into millions of values ("billion laughs") is refused here, with its line,
while the composer is still reading: the limits are checked on each event as
the composer takes it, so the refused part of the tree is never built.
"""

import re
from dataclasses import dataclass

import yaml
from django.conf import settings
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    NodeEvent,
    ScalarEvent,
)
from yaml.nodes import Node

from catalog.catalog_file.errors import CatalogError, Context

# The example catalog is 7 levels deep and has about 500 values; a hundred
# services and their environments come to about 10,000.
MAX_DEPTH = 32
MAX_NODES = 50_000
NOT_A_CATALOG = "is this the catalog?"

# Tab, line feed and carriage return may be written; in a value (after YAML's
# escapes and line folding) only tab and line feed may remain. U+FFFE and U+FFFF
# are not characters at all (PyYAML refuses them without a line).
WRITTEN_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
VALUE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
CONTROL_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}
MAX_REPORTED_LINES = 10


class Refused(Exception):
    """The document passed a limit; reading stops at `line`."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def too_large(limit: int) -> CatalogError:
    return CatalogError(
        0,
        "",
        f"the file is larger than the limit of {limit:,} bytes (PORTAL_CATALOG_MAX_BYTES); "
        "check that it is the catalog, or raise the limit",
    )


def screen_text(text: str, ctx: Context) -> None:
    """Record the size over the limit, or each line with a control character written in it."""
    limit = settings.PORTAL_CATALOG_MAX_BYTES
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        ctx.errors.append(too_large(limit))
        return
    line, counted_to, reported = 1, 0, 0
    for match in WRITTEN_CONTROL.finditer(text):
        # Counted on from the previous match: a binary file has a match on every line.
        before = line
        line += text.count("\n", counted_to, match.start())
        counted_to = match.start()
        if reported and line == before:
            continue
        if reported == MAX_REPORTED_LINES:
            ctx.error(line, "", f"and more lines with control characters; {NOT_A_CATALOG}")
            return
        reported += 1
        column = match.start() - text.rfind("\n", 0, match.start())
        message = (
            f"column {column}: {describe_character(match[0])} is not allowed in a catalog; "
            "remove it (is this a binary or damaged file?)"
        )
        ctx.error(line, "", message)


def compose_screened(text: str, ctx: Context) -> Node | None:
    """yaml.compose with the limits checked as it goes; raise Refused at the first one passed.

    A control character in a value (written as an escape) is recorded in ctx and
    composing goes on, so that every such line is reported at once.
    """
    loader = ScreenedLoader(text, EventScreen(ctx))
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class ScreenedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer shows every event to a screen before using it."""

    def __init__(self, text: str, screen: "EventScreen") -> None:
        super().__init__(text)
        self.screen = screen

    def get_event(self) -> Event:
        event = super().get_event()
        self.screen.see(event)
        return event


@dataclass
class OpenCollection:
    anchor: str | None
    nodes: int = 1  # itself and everything inside, aliases expanded
    height: int = 1  # collection levels, itself included


class EventScreen:
    """Counts values and depth as a checker walking the tree would meet them.

    An alias counts as the whole value it names, at the depth it is used, since
    the schema check walks it again there; an alias inside the collection it
    names would make that walk endless.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.open: list[OpenCollection] = []
        self.anchored: dict[str, tuple[int, int]] = {}  # anchor: (nodes, height)
        self.nodes = 0

    def see(self, event: Event) -> None:
        if isinstance(event, AliasEvent):
            self.see_alias(event)
        elif isinstance(event, ScalarEvent):
            self.check_characters(event, event.value, event.tag)
            self.count(1, event)
            self.close(event.anchor, 1, 0)
        elif isinstance(event, CollectionStartEvent):
            if len(self.open) == MAX_DEPTH:
                raise Refused(line_of(event), too_deep())
            self.check_characters(event, event.tag)
            self.count(1, event)
            self.open.append(OpenCollection(event.anchor))
        elif isinstance(event, CollectionEndEvent):
            done = self.open.pop()
            self.close(done.anchor, done.nodes, done.height)

    def see_alias(self, event: AliasEvent) -> None:
        if any(collection.anchor == event.anchor for collection in self.open):
            message = f"the alias *{event.anchor} is inside the value it names; "
            raise Refused(line_of(event), message + "a catalog cannot be recursive")
        # An unknown alias counts as one value; the composer then reports it.
        nodes, height = self.anchored.get(event.anchor, (1, 0))
        if len(self.open) + height > MAX_DEPTH:
            raise Refused(line_of(event), too_deep())
        self.count(nodes, event)
        self.close(None, nodes, height)

    def count(self, nodes: int, event: Event) -> None:
        self.nodes += nodes
        if self.nodes <= MAX_NODES:
            return
        if isinstance(event, AliasEvent):
            message = (
                f"the alias *{event.anchor} makes the file expand to more than {MAX_NODES:,} "
                "values; write the values out instead of nesting aliases"
            )
        else:
            message = (
                f"more than {MAX_NODES:,} values (a catalog of a hundred services has about "
                f"10,000); {NOT_A_CATALOG}"
            )
        raise Refused(line_of(event), message)

    def close(self, anchor: str | None, nodes: int, height: int) -> None:
        """A value is complete: add it to the collection it is in, and remember its anchor."""
        if anchor is not None:
            self.anchored[anchor] = (nodes, height)
        if self.open:
            parent = self.open[-1]
            parent.nodes += nodes
            parent.height = max(parent.height, height + 1)

    def check_characters(self, event: NodeEvent, *texts: str | None) -> None:
        """Record a control character in a value or tag (raw ones were refused already)."""
        for text in texts:
            match = VALUE_CONTROL.search(text) if text else None
            if match:
                message = (
                    f"a value contains {describe_character(match[0])} (written as an escape); "
                    "remove it"
                )
                self.ctx.error(line_of(event), "", message)
                return


def too_deep() -> str:
    return (
        f"nested more than {MAX_DEPTH} levels deep (the example catalog needs 7); {NOT_A_CATALOG}"
    )


def describe_character(character: str) -> str:
    code = f"U+{ord(character):04X}"
    if character in "\ufffe\uffff":
        return f"the non-character {code}"
    name = CONTROL_NAMES.get(character)
    return f"the control character {code} ({name})" if name else f"the control character {code}"


def line_of(event: Event) -> int:
    return event.start_mark.line + 1
