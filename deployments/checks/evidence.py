"""How evidence writes times and ages, so every check reads alike."""

from datetime import UTC, datetime, timedelta


def utc(moment: datetime) -> str:
    """2026-12-01 02:00:14 UTC"""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def age(span: timedelta) -> str:
    """A span in the largest unit that keeps it readable: 45 s, 12 min, 6 h, 3 d."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 3 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{seconds // 86400} d"


def clock(moment: datetime) -> str:
    """12:03:10 UTC (for moments within a window whose start `utc` already dated)"""
    return f"{moment.astimezone(UTC):%H:%M:%S} UTC"
