"""The object store of one simulated cluster: objects, resource versions and watchers.

Stored objects are never mutated in place: writers store a fresh dict, so a
reader (or a watcher's queued event) can hold one without copying it.

Two indexes keep the controllers' ticks linear in the objects that change rather
than quadratic in the objects stored (200 Deployments of 4 pods each: a tick that
scanned every pod for every ReplicaSet took 0.4 s, twenty times its 20 ms): each
table's keys in order (re-sorted only when a key comes or goes), and each table's
objects by the uid of their controlling owner (`owned_by`).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .objects import controller_uid
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
        self._sorted_keys: dict[str, list[tuple[str, str]]] = {}  # dropped when keys change
        # plural → controlling owner's uid → {key: Entry}
        self._by_owner: dict[str, dict[str, dict[tuple[str, str], Entry]]] = {}
        self._uids: dict[str, set[str]] = {}  # plural → the uids stored
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
        """The entries of `resource` (in `namespace`, or all) by namespace and name."""
        table = self._table(resource)
        for key in self._keys(resource.plural, table):
            entry = table.get(key)  # gone if removed while the caller iterates
            if entry is not None and (namespace is None or key[0] == namespace):
                yield entry

    def _keys(self, plural: str, table: dict) -> list[tuple[str, str]]:
        keys = self._sorted_keys.get(plural)
        if keys is None:
            keys = self._sorted_keys[plural] = sorted(table)
        return keys

    def owned_by(self, resource: Resource, owner_uid: str, namespace: str | None = None) -> list:
        """The objects of `resource` whose controlling owner has `owner_uid`, by key."""
        found = self._by_owner.get(resource.plural, {}).get(owner_uid, {})
        return [found[key].obj for key in sorted(found) if namespace is None or key[0] == namespace]

    def owner_uids(self, resource: Resource) -> list[str]:
        """The uids of every controlling owner that objects of `resource` name."""
        return list(self._by_owner.get(resource.plural, {}))

    def has_uid(self, resource: Resource, uid: str) -> bool:
        return uid in self._uids.get(resource.plural, ())

    def _index(
        self, resource: Resource, key: tuple[str, str], old: Entry | None, new: Entry | None
    ) -> None:
        """Keep the indexes as `key` goes from `old` to `new` (None: absent)."""
        if (old is None) != (new is None):
            self._sorted_keys.pop(resource.plural, None)  # a key came or went
        uids = self._uids.setdefault(resource.plural, set())
        if old is not None:
            uids.discard(old.obj["metadata"].get("uid"))
        if new is not None:
            uids.add(new.obj["metadata"].get("uid"))
        owners = self._by_owner.setdefault(resource.plural, {})
        if old is not None and (uid := controller_uid(old.obj)):
            owned = owners.get(uid, {})
            owned.pop(key, None)
            if not owned:
                owners.pop(uid, None)
        if new is not None and (uid := controller_uid(new.obj)):
            owners.setdefault(uid, {})[key] = new

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        return [entry.obj for entry in self.entries(resource, namespace)]

    def put(self, resource: Resource, obj: dict, event_type: str) -> dict:
        """Store obj (ADDED or MODIFIED) under a new resourceVersion and tell the watchers."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        entry = Entry(obj)
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        table = self._table(resource)
        self._index(resource, key, table.get(key), entry)
        table[key] = entry
        self._publish(WatchEvent(event_type, resource, entry, self.rv))
        return obj

    def remove(self, resource: Resource, namespace: str, name: str) -> dict | None:
        key = (namespace or "", name)
        entry = self._table(resource).pop(key, None)
        if entry is None:
            return None
        self._index(resource, key, entry, None)
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
