"""One simulated cluster: store, controllers, API server and front door."""

from __future__ import annotations

import copy
import datetime as dt
import ssl

from .api import KubeApi, error_body
from .config import ClusterSpec, resolve_relative_time
from .controller import Controller
from .controller.cronjobs import time_zone
from .cron import ScheduleError, parse_schedule
from .crud import Objects
from .frontdoor import FrontDoor
from .httpserver import HttpServer
from .logs import PodLogs
from .objects import now, timestamp
from .resources import lookup, resource_for_object
from .store import Store
from .timing import Timing

NAMESPACES = lookup("", "namespaces")
CRONJOBS = lookup("batch", "cronjobs")
SERVICES = lookup("", "services")
# The API server's own Service, as every cluster has it in `default`.
KUBERNETES_SERVICE = {
    "metadata": {
        "name": "kubernetes",
        "labels": {"component": "apiserver", "provider": "kubernetes"},
    },
    "spec": {
        "clusterIP": "10.96.0.1",
        "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
    },
}


class Cluster:
    def __init__(self, spec: ClusterSpec, timing: Timing):
        self.spec = spec
        self.name = spec.name
        self.store = Store()
        self.objects = Objects(self.store)
        self.controller = Controller(self.objects, timing, spec.name)
        self.logs = PodLogs(self.store, self.controller.pods.read_log)
        self.api = KubeApi(
            self.store, self.objects, self.logs.respond, self.controller.deletion.delete
        )
        self.front_door = FrontDoor(self.controller, self.logs, spec.front_door.hosts, spec.name)
        self.api_server = HttpServer(self.api.handle, error_body)
        self.door_server = HttpServer(self.front_door.handle, error_body)
        self.api_port = 0
        self.front_door_port = 0

    def load(self) -> None:
        """Create the configured namespaces and objects, then let the controllers settle."""
        for namespace in ["default", self.spec.namespace, *self.spec.namespaces]:
            if not self.store.get(NAMESPACES, "", namespace):
                self.objects.create(NAMESPACES, {"metadata": {"name": namespace}})
        self.objects.create(SERVICES, KUBERNETES_SERVICE, "default")
        for manifest in self.spec.objects:
            self._load_object(copy.deepcopy(manifest))
        self.controller.settle()
        # Watches must start from a version seen after start-up; older ones get 410 Expired.
        self.store.compact()

    def _load_object(self, manifest: dict) -> None:
        resource = resource_for_object(manifest)
        if resource is None:
            raise ValueError(f"cluster {self.name}: unsupported kind {manifest.get('kind')!r}")
        status = manifest.pop("status", None)
        namespace = manifest.get("metadata", {}).get("namespace") or self.spec.namespace
        if resource.namespaced and not self.store.get(NAMESPACES, "", namespace):
            self.objects.create(NAMESPACES, {"metadata": {"name": namespace}})
        created = self.objects.create(resource, manifest, namespace if resource.namespaced else "")
        if status and resource is CRONJOBS:
            resolved = {key: _initial_time(value, created["spec"]) for key, value in status.items()}
            self.objects.write(resource, dict(created, status=resolved))

    async def start(self, host: str, ssl_context: ssl.SSLContext | None) -> None:
        self.api_port = await self.api_server.start(host, self.spec.api_port)
        self.front_door_port = await self.door_server.start(
            host, self.spec.front_door.port, ssl_context
        )
        self.controller.start()

    async def stop(self) -> None:
        await self.controller.stop()
        await self.api_server.close()
        await self.door_server.close()


def _initial_time(value, spec: dict):
    """A CronJob's initial status time: `last` is the schedule's latest time at or before
    start-up (the CronJob ran as scheduled: nothing is missed at start, whatever the time
    of day); anything else as `resolve_relative_time` reads it (`-3h`, `now`, a time)."""
    if value != "last":
        return resolve_relative_time(value)
    try:
        schedule = parse_schedule(spec.get("schedule", ""), time_zone(spec) or dt.UTC)
    except ScheduleError:
        return None  # the CronJob reports its bad schedule itself
    moment = schedule.last_at_or_before(now())
    return timestamp(moment) if moment else None
