"""The kubesim configuration file: clusters, their ports, front-door hosts and objects.

    speed: 1.0                      # optional; `--speed` overrides
    clusters:
      - name: production            # also the kubeconfig context name
        api_port: 7003              # 0 picks a free port
        namespace: vizora-prod      # objects without a namespace land here (created if missing)
        namespaces: [monitoring]    # optional extra namespaces
        front_door:
          port: 7103
          tls: false
          hosts:                    # Host header → deployment ("name" or "namespace/name")
            api.vizora.com: vizora-middleware
        objects: [...]              # plain manifests (Deployment, Secret, CronJob, Job, ...)

A CronJob's `status` may give times relative to start-up: `lastSuccessfulTime: -3h`, or
`last`: the schedule's latest time before start-up (a start between 02:00 and 05:00 with
`-3h` and a 02:00 schedule would find a missed run and start it at once). It is the
CronJob's initial status; its controller moves it as the schedule runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .objects import now, timestamp

_RELATIVE = re.compile(r"^-(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ConfigError(Exception):
    pass


@dataclass
class FrontDoorSpec:
    port: int = 0
    tls: bool = False
    hosts: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # host → (namespace, deployment)


@dataclass
class ClusterSpec:
    name: str
    api_port: int
    namespace: str
    namespaces: list[str]
    front_door: FrontDoorSpec
    objects: list[dict]


@dataclass
class Config:
    clusters: list[ClusterSpec]
    speed: float = 1.0
    host: str = "127.0.0.1"


def resolve_relative_time(value):
    """`-3h` → the timestamp three hours before now; anything else is returned as is."""
    if isinstance(value, str):
        if value == "now":
            return timestamp()
        match = _RELATIVE.match(value)
        if match:
            delta = dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
            return timestamp(now() - delta)
    if isinstance(value, dt.datetime):
        return timestamp(value.astimezone(dt.UTC))
    return value


def _hosts(raw: dict, namespace: str, cluster: str) -> dict[str, tuple[str, str]]:
    hosts = {}
    for host, target in (raw or {}).items():
        if not isinstance(target, str) or not target:
            raise ConfigError(
                f"cluster {cluster}: front_door host {host!r} needs a deployment name"
            )
        ns, _, name = target.rpartition("/")
        hosts[host.lower()] = (ns or namespace, name)
    return hosts


def _cluster(raw: dict, index: int) -> ClusterSpec:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ConfigError(f"clusters[{index}] needs a name")
    name = str(raw["name"])
    namespace = str(raw.get("namespace", "default"))
    door = raw.get("front_door") or {}
    objects = raw.get("objects") or []
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise ConfigError(f"cluster {name}: objects must be a list of manifests")
    return ClusterSpec(
        name=name,
        api_port=int(raw.get("api_port", 0)),
        namespace=namespace,
        namespaces=[str(n) for n in raw.get("namespaces") or []],
        front_door=FrontDoorSpec(
            port=int(door.get("port", 0)),
            tls=bool(door.get("tls", False)),
            hosts=_hosts(door.get("hosts"), namespace, name),
        ),
        objects=objects,
    )


def parse_config(raw) -> Config:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("clusters"), list)
        or not raw["clusters"]
    ):
        raise ConfigError("the config needs a non-empty `clusters` list")
    clusters = [_cluster(c, i) for i, c in enumerate(raw["clusters"])]
    names = [c.name for c in clusters]
    if len(set(names)) != len(names):
        raise ConfigError(f"cluster names must be unique: {names}")
    return Config(
        clusters=clusters,
        speed=float(raw.get("speed", 1.0)),
        host=str(raw.get("host", "127.0.0.1")),
    )


def load_config(path: str | Path) -> Config:
    with open(path, encoding="utf-8") as handle:
        return parse_config(yaml.safe_load(handle))
