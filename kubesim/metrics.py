"""What a front door's `/metrics` says, in the Prometheus text format (version 0.0.4).

- `http_requests_total{namespace,service,status}`: the requests the front door
  answered, by the Deployment it routed them to (`service="none"` and no namespace
  for a host it routes nowhere).
- `container_memory_usage_bytes{namespace,pod,container}` and
  `container_spec_memory_limit_bytes{namespace,pod,container}`: cAdvisor's names,
  for every running container of the cluster's pods (memory.py says how much; the
  limit is 0 for a container without one, as cAdvisor reports it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class ContainerMemory:
    namespace: str
    pod: str
    container: str
    usage: int
    limit: int


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return ",".join(f'{name}="{_escape(str(value))}"' for name, value in labels.items())


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def request_lines(requests: Counter[tuple[str, str, int]]) -> list[str]:
    lines = _family(
        "http_requests_total", "counter", "HTTP requests served by the kubesim front door."
    )
    for (namespace, service, status), count in sorted(requests.items()):
        labels = _labels(namespace=namespace, service=service, status=status)
        lines.append(f"http_requests_total{{{labels}}} {count}")
    return lines


def memory_lines(containers: Iterable[ContainerMemory]) -> list[str]:
    usage = _family(
        "container_memory_usage_bytes", "gauge", "Current memory usage in bytes of a container."
    )
    limit = _family(
        "container_spec_memory_limit_bytes", "gauge", "Memory limit for the container (0: none)."
    )
    for c in sorted(containers, key=lambda c: (c.namespace, c.pod, c.container)):
        labels = _labels(namespace=c.namespace, pod=c.pod, container=c.container)
        usage.append(f"container_memory_usage_bytes{{{labels}}} {c.usage}")
        limit.append(f"container_spec_memory_limit_bytes{{{labels}}} {c.limit}")
    return usage + limit


def render(requests: Counter[tuple[str, str, int]], containers: Iterable[ContainerMemory]) -> str:
    return "\n".join([*request_lines(requests), *memory_lines(containers)]) + "\n"
