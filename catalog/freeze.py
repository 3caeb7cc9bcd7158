"""Freeze windows: when an environment takes no promotions (rollbacks still go)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from catalog.catalog_file.values import parse_freeze_time

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


@dataclass(frozen=True)
class FreezeBoundary:
    """A moment a freeze window began or ended; `index` is the window's place in the
    catalog list (it tells two windows' boundaries at one moment apart)."""

    at: datetime
    window: dict
    index: int
    begins: bool


def freeze_boundaries(
    windows: list[dict], since: datetime, until: datetime
) -> list[FreezeBoundary]:
    """Every begin and end of the windows with `since <= at <= until` (aware), oldest first.

    Weekly windows repeat every week in their time zone's wall time (a freeze from
    `fri 16:00` begins at 16:00 local time in summer and in winter).
    """
    found = []
    for index, window in enumerate(windows):
        for begins, at in _occurrences(window, since, until):
            if since <= at <= until:
                found.append(FreezeBoundary(at, window, index, begins))
    return sorted(found, key=lambda boundary: (boundary.at, boundary.index, boundary.begins))


def _occurrences(window: dict, since: datetime, until: datetime):
    zone = ZoneInfo(window.get("timezone") or "UTC")
    start, end = parse_freeze_time(window["from"]), parse_freeze_time(window["to"])
    if isinstance(start, datetime):
        yield True, _aware(start, zone)
        yield False, _aware(end, zone)
        return
    first, last = _minutes(start), _minutes(end)
    if first == last:
        return  # an empty window never freezes anything
    length = (last - first) % MINUTES_PER_WEEK
    # From the Monday a week before `since` (a window that began then may end inside).
    monday = since.astimezone(zone).date()
    monday -= timedelta(days=monday.weekday() + 7)
    while monday <= until.astimezone(zone).date():
        began = _wall(monday, zone, first)
        yield True, began
        yield False, _wall(monday, zone, first + length)
        monday += timedelta(days=7)


def _wall(monday: date, zone: ZoneInfo, minutes: int) -> datetime:
    # Arithmetic on an aware datetime keeps the wall time: 16:00 stays 16:00 over DST.
    return datetime.combine(monday, time(0), tzinfo=zone) + timedelta(minutes=minutes)


def _minutes(weekly: tuple[int, int, int]) -> int:
    return weekly[0] * 1440 + weekly[1] * 60 + weekly[2]


def describe(window: dict) -> str:
    zone = window.get("timezone") or "UTC"
    return f"'{window['name']}' ({window['from']} → {window['to']} {zone})"


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _minute_of_week(moment: datetime) -> int:
    return moment.weekday() * 1440 + moment.hour * 60 + moment.minute


def _in_weekly(minute: int, start: tuple[int, int, int], end: tuple[int, int, int]) -> bool:
    first, last = _minutes(start), _minutes(end)
    if first <= last:
        return first <= minute < last
    return minute >= first or minute < last  # wraps over Sunday night
