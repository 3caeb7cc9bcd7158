"""Standard 5-field cron schedules, parsed the way the CronJob controller parses them.

Kubernetes uses robfig/cron's standard parser: `minute hour day-of-month month
day-of-week`, each a `*`, a value, a range `a-b`, a step `*/n` / `a-b/n` / `a/n`
(meaning `a-max/n`) or a comma-separated list of those; month and weekday names
(`jan`, `mon`); `?` like `*`; 7 for Sunday is not accepted; and the descriptors
@yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly. When both
day fields are restricted a day matches either of them; when one starts with `*`
(without a step) both must match. Fields are read in the schedule's time zone
(UTC unless given, as `spec.timeZone`); times passed in and out are aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MONTHS = {m: i for i, m in enumerate(MONTH_NAMES, 1)}
WEEKDAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names)
FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 6, WEEKDAYS),
]
SEARCH_YEARS = 5  # like robfig/cron: a schedule that never fires within 5 years has no next time


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_star: bool  # the day-of-month field started with `*` (no step)
    weekdays_star: bool
    zone: dt.tzinfo = dt.UTC

    def day_matches(self, moment: dt.datetime) -> bool:
        dom = moment.day in self.days
        dow = (moment.isoweekday() % 7) in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first scheduled minute strictly after `moment`, or None within 5 years."""
        t = moment.astimezone(self.zone).replace(second=0, microsecond=0)
        t += dt.timedelta(minutes=1)
        limit = t.year + SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = _first_of_next_month(t)
                continue
            if not self.day_matches(t):
                t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if t.hour not in self.hours:
                t = (t + dt.timedelta(hours=1)).replace(minute=0)
                continue
            if t.minute not in self.minutes:
                t += dt.timedelta(minutes=1)
                continue
            return t.astimezone(dt.UTC)
        return None

    def last_at_or_before(self, moment: dt.datetime) -> dt.datetime | None:
        """The latest scheduled minute at or before `moment`, or None within 5 years."""
        t = moment.astimezone(self.zone).replace(second=0, microsecond=0)
        limit = t.year - SEARCH_YEARS
        while t.year >= limit:
            if t.month not in self.months:
                t = t.replace(day=1, hour=0, minute=0) - dt.timedelta(minutes=1)
                continue
            if not self.day_matches(t):
                t = t.replace(hour=0, minute=0) - dt.timedelta(minutes=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) - dt.timedelta(minutes=1)
                continue
            if t.minute not in self.minutes:
                t -= dt.timedelta(minutes=1)
                continue
            return t.astimezone(dt.UTC)
        return None


def _first_of_next_month(t: dt.datetime) -> dt.datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0)


def parse_schedule(text: str, zone: dt.tzinfo = dt.UTC) -> Schedule:
    """Parse a schedule or raise ScheduleError with a robfig/cron-like message."""
    spec = DESCRIPTORS.get(text.strip().lower(), text) if isinstance(text, str) else ""
    if isinstance(text, str) and text.strip().startswith("@") and spec == text:
        raise ScheduleError(f"unrecognized descriptor: {text.strip()}")
    parts = spec.split()
    if len(parts) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(parts)}: {parts}")
    parsed = [_field(part, *field) for part, field in zip(parts, FIELDS, strict=True)]
    return Schedule(
        minutes=parsed[0][0],
        hours=parsed[1][0],
        days=parsed[2][0],
        months=parsed[3][0],
        weekdays=parsed[4][0],
        days_star=parsed[2][1],
        weekdays_star=parsed[4][1],
        zone=zone,
    )


def _field(text: str, name: str, low: int, high: int, names: dict) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for item in text.split(","):
        item_values, item_star = _range(item, name, low, high, names)
        values |= item_values
        star = star or item_star
    return frozenset(values), star


def _range(text: str, name: str, low: int, high: int, names: dict) -> tuple[set[int], bool]:
    range_part, _, step_part = text.partition("/")
    if "/" in step_part:
        raise ScheduleError(f"too many slashes: {text}")
    star = range_part in ("*", "?")
    if star:
        start, end = low, high
    else:
        first, dash, last = range_part.partition("-")
        start = _number(first, name, names)
        end = _number(last, name, names) if dash else start
    step = 1
    if step_part or text.endswith("/"):
        step = _number(step_part, name, {})
        if not star and "-" not in range_part:
            end = high  # `a/n` means `a-max/n`
        if step > 1:
            star = False
    if start < low:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {text}")
    if end > high:
        raise ScheduleError(f"end of range ({end}) above maximum ({high}): {text}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {text}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {text}")
    return set(range(start, end + 1, step)), star


def _number(text: str, name: str, names: dict) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}: the {name} field wants a number")
    return int(text)


def most_recent_due(
    schedule: Schedule, since: dt.datetime, until: dt.datetime, cap: int = 101
) -> tuple[dt.datetime | None, int]:
    """The latest scheduled time in (since, until], and how many were due (counted up to `cap`)."""
    latest = schedule.last_at_or_before(until)
    if latest is None or latest <= since:
        return None, 0
    count, moment = 0, schedule.next_after(since)
    while moment is not None and moment <= latest and count < cap:
        count += 1
        moment = schedule.next_after(moment)
    return latest, count
