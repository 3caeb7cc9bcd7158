"""Background load for the kubesim benchmarks: 100 pods whose readiness and liveness
probes run all the time (issue 11: the goals hold "with probes running for 100 pods")."""

import time

import httpx

PODS = 100
NAME = "bench-probed"
NAMESPACE = "vizora-prod"


def manifest() -> dict:
    probe = {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 1}
    container = {
        "name": "app", "image": "ghcr.io/your-org/bench:1.0.0",
        "ports": [{"containerPort": 8080}],
        "readinessProbe": probe, "livenessProbe": {**probe, "periodSeconds": 2},
    }  # fmt: skip
    labels = {"app": NAME}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "replicas": PODS, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }  # fmt: skip


def start(api_url: str, timeout: float = 120) -> None:
    """Create the Deployment and wait until its 100 pods are Ready (probes passing)."""
    url = f"{api_url}/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    with httpx.Client(timeout=10) as http:
        http.post(url, json=manifest()).raise_for_status()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = http.get(f"{url}/{NAME}").json().get("status", {})
            if status.get("readyReplicas", 0) >= PODS:
                print(f"  background: {PODS} pods Ready, readiness and liveness probes running")
                return
            time.sleep(0.5)
    raise SystemExit(f"{NAME}: {PODS} pods not Ready after {timeout:.0f} s")
