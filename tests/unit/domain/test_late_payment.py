"""French late-payment penalties (DOMAIN.md §7; art. L441-10 and D441-5 C. com.)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.late_payment import (
    FIXED_COLLECTION_INDEMNITY,
    LATE_PAYMENT_MARGIN,
    BaseRate,
    BaseRateTable,
    Penalty,
    default_base_rates,
    late_payment_penalty,
    load_base_rates,
)
from tradecover.domain.money import Money

ECB = default_base_rates()
#: A flat 0 % base rate: penalty interest is exactly 10 % a year.
FLAT = BaseRateTable([BaseRate(date(2000, 1, 1), Decimal("0"))])


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def penalty(unpaid: str, due: date, on: date, table: BaseRateTable = ECB) -> Penalty:
    return late_payment_penalty(eur(unpaid), due_date=due, on=on, table=table)


# ---------------------------------------------------------- worked example


def test_worked_example_across_the_1_july_boundary() -> None:
    # 10,000.00 EUR due 31 Mar 2026, still unpaid on 15 Aug 2026.
    # ECB rate in force on 1 Jan 2026 and on 1 Jul 2026: 2.15 % (since 11 Jun 2025),
    # so both half-years bear 2.15 + 10 = 12.15 %.
    #   1 Apr – 30 Jun: 91 days  → 10,000 × 0.1215 × 91 / 365 = 302.917808…
    #   1 Jul – 15 Aug: 46 days  → 10,000 × 0.1215 × 46 / 365 = 153.123287…
    #   interest = 10,000 × 0.1215 × 137 / 365 = 456.041095… → 456.04 EUR
    #   + fixed indemnity 40.00 EUR = 496.04 EUR
    result = penalty("10000.00", date(2026, 3, 31), date(2026, 8, 15))
    assert result.days_late == 137
    assert [(s.start, s.last_day, s.days, s.annual_rate) for s in result.segments] == [
        (date(2026, 4, 1), date(2026, 6, 30), 91, Decimal("0.1215")),
        (date(2026, 7, 1), date(2026, 8, 15), 46, Decimal("0.1215")),
    ]
    assert result.segments[0].end == date(2026, 7, 1)  # half-open, like every period
    assert result.interest == eur("456.04")
    assert result.fixed_indemnity == eur("40.00")
    assert result.total == eur("496.04")
    assert result.amount == eur("10000.00")
    assert (result.due_date, result.on) == (date(2026, 3, 31), date(2026, 8, 15))


# ------------------------------------------------------- half-year rule


def test_a_rate_change_in_june_applies_only_from_1_july() -> None:
    # The ECB cut its rate to 2.15 % on 11 Jun 2025; the rate in force on
    # 1 Jan 2025 (3.15 %, since 18 Dec 2024) stays applicable until 30 Jun.
    assert ECB.rate_on(date(2025, 6, 11)) == Decimal("0.0215")
    assert ECB.rate_for_half_year(date(2025, 6, 10)) == Decimal("0.0315")
    assert ECB.rate_for_half_year(date(2025, 6, 11)) == Decimal("0.0315")
    assert ECB.rate_for_half_year(date(2025, 6, 30)) == Decimal("0.0315")
    assert ECB.rate_for_half_year(date(2025, 7, 1)) == Decimal("0.0215")
    assert ECB.rate_for_half_year(date(2025, 12, 31)) == Decimal("0.0215")


def test_penalty_segments_follow_the_half_year_rates() -> None:
    # 10,000 EUR due 31 May 2025, computed on 10 Jul 2025:
    #   June (30 days) at 3.15 + 10 = 13.15 % → 108.082191…
    #   1–10 July (10 days) at 2.15 + 10 = 12.15 % → 33.287671…
    #   (10,000 × (0.1315 × 30 + 0.1215 × 10)) / 365 = 51,600 / 365 = 141.369863… → 141.37
    result = penalty("10000", date(2025, 5, 31), date(2025, 7, 10))
    assert [(s.days, s.annual_rate) for s in result.segments] == [(30, Decimal("0.1315")), (10, Decimal("0.1215"))]
    assert result.interest == eur("141.37")


def test_a_penalty_over_a_whole_year_has_two_segments_per_year() -> None:
    result = penalty("1000", date(2023, 12, 31), date(2025, 1, 15))
    assert [(s.start, s.days) for s in result.segments] == [
        (date(2024, 1, 1), 182),
        (date(2024, 7, 1), 184),
        (date(2025, 1, 1), 15),
    ]
    # 1 Jan 2024: 4.50 %; 1 Jul 2024: 4.25 %; 1 Jan 2025: 3.15 %.
    assert [s.annual_rate for s in result.segments] == [Decimal("0.1450"), Decimal("0.1425"), Decimal("0.1315")]


# ---------------------------------------------- before, on and after due date


@pytest.mark.parametrize("on", [date(2026, 3, 1), date(2026, 3, 30), date(2026, 3, 31)])
def test_no_penalty_on_or_before_the_due_date(on: date) -> None:
    result = penalty("10000", date(2026, 3, 31), on)
    assert result.days_late == 0
    assert result.segments == ()
    assert result.interest == eur("0")
    assert result.fixed_indemnity == eur("0")
    assert result.total == eur("0")


def test_penalty_the_day_after_the_due_date() -> None:
    # One day at 12.15 %: 10,000 × 0.1215 / 365 = 3.328767… → 3.33, plus 40 EUR.
    result = penalty("10000", date(2026, 3, 31), date(2026, 4, 1))
    assert result.days_late == 1
    assert result.interest == eur("3.33")
    assert result.fixed_indemnity == eur("40")
    assert result.total == eur("43.33")


def test_no_penalty_on_a_zero_balance() -> None:
    result = penalty("0", date(2026, 3, 31), date(2026, 8, 15))
    assert result.interest == eur("0")
    assert result.fixed_indemnity == eur("0")


# ---------------------------------------------------------------- rounding


def test_rounded_half_up_once_at_the_end() -> None:
    # 100.25 EUR at a flat 10 %, due 31 May 2026, computed on 12 Aug 2026:
    #   June, 30 days:  100.25 × 0.10 × 30 / 365 = 0.823972… (alone: 0.82)
    #   July–12 Aug, 43 days: 100.25 × 0.10 × 43 / 365 = 1.181027… (alone: 1.18)
    #   together: 100.25 × 0.10 × 73 / 365 = 2.005 exactly → 2.01 half-up
    #   (rounding each segment would give 2.00; rounding half-even would too).
    result = penalty("100.25", date(2026, 5, 31), date(2026, 8, 12), FLAT)
    assert [s.days for s in result.segments] == [30, 43]
    assert sum((s.interest for s in result.segments), Decimal(0)).quantize(Decimal("0.001")) == Decimal("2.005")
    assert result.interest == eur("2.01")


def test_the_interest_is_rounded_to_the_currency_minor_unit() -> None:
    result = late_payment_penalty(
        Money.of("1000000", "JPY"),
        due_date=date(2026, 3, 31),
        on=date(2026, 4, 1),
        table=FLAT,
        fixed_indemnity=Money.of("6500", "JPY"),
    )
    # 1,000,000 × 0.10 / 365 = 273.97… → 274 JPY
    assert result.interest == Money.of("274", "JPY")
    assert result.total == Money.of("6774", "JPY")


# --------------------------------------------------------- fixed indemnity


def test_fixed_indemnity_is_40_eur_per_invoice() -> None:
    assert Decimal("40") == FIXED_COLLECTION_INDEMNITY
    assert Decimal("0.10") == LATE_PAYMENT_MARGIN
    assert penalty("12.00", date(2026, 3, 31), date(2026, 4, 2)).fixed_indemnity == eur("40")


def test_fixed_indemnity_can_be_overridden() -> None:
    result = late_payment_penalty(
        Money.of("5000", "USD"),
        due_date=date(2026, 3, 31),
        on=date(2026, 4, 30),
        table=FLAT,
        fixed_indemnity=Money.of("43.20", "USD"),
    )
    assert result.fixed_indemnity == Money.of("43.20", "USD")
    # 5,000 × 0.10 × 30 / 365 = 41.0958… → 41.10
    assert result.total == Money.of("84.30", "USD")


def test_a_non_eur_invoice_needs_its_indemnity_converted() -> None:
    result = late_payment_penalty(Money.of("5000", "USD"), due_date=date(2026, 3, 31), on=date(2026, 4, 30), table=FLAT)
    assert result.fixed_indemnity == eur("40")
    with pytest.raises(InvalidInput) as caught:
        _ = result.total
    assert caught.value.code == "money.currency_mismatch"


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        penalty("-1", date(2026, 3, 31), date(2026, 4, 30))
    assert caught.value.code == "late_payment.invalid_amount"
    with pytest.raises(InvalidInput) as caught:
        late_payment_penalty(
            eur("1"), due_date=date(2026, 3, 31), on=date(2026, 4, 30), table=ECB, fixed_indemnity=eur("-40")
        )
    assert caught.value.field == "fixed_indemnity"


# -------------------------------------------------------------- rate table


def test_rate_on_takes_the_latest_rate_on_or_before_the_day() -> None:
    assert ECB.rate_on(date(2025, 6, 10)) == Decimal("0.0240")
    assert ECB.rate_on(date(2025, 6, 11)) == Decimal("0.0215")
    assert ECB.rate_on(date(2025, 6, 12)) == Decimal("0.0215")
    assert ECB.rate_on(date(2016, 3, 16)) == Decimal("0")
    assert ECB.rate_on(date(2022, 7, 26)) == Decimal("0")
    assert ECB.rate_on(date(2022, 7, 27)) == Decimal("0.005")


def test_no_rate_before_the_first_one() -> None:
    table = BaseRateTable([BaseRate(date(2016, 3, 16), Decimal("0"))])
    with pytest.raises(InvalidInput) as caught:
        table.rate_on(date(2016, 3, 15))
    assert caught.value.code == "late_payment.no_base_rate"
    with pytest.raises(InvalidInput) as caught:  # the half-year rate is the one of 1 Jan 2016
        table.rate_for_half_year(date(2016, 4, 1))
    assert caught.value.code == "late_payment.no_base_rate"
    assert table.rate_for_half_year(date(2016, 7, 1)) == Decimal("0")


def test_the_table_is_sorted_and_refuses_duplicate_dates() -> None:
    a = BaseRate(date(2024, 6, 12), Decimal("0.0425"))
    b = BaseRate(date(2023, 9, 20), Decimal("0.045"))
    assert BaseRateTable([a, b]).rates == (b, a)
    with pytest.raises(InvalidInput) as caught:
        BaseRateTable([a, b, BaseRate(date(2024, 6, 12), Decimal("0.04"))])
    assert caught.value.code == "late_payment.duplicate_base_rate"
    with pytest.raises(InvalidInput):
        BaseRateTable([])


def test_later_rates_come_from_configuration() -> None:
    extended = ECB.with_rates([BaseRate(date(2026, 9, 16), Decimal("0.0190"))])
    assert len(extended) == len(ECB) + 1
    assert extended.rate_for_half_year(date(2026, 12, 31)) == Decimal("0.0215")
    assert extended.rate_for_half_year(date(2027, 1, 1)) == Decimal("0.0190")
    corrected = ECB.with_rates([BaseRate(date(2025, 6, 11), Decimal("0.0200"))])
    assert corrected.rate_on(date(2025, 6, 11)) == Decimal("0.0200")
    assert len(corrected) == len(ECB)


@pytest.mark.parametrize("rate", [Decimal("2.15"), Decimal("-0.10"), Decimal("NaN")])
def test_base_rates_are_fractions(rate: Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        BaseRate(date(2025, 6, 11), rate)
    assert caught.value.code == "late_payment.invalid_rate"


def test_base_rate_refuses_floats() -> None:
    with pytest.raises(InvalidInput):
        BaseRate(date(2025, 6, 11), 0.0215)  # type: ignore[arg-type]


# ------------------------------------------------------------- rates file


def test_default_rates_match_the_ecb_history() -> None:
    dates = [r.effective_date for r in ECB]
    assert dates == sorted(dates)
    assert ECB.rates[0].effective_date <= date(2008, 1, 1)
    assert ECB.rate_on(date(2008, 1, 1)) == Decimal("0.04")
    assert ECB.rate_on(date(2014, 9, 10)) == Decimal("0.0005")
    assert ECB.rate_on(date(2023, 9, 20)) == Decimal("0.045")
    assert ECB.rate_on(date(2024, 9, 18)) == Decimal("0.0365")
    assert ECB.rates[-1] == BaseRate(date(2025, 6, 11), Decimal("0.0215"))
    assert all(Decimal(0) <= r.rate <= Decimal("0.05") for r in ECB)
    assert default_base_rates() is ECB  # read once


def test_load_base_rates_parses_percentages() -> None:
    table = load_base_rates("effective_date,rate_percent\n2025-04-23,2.40\n\n2025-06-11, 2.15\n")
    assert table.rates == (
        BaseRate(date(2025, 4, 23), Decimal("0.024")),
        BaseRate(date(2025, 6, 11), Decimal("0.0215")),
    )


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("date,rate\n2025-06-11,2.15\n", 1, "header"),
        ("effective_date,rate_percent\n2025-04-23,2.40\n2025-06-31,2.15\n", 3, "effective_date"),
        ("effective_date,rate_percent\n2025-06-11,two\n", 2, "rate_percent"),
        ("effective_date,rate_percent\n2025-06-11,215\n", 2, "rate_percent"),
        ("effective_date,rate_percent\n2025-06-11\n", 2, "row"),
        ("effective_date,rate_percent\n2025-06-11,2.15\n2025-06-11,2.00\n", 3, "effective_date"),
        ("effective_date,rate_percent\n", 1, "rows"),
    ],
)
def test_load_base_rates_names_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_base_rates(text)
    assert caught.value.code == "late_payment.invalid_rate_file"
    assert caught.value.field == field
    assert caught.value.context["line"] == line
    assert f"line {line}" in caught.value.message


# -------------------------------------------------------------- properties

due_dates = st.dates(min_value=date(2008, 1, 1), max_value=date(2030, 12, 31))
lateness = st.integers(min_value=-60, max_value=2000)
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000000"), places=2)


@given(amount=amounts, due=due_dates, late=lateness, more=st.integers(min_value=0, max_value=400))
def test_penalty_is_never_negative_and_grows_with_time(amount: Decimal, due: date, late: int, more: int) -> None:
    unpaid = eur(str(amount))
    on = due + timedelta(days=late)
    now = late_payment_penalty(unpaid, due_date=due, on=on, table=ECB)
    later = late_payment_penalty(unpaid, due_date=due, on=on + timedelta(days=more), table=ECB)
    assert now.interest >= eur("0")
    assert now.total >= eur("0")
    assert later.interest >= now.interest
    assert later.total >= now.total
    assert now.days_late == max(0, late)
    assert sum(s.days for s in now.segments) == now.days_late


@given(amount=amounts, extra=amounts, due=due_dates, late=st.integers(min_value=1, max_value=2000))
def test_penalty_grows_with_the_amount(amount: Decimal, extra: Decimal, due: date, late: int) -> None:
    on = due + timedelta(days=late)
    small = penalty(str(amount), due, on)
    large = penalty(str(amount + extra), due, on)
    assert large.interest >= small.interest


@given(amount=amounts, due=due_dates, late=st.integers(min_value=1, max_value=2000))
def test_segments_tile_the_lateness_within_half_years(amount: Decimal, due: date, late: int) -> None:
    result = penalty(str(amount), due, due + timedelta(days=late))
    assert result.segments[0].start == due + timedelta(days=1)
    assert result.segments[-1].last_day == result.on
    for previous, current in itertools.pairwise(result.segments):
        assert previous.end == current.start
        assert current.start.day == 1
        assert current.start.month in (1, 7)
    for segment in result.segments:
        assert segment.days == (segment.end - segment.start).days > 0
        assert (segment.start.month <= 6) == (segment.last_day.month <= 6)
        assert segment.start.year == segment.last_day.year
    exact = sum((s.interest for s in result.segments), Decimal(0))
    assert abs(result.interest.amount - exact) <= Decimal("0.005")
