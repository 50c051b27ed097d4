"""Schedules: crontab semantics (weekdays as crontab counts them), zones, DST, seconds, missed fires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cao.errors import InvalidInput
from cao.services.flows import cron


def fires(expr: str, zone: str, after: datetime, count: int = 3) -> list[str]:
    trig = cron.trigger(expr, cron.zone(zone))
    return [t.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M:%S") for t in cron.next_fire_times(trig, after, count)]


def test_weekdays_are_crontabs() -> None:
    # 2026-12-04 is a Friday. Crontab's 1-5 is Monday to Friday; APScheduler alone would say Tuesday to Saturday.
    assert fires("0 9 * * 1-5", "UTC", datetime(2026, 12, 4, 10, tzinfo=UTC)) == [
        "Mon 2026-12-07 09:00:00", "Tue 2026-12-08 09:00:00", "Wed 2026-12-09 09:00:00"]
    assert fires("0 9 * * 0", "UTC", datetime(2026, 12, 4, tzinfo=UTC), 1) == ["Sun 2026-12-06 09:00:00"]
    assert fires("0 9 * * 7", "UTC", datetime(2026, 12, 4, tzinfo=UTC), 1) == ["Sun 2026-12-06 09:00:00"]


@pytest.mark.parametrize(("field", "days"), [
    ("*", "*"), ("1-5", "mon,tue,wed,thu,fri"), ("mon-fri", "mon,tue,wed,thu,fri"), ("0,6", "sun,sat"),
    ("5-7", "sun,fri,sat"), ("*/2", "sun,tue,thu,sat"), ("sun", "sun"), ("1-5/2", "mon,wed,fri")])
def test_weekday_translation(field: str, days: str) -> None:
    assert cron.crontab_weekdays(field, "x") == days


def test_zone_and_strictly_after() -> None:
    # 09:00 in New York is 14:00 UTC in winter; a fire exactly at `after` is not "next".
    assert fires("0 9 * * *", "America/New_York", datetime(2026, 12, 2, 14, tzinfo=UTC), 1) == [
        "Thu 2026-12-03 14:00:00"]


def test_daylight_saving_changes() -> None:
    # Berlin: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer (change on 2026-03-29).
    assert fires("0 9 * * *", "Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC)) == [
        "Sat 2026-03-28 08:00:00", "Sun 2026-03-29 07:00:00", "Mon 2026-03-30 07:00:00"]
    # 02:30 does not exist on 2026-03-29 in Berlin: that day's run is at 03:30 local (01:30 UTC).
    assert fires("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 28, 12, tzinfo=UTC), 2) == [
        "Sun 2026-03-29 01:30:00", "Mon 2026-03-30 00:30:00"]
    # 02:30 happens twice on 2026-10-25: it runs once.
    assert fires("30 2 * * *", "Europe/Berlin", datetime(2026, 10, 24, 12, tzinfo=UTC), 2) == [
        "Sun 2026-10-25 00:30:00", "Mon 2026-10-26 01:30:00"]


def test_six_fields_start_with_seconds() -> None:
    assert fires("*/20 * * * * *", "UTC", datetime(2026, 12, 2, 10, 0, 5, tzinfo=UTC)) == [
        "Wed 2026-12-02 10:00:20", "Wed 2026-12-02 10:00:40", "Wed 2026-12-02 10:01:00"]


@pytest.mark.parametrize(("expr", "needle"), [
    ("", "give a crontab expression"),
    ("* * * *", "expected 5 fields"),
    ("60 * * * *", "field 'minute' ('60')"),
    ("* * 32 * *", "field 'day' ('32')"),
    ("* * * 13 *", "field 'month' ('13')"),
    ("* * * * 8", "field 'day of week' has 8"),
    ("* * * * funday", "field 'day of week' has 'funday'"),
    ("61 * * * * *", "field 'second' ('61')"),
])
def test_bad_schedules_name_the_field(expr: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        cron.trigger(expr, cron.zone("UTC"))
    assert needle in str(err.value)


def test_unknown_zone() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone 'Nowhere/Town'"):
        cron.zone("Nowhere/Town")


def test_missed_fires_between() -> None:
    trig = cron.trigger("0 * * * *", cron.zone("UTC"))
    got = cron.fire_times_between(trig, datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 2, 12, tzinfo=UTC), 10)
    assert [t.hour for t in got] == [10, 11, 12]
    assert [t.hour for t in cron.fire_times_between(trig, datetime(2026, 12, 2, 9, tzinfo=UTC),
                                                    datetime(2026, 12, 2, 12, tzinfo=UTC), 2)] == [11, 12]


def test_a_long_downtime_of_a_frequent_schedule_is_bounded() -> None:
    trig = cron.trigger("* * * * * *", cron.zone("UTC"))  # every second, for 30 days
    got = cron.fire_times_between(trig, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), 5)
    assert [t.second for t in got] == [56, 57, 58, 59, 0]
