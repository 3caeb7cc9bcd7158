"""What kubesim writes for its users: a kubeconfig and a JSON ports file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from .api import ACCEPTED_TOKEN


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def kubeconfig(clusters: list[dict]) -> dict:
    """One cluster, user and context per simulated cluster; contexts are named after clusters."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": c["name"], "cluster": {"server": c["api_url"]}} for c in clusters],
        "users": [{"name": "kubesim", "user": {"token": ACCEPTED_TOKEN}}],
        "contexts": [
            {
                "name": c["context"],
                "context": {"cluster": c["name"], "user": "kubesim", "namespace": c["namespace"]},
            }
            for c in clusters
        ],
        "current-context": clusters[0]["context"],
    }


def write_kubeconfig(path: Path, clusters: list[dict]) -> None:
    _atomic_write(path, yaml.safe_dump(kubeconfig(clusters), sort_keys=False))


def write_ports(path: Path, report: dict) -> None:
    _atomic_write(path, json.dumps(report, indent=2) + "\n")
