"""The front door of one cluster: an ingress-like HTTP server in front of the pods.

Requests are routed by Host header (configured hosts) or by the path prefix
`/_svc/<namespace>/<deployment>/...` to the deployment's Ready pods, round
robin, so during a rollout answers come from old and new pods alike. A request
for `/metrics` that is routed nowhere (the front door addressed by its IP) gets
the cluster's metrics (metrics.py). A pod that answers 5xx prints an `ERROR` line
to its container's log.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter
from dataclasses import dataclass

from . import metrics
from .behaviour import HEALTH_PATHS, Mode, http_status, mode_of_image
from .controller import Controller
from .controller.replicasets import pod_ready
from .httpserver import Request, Response
from .logs import PodLogs
from .memory import memory_limit, memory_usage
from .objects import parse_image
from .resources import lookup
from .selectors import selector_matcher

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
    def __init__(
        self,
        controller: Controller,
        logs: PodLogs,
        hosts: dict[str, tuple[str, str]],
        cluster: str,
    ):
        self.controller = controller
        self.store = controller.store
        self.logs = logs
        self.hosts = hosts
        self.cluster = cluster
        self.requests: Counter[tuple[str, str, int]] = Counter()  # namespace, service, status
        self._next: Counter[tuple[str, str]] = Counter()

    async def handle(self, request: Request) -> Response:
        target = self._route(request)
        if target is None:
            if request.path == "/metrics":
                return Response(200, self.metrics().encode(), metrics.CONTENT_TYPE)
            self.requests[("", "none", 404)] += 1
            host = request.headers.get("host", "")
            return _json(404, {"error": "no service is routed for this host", "host": host})
        response = self._serve(request, target)
        self.requests[(target.namespace, target.deployment, response.status)] += 1
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

    def pods_of(self, namespace: str, deployment_name: str) -> list[dict]:
        deployment = self.store.get(DEPLOYMENTS, namespace, deployment_name)
        if deployment is None:
            return []
        matches = selector_matcher(deployment["spec"].get("selector"))
        return [p for p in self.store.list(PODS, namespace) if matches(p)]

    def ready_pods(self, namespace: str, deployment_name: str) -> list[dict]:
        return [p for p in self.pods_of(namespace, deployment_name) if pod_ready(p)]

    def serves_expiring(self, host: str) -> bool:
        """Whether any pod of the Deployment `host` is routed to runs a `-expiring` image."""
        if host not in self.hosts:
            return False
        return any(
            mode_of_image(container.get("image", "")) is Mode.EXPIRING
            for pod in self.pods_of(*self.hosts[host])
            for container in pod["spec"]["containers"]
        )

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
        served = 0 if target.path in HEALTH_PATHS else self.controller.pods.count_request(pod)
        status = http_status(mode_of_image(image), target.path, served)
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
        if status >= 500:
            self._print_error(pod, container, f"{request.method} {target.path}", status, info)
        headers = [("X-Served-By", pod["metadata"]["name"])]
        if target.path in HEALTH_PATHS or "text/html" not in request.headers.get("accept", ""):
            return _json(status, info, headers)
        return Response(status, _page(info).encode(), "text/html; charset=utf-8", headers)

    def _print_error(self, pod: dict, container: dict, what: str, status: int, info: dict):
        """The app logs the error it answered, as the container's next log line."""
        moment = dt.datetime.now(dt.UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        line = f"{stamp} ERROR {what} answered {status}: {info['error']}"
        self.controller.pods.print_line(pod, container["name"], line)
        self.logs.printed(pod)

    def memory(self) -> list[metrics.ContainerMemory]:
        """Memory of every running container of the cluster, per pod."""
        found, now = [], self.controller.now
        for pod in self.store.list(PODS):
            run_age = self.controller.pods.run_age(pod)
            if run_age is None:
                continue
            meta = pod["metadata"]
            for container in pod["spec"]["containers"]:
                usage = memory_usage(container, run_age, now, meta["uid"])
                limit = memory_limit(container)
                found.append(
                    metrics.ContainerMemory(
                        meta["namespace"], meta["name"], container["name"], usage, limit
                    )
                )
        return found

    def metrics(self) -> str:
        return metrics.render(self.requests, self.memory())


def _page(info: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in info.items()
    )
    title = html.escape(f"{info['service']} {info['version']}")
    head = f"<head><title>{title}</title></head>"
    return f"<!doctype html><html>{head}<body><h1>{title}</h1><table>{rows}</table></body></html>\n"
