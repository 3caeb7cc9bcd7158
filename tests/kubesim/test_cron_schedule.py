"""Cron schedules as the CronJob controller reads them (robfig/cron's standard syntax, UTC)."""

from __future__ import annotations

import datetime as dt

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
