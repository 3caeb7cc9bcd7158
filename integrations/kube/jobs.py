"""Migrations as Kubernetes Jobs: created once per deployment (a retry re-attaches on
409), followed to Complete or Failed, their pod's log read back."""

from dataclasses import dataclass

from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import ClusterClient

MANAGED_BY = "vizora-deploy-portal"


@dataclass(frozen=True)
class JobState:
    finished: bool
    succeeded: bool
    message: str


def migration_job(
    name: str, image: str, command: list[str], deadline_seconds: int, labels: dict[str, str]
) -> dict:
    """The Job manifest: one pod, no retries (a migration runs once), a hard deadline."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, **labels},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": image, "command": command}],
                },
            },
        },
    }


def create_or_attach(kube: ClusterClient, namespace: str, manifest: dict) -> bool:
    """Create the Job; True when created now, False when it already existed."""
    name = manifest["metadata"]["name"]
    try:
        kube.call(
            f"create job {namespace}/{name}", kube.batch.create_namespaced_job, namespace, manifest
        )
        return True
    except ClusterError as error:
        if error.status == 409:
            return False
        raise


def job_state(kube: ClusterClient, namespace: str, name: str) -> JobState:
    job = kube.call(f"read job {namespace}/{name}", kube.batch.read_namespaced_job, name, namespace)
    status = job.status
    for condition in (status.conditions or []) if status else []:
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return JobState(True, True, f'job "{name}" completed')
        if condition.type == "Failed":
            detail = condition.message or condition.reason or "failed"
            return JobState(True, False, f'job "{name}" failed: {detail}')
    return JobState(
        False, False, f'job "{name}": {(status.active or 0) if status else 0} pod(s) active'
    )


def job_pod_log(kube: ClusterClient, namespace: str, name: str, tail_lines: int = 500) -> list[str]:
    """The log of the Job's newest pod; empty while its container has not started."""
    pods = kube.call(
        f"list pods of job {name}", kube.core.list_namespaced_pod, namespace,
        label_selector=f"job-name={name}",
    ).items  # fmt: skip
    if not pods:
        return []
    pod = max(pods, key=lambda p: p.metadata.creation_timestamp)
    return pod_log(kube, namespace, pod.metadata.name, tail_lines=tail_lines)


def pod_log(kube: ClusterClient, namespace: str, pod: str, **options) -> list[str]:
    """A pod's log lines; empty while its container is waiting to start (400)."""
    try:
        text = kube.call(
            f"read log of pod {pod}", kube.core.read_namespaced_pod_log, pod, namespace, **options
        )
    except ClusterError as error:
        if error.status == 400:
            return []
        raise
    return text.splitlines()


def delete_job(kube: ClusterClient, namespace: str, name: str) -> None:
    """Delete a Job and its pods (background propagation); a Job already gone is fine."""
    try:
        kube.call(
            f"delete job {namespace}/{name}", kube.batch.delete_namespaced_job, name, namespace,
            propagation_policy="Background",
        )  # fmt: skip
    except ClusterError as error:
        if error.status != 404:
            raise
