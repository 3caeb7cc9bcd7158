"""Freeze windows: when an environment takes no promotions (rollbacks still go)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from environments.catalog.values import parse_freeze_time

MINUTES_PER_WEEK = 7 * 24 * 60


def active_freeze(windows: list[dict], now: datetime) -> dict | None:
    """The first window that `now` (aware) falls in, or None.

    Weekly windows (`fri 16:00` → `mon 08:00`) may wrap over the week's end; ISO
    datetimes without an offset are read in the window's time zone (default UTC).
    """
    for window in windows:
        zone = ZoneInfo(window.get("timezone") or "UTC")
        start, end = parse_freeze_time(window["from"]), parse_freeze_time(window["to"])
        if isinstance(start, datetime):
            inside = _aware(start, zone) <= now < _aware(end, zone)
        else:
            inside = _in_weekly(_minute_of_week(now.astimezone(zone)), start, end)
        if inside:
            return window
    return None


def describe(window: dict) -> str:
    zone = window.get("timezone") or "UTC"
    return f"'{window['name']}' ({window['from']} → {window['to']} {zone})"


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _minute_of_week(moment: datetime) -> int:
    return moment.weekday() * 1440 + moment.hour * 60 + moment.minute


def _in_weekly(minute: int, start: tuple[int, int, int], end: tuple[int, int, int]) -> bool:
    first = start[0] * 1440 + start[1] * 60 + start[2]
    last = end[0] * 1440 + end[1] * 60 + end[2]
    if first <= last:
        return first <= minute < last
    return minute >= first or minute < last  # wraps over Sunday night
