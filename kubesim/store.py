"""The object store of one simulated cluster: objects, resource versions and watchers.

Stored objects are never mutated in place: writers store a fresh dict, so a
reader (or a watcher's queued event) can hold one without copying it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .resources import Resource


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass
class Entry:
    obj: dict
    _json: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = dumps(self.obj)
        return self._json


@dataclass
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    resource: Resource
    entry: Entry
    rv: int
    _line: bytes | None = field(default=None, repr=False)

    @property
    def obj(self) -> dict:
        return self.entry.obj

    @property
    def line(self) -> bytes:
        """The newline-terminated JSON event, built once and shared by every watcher."""
        if self._line is None:
            self._line = b'{"type":"%s","object":%s}\n' % (self.type.encode(), self.entry.json)
        return self._line


@dataclass(eq=False)
class Watcher:
    resource: Resource
    namespace: str | None
    matches: Callable[[dict], bool]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def wants(self, event: WatchEvent) -> bool:
        if event.resource is not self.resource:
            return False
        if self.namespace and event.obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.matches(event.obj)


class TooOld(Exception):
    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")


class Store:
    def __init__(self, history_size: int = 10000):
        self.rv = 0
        self.compacted_rv = 0
        self._objects: dict[str, dict[tuple[str, str], Entry]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=history_size)
        self._watchers: set[Watcher] = set()
        self.listeners: list[Callable[[WatchEvent], None]] = []

    def _table(self, resource: Resource) -> dict[tuple[str, str], Entry]:
        return self._objects.setdefault(resource.plural, {})

    def get(self, resource: Resource, namespace: str, name: str) -> dict | None:
        entry = self._table(resource).get((namespace or "", name))
        return entry.obj if entry else None

    def get_entry(self, resource: Resource, namespace: str, name: str) -> Entry | None:
        return self._table(resource).get((namespace or "", name))

    def entries(self, resource: Resource, namespace: str | None = None) -> Iterator[Entry]:
        for (ns, _), entry in sorted(self._table(resource).items()):
            if namespace is None or ns == namespace:
                yield entry

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        return [entry.obj for entry in self.entries(resource, namespace)]

    def put(self, resource: Resource, obj: dict, event_type: str) -> dict:
        """Store obj (ADDED or MODIFIED) under a new resourceVersion and tell the watchers."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        entry = Entry(obj)
        metadata = obj["metadata"]
        self._table(resource)[(metadata.get("namespace", ""), metadata["name"])] = entry
        self._publish(WatchEvent(event_type, resource, entry, self.rv))
        return obj

    def remove(self, resource: Resource, namespace: str, name: str) -> dict | None:
        entry = self._table(resource).pop((namespace or "", name), None)
        if entry is None:
            return None
        self.rv += 1
        # A DELETED event carries the last state with a fresh resourceVersion, as on a cluster.
        obj = dict(entry.obj, metadata=dict(entry.obj["metadata"], resourceVersion=str(self.rv)))
        self._publish(WatchEvent("DELETED", resource, Entry(obj), self.rv))
        return obj

    def _publish(self, event: WatchEvent) -> None:
        if len(self._history) == self._history.maxlen:
            self.compacted_rv = self._history[0].rv
        self._history.append(event)
        for watcher in self._watchers:
            if watcher.wants(event):
                watcher.queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)

    def compact(self) -> None:
        """Forget history so far: watches from an older resourceVersion get 410 Expired."""
        self._history.clear()
        self.compacted_rv = self.rv

    def watch(self, watcher: Watcher, since: int | None) -> None:
        """Register watcher; replay what it missed after `since`, or everything when None."""
        if since is None:
            for entry in self.entries(watcher.resource, watcher.namespace):
                if watcher.matches(entry.obj):
                    rv = int(entry.obj["metadata"]["resourceVersion"])
                    watcher.queue.put_nowait(WatchEvent("ADDED", watcher.resource, entry, rv))
        else:
            if since < self.compacted_rv:
                raise TooOld(since, self.compacted_rv + 1)
            for event in self._history:
                if event.rv > since and watcher.wants(event):
                    watcher.queue.put_nowait(event)
        self._watchers.add(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
