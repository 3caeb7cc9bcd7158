"""The ReplicaSet controller: keeps the number of live pods equal to spec.replicas."""

from __future__ import annotations

import copy

from ..objects import get_condition, owner_reference
from ..resources import lookup

PODS = lookup("", "pods")
REPLICASETS = lookup("apps", "replicasets")


def pod_ready(pod: dict) -> bool:
    condition = get_condition(pod, "Ready")
    return bool(condition and condition["status"] == "True") and not pod["metadata"].get(
        "deletionTimestamp"
    )


def new_pod_from_template(owner: dict, template: dict, name_prefix: str) -> dict:
    template = copy.deepcopy(template)
    metadata = template.get("metadata", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{name_prefix}-",
            "namespace": owner["metadata"]["namespace"],
            "labels": metadata.get("labels", {}),
            **({"annotations": metadata["annotations"]} if metadata.get("annotations") else {}),
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": template.get("spec", {}),
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


class ReplicaSetController:
    def __init__(self, controller):
        self.controller = controller

    def sync_all(self) -> None:
        for rs in self.controller.store.list(REPLICASETS):
            if not rs["metadata"].get("deletionTimestamp"):  # being deleted: leave its pods be
                self.sync(rs)

    def sync(self, rs: dict) -> None:
        controller = self.controller
        pods = [p for p in controller.owned(PODS, rs) if not controller.pods.is_terminating(p)]
        wanted = rs["spec"].get("replicas", 0)
        if len(pods) < wanted:
            for _ in range(wanted - len(pods)):
                pods.append(self._create_pod(rs))
        elif len(pods) > wanted:
            for pod in self._pick_victims(pods, len(pods) - wanted):
                controller.pods.terminate(pod)
                message = f"Deleted pod: {pod['metadata']['name']}"
                controller.recorder.record(
                    rs, "Normal", "SuccessfulDelete", message, "replicaset-controller"
                )
                pods.remove(pod)
        self._write_status(rs, pods)

    def _create_pod(self, rs: dict) -> dict:
        controller = self.controller
        pod = new_pod_from_template(rs, rs["spec"]["template"], rs["metadata"]["name"])
        created = controller.objects.create(
            PODS, pod, rs["metadata"]["namespace"], keep_status=True
        )
        controller.pods.advance(created)
        message = f"Created pod: {created['metadata']['name']}"
        controller.recorder.record(
            rs, "Normal", "SuccessfulCreate", message, "replicaset-controller"
        )
        return created

    def _pick_victims(self, pods: list[dict], count: int) -> list[dict]:
        """Delete unready pods first, then the newest, as the ReplicaSet controller does."""
        ranked = sorted(
            pods,
            key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", "")),
            reverse=False,
        )
        unready = [p for p in ranked if not pod_ready(p)]
        ready = sorted(
            (p for p in ranked if pod_ready(p)),
            key=lambda p: p["metadata"]["creationTimestamp"],
            reverse=True,
        )
        return (unready + ready)[:count]

    def _write_status(self, rs: dict, pods: list[dict]) -> None:
        ready = sum(1 for pod in pods if pod_ready(pod))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        current = self.controller.store.get(
            REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]
        )
        if current is None:
            return
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if current.get("status") != status:
            updated = copy.deepcopy(current)
            updated["status"] = status
            self.controller.objects.write(REPLICASETS, updated)
