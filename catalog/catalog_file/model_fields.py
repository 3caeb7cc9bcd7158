"""How validated catalog entries map onto model fields (the catalog's keys are shorter)."""

from dataclasses import dataclass

from catalog.catalog_file.tree import Entry, plain
from catalog.catalog_file.values import parse_duration

# Model field → the catalog key it comes from, where the names differ (for change lines).
CATALOG_KEYS = {
    "kubeconfig_path": "kubeconfig",
    "image_repository": "image",
    "dockerfile": "build",
    "build_context": "build",
    "build_args": "build",
    "health_path": "health",
    "ready_path": "health",
    "migration_command": "migration",
    "promotes_from_id": "promotes_from",
    "cluster_id": "cluster",
    "required_approvals": "approvals",
    "approver_group": "approvals",
    "checklist_template_id": "checklist",
    "post_item_policy": "post_items",
    "prometheus_url": "monitoring",
    "smoke_consecutive": "smoke",
}
ITEM_FIELDS = ("position", "phase", "text", "mode", "check_kind", "params", "link")


def catalog_keys(model_fields: list[str]) -> tuple[str, ...]:
    return tuple(sorted({CATALOG_KEYS.get(name, name) for name in model_fields}))


def cluster_fields(entry: Entry) -> dict:
    return {
        "kubeconfig_path": entry.get("kubeconfig", ""),
        "context": entry.get("context", ""),
        "in_cluster": entry["in_cluster"],
    }


def checklist_item_rows(entry: Entry) -> list[dict]:
    return [
        {
            "position": position,
            "phase": item["phase"],
            "text": item["text"],
            "mode": item["mode"],
            "check_kind": item.get("check", ""),
            "params": plain(item.get("params", {})),
            "link": item.get("link", ""),
        }
        for position, item in enumerate(entry["items"])
    ]


def service_fields(entry: Entry) -> dict:
    return {
        "repository": entry["repository"],
        "image_repository": entry["image"],
        "dockerfile": entry["build"]["dockerfile"],
        "build_context": entry["build"]["context"],
        "build_args": plain(entry["build"].get("args", {})),
        "port": entry["port"],
        "health_path": entry["health"]["liveness"],
        "ready_path": entry["health"]["readiness"],
        "workloads": plain(entry["workloads"]),
        "smoke_checks": plain(entry["smoke_checks"]),
        "migration_command": plain(entry["migration"]["command"]),
        "owners": plain(entry["owners"]),
    }


@dataclass(frozen=True)
class RowIds:
    """Primary keys by name of the rows an environment refers to, as synced so far."""

    clusters: dict[str, int]
    checklists: dict[str, int]
    environments: dict[str, int]


def environment_fields(entry: Entry, position: int, ids: RowIds) -> dict:
    parent, checklist = entry.get("promotes_from"), entry.get("checklist")
    return {
        "position": position,
        "promotes_from_id": ids.environments[parent] if parent else None,
        "cluster_id": ids.clusters[entry["cluster"]],
        "namespace": entry["namespace"],
        "urls": plain(entry["urls"]),
        "resolve": plain(entry["resolve"]),
        "required_approvals": entry["approvals"]["required"],
        "approver_group": entry["approvals"]["group"],
        "checklist_template_id": ids.checklists[checklist] if checklist else None,
        "freeze_windows": plain(entry["freeze_windows"]),
        "rollout_timeout": parse_duration(entry["rollout_timeout"]),
        "auto_rollback": entry["auto_rollback"],
        "post_item_policy": entry["post_items"],
        "prometheus_url": entry["monitoring"].get("prometheus", ""),
        "rpo": parse_duration(entry["rpo"]),
        "soak": parse_duration(entry["soak"]),
        "smoke_consecutive": entry["smoke"]["consecutive"],
    }
