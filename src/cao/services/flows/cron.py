"""A flow's schedule: a crontab expression turned into an APScheduler ``CronTrigger`` in the flow's zone.

Five fields (minute hour day month weekday) as crontab has them; cao also accepts a sixth, leading
field for seconds (``*/10 * * * * *``), mainly so a test need not wait a minute. Weekdays mean what
crontab means (0 and 7 are Sunday): APScheduler 3.x counts 0 as Monday, so numbers and ranges are
translated to day names before it sees them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from cao.errors import InvalidInput

FIVE = ("minute", "hour", "day", "month", "day_of_week")
SIX = ("second", *FIVE)
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) is Sunday
_EPSILON = timedelta(microseconds=1)
MAX_WALK = 20_000
_DAY_ITEM = re.compile(r"^(\*|[a-z]{3}|\d+)(?:-([a-z]{3}|\d+))?(?:/(\d+))?$")


@functools.cache
def local_zone() -> tzinfo:
    return CronTrigger().timezone  # APScheduler's reading of the local zone (tzlocal)


def zone(name: str | None, field: str = "timezone") -> tzinfo:
    """The IANA zone ``name``; the server's local zone when ``name`` is empty."""
    if not name:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{field}: unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin', "
                           "'America/New_York' or 'UTC'") from None


def _day_number(token: str, expr: str) -> int:
    if token.isdigit():
        number = int(token)
        if number > 7:
            raise InvalidInput(f"schedule {expr!r}: field 'day of week' has {token}; use 0-7 (0 and 7 are Sunday) "
                               "or sun-sat")
        return number % 7
    if token not in DAY_NAMES:
        raise InvalidInput(f"schedule {expr!r}: field 'day of week' has {token!r}; use 0-7 or sun, mon, … sat")
    return DAY_NAMES.index(token)


def crontab_weekdays(field: str, expr: str) -> str:
    """Translate a crontab weekday field into APScheduler's day names (``1-5`` → ``mon,tue,wed,thu,fri``)."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _DAY_ITEM.fullmatch(item)
        if not match:
            raise InvalidInput(f"schedule {expr!r}: field 'day of week' has {item!r}; use e.g. 1-5, mon-fri, "
                               "0,6 or */2")
        first, last, step = match.groups()
        if first == "*":
            low, high = 0, 6
        else:
            low = _day_number(first, expr)
            high = (_day_number(last, expr) if last else (low if step is None else 6))
            if last and last.isdigit() and int(last) == 7:
                high = 7  # 5-7 is Friday to Sunday
        if high < low:
            raise InvalidInput(f"schedule {expr!r}: field 'day of week' range {item!r} runs backwards")
        days.update(day % 7 for day in range(low, high + 1, int(step or 1)))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def trigger(expr: str, tz: tzinfo) -> CronTrigger:
    """A ``CronTrigger`` for ``expr`` in zone ``tz``; an error names the field that is wrong."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidInput("schedule: give a crontab expression such as '0 9 * * 1-5' (09:00 on weekdays)")
    values = expr.split()
    if len(values) not in (5, 6):
        raise InvalidInput(f"schedule {expr!r}: expected 5 fields (minute hour day month weekday), or 6 with "
                           f"seconds first; got {len(values)}")
    fields = dict(zip(SIX if len(values) == 6 else FIVE, values, strict=True))
    fields["day_of_week"] = crontab_weekdays(fields["day_of_week"], expr)
    try:
        return CronTrigger(**fields, timezone=tz)
    except ValueError as whole:
        for key, value in fields.items():  # which field is wrong
            try:
                CronTrigger(**{key: value}, timezone=tz)
            except ValueError as exc:
                what = key.replace("_", " ")
                raise InvalidInput(f"schedule {expr!r}: field '{what}' ({value!r}) is not valid: {exc}") from None
        raise InvalidInput(f"schedule {expr!r}: {whole}") from None


def next_fire_times(trig: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after`` (aware datetimes in the trigger's zone)."""
    out: list[datetime] = []
    for fire in _iter_after(trig, after):
        if len(out) >= count:
            break
        out.append(fire)
    return out


def fire_times_between(trig: CronTrigger, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """The latest ``limit`` fire times ``t`` with ``start < t <= end``.

    A long downtime of a frequent schedule has too many fires to walk: the window is shortened
    (its end kept) until it holds a walkable number of them.
    """
    while True:
        out: list[datetime] = []
        for steps, fire in enumerate(_iter_after(trig, start)):
            if fire > end:
                return out[-limit:] if limit else []
            if steps > MAX_WALK:
                break
            out.append(fire)
        else:
            return out[-limit:] if limit else []
        start = end - (end - start) / 2


def repeats_wall_time(previous: datetime | None, fire: datetime) -> bool:
    """When clocks go back, APScheduler fires a wall time like 02:30 twice (once per offset): once is meant."""
    return previous is not None and previous.replace(tzinfo=None, fold=0) == fire.replace(tzinfo=None, fold=0)


def _iter_after(trig: CronTrigger, start: datetime) -> Iterator[datetime]:
    now = start.astimezone(UTC) + _EPSILON  # in UTC: wall-clock arithmetic would loop in a repeated hour
    previous = None
    while True:
        fire = trig.get_next_fire_time(previous, now)
        if fire is None:
            return
        if fire > start and not repeats_wall_time(previous, fire):
            yield fire
        previous, now = fire, fire.astimezone(UTC) + _EPSILON
