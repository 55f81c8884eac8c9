"""Properties of the premium arithmetic (DOMAIN.md §9): exact splits, rounding, the year end, paired movements."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.money import Money
from tradecover.domain.periods import Period
from tradecover.domain.premium import (
    Territory,
    TerritoryTurnover,
    TurnoverDeclaration,
    declaration_calendar,
    declared_period,
    earned_lines,
    instalment_schedule,
    latest_versions,
    no_claims_bonus,
    paired_movements,
    year_figures,
)
from tradecover.domain.terms import DeclarationFrequency, PolicyTerms, PremiumRates

AT = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)
FAST = settings(max_examples=60, deadline=None)

cents = st.integers(min_value=0, max_value=10**11).map(lambda c: Money.from_minor(c, "EUR"))
small_cents = st.integers(min_value=0, max_value=10**9).map(lambda c: Money.from_minor(c, "EUR"))
# Premium rates as the terms allow them: fractions between 0 and 0.10, up to six decimals.
rates = st.integers(min_value=0, max_value=100_000).map(lambda n: Decimal(n).scaleb(-6))
fractions = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n).scaleb(-2))
year_starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
frequencies = st.sampled_from(list(DeclarationFrequency))


def turnover(territory: Territory, amount: Money) -> TerritoryTurnover:
    return TerritoryTurnover.insurable_only(territory, amount)


def declaration(period: Period, version: int, domestic: Money, export: Money) -> TurnoverDeclaration:
    return TurnoverDeclaration(
        id=f"{period.start}-{version}",
        policy_id="policy-1",
        period=period,
        version=version,
        domestic=turnover(Territory.DOMESTIC, domestic),
        export=turnover(Territory.EXPORT, export),
        declared_by="user:u",
        declared_at=AT,
        declared_on=AT.date(),
    )


@FAST
@given(
    provisional=small_cents,
    count=st.sampled_from([1, 2, 4, 12]),
    start=year_starts,
)
def test_instalments_sum_exactly_and_differ_by_at_most_a_cent(provisional: Money, count: int, start: date) -> None:
    year = Period.twelve_months(start)
    schedule = instalment_schedule(year, provisional, count)

    assert sum(i.amount.amount for i in schedule) == provisional.amount
    if schedule:
        amounts = [i.amount.to_minor() for i in schedule]
        assert max(amounts) - min(amounts) <= 1
    assert all(i.amount.is_positive() for i in schedule)
    assert all(year.contains(i.due_on) for i in schedule)
    assert [i.due_on for i in schedule] == sorted({i.due_on for i in schedule})
    assert len(schedule) == min(count, provisional.to_minor())


@FAST
@given(
    amounts=st.lists(st.tuples(cents, cents), min_size=1, max_size=12),
    domestic_rate=rates,
    export_rate=rates,
)
def test_earned_lines_sum_to_the_per_territory_rounded_premiums(
    amounts: list[tuple[Money, Money]], domestic_rate: Decimal, export_rate: Decimal
) -> None:
    year = Period.twelve_months(date(2026, 1, 1))
    periods = declaration_calendar(year, DeclarationFrequency.MONTHLY)
    rates_ = PremiumRates(domestic_rate, export_rate)
    declarations = [declaration(periods[k], 1, dom, exp) for k, (dom, exp) in enumerate(amounts)]

    lines = [line for d in declarations for line in earned_lines(d, rates_)]
    total = sum((line.premium.amount for line in lines), Decimal(0))

    expected = sum(
        ((dom * domestic_rate).round().amount + (exp * export_rate).round().amount for dom, exp in amounts),
        Decimal(0),
    )
    assert total == expected
    # Rounding each line moves the total by at most half a cent per line from the exact premium.
    exact = sum((dom.amount * domestic_rate + exp.amount * export_rate for dom, exp in amounts), Decimal(0))
    assert abs(total - exact) <= Decimal("0.005") * len(lines)
    assert all(line.premium == line.premium.round() for line in lines)


@FAST
@given(
    premium=small_cents,
    indemnities=small_cents,
    rate=fractions,
    threshold=fractions,
)
def test_the_bonus_is_between_zero_and_rate_times_premium(
    premium: Money, indemnities: Money, rate: Decimal, threshold: Decimal
) -> None:
    bonus = no_claims_bonus(premium, indemnities, rate, threshold)

    assert Money.zero("EUR") <= bonus <= (premium * rate).round()
    if premium.is_positive() and indemnities / premium >= threshold:
        assert bonus.is_zero()


@FAST
@given(
    minimum=small_cents,
    earned=small_cents,
    called=small_cents,
    indemnities=small_cents,
    requests=st.integers(min_value=0, max_value=500),
    buyers=st.integers(min_value=0, max_value=500),
)
def test_the_adjustment_brings_what_was_called_to_the_year_premium(
    minimum: Money, earned: Money, called: Money, indemnities: Money, requests: int, buyers: int
) -> None:
    terms = PolicyTerms.build(
        currency_code="EUR",
        policyholder_country="FR",
        overrides={"minimum_premium": minimum, "request_fee": "12.34", "monitoring_fee": "5.55"},
    )
    year = Period.twelve_months(date(2026, 1, 1))
    result = year_figures(
        year=year, terms=terms, earned=earned, called=called, paid=Money.zero("EUR"), request_count=requests,
        buyers_monitored=buyers, indemnities=indemnities, declared_periods=4,
    )  # fmt: skip

    assert result.adjustment + result.called == result.premium
    assert result.premium == max(minimum, earned)
    assert result.fees == Money.of("12.34", "EUR") * requests + Money.of("5.55", "EUR") * buyers
    assert result.balance == result.adjustment + result.fees - result.bonus
    if result.max_liability is not None:
        assert result.max_liability == (result.premium * 30).round()


@FAST
@given(amount=cents, debtor=st.sampled_from(["insured:a", "insurer"]))
def test_paired_movements_sum_to_zero(amount: Money, debtor: str) -> None:
    creditor = "insurer" if debtor != "insurer" else "insured:a"
    pair = paired_movements(
        ids=("m1", "m2"), transaction_id="t", policy_id="p", kind="premium_payment", debtor=debtor,
        creditor=creditor, amount=amount, on=date(2026, 1, 1), reference="r", at=AT,
    )  # fmt: skip

    assert pair[0].amount + pair[1].amount == Money.zero("EUR")
    assert {m.account for m in pair} == {debtor, creditor}
    assert len({m.transaction_id for m in pair}) == 1


@FAST
@given(
    versions=st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=1, max_value=5)),
        min_size=0,
        max_size=20,
        unique=True,
    ),
)
def test_latest_versions_keeps_exactly_one_declaration_per_period(versions: list[tuple[int, int]]) -> None:
    quarters = declaration_calendar(Period.twelve_months(date(2026, 1, 1)), DeclarationFrequency.QUARTERLY)
    zero = Money.zero("EUR")
    declared = [declaration(quarters[q], v, Money.from_minor(v, "EUR"), zero) for q, v in versions]

    latest = latest_versions(declared)

    highest: dict[Period, int] = defaultdict(int)
    for q, v in versions:
        highest[quarters[q]] = max(highest[quarters[q]], v)
    assert [d.period for d in latest] == sorted(highest, key=lambda p: p.start)
    assert all(d.version == highest[d.period] for d in latest)


@FAST
@given(start=year_starts, frequency=frequencies)
def test_both_spellings_of_every_calendar_period_give_that_period(start: date, frequency: DeclarationFrequency) -> None:
    year = Period.twelve_months(start)
    calendar = declaration_calendar(year, frequency)
    boundaries = [p.start for p in calendar] + [year.end]

    assert calendar[0].start == year.start
    assert calendar[-1].end == year.end
    for period in calendar:
        assert declared_period(period.start, period.last_day, boundaries) == period
        assert declared_period(period.start, period.end, boundaries) == period
        assert period.last_day == period.end - timedelta(days=1)
