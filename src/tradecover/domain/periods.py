"""Periods of dates and the injected clock.

Business facts in trade credit insurance are dates (delivery, due date, policy
year), and every period is half-open ``[start, end)``: consecutive periods then
tile time without gaps or double counting, and "the policy year 2026" is simply
``[2026-01-01, 2027-01-01)``.

The domain never asks the system for the time: it receives a :class:`Clock`,
so that deadlines can be tested on the day before, of and after. Instants are
timezone-aware UTC datetimes; naive datetimes are refused because their meaning
depends on the machine that runs the code.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, runtime_checkable

from tradecover.domain.errors import InvalidInput

__all__ = [
    "Clock",
    "FixedClock",
    "Period",
    "SystemClock",
    "add_months",
    "utc",
]


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, the day clamped to the month's end.

    2026-01-31 + 1 → 2026-02-28; 2024-02-29 + 12 → 2025-02-28. Clamping (rather
    than rolling over into the next month) keeps the result inside the target
    month, which is what "one month later" means on a contract.
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise InvalidInput(
            f"months must be an int, got {months!r}",
            code="period.invalid_months",
            field="months",
        )
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise InvalidInput(
            f"{d} + {months} months is outside the supported calendar",
            code="period.out_of_range",
            field="months",
        )
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


def _plain_date(value: object, field: str) -> date:
    # A datetime is a date subclass; mixing the two breaks comparisons, so a
    # period holds calendar dates only.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            f"{field} must be a date, got {value!r}",
            code="period.invalid_date",
            field=field,
        )
    return value


@dataclass(frozen=True)
class Period:
    """A half-open range of dates ``[start, end)``; never empty."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _plain_date(self.start, "start")
        _plain_date(self.end, "end")
        if self.end <= self.start:
            raise InvalidInput(
                f"period end {self.end} must be after its start {self.start}",
                code="period.empty",
                field="end",
                context={"start": self.start, "end": self.end},
            )

    @classmethod
    def twelve_months(cls, start: date) -> Period:
        """The twelve months from ``start`` (a policy year), see :func:`add_months`."""
        return cls(start, add_months(start, 12))

    @property
    def days(self) -> int:
        """Number of days in the period (``end`` excluded)."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day inside the period, for display ("to 31/12/2026")."""
        return self.end - timedelta(days=1)

    def contains(self, d: date) -> bool:
        return self.start <= d < self.end

    def __contains__(self, d: date) -> bool:
        return self.contains(d)

    def overlaps(self, other: Period) -> bool:
        """True when the two periods share at least one day."""
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Period) -> Period | None:
        """The days common to both periods, or None if they share none."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Period(start, end) if start < end else None

    def next_twelve_months(self) -> Period:
        """The twelve months starting where this period ends (tacit renewal).

        Built from ``end``, so a year starting on 29 February continues on
        28 February; a caller that must stay on an anniversary computes
        ``add_months(anniversary, 12 * n)`` itself.
        """
        return Period.twelve_months(self.end)

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def utc(dt: datetime) -> datetime:
    """``dt`` converted to UTC; a naive datetime is refused, not guessed."""
    if not isinstance(dt, datetime):
        raise InvalidInput(
            f"expected a datetime, got {dt!r}",
            code="clock.invalid_datetime",
            field="at",
        )
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidInput(
            f"datetime {dt.isoformat()} has no time zone; give an aware UTC datetime",
            code="clock.naive_datetime",
            field="at",
            context={"at": dt.isoformat()},
        )
    return dt.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Source of the current time, injected so rules stay testable."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def today(self) -> date:
        """The current date in UTC."""
        ...


class SystemClock:
    """The real clock, for production wiring only."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FixedClock:
    """A clock that only moves when told to, for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = utc(at)

    @classmethod
    def on(cls, day: date) -> FixedClock:
        """A clock standing at midnight UTC of ``day``."""
        return cls(datetime.combine(_plain_date(day, "day"), time(0, 0), tzinfo=UTC))

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.date()

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (negative moves it back)."""
        self._at = self._at + delta

    def set(self, at: datetime) -> None:
        """Move the clock to ``at`` (aware)."""
        self._at = utc(at)

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"
