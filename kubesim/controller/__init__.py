"""The simulated control plane of one cluster, advanced in ticks on the event loop.

Each tick moves the cluster's clock (`now`, in cluster seconds) on by
`Timing.tick_seconds`; every duration is compared on that clock (see ../timing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback

from ..crud import Objects
from ..deletion import Deletion
from ..objects import controller_uid
from ..resources import Resource, lookup
from ..timing import Timing
from .cronjobs import CronJobController
from .deployments import DeploymentController
from .events import EventRecorder
from .jobs import JobController
from .pods import PodSimulator
from .replicasets import ReplicaSetController

OWNER_KINDS = [
    lookup("apps", "deployments"),
    lookup("apps", "replicasets"),
    lookup("batch", "jobs"),
    lookup("batch", "cronjobs"),
]
OWNED_KINDS = [lookup("apps", "replicasets"), lookup("", "pods"), lookup("batch", "jobs")]


class Controller:
    def __init__(self, objects: Objects, timing: Timing, cluster: str):
        self.objects = objects
        self.store = objects.store
        self.timing = timing
        self.cluster = cluster
        self.ticks = 0
        self.bootstrapping = False
        self.recorder = EventRecorder(objects)
        self.deletion = Deletion(objects, lambda: self.now, self.recorder)
        self.pods = PodSimulator(self)
        self.replicasets = ReplicaSetController(self)
        self.deployments = DeploymentController(self)
        self.jobs = JobController(self)
        self.cronjobs = CronJobController(self)
        self._task: asyncio.Task | None = None

    def owned(self, resource: Resource, owner: dict) -> list[dict]:
        """Objects of `resource` whose controlling owner is `owner` (live from the store)."""
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace")
        return [obj for obj in self.store.list(resource, namespace) if controller_uid(obj) == uid]

    @property
    def now(self) -> float:
        """Cluster seconds since this cluster started."""
        return self.ticks * self.timing.tick_seconds

    def tick(self) -> None:
        self.ticks += 1
        self.pods.advance_all()
        self.replicasets.sync_all()
        self.deployments.sync_all()
        self.jobs.sync_all()
        self.cronjobs.sync_all()
        self._collect_garbage()
        self.deletion.sweep()

    def settle(self, max_ticks: int = 40) -> None:
        """Bring configured workloads to a steady state before serving (pods start at once)."""
        self.bootstrapping = True
        try:
            for _ in range(max_ticks):
                self.tick()
        finally:
            self.bootstrapping = False

    def _collect_garbage(self) -> None:
        """Delete objects whose controlling owner is gone (background cascading deletion)."""
        owners = {obj["metadata"]["uid"] for kind in OWNER_KINDS for obj in self.store.list(kind)}
        for resource in OWNED_KINDS:
            for obj in self.store.list(resource):
                uid = controller_uid(obj)
                if uid and uid not in owners:
                    if resource.kind == "Pod":
                        self.pods.terminate(obj)
                    else:
                        meta = obj["metadata"]
                        self.store.remove(resource, meta["namespace"], meta["name"])

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.timing.tick_wall_seconds
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            try:
                self.tick()
            except Exception:  # a controller bug must not stop the cluster
                traceback.print_exc(file=sys.stderr)
            next_at = max(next_at, loop.time() - self.timing.tick_wall_seconds)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
