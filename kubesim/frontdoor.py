"""The front door of one cluster: an ingress-like HTTP server in front of the pods.

Requests are routed by Host header (configured hosts) or by the path prefix
`/_svc/<namespace>/<deployment>/...` to the deployment's Ready pods, round
robin, so during a rollout answers come from old and new pods alike.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass

from .behaviour import HEALTH_PATHS, http_status, mode_of_image
from .controller.replicasets import pod_ready
from .httpserver import Request, Response
from .objects import parse_image
from .resources import lookup
from .selectors import selector_matcher
from .store import Store

DEPLOYMENTS = lookup("apps", "deployments")
PODS = lookup("", "pods")


@dataclass
class Target:
    namespace: str
    deployment: str
    path: str


def _json(status: int, obj, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode() + b"\n", "application/json", extra or [])


class FrontDoor:
    def __init__(self, store: Store, hosts: dict[str, tuple[str, str]], cluster: str):
        self.store = store
        self.hosts = hosts
        self.cluster = cluster
        self.requests: Counter[tuple[str, int]] = Counter()
        self._next: Counter[tuple[str, str]] = Counter()

    async def handle(self, request: Request) -> Response:
        if request.path == "/metrics":
            return Response(
                200, self.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8"
            )
        target = self._route(request)
        if target is None:
            self.requests[("none", 404)] += 1
            host = request.headers.get("host", "")
            return _json(404, {"error": "no service is routed for this host", "host": host})
        response = self._serve(request, target)
        self.requests[(target.deployment, response.status)] += 1
        return response

    def _route(self, request: Request) -> Target | None:
        if request.path.startswith("/_svc/"):
            parts = request.path.split("/", 4)
            if len(parts) >= 4 and parts[2] and parts[3]:
                rest = "/" + (parts[4] if len(parts) > 4 else "")
                return Target(parts[2], parts[3], rest)
            return None
        host = request.headers.get("host", "").lower().rsplit(":", 1)[0]
        if host in self.hosts:
            namespace, deployment = self.hosts[host]
            return Target(namespace, deployment, request.path)
        return None

    def ready_pods(self, namespace: str, deployment_name: str) -> list[dict]:
        deployment = self.store.get(DEPLOYMENTS, namespace, deployment_name)
        if deployment is None:
            return []
        matches = selector_matcher(deployment["spec"].get("selector"))
        return [p for p in self.store.list(PODS, namespace) if matches(p) and pod_ready(p)]

    def _serve(self, request: Request, target: Target) -> Response:
        pods = self.ready_pods(target.namespace, target.deployment)
        if not pods:
            body = {
                "error": "no ready pods",
                "service": target.deployment,
                "namespace": target.namespace,
            }
            return _json(503, body)
        key = (target.namespace, target.deployment)
        pod = pods[self._next[key] % len(pods)]
        self._next[key] += 1
        container = pod["spec"]["containers"][0]
        image = container.get("image", "")
        status = http_status(mode_of_image(image), target.path)
        healthy = status < 400
        info = {
            "service": target.deployment,
            "namespace": target.namespace,
            "cluster": self.cluster,
            "pod": pod["metadata"]["name"],
            "image": image,
            "version": parse_image(image).version,
            "status": "ok" if healthy else "error",
        }
        if not healthy:
            info["error"] = (
                "health check failed: dependency check returned errors"
                if target.path in HEALTH_PATHS
                else "internal server error"
            )
        headers = [("X-Served-By", pod["metadata"]["name"])]
        if target.path in HEALTH_PATHS or "text/html" not in request.headers.get("accept", ""):
            return _json(status, info, headers)
        return Response(status, _page(info).encode(), "text/html; charset=utf-8", headers)

    def metrics(self) -> str:
        lines = [
            "# HELP http_requests_total HTTP requests served by the kubesim front door.",
            "# TYPE http_requests_total counter",
        ]
        for (service, status), count in sorted(self.requests.items()):
            lines.append(f'http_requests_total{{service="{service}",status="{status}"}} {count}')
        return "\n".join(lines) + "\n"


def _page(info: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in info.items()
    )
    title = html.escape(f"{info['service']} {info['version']}")
    head = f"<head><title>{title}</title></head>"
    return f"<!doctype html><html>{head}<body><h1>{title}</h1><table>{rows}</table></body></html>\n"
