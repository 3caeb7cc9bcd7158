"""The simulated control plane of one cluster, advanced in ticks on the event loop.

Each tick moves the cluster's clock (`now`, in cluster seconds) on by
`Timing.tick_seconds`, or by the time that passed when it comes late
(`Timing.tick_covering`); every duration is compared on that clock (see ../timing.py).

As a cluster's controllers work from watch events, the ReplicaSet and Deployment
controllers sync what changed since the last tick (`Changes`: the object itself, or
what it owns); a Deployment whose rollout has not finished is synced every tick too,
for its progress deadline is a matter of time. Pods are the kubelet's: each tick
looks at every pod whose state can still change with time.
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
from ..store import WatchEvent
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
DEPLOYMENTS, REPLICASETS, PODS = lookup("apps", "deployments"), OWNED_KINDS[0], OWNED_KINDS[1]


class Changes:
    """The uids of the Deployments and ReplicaSets to sync: written since they were last
    synced, or owning something that was (a pod created, Ready, terminating, gone)."""

    def __init__(self) -> None:
        self.deployments: set[str] = set()
        self.replicasets: set[str] = set()

    def seen(self, event: WatchEvent) -> None:
        obj = event.obj
        if event.resource is DEPLOYMENTS:
            self.deployments.add(obj["metadata"]["uid"])
        elif event.resource is REPLICASETS:
            self.replicasets.add(obj["metadata"]["uid"])
            if owner := controller_uid(obj):
                self.deployments.add(owner)
        elif event.resource is PODS and (owner := controller_uid(obj)):
            self.replicasets.add(owner)

    @staticmethod
    def take(uids: set[str]) -> set[str]:
        """The uids marked so far; the set is emptied for what the sync itself writes."""
        taken = set(uids)
        uids.clear()
        return taken


class Controller:
    def __init__(self, objects: Objects, timing: Timing, cluster: str):
        self.objects = objects
        self.store = objects.store
        self.timing = timing
        self.cluster = cluster
        self.ticks = 0
        self.clock_seconds = 0.0
        self.bootstrapping = False
        self.changes = Changes()
        self.store.listeners.append(self.changes.seen)
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
        metadata = owner["metadata"]
        return self.store.owned_by(resource, metadata["uid"], metadata.get("namespace"))

    @property
    def now(self) -> float:
        """Cluster seconds since this cluster started."""
        return self.clock_seconds

    def tick(self, seconds: float | None = None) -> None:
        """Move the clock on by `seconds` of cluster time (one nominal tick when None),
        then let every controller act on what that time brought."""
        self.ticks += 1
        self.clock_seconds += self.timing.tick_seconds if seconds is None else seconds
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
        for resource in OWNED_KINDS:
            for uid in self.store.owner_uids(resource):
                if any(self.store.has_uid(kind, uid) for kind in OWNER_KINDS):
                    continue
                for obj in self.store.owned_by(resource, uid):
                    if resource.kind == "Pod":
                        self.pods.terminate(obj)
                    else:
                        meta = obj["metadata"]
                        self.store.remove(resource, meta["namespace"], meta["name"])

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = last = loop.time()
        while True:
            next_at += self.timing.tick_wall_seconds
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            moment = loop.time()
            covered, last = self.timing.tick_covering(moment - last), moment
            try:
                self.tick(covered)
            except Exception:  # a controller bug must not stop the cluster
                traceback.print_exc(file=sys.stderr)
            next_at = max(next_at, loop.time() - self.timing.tick_wall_seconds)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
