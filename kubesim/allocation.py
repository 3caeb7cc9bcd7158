"""Values the API server allocates on create and keeps on update: a Service's cluster IP
and node ports."""

from __future__ import annotations

import random

from .errors import invalid
from .resources import lookup

SERVICES = lookup("", "services")
NODE_PORTS = range(30000, 32768)


def _used(store, key: str) -> set:
    values = set()
    for service in store.list(SERVICES):
        spec = service.get("spec", {})
        if key == "clusterIP":
            values.add(spec.get("clusterIP"))
        else:
            values.update(p.get("nodePort") for p in spec.get("ports", []))
    return values


def _free_cluster_ip(store) -> str:
    used = _used(store, "clusterIP")
    while True:  # 10.96.0.0/16 of the default 10.96.0.0/12 service range; .0.1 is `kubernetes`
        address = f"10.96.{random.randint(0, 255)}.{random.randint(2, 254)}"
        if address not in used:
            return address


def _free_node_port(store, taken: set) -> int:
    used = _used(store, "nodePort") | taken
    return random.choice([p for p in NODE_PORTS if p not in used])


def allocate(obj: dict, store) -> None:
    """Give a new Service its cluster IP (unless headless or ExternalName) and node ports."""
    if obj.get("kind") != "Service":
        return
    spec = obj["spec"]
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = _free_cluster_ip(store)
    if spec.get("clusterIP") and spec["type"] != "ExternalName":
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["type"] in ("NodePort", "LoadBalancer"):
        taken: set = set()
        for port in spec.get("ports", []):
            port.setdefault("nodePort", _free_node_port(store, taken))
            taken.add(port["nodePort"])


def keep_allocated(new: dict, current: dict) -> None:
    """An update that leaves the cluster IP out keeps it; one that changes it is refused."""
    if new.get("kind") != "Service":
        return
    spec, old = new.setdefault("spec", {}), current.get("spec", {})
    for key in ("clusterIP", "clusterIPs"):
        if key in old and not spec.get(key):
            spec[key] = old[key]
    old_ports = {p.get("port"): p.get("nodePort") for p in old.get("ports", [])}
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports", []):
            if not port.get("nodePort") and old_ports.get(port.get("port")):
                port["nodePort"] = old_ports[port["port"]]
    if old.get("clusterIP") and spec.get("clusterIP") != old["clusterIP"]:
        sent = ", ".join(f'"{ip}"' for ip in spec.get("clusterIPs") or [spec.get("clusterIP")])
        message = f"Invalid value: []string{{{sent}}}: may not change once set"
        raise invalid(SERVICES, new["metadata"]["name"], [("spec.clusterIPs[0]", message)])
