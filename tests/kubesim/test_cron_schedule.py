"""Cron schedules as the CronJob controller reads them (robfig/cron's standard syntax, UTC)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from kubesim.cron import ScheduleError, most_recent_due, parse_schedule

NOW = dt.datetime(2026, 12, 1, 15, 23, 30, tzinfo=dt.UTC)  # a Tuesday


def at(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("schedule", "following", "previous"),
    [
        ("* * * * *", at(2026, 12, 1, 15, 24), at(2026, 12, 1, 15, 23)),
        ("*/15 * * * *", at(2026, 12, 1, 15, 30), at(2026, 12, 1, 15, 15)),
        ("5/20 * * * *", at(2026, 12, 1, 15, 25), at(2026, 12, 1, 15, 5)),
        ("0 2 * * *", at(2026, 12, 2, 2, 0), at(2026, 12, 1, 2, 0)),
        ("0 9-17/2 * * mon-fri", at(2026, 12, 1, 17, 0), at(2026, 12, 1, 15, 0)),
        ("30 4 1,15 * 5", at(2026, 12, 4, 4, 30), at(2026, 12, 1, 4, 30)),  # day OR weekday
        ("0 0 */2 * 5", at(2026, 12, 3, 0, 0), at(2026, 12, 1, 0, 0)),  # a step is no star
        ("0 0 * * 5", at(2026, 12, 4, 0, 0), at(2026, 11, 27, 0, 0)),  # `*` day: weekday only
        ("0 0 29 feb *", at(2028, 2, 29, 0, 0), at(2024, 2, 29, 0, 0)),
        ("@hourly", at(2026, 12, 1, 16, 0), at(2026, 12, 1, 15, 0)),
        ("@daily", at(2026, 12, 2, 0, 0), at(2026, 12, 1, 0, 0)),
        ("@midnight", at(2026, 12, 2, 0, 0), at(2026, 12, 1, 0, 0)),
        ("@weekly", at(2026, 12, 6, 0, 0), at(2026, 11, 29, 0, 0)),
        ("@monthly", at(2027, 1, 1, 0, 0), at(2026, 12, 1, 0, 0)),
        ("@yearly", at(2027, 1, 1, 0, 0), at(2026, 1, 1, 0, 0)),
    ],
)
def test_next_and_previous_scheduled_minutes(schedule, following, previous):
    parsed = parse_schedule(schedule)
    assert parsed.next_after(NOW) == following
    assert parsed.last_at_or_before(NOW) == previous


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("daily", "expected exactly 5 fields, found 1: ['daily']"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ],
)
def test_malformed_schedules_are_refused(schedule, message):
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(schedule)
    assert str(raised.value) == message


def test_most_recent_due_counts_the_missed_times():
    every_minute = parse_schedule("* * * * *")
    assert most_recent_due(every_minute, NOW - dt.timedelta(minutes=3), NOW) == (
        at(2026, 12, 1, 15, 23),
        3,
    )
    assert most_recent_due(every_minute, at(2026, 12, 1, 15, 23), NOW) == (None, 0)
    latest, count = most_recent_due(every_minute, NOW - dt.timedelta(days=2), NOW)
    assert (latest, count) == (at(2026, 12, 1, 15, 23), 101)  # counting stops past 100


def test_a_schedule_is_read_in_its_time_zone():
    kathmandu = parse_schedule("0 2 * * *", zoneinfo.ZoneInfo("Asia/Kathmandu"))  # UTC+05:45
    assert kathmandu.next_after(NOW) == at(2026, 12, 1, 20, 15)
    assert kathmandu.last_at_or_before(NOW) == at(2026, 11, 30, 20, 15)
    berlin = parse_schedule("30 2 * * *", zoneinfo.ZoneInfo("Europe/Berlin"))
    summer = at(2027, 7, 1, 12, 0)
    assert berlin.next_after(summer) == at(2027, 7, 2, 0, 30)  # CEST, UTC+2
    assert berlin.next_after(NOW) == at(2026, 12, 2, 1, 30)  # CET, UTC+1
