"""The clock, injected wherever time matters (decide steps take `now` as an argument).

`SystemClock` reads the real time in Jakarta; `FixedClock` is for tests and for replaying a
run at a given moment (`BOTS_NOW`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: ZoneInfo = JAKARTA):
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock that says what it is told; `advance` moves it."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


def clock_for(settings) -> Clock:
    return FixedClock(settings.now) if settings.now else SystemClock(settings.tz)
