"""What every server-side Table shares: column definitions and the AGE column's wording."""

from __future__ import annotations

from .objects import now, parse_timestamp


def human_duration(seconds: float) -> str:
    """Kubernetes' duration.HumanDuration, which fills the AGE column."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def since(value: str | None) -> str:
    if not value:
        return "<unknown>"
    return human_duration((now() - parse_timestamp(value)).total_seconds())


def age(obj: dict) -> str:
    return since(obj["metadata"].get("creationTimestamp"))


def _col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


AGE = _col("Age")
NAME = _col("Name", fmt="name")
