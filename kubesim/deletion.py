"""Deleting as a cluster deletes: graceful pods, draining namespaces, propagation policies.

- A pod is marked Terminating (`deletionTimestamp` = now + grace,
  `deletionGracePeriodSeconds`, containers no longer ready) and removed when its
  grace period has passed: `gracePeriodSeconds` from DeleteOptions, else its
  `terminationGracePeriodSeconds` (default 30), divided by the speed in wall time
  like every cluster duration. Grace 0, a pod never scheduled, or one whose
  phase is Succeeded/Failed goes at once. DELETE answers with the pod (the pod
  registry returns the deleted object), Terminating or gone.
- A namespace turns Terminating (`status.phase`), its contents are deleted (pods
  gracefully) and it goes when it is empty; DELETE answers with the namespace.
  Nothing new may be created in it (403, like the NamespaceLifecycle admission).
- Other objects, by `propagationPolicy`: Background (the default, except for
  batch/v1 Jobs, which the API server orphans by default) deletes the owner at
  once, answers a `Success` Status, and the garbage collector deletes the
  dependents; Foreground keeps the owner with `deletionTimestamp` and the
  `foregroundDeletion` finalizer until its dependents are gone, deleting them
  (their own dependents first); Orphan strips the owner from its dependents'
  `ownerReferences` (the `orphan` finalizer is finished at once). Both answer with
  the object as marked.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from . import errors
from .crud import Objects, success_status
from .errors import ApiError, bad_request
from .objects import now, timestamp
from .resources import BY_KIND, Resource, lookup

PODS = lookup("", "pods")
NAMESPACES = lookup("", "namespaces")
EVENTS = lookup("", "events")
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
POLICIES = ("Background", "Foreground", "Orphan")
DEFAULT_GRACE_SECONDS = 30
ORPHAN_BY_DEFAULT = {"Job"}  # batch/v1 Job: DefaultGarbageCollectionPolicy is OrphanDependents
OWNER_KINDS = ("Deployment", "ReplicaSet", "Job", "CronJob")
FINISHED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str = ""  # "" means the resource's default
    grace_seconds: int | None = None
    preconditions: tuple[tuple[str, str], ...] = ()  # ("uid" | "resourceVersion", value)


def delete_options(query: dict, body) -> DeleteOptions:
    """DeleteOptions from the query and/or the body (kubectl sends a body, curl a query)."""
    if not isinstance(body, dict):
        raise bad_request("DeleteOptions must be an object")
    propagation = query.get("propagationPolicy") or body.get("propagationPolicy") or ""
    orphan = query.get("orphanDependents", body.get("orphanDependents"))
    if not propagation and orphan is not None:
        propagation = "Orphan" if str(orphan).lower() == "true" else "Background"
    if propagation and propagation not in POLICIES:
        raise ApiError(
            422,
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            f'"{propagation}": supported values: "Foreground", "Background", "Orphan"',
        )
    grace = query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
    if grace is not None:
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise bad_request(f'strconv.ParseInt: parsing "{grace}": invalid syntax') from None
        grace = max(0, grace)
    wanted = body.get("preconditions") or {}
    if not isinstance(wanted, dict):
        raise bad_request("preconditions must be an object")
    checks = tuple((key, str(wanted[key])) for key in ("uid", "resourceVersion") if wanted.get(key))
    return DeleteOptions(propagation, grace, checks)


def check_preconditions(resource: Resource, obj: dict, options: DeleteOptions) -> None:
    """409 when the object is not the one the client meant (uid or resourceVersion)."""
    labels = {"uid": "UID", "resourceVersion": "ResourceVersion"}
    for key, value in options.preconditions:
        actual = obj["metadata"].get(key, "")
        if value != actual:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {resource.qualified} "{obj["metadata"]["name"]}"'
                f": Precondition failed: {labels[key]} in precondition: {value}, "
                f"{labels[key]} in object meta: {actual}",
                reason="Conflict",
                details={
                    "name": obj["metadata"]["name"],
                    "group": resource.group,
                    "kind": resource.plural,
                },
            )


def refuse_in_terminating_namespace(objects: Objects, resource: Resource, obj, namespace: str):
    """403 for new content in a namespace being deleted (NamespaceLifecycle admission)."""
    if not resource.namespaced:
        return
    ns = objects.store.get(NAMESPACES, "", namespace)
    if ns is None or not ns["metadata"].get("deletionTimestamp"):
        return
    name = (obj or {}).get("metadata", {}).get("name", "") if isinstance(obj, dict) else ""
    raise ApiError(
        403,
        f'{resource.qualified} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated",
        reason="Forbidden",
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


def _terminating(pod: dict, grace: int) -> dict:
    """The pod marked for deletion in `grace` seconds; its containers are no longer ready."""
    updated = copy.deepcopy(pod)
    updated["metadata"]["deletionTimestamp"] = timestamp(now() + dt.timedelta(seconds=grace))
    updated["metadata"]["deletionGracePeriodSeconds"] = grace
    for status in updated.get("status", {}).get("containerStatuses", []):
        status["ready"] = False
    for condition in updated.get("status", {}).get("conditions", []):
        if condition["type"] in ("Ready", "ContainersReady"):
            condition["status"] = "False"
    return updated


def _dependents(store, owner_uid: str) -> list[tuple[Resource, dict]]:
    found = []
    for kind in ("ReplicaSet", "Pod", "Job"):
        resource = BY_KIND[kind]
        for obj in store.list(resource):
            refs = obj["metadata"].get("ownerReferences", [])
            if any(ref.get("uid") == owner_uid for ref in refs):
                found.append((resource, obj))
    return found


class Deletion:
    """One cluster's deletions: the API side (`delete`) and the collector (`sweep`, per tick)."""

    def __init__(self, objects: Objects, clock: Callable[[], float], recorder=None):
        self.objects = objects
        self.store = objects.store
        self.clock = clock  # the cluster's seconds (Controller.now): the one clock
        self.recorder = recorder
        self._pod_deadlines: dict[str, tuple[str, str, float]] = {}  # uid → ns, name, when

    # --- the API ------------------------------------------------------------------------

    def delete(self, resource: Resource, namespace: str, name: str, options: DeleteOptions):
        current = self.store.get(resource, namespace, name)
        if current is None:
            raise errors.not_found(resource, name)
        check_preconditions(resource, current, options)
        if resource is PODS:
            return self._delete_pod(current, options)
        if resource is NAMESPACES:
            return self._delete_namespace(current)
        if current["metadata"].get("deletionTimestamp"):
            return current  # already being deleted: a cluster answers with it as it is
        policy = options.propagation or (
            "Orphan" if resource.kind in ORPHAN_BY_DEFAULT else "Background"
        )
        if policy == "Foreground":
            return self._mark(resource, current, [FOREGROUND])
        if policy == "Orphan":
            marked = self._mark(resource, current, [ORPHAN])
            self._orphan_dependents(current["metadata"]["uid"])
            self.store.remove(resource, namespace, name)
            return marked
        self.store.remove(resource, namespace, name)
        return success_status(resource, current)

    def _mark(self, resource: Resource, obj: dict, finalizers: list[str]) -> dict:
        marked = copy.deepcopy(obj)
        meta = marked["metadata"]
        meta["deletionTimestamp"] = timestamp()
        meta["deletionGracePeriodSeconds"] = 0
        meta["finalizers"] = [*meta.get("finalizers", []), *finalizers]
        return self.store.put(resource, marked, "MODIFIED")

    def _orphan_dependents(self, owner_uid: str) -> None:
        for resource, obj in _dependents(self.store, owner_uid):
            orphan = copy.deepcopy(obj)
            refs = orphan["metadata"]["ownerReferences"]
            orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
            if not orphan["metadata"]["ownerReferences"]:
                del orphan["metadata"]["ownerReferences"]
            self.store.put(resource, orphan, "MODIFIED")

    def _delete_pod(self, pod: dict, options: DeleteOptions) -> dict:
        return self.terminate_pod(pod, options.grace_seconds)

    def _delete_namespace(self, namespace: dict) -> dict:
        if namespace["metadata"].get("deletionTimestamp"):
            return namespace
        marked = copy.deepcopy(namespace)
        marked["metadata"]["deletionTimestamp"] = timestamp()
        marked["status"] = {**marked.get("status", {}), "phase": "Terminating"}
        return self.store.put(NAMESPACES, marked, "MODIFIED")

    # --- pods -----------------------------------------------------------------------------

    def terminate_pod(self, pod: dict, grace: int | None = None) -> dict:
        """Delete a pod: Terminating for its grace period, or at once when that is 0.

        A pod never scheduled, or Succeeded/Failed, goes at once (as the pod registry
        decides); a deletion already pending is only ever shortened.
        """
        spec, meta = pod.get("spec", {}), pod["metadata"]
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        if not spec.get("nodeName") or pod.get("status", {}).get("phase") in FINISHED:
            grace = 0
        if grace == 0:
            self._pod_deadlines.pop(meta["uid"], None)
            return self.store.remove(PODS, meta["namespace"], meta["name"]) or pod
        pending = meta.get("deletionTimestamp")
        if pending and grace >= meta.get("deletionGracePeriodSeconds", 0):
            return pod
        written = self.store.put(PODS, _terminating(pod, grace), "MODIFIED")
        deadline = self.clock() + grace
        self._pod_deadlines[meta["uid"]] = (meta["namespace"], meta["name"], deadline)
        if not pending:
            self._killing_events(written)
        return written

    def _killing_events(self, pod: dict) -> None:
        if self.recorder is None:
            return
        for container in pod.get("spec", {}).get("containers", []):
            path = f"spec.containers{{{container['name']}}}"
            message = f"Stopping container {container['name']}"
            self.recorder.record(pod, "Normal", "Killing", message, "kubelet", path)

    # --- the collector, once a tick ------------------------------------------------------

    def sweep(self) -> None:
        self._remove_pods_past_grace()
        self._drain_namespaces()
        self._finish_foreground_deletions()

    def _remove_pods_past_grace(self) -> None:
        moment = self.clock()
        for uid, (namespace, name, deadline) in list(self._pod_deadlines.items()):
            pod = self.store.get(PODS, namespace, name)
            if pod is None or pod["metadata"]["uid"] != uid:
                del self._pod_deadlines[uid]
            elif moment >= deadline:
                del self._pod_deadlines[uid]
                self.store.remove(PODS, namespace, name)

    def _drain_namespaces(self) -> None:
        for namespace in self.store.list(NAMESPACES):
            if namespace["metadata"].get("deletionTimestamp"):
                self._drain(namespace["metadata"]["name"])

    def _drain(self, namespace: str) -> None:
        """Delete what is in a Terminating namespace (pods gracefully); go once it is empty."""
        for resource in BY_KIND.values():
            if not resource.namespaced or resource in (PODS, EVENTS):
                continue
            for obj in self.store.list(resource, namespace):
                self.store.remove(resource, namespace, obj["metadata"]["name"])
        pods = self.store.list(PODS, namespace)
        for pod in pods:
            if not pod["metadata"].get("deletionTimestamp"):
                self.terminate_pod(pod)
        if not pods:
            for event in self.store.list(EVENTS, namespace):
                self.store.remove(EVENTS, namespace, event["metadata"]["name"])
            self.store.remove(NAMESPACES, "", namespace)

    def _finish_foreground_deletions(self) -> None:
        for kind in OWNER_KINDS:
            resource = BY_KIND[kind]
            for owner in self.store.list(resource):
                if FOREGROUND in owner["metadata"].get("finalizers", []):
                    self._foreground(resource, owner)

    def _foreground(self, resource: Resource, owner: dict) -> None:
        """Delete the owner's dependents (foreground again for owners); go when none is left."""
        dependents = _dependents(self.store, owner["metadata"]["uid"])
        for dependent_resource, dependent in dependents:
            if dependent["metadata"].get("deletionTimestamp"):
                continue
            if dependent_resource is PODS:
                self.terminate_pod(dependent)
            else:
                self._mark(dependent_resource, dependent, [FOREGROUND])
        if not dependents:
            meta = owner["metadata"]
            self.store.remove(resource, meta["namespace"], meta["name"])
