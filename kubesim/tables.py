"""Server-side printing: `meta.k8s.io/v1` Tables as `kubectl get` asks for them."""

from __future__ import annotations

from . import service_rows
from .columns import AGE, NAME, _col, age, human_duration, since
from .objects import now, parse_timestamp


def _containers(obj: dict, path: tuple[str, ...]) -> list[dict]:
    node = obj
    for key in path:
        node = node.get(key, {})
    return node.get("containers", []) if isinstance(node, dict) else []


def _wide_workload(obj: dict, template_path: tuple[str, ...]) -> list:
    containers = _containers(obj, template_path)
    selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>",
    ]


def deployment_row(obj: dict) -> list:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(obj),
        *_wide_workload(obj, ("spec", "template", "spec")),
    ]


def replicaset_row(obj: dict) -> list:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    return [
        obj["metadata"]["name"],
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(obj),
        *_wide_workload(obj, ("spec", "template", "spec")),
    ]


def pod_status_reason(pod: dict) -> str:
    """The STATUS column: the phase, overridden by a container's waiting/terminated reason."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Unknown")
    for container in reversed(status.get("containerStatuses", [])):
        state = container.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def pod_restarts(pod: dict) -> str:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    finished = [
        c["lastState"]["terminated"]["finishedAt"]
        for c in statuses
        if c.get("lastState", {}).get("terminated", {}).get("finishedAt")
    ]
    if restarts and finished:
        return f"{restarts} ({since(max(finished))} ago)"
    return str(restarts)


def pod_row(pod: dict) -> list:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    total = len(pod.get("spec", {}).get("containers", []))
    ready = sum(1 for c in statuses if c.get("ready"))
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_status_reason(pod),
        pod_restarts(pod),
        age(pod),
        pod.get("status", {}).get("podIP", "<none>"),
        pod.get("spec", {}).get("nodeName", "<none>"),
        "<none>",
        "<none>",
    ]


def job_status(job: dict) -> str:
    for condition in job.get("status", {}).get("conditions", []):
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return condition["type"]
    return "Suspended" if job.get("spec", {}).get("suspend") else "Running"


def job_row(job: dict) -> list:
    spec, status = job.get("spec", {}), job.get("status", {})
    duration = ""
    if status.get("startTime"):
        end = parse_timestamp(status["completionTime"]) if status.get("completionTime") else now()
        duration = human_duration((end - parse_timestamp(status["startTime"])).total_seconds())
    return [
        job["metadata"]["name"],
        job_status(job),
        f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
        duration,
        age(job),
        *_wide_workload(job, ("spec", "template", "spec")),
    ]


def cronjob_row(cronjob: dict) -> list:
    spec, status = cronjob.get("spec", {}), cronjob.get("status", {})
    last = status.get("lastScheduleTime")
    return [
        cronjob["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone", "<none>"),
        str(spec.get("suspend", False)),
        len(status.get("active", [])),
        since(last) if last else "<none>",
        age(cronjob),
        *_wide_workload(cronjob, ("spec", "jobTemplate", "spec", "template", "spec")),
    ]


def secret_row(secret: dict) -> list:
    return [
        secret["metadata"]["name"],
        secret.get("type", "Opaque"),
        len(secret.get("data", {})),
        age(secret),
    ]


def namespace_row(namespace: dict) -> list:
    return [
        namespace["metadata"]["name"],
        namespace.get("status", {}).get("phase", "Active"),
        age(namespace),
    ]


def event_row(event: dict) -> list:
    involved = event.get("involvedObject", {})
    last = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    return [
        since(last),
        event.get("type", "Normal"),
        event.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        event.get("message", ""),
        involved.get("fieldPath", ""),
        event.get("source", {}).get("component", ""),
        since(event.get("firstTimestamp") or last),
        event.get("count", 1),
        event["metadata"]["name"],
    ]


WIDE_WORKLOAD = [
    _col("Containers", priority=1),
    _col("Images", priority=1),
    _col("Selector", priority=1),
]

COLUMNS = {
    "deployments": [
        NAME,
        _col("Ready"),
        _col("Up-to-date", "integer"),
        _col("Available", "integer"),
        AGE,
        *WIDE_WORKLOAD,
    ],
    "replicasets": [
        NAME,
        _col("Desired", "integer"),
        _col("Current", "integer"),
        _col("Ready", "integer"),
        AGE,
        *WIDE_WORKLOAD,
    ],
    "pods": [
        NAME,
        _col("Ready"),
        _col("Status"),
        _col("Restarts"),
        AGE,
        _col("IP", priority=1),
        _col("Node", priority=1),
        _col("Nominated Node", priority=1),
        _col("Readiness Gates", priority=1),
    ],
    "jobs": [NAME, _col("Status"), _col("Completions"), _col("Duration"), AGE, *WIDE_WORKLOAD],
    "cronjobs": [
        NAME,
        _col("Schedule"),
        _col("Timezone"),
        _col("Suspend", "boolean"),
        _col("Active", "integer"),
        _col("Last Schedule"),
        AGE,
        *WIDE_WORKLOAD,
    ],
    "secrets": [NAME, _col("Type"), _col("Data", "string"), AGE],
    "events": [
        _col("Last Seen"),
        _col("Type"),
        _col("Reason"),
        _col("Object"),
        _col("Message"),
        _col("Subobject", priority=1),
        _col("Source", priority=1),
        _col("First Seen", priority=1),
        _col("Count", "integer", priority=1),
        _col("Name", priority=1),
    ],
    **service_rows.COLUMNS,
}
ROWS = {
    "deployments": deployment_row,
    "replicasets": replicaset_row,
    "pods": pod_row,
    "jobs": job_row,
    "cronjobs": cronjob_row,
    "secrets": secret_row,
    "namespaces": namespace_row,
    "events": event_row,
    **service_rows.ROWS,
}


def wants_table(accept: str) -> bool:
    return "as=Table" in (accept or "")


def _row(plural: str, obj: dict, include: str) -> dict:
    row: dict = {"cells": ROWS[plural](obj)}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return row


def table(
    plural: str, objects: list[dict], resource_version: str, include: str = "Metadata"
) -> dict:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": COLUMNS[plural],
        "rows": [_row(plural, obj, include) for obj in objects],
    }
