"""Small helpers shared by the kubesim tests."""

from __future__ import annotations

import time

NAMESPACE = "vizora-prod"


def deployment_manifest(name: str, image: str, replicas: int = 3, **spec) -> dict:
    """A Deployment like the seed's, for tests that need one of their own."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"containerPort": 3000}]}
                    ]
                },
            },
            **spec,
        },
    }


def job_manifest(name: str, image: str, command: list[str], backoff_limit: int = 0) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": image, "command": command}],
                }
            },
        },
    }


def rollout_done(deployment) -> bool:
    """kubectl's rule: observed, all updated, no old replicas, all updated available."""
    status, spec = deployment.status, deployment.spec
    return (
        (status.observed_generation or 0) >= deployment.metadata.generation
        and (status.updated_replicas or 0) == spec.replicas
        and (status.replicas or 0) == (status.updated_replicas or 0)
        and (status.available_replicas or 0) == (status.updated_replicas or 0)
    )


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
