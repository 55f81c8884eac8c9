"""Half-open periods, month arithmetic and the injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.periods import (
    Clock,
    FixedClock,
    Period,
    SystemClock,
    add_months,
    utc,
)

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(dates)
    length = draw(st.integers(min_value=1, max_value=800))
    return Period(start, start + timedelta(days=length))


# --------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_months_refuses_non_int_and_out_of_calendar() -> None:
    with pytest.raises(InvalidInput):
        add_months(date(2026, 1, 1), True)
    with pytest.raises(InvalidInput) as caught:
        add_months(date(9999, 12, 1), 1)
    assert caught.value.code == "period.out_of_range"


@given(d=dates, months=st.integers(min_value=-600, max_value=600))
def test_add_months_lands_in_the_right_month(d: date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    assert result.day <= d.day
    if result.day < d.day:  # clamped: it must be the month's last day
        assert (result + timedelta(days=1)).day == 1


# ------------------------------------------------------------------ Period


def test_period_is_half_open() -> None:
    year = Period(date(2026, 1, 1), date(2027, 1, 1))
    assert year.contains(date(2026, 1, 1))
    assert year.contains(date(2026, 12, 31))
    assert not year.contains(date(2027, 1, 1))
    assert not year.contains(date(2025, 12, 31))
    assert date(2026, 6, 1) in year
    assert year.days == 365
    assert year.last_day == date(2026, 12, 31)
    assert str(year) == "[2026-01-01, 2027-01-01)"


def test_empty_or_reversed_period_is_refused() -> None:
    for end in (date(2026, 1, 1), date(2025, 12, 31)):
        with pytest.raises(InvalidInput) as caught:
            Period(date(2026, 1, 1), end)
        assert caught.value.code == "period.empty"
        assert caught.value.field == "end"


def test_period_refuses_datetimes() -> None:
    with pytest.raises(InvalidInput) as caught:
        Period(datetime(2026, 1, 1, tzinfo=UTC), date(2027, 1, 1))
    assert caught.value.code == "period.invalid_date"


def test_adjacent_periods_do_not_overlap() -> None:
    first = Period(date(2026, 1, 1), date(2026, 7, 1))
    second = Period(date(2026, 7, 1), date(2027, 1, 1))
    assert not first.overlaps(second)
    assert first.intersection(second) is None


def test_intersection() -> None:
    a = Period(date(2026, 1, 1), date(2026, 7, 1))
    b = Period(date(2026, 3, 1), date(2027, 1, 1))
    assert a.overlaps(b)
    assert a.intersection(b) == Period(date(2026, 3, 1), date(2026, 7, 1))


def test_twelve_months_across_leap_years() -> None:
    assert Period.twelve_months(date(2026, 1, 1)) == Period(date(2026, 1, 1), date(2027, 1, 1))
    leap_year = Period.twelve_months(date(2024, 1, 1))
    assert leap_year.days == 366
    from_leap_day = Period.twelve_months(date(2024, 2, 29))
    assert from_leap_day.end == date(2025, 2, 28)
    assert from_leap_day.days == 365
    assert Period.twelve_months(date(2023, 3, 1)).end == date(2024, 3, 1)
    assert Period.twelve_months(date(2023, 3, 1)).days == 366


def test_next_twelve_months_starts_where_the_period_ends() -> None:
    year = Period.twelve_months(date(2026, 4, 1))
    assert year.next_twelve_months() == Period(date(2027, 4, 1), date(2028, 4, 1))
    short_first_period = Period(date(2026, 4, 15), date(2027, 1, 1))
    assert short_first_period.next_twelve_months() == Period(date(2027, 1, 1), date(2028, 1, 1))
    from_leap_day = Period.twelve_months(date(2024, 2, 29))
    assert from_leap_day.next_twelve_months().start == date(2025, 2, 28)


@given(a=periods(), b=periods())
def test_intersection_properties(a: Period, b: Period) -> None:
    common = a.intersection(b)
    assert a.overlaps(b) == (common is not None) == b.overlaps(a)
    assert common == b.intersection(a)
    if common is not None:
        assert max(a.start, b.start) == common.start
        assert min(a.end, b.end) == common.end
        assert common.days <= min(a.days, b.days)


@given(p=periods(), d=dates)
def test_contains_matches_half_open_bounds(p: Period, d: date) -> None:
    assert p.contains(d) == (p.start <= d < p.end)


@given(start=dates)
def test_consecutive_twelve_month_periods_tile_time(start: date) -> None:
    year = Period.twelve_months(start)
    following = year.next_twelve_months()
    assert following.start == year.end
    assert not year.overlaps(following)
    assert 365 <= year.days <= 366


# ------------------------------------------------------------------- clock


def test_utc_refuses_naive_and_converts_aware() -> None:
    with pytest.raises(InvalidInput) as caught:
        utc(datetime(2026, 1, 1, 12, 0))  # naive on purpose
    assert caught.value.code == "clock.naive_datetime"
    paris = timezone(timedelta(hours=1))
    converted = utc(datetime(2026, 1, 1, 0, 30, tzinfo=paris))
    assert converted == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(InvalidInput) as caught:
        FixedClock(datetime(2026, 1, 1))  # naive on purpose
    assert caught.value.code == "clock.naive_datetime"
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        clock.set(datetime(2026, 2, 1))  # naive on purpose


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 1, 31, 23, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert clock.today() == date(2026, 1, 31)
    clock.advance(timedelta(hours=2))
    assert clock.today() == date(2026, 2, 1)
    clock.set(datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_fixed_clock_on_a_day_and_the_protocol() -> None:
    clock = FixedClock.on(date(2026, 3, 15))
    assert clock.now() == datetime(2026, 3, 15, tzinfo=UTC)
    assert isinstance(clock, Clock)
    assert isinstance(SystemClock(), Clock)


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert SystemClock().today() in (now.date(), now.date() + timedelta(days=1))
