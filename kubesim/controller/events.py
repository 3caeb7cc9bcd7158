"""Events for what the simulated controllers do, aggregated like the real recorder."""

from __future__ import annotations

import copy
from collections import OrderedDict

from ..crud import Objects
from ..objects import timestamp
from ..resources import lookup

EVENTS = lookup("", "events")


class EventRecorder:
    def __init__(self, objects: Objects, limit: int = 3000):
        self.objects = objects
        self.limit = limit
        self._names: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
        self._counter = 0

    def record(
        self,
        involved: dict,
        kind: str,
        reason: str,
        message: str,
        component: str,
        field_path: str = "",
    ) -> None:
        """Write an Event about `involved`; a repeat of the same one bumps its count."""
        metadata = involved["metadata"]
        key = (metadata.get("uid"), kind, reason, message)
        store = self.objects.store
        if key in self._names:
            namespace, name = self._names[key]
            existing = store.get(EVENTS, namespace, name)
            if existing is not None:
                event = copy.deepcopy(existing)
                event["count"] = event.get("count", 1) + 1
                event["lastTimestamp"] = timestamp()
                self.objects.write(EVENTS, event)
                self._names.move_to_end(key)
                return
        self._counter += 1
        namespace = metadata.get("namespace") or "default"
        name = f"{metadata['name']}.{self._counter:016x}"
        involved_object = {
            "kind": involved["kind"],
            "namespace": metadata.get("namespace", ""),
            "name": metadata["name"],
            "uid": metadata.get("uid", ""),
            "apiVersion": involved["apiVersion"],
            "resourceVersion": metadata.get("resourceVersion", ""),
        }
        if field_path:
            involved_object["fieldPath"] = field_path
        now = timestamp()
        event = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved_object,
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        self.objects.create(EVENTS, event, namespace, keep_status=True)
        self._names[key] = (namespace, name)
        self._trim()

    def _trim(self) -> None:
        while len(self._names) > self.limit:
            _, (namespace, name) = self._names.popitem(last=False)
            self.objects.store.remove(EVENTS, namespace, name)
