"""Jakarta schedules as UTC cron lines: Procrastinate's cron has no time zone (it reads UTC).

A pure function of the schedule and the zone. Asia/Jakarta has had one offset (+07:00, no
daylight saving) since 1964, so a Jakarta crontab line is the same line shifted by seven
hours; where the shift crosses midnight the UTC fire is on the day before, so the weekdays
shift too, and one Jakarta line can become two UTC lines:

    0 8-17 * * mon-sat   (WIB)  →  0 1-10 * * 1-6          (UTC: same day)
    45 6 * * *           (WIB)  →  45 23 * * *             (UTC: the evening before)
    0 5-8 * * mon        (WIB)  →  0 22-23 * * 0  and  0 0-1 * * 1

Day-of-week numbers and names are read as APScheduler reads them (0 = Monday; names are
safest), so `schedule` and `worker` fire at the same moments; the UTC lines use cron's own
numbers (0 = Sunday), which croniter (under Procrastinate) reads. An `every` interval fires
on the clock in queue mode (every 30 s at :00 and :30), so it must divide a minute, an hour
or a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from bots.errors import ConfigError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
#: (lowest, highest, names) of each crontab field: minute, hour, day of month, month, weekday.
_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS), (0, 6, _DAYS))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def fixed_offset(tz: tzinfo, key: str = "schedule.timezone") -> timedelta:
    """The zone's one UTC offset; ConfigError if it changes over the next two years (DST)."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    offsets = {(start + timedelta(days=d)).astimezone(tz).utcoffset() for d in range(0, 730, 7)}
    if len(offsets) != 1:
        raise ConfigError(key, "a time zone without daylight saving for the queue mode "
                               "(its cron is UTC; Asia/Jakarta is fine)", str(tz))
    return offsets.pop()  # type: ignore[return-value]


def utc_crons(line: str, tz: tzinfo, key: str = "schedule.jobs") -> list[str]:
    """The UTC crontab lines that fire exactly when `line` fires in `tz`."""
    fields = line.split()
    if len(fields) != 5:
        raise ConfigError(key, "a crontab line of five fields (minute hour day month weekday)", line)
    minutes, hours, days, months, weekdays = (_expand(text, *spec, key=key, name=name, line=line)
                                              for text, spec, name in zip(fields, _FIELDS, _NAMES))
    offset = int(fixed_offset(tz).total_seconds() // 60)
    by_shift: dict[int, set[tuple[int, int]]] = {}
    for hour in hours:
        for minute in minutes:
            shift, utc = divmod(hour * 60 + minute - offset, 24 * 60)
            by_shift.setdefault(shift, set()).add(divmod(utc, 60))
    every_day = days == set(range(1, 32)) and months == set(range(1, 13))
    if days != set(range(1, 32)) and weekdays != set(range(7)):
        raise ConfigError(key, "a day-of-month or a day-of-week field, not both (cron would fire on "
                               "either, APScheduler only on both)", line)
    out = []
    for shift in sorted(by_shift):
        if shift and not every_day:
            raise ConfigError(key, "day-of-month and month fields of * when the Jakarta time crosses "
                                   "midnight in UTC (the queue mode's cron is UTC)", line)
        # APScheduler's 0 = Monday → cron's 0 = Sunday, moved by the day the UTC fire falls on
        cron_days = {(day + shift + 1) % 7 for day in weekdays}
        rest = f"{_format(days, 1, 31)} {_format(months, 1, 12)} {_format(cron_days, 0, 6)}"
        minutes_by_hour: dict[frozenset[int], set[int]] = {}
        for hour in range(24):
            at = frozenset(m for h, m in by_shift[shift] if h == hour)
            if at:
                minutes_by_hour.setdefault(at, set()).add(hour)
        for at, utc_hours in sorted(minutes_by_hour.items(), key=lambda item: min(item[1])):
            out.append(f"{_format(set(at), 0, 59)} {_format(utc_hours, 0, 23)} {rest}")
    return out


def every_crons(seconds: int, tz: tzinfo, key: str = "schedule.jobs") -> list[str]:
    """An `every` interval as UTC cron lines that fire on the clock (seconds as a 6th field)."""
    if seconds < 60 and 60 % seconds == 0:
        return ["* * * * * */%d" % seconds if seconds > 1 else "* * * * * *"]
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return ["*/%d * * * *" % (seconds // 60)]
    if seconds % 3600 == 0 and seconds <= 86400 and 24 % (seconds // 3600) == 0:
        hours = ",".join(str(h) for h in range(0, 24, seconds // 3600))
        return utc_crons(f"0 {hours} * * *", tz, key)  # whole hours and midnight are Jakarta's
    raise ConfigError(key, "an interval the queue mode can fire on the clock: one that divides a minute, "
                           "an hour or a day (30s, 2m, 15m, 1h, 6h, 1d)", f"{seconds}s")


def _expand(text: str, low: int, high: int, names: tuple[str, ...], *, key: str, name: str,
            line: str) -> set[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, names, low, key, name, line, step=True) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(a, names, low, key, name, line), _number(b, names, low, key, name, line)
        else:
            first = _number(span, names, low, key, name, line)
            last = high if step_text else first
        if not (low <= first <= last <= high) or step < 1:
            raise ConfigError(key, f"a {name} field within {low}-{high}", line)
        values.update(range(first, last + 1, step))
    return values


def _number(text: str, names: tuple[str, ...], low: int, key: str, name: str, line: str,
            step: bool = False) -> int:
    if not step and text in names:
        return names.index(text) + low
    if not text.isdigit():
        raise ConfigError(key, f"numbers, names, ranges, lists or steps in the {name} field "
                               "(the queue mode does not read 'last' or '#')", line)
    return int(text)


def _format(values: set[int], low: int, high: int) -> str:
    """A set of numbers as a crontab field: `*`, or ranges and single numbers joined by commas."""
    if values == set(range(low, high + 1)):
        return "*"
    ordered, parts = sorted(values), []
    start = prev = ordered[0]
    for value in ordered[1:] + [None]:  # type: ignore[list-item]
        if value is not None and value == prev + 1:
            prev = value
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(parts)
