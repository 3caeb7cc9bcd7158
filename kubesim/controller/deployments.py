"""The Deployment controller: ReplicaSets per template, rolling updates, status, deadlines."""

from __future__ import annotations

import copy
import math

from ..objects import (
    HASH_LABEL,
    REVISION,
    REVISION_HISTORY,
    get_condition,
    owner_reference,
    revision_of,
    set_condition,
    template_hash,
    templates_equal,
    timestamp,
)
from ..resources import lookup

DEPLOYMENTS = lookup("apps", "deployments")
REPLICASETS = lookup("apps", "replicasets")
PODS = lookup("", "pods")
COMPONENT = "deployment-controller"
COPIED_ANNOTATIONS = ("kubernetes.io/change-cause",)
PAUSED = "Deployment is paused"


def _resolve(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value or 0)


def surge_and_unavailable(deployment: dict) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both zero would deadlock, so 1 unavailable."""
    spec = deployment["spec"]
    if spec.get("strategy", {}).get("type") != "RollingUpdate":
        return 0, spec.get("replicas", 0)
    rolling = spec["strategy"].get("rollingUpdate", {})
    replicas = spec.get("replicas", 0)
    surge = _resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _spec_replicas(rs: dict) -> int:
    return rs["spec"].get("replicas", 0)


def _available(rs: dict) -> int:
    return rs.get("status", {}).get("availableReplicas", 0)


class DeploymentController:
    def __init__(self, controller):
        self.controller = controller
        self.last_progress: dict[str, float] = {}  # deployment uid → cluster second of progress
        self._pending_progress: tuple[str, str, str] | None = None  # status, reason, message
        self.paused: set[str] = set()  # uids of Deployments last seen paused

    def sync_all(self) -> None:
        for deployment in self.controller.store.list(DEPLOYMENTS):
            if not deployment["metadata"].get("deletionTimestamp"):  # being deleted
                self.sync(deployment)

    def sync(self, deployment: dict) -> None:
        uid = deployment["metadata"]["uid"]
        all_rs = sorted(self.controller.owned(REPLICASETS, deployment), key=revision_of)
        if deployment["spec"].get("paused"):
            # Paused: no new ReplicaSet for a changed template, no scaling, no deadline.
            self.paused.add(uid)
            template = deployment["spec"]["template"]
            matching = [rs for rs in all_rs if templates_equal(rs["spec"]["template"], template)]
            self._sync_status(deployment, matching[-1] if matching else None)
            return
        if uid in self.paused:
            # Resumed: the deadline counts afresh from now.
            self.paused.discard(uid)
            self._progress(deployment, "DeploymentResumed", "Deployment is resumed", "Unknown")
            self._sync_status(deployment, None)
            return
        new_rs = self._new_replicaset(deployment, all_rs)
        all_rs = sorted(self.controller.owned(REPLICASETS, deployment), key=revision_of)
        old_rs = [rs for rs in all_rs if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        if deployment["spec"]["strategy"].get("type") == "Recreate":
            self._recreate(deployment, new_rs, old_rs)
        elif not self._scale_up(deployment, new_rs, all_rs):
            self._scale_down_old(deployment, new_rs, old_rs, all_rs)
        self._cleanup(deployment, old_rs)
        self._sync_status(deployment, new_rs)

    # --- ReplicaSets and revisions -------------------------------------------------------

    def _new_replicaset(self, deployment: dict, all_rs: list[dict]) -> dict:
        template = deployment["spec"]["template"]
        max_revision = max((revision_of(rs) for rs in all_rs), default=0)
        for rs in all_rs:
            if templates_equal(rs["spec"]["template"], template):
                if revision_of(rs) < max_revision:
                    # The template went back to an older ReplicaSet: a new rollout, so
                    # the progress deadline counts from now (as FoundNewReplicaSet does
                    # on a cluster), not from when that ReplicaSet last progressed.
                    rs = self._bump_revision(rs, max_revision + 1)
                    self._progress(
                        deployment,
                        "FoundNewReplicaSet",
                        f'Found new replica set "{rs["metadata"]["name"]}"',
                    )
                self._annotate_deployment(deployment, revision_of(rs))
                return rs
        rs = self._create_replicaset(deployment, max_revision + 1)
        self._annotate_deployment(deployment, max_revision + 1)
        return rs

    def _bump_revision(self, rs: dict, revision: int) -> dict:
        """A re-used ReplicaSet gets max+1; its old number goes into the revision history."""
        updated = copy.deepcopy(rs)
        annotations = updated["metadata"].setdefault("annotations", {})
        history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
        history.append(annotations.get(REVISION, "0"))
        annotations[REVISION_HISTORY] = ",".join(history)
        annotations[REVISION] = str(revision)
        return self.controller.objects.write(REPLICASETS, updated)

    def _create_replicaset(self, deployment: dict, revision: int) -> dict:
        template = copy.deepcopy(deployment["spec"]["template"])
        pod_hash = template_hash(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        annotations = {
            "deployment.kubernetes.io/desired-replicas": str(deployment["spec"]["replicas"]),
            "deployment.kubernetes.io/max-replicas": str(
                deployment["spec"]["replicas"] + surge_and_unavailable(deployment)[0]
            ),
            REVISION: str(revision),
        }
        for key in COPIED_ANNOTATIONS:
            if key in deployment["metadata"].get("annotations", {}):
                annotations[key] = deployment["metadata"]["annotations"][key]
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{deployment['metadata']['name']}-{pod_hash}",
                "namespace": deployment["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        created = self.controller.objects.create(REPLICASETS, rs, rs["metadata"]["namespace"])
        created = self.controller.objects.write(REPLICASETS, dict(created, status={"replicas": 0}))
        self._progress(
            deployment,
            "NewReplicaSetCreated",
            f'Created new replica set "{rs["metadata"]["name"]}"',
        )
        return created

    def _annotate_deployment(self, deployment: dict, revision: int) -> None:
        if deployment["metadata"].get("annotations", {}).get(REVISION) == str(revision):
            return
        current = self._current(deployment)
        updated = copy.deepcopy(current)
        updated["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        self.controller.objects.write(DEPLOYMENTS, updated)

    def _current(self, deployment: dict) -> dict:
        meta = deployment["metadata"]
        return self.controller.store.get(DEPLOYMENTS, meta["namespace"], meta["name"]) or deployment

    # --- scaling ------------------------------------------------------------------------

    def _scale(self, deployment: dict, rs: dict, replicas: int) -> None:
        old = _spec_replicas(rs)
        if old == replicas:
            return
        current = self.controller.store.get(
            REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]
        )
        updated = copy.deepcopy(current)
        updated["spec"]["replicas"] = replicas
        updated["metadata"]["generation"] = updated["metadata"].get("generation", 1) + 1
        annotations = updated["metadata"].setdefault("annotations", {})
        annotations["deployment.kubernetes.io/desired-replicas"] = str(
            deployment["spec"]["replicas"]
        )
        self.controller.objects.write(REPLICASETS, updated)
        rs["spec"]["replicas"] = replicas  # later steps of this sync see the new number
        direction = "up" if replicas > old else "down"
        message = (
            f"Scaled {direction} replica set {rs['metadata']['name']} from {old} to {replicas}"
        )
        self.controller.recorder.record(
            deployment, "Normal", "ScalingReplicaSet", message, COMPONENT
        )

    def _scale_up(self, deployment: dict, new_rs: dict, all_rs: list[dict]) -> bool:
        replicas = deployment["spec"]["replicas"]
        current = _spec_replicas(new_rs)
        if current >= replicas:
            if current > replicas:
                self._scale(deployment, new_rs, replicas)
                return True
            return False
        surge, _ = surge_and_unavailable(deployment)
        room = replicas + surge - sum(_spec_replicas(rs) for rs in all_rs)
        wanted = min(max(room, 0), replicas - current)
        if wanted <= 0:
            return False
        self._scale(deployment, new_rs, current + wanted)
        return True

    def _scale_down_old(
        self, deployment: dict, new_rs: dict, old_rs: list[dict], all_rs: list[dict]
    ) -> None:
        """Scale old ReplicaSets down only as far as maxUnavailable allows (as on a cluster)."""
        if not any(_spec_replicas(rs) for rs in old_rs):
            return
        _, max_unavailable = surge_and_unavailable(deployment)
        min_available = deployment["spec"]["replicas"] - max_unavailable
        all_pods = sum(_spec_replicas(rs) for rs in all_rs)
        new_unavailable = _spec_replicas(new_rs) - _available(new_rs)
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        for rs in old_rs:  # first drop old pods that are not available anyway
            unhealthy = _spec_replicas(rs) - _available(rs)
            if budget > 0 and unhealthy > 0:
                cut = min(budget, unhealthy)
                self._scale(deployment, rs, _spec_replicas(rs) - cut)
                budget -= cut
        available = sum(_available(rs) for rs in all_rs)
        removable = available - min_available
        for rs in old_rs:
            if removable <= 0:
                break
            cut = min(_spec_replicas(rs), removable)
            if cut > 0:
                self._scale(deployment, rs, _spec_replicas(rs) - cut)
                removable -= cut

    def _recreate(self, deployment: dict, new_rs: dict, old_rs: list[dict]) -> None:
        for rs in old_rs:
            self._scale(deployment, rs, 0)
        if any(self.controller.owned(PODS, rs) for rs in old_rs):
            return
        self._scale(deployment, new_rs, deployment["spec"]["replicas"])

    def _cleanup(self, deployment: dict, old_rs: list[dict]) -> None:
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [
            rs
            for rs in old_rs
            if _spec_replicas(rs) == 0 and not rs.get("status", {}).get("replicas")
        ]
        for rs in idle[: max(0, len(idle) - limit)]:
            self.controller.store.remove(
                REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]
            )

    # --- status -------------------------------------------------------------------------

    def _progress(self, deployment: dict, reason: str, message: str, status="True") -> None:
        self.last_progress[deployment["metadata"]["uid"]] = self.controller.now
        self._pending_progress = (status, reason, message)

    def _sync_status(self, deployment: dict, new_rs: dict | None) -> None:
        current = self._current(deployment)
        all_rs = self.controller.owned(REPLICASETS, current)
        old_status = current.get("status", {})
        if new_rs is not None:
            meta = new_rs["metadata"]
            new_rs = self.controller.store.get(REPLICASETS, meta["namespace"], meta["name"])
        new_rs = new_rs or {"metadata": {"name": ""}}
        status = {
            "observedGeneration": current["metadata"].get("generation", 1),
            "replicas": sum(rs.get("status", {}).get("replicas", 0) for rs in all_rs),
            "updatedReplicas": new_rs.get("status", {}).get("replicas", 0),
            "readyReplicas": sum(rs.get("status", {}).get("readyReplicas", 0) for rs in all_rs),
            "availableReplicas": sum(_available(rs) for rs in all_rs),
        }
        status["unavailableReplicas"] = max(
            0, sum(_spec_replicas(rs) for rs in all_rs) - status["availableReplicas"]
        )
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "replicas")}
        status["conditions"] = copy.deepcopy(old_status.get("conditions", []))
        self._set_available(current, status)
        self._set_progressing(current, status, old_status, new_rs["metadata"]["name"])
        if status != old_status:
            updated = copy.deepcopy(current)
            updated["status"] = status
            self.controller.objects.write(DEPLOYMENTS, updated)

    def _set_available(self, deployment: dict, status: dict) -> None:
        _, max_unavailable = surge_and_unavailable(deployment)
        wanted = deployment["spec"]["replicas"] - max_unavailable
        now = timestamp()
        if status.get("availableReplicas", 0) >= wanted:
            condition = _condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            )
        else:
            condition = _condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        _put_condition(status, condition)

    def _set_progressing(
        self, deployment: dict, status: dict, old_status: dict, rs_name: str
    ) -> None:
        uid = deployment["metadata"]["uid"]
        pending = self._pending_progress
        self._pending_progress = None
        replicas = deployment["spec"]["replicas"]
        now = timestamp()
        if deployment["spec"].get("paused"):
            paused = _condition("Progressing", "Unknown", "DeploymentPaused", PAUSED, now)
            _put_condition(status, paused)
            return
        complete = (
            status.get("updatedReplicas", 0) == replicas
            and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
        )
        if complete:
            message = f'ReplicaSet "{rs_name}" has successfully progressed.'
            _put_condition(
                status, _condition("Progressing", "True", "NewReplicaSetAvailable", message, now)
            )
        elif pending:
            _put_condition(status, _condition("Progressing", *pending, now))
        elif _made_progress(old_status, status):
            self.last_progress[uid] = self.controller.now
            message = f'ReplicaSet "{rs_name}" is progressing.'
            _put_condition(
                status, _condition("Progressing", "True", "ReplicaSetUpdated", message, now)
            )
        elif self._timed_out(deployment):
            message = f'ReplicaSet "{rs_name}" has timed out progressing.'
            _put_condition(
                status, _condition("Progressing", "False", "ProgressDeadlineExceeded", message, now)
            )

    def _timed_out(self, deployment: dict) -> bool:
        uid = deployment["metadata"]["uid"]
        seconds = deployment["spec"].get("progressDeadlineSeconds")
        if seconds is None:
            return False
        since = self.last_progress.setdefault(uid, self.controller.now)
        return self.controller.now - since > seconds


def _made_progress(old: dict, new: dict) -> bool:
    def get(status, key):
        return status.get(key, 0)

    old_pending = get(old, "replicas") - get(old, "updatedReplicas")
    new_pending = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_pending < old_pending
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> dict:
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _put_condition(status: dict, condition: dict) -> None:
    """Keep lastTransitionTime while the status value holds; order: Available, Progressing."""
    existing = get_condition({"status": status}, condition["type"])
    if existing and existing["status"] == condition["status"]:
        condition["lastTransitionTime"] = existing["lastTransitionTime"]
        if (
            existing.get("reason") == condition["reason"]
            and existing.get("message") == condition["message"]
        ):
            condition["lastUpdateTime"] = existing["lastUpdateTime"]
    set_condition(status, condition)
    order = {"Available": 0, "Progressing": 1}
    status["conditions"].sort(key=lambda c: order.get(c["type"], 2))
