"""Premium (DOMAIN.md §9): declared periods, versions, earned premium, instalments, the year end.

Small cases with the arithmetic written out; the properties are in ``test_premium_properties.py``.
The policy year of most cases is 2026, ``[2026-01-01, 2027-01-01)``, declared quarterly.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.periods import Period
from tradecover.domain.premium import (
    DocumentKind,
    PremiumDocument,
    PremiumItem,
    PremiumPayment,
    Territory,
    TerritoryTurnover,
    TurnoverDeclaration,
    check_year_can_close,
    declaration_calendar,
    declaration_due_date,
    declared_period,
    document_number,
    earned_lines,
    instalment_schedule,
    latest_versions,
    loss_ratio,
    max_liability,
    next_version,
    no_claims_bonus,
    paid_per_document,
    paired_movements,
    signed_document,
    statement_balance,
    year_figures,
)
from tradecover.domain.terms import DeclarationFrequency, PolicyTerms, PremiumRates

YEAR = Period(date(2026, 1, 1), date(2027, 1, 1))
Q1 = Period(date(2026, 1, 1), date(2026, 4, 1))
Q2 = Period(date(2026, 4, 1), date(2026, 7, 1))
AT = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)
RATES = PremiumRates(domestic_rate=Decimal("0.0025"), export_rate=Decimal("0.0040"))
QUARTERLY = DeclarationFrequency.QUARTERLY
MONTHLY = DeclarationFrequency.MONTHLY


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def d(text: str) -> date:
    return date.fromisoformat(text)


def terms(**overrides: Any) -> PolicyTerms:
    return PolicyTerms.build(currency_code="EUR", policyholder_country="FR", overrides=overrides)


def boundaries(frequency: DeclarationFrequency = QUARTERLY, year: Period = YEAR) -> list[date]:
    """What the service gives :func:`declared_period`: the starts of the declaration periods and the year end."""
    return [p.start for p in declaration_calendar(year, frequency)] + [year.end]


def declaration(
    period: Period = Q1, version: int = 1, domestic: str = "0", export: str = "0", **exclusions: str
) -> TurnoverDeclaration:
    dom = TerritoryTurnover(
        Territory.DOMESTIC,
        eur(domestic),
        eur(exclusions.get("cash_sales", "0")),
        eur(exclusions.get("intra_group", "0")),
        eur(exclusions.get("public_buyers", "0")),
    )
    return TurnoverDeclaration(
        id=f"decl-{period.start}-{version}",
        policy_id="policy-1",
        period=period,
        version=version,
        domestic=dom,
        export=TerritoryTurnover.insurable_only(Territory.EXPORT, eur(export)),
        declared_by="user:u",
        declared_at=AT,
        declared_on=AT.date(),
    )


def refused(action: Any, code: str, kind: type[Exception] = InvalidInput) -> Any:
    with pytest.raises(kind) as caught:
        action()
    assert getattr(caught.value, "code", None) == code, caught.value
    return caught.value


# ============================================================================ declared periods


def test_the_inclusive_and_the_half_open_end_give_the_same_quarter() -> None:
    inclusive = declared_period(d("2026-01-01"), d("2026-03-31"), boundaries())
    half_open = declared_period(d("2026-01-01"), d("2026-04-01"), boundaries())

    assert inclusive == half_open == Q1
    assert Q1.last_day == d("2026-03-31")


def test_the_last_quarter_ends_with_the_policy_year_either_way() -> None:
    q4 = Period(d("2026-10-01"), d("2027-01-01"))

    assert declared_period(d("2026-10-01"), d("2026-12-31"), boundaries()) == q4
    assert declared_period(d("2026-10-01"), d("2027-01-01"), boundaries()) == q4  # the year's end is a boundary


def test_a_monthly_calendar_reads_its_month_ends() -> None:
    february = Period(d("2026-02-01"), d("2026-03-01"))

    assert declared_period(d("2026-02-01"), d("2026-02-28"), boundaries(MONTHLY)) == february
    assert declared_period(d("2026-02-01"), d("2026-03-01"), boundaries(MONTHLY)) == february
    # On a quarterly calendar 1 March is no boundary: "to 1 March" includes 1 March.
    assert declared_period(d("2026-02-01"), d("2026-03-01"), boundaries()) == Period(d("2026-02-01"), d("2026-03-02"))


def test_a_single_day_is_a_period_of_one_day() -> None:
    assert declared_period(d("2026-04-01"), d("2026-04-01"), boundaries()) == Period(d("2026-04-01"), d("2026-04-02"))


def test_an_end_before_the_start_is_refused() -> None:
    error = refused(lambda: declared_period(d("2026-03-31"), d("2026-01-01"), boundaries()), "turnover.invalid_period")
    assert error.field == "period_end"


# ============================================================================ the calendar


def test_a_quarterly_calendar_has_four_quarters() -> None:
    assert declaration_calendar(YEAR, QUARTERLY) == [
        Period(d("2026-01-01"), d("2026-04-01")),
        Period(d("2026-04-01"), d("2026-07-01")),
        Period(d("2026-07-01"), d("2026-10-01")),
        Period(d("2026-10-01"), d("2027-01-01")),
    ]


def test_a_monthly_calendar_tiles_the_year_with_twelve_months() -> None:
    months = declaration_calendar(YEAR, MONTHLY)

    assert len(months) == 12
    assert months[0] == Period(d("2026-01-01"), d("2026-02-01"))
    assert months[1] == Period(d("2026-02-01"), d("2026-03-01"))
    assert months[-1] == Period(d("2026-12-01"), d("2027-01-01"))
    assert all(a.end == b.start for a, b in itertools.pairwise(months))


def test_a_year_starting_mid_month_declares_from_the_15th() -> None:
    year = Period.twelve_months(d("2026-03-15"))

    assert declaration_calendar(year, QUARTERLY) == [
        Period(d("2026-03-15"), d("2026-06-15")),
        Period(d("2026-06-15"), d("2026-09-15")),
        Period(d("2026-09-15"), d("2026-12-15")),
        Period(d("2026-12-15"), d("2027-03-15")),
    ]
    months = declaration_calendar(year, MONTHLY)
    assert (months[0], months[-1]) == (
        Period(d("2026-03-15"), d("2026-04-15")),
        Period(d("2027-02-15"), d("2027-03-15")),
    )
    # 15 March to 14 June, said inclusively, is the first quarter.
    quarter = Period(d("2026-03-15"), d("2026-06-15"))
    assert declared_period(d("2026-03-15"), d("2026-06-14"), boundaries(QUARTERLY, year)) == quarter
    assert declared_period(d("2026-03-15"), d("2026-06-15"), boundaries(QUARTERLY, year)) == quarter


def test_a_year_starting_on_31_january_keeps_month_ends_without_drifting() -> None:
    year = Period.twelve_months(d("2026-01-31"))
    months = declaration_calendar(year, MONTHLY)

    # Each boundary is counted from the year's start (clamped), not from the previous boundary.
    assert [m.start for m in months[:4]] == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31"), d("2026-04-30")]
    assert months[-1].end == year.end == d("2027-01-31")


# ============================================================================ the due date


def test_a_quarter_is_due_30_days_after_its_last_day() -> None:
    due = declaration_due_date(Q1, 30)

    assert due == d("2026-03-31") + timedelta(days=30) == d("2026-04-30")
    # Late means declared after the due date: the day before and the day of are in time.
    assert [day > due for day in (d("2026-04-29"), d("2026-04-30"), d("2026-05-01"))] == [False, False, True]


def test_a_month_is_due_declaration_days_after_its_last_day() -> None:
    february = Period(d("2026-02-01"), d("2026-03-01"))

    assert declaration_due_date(february, 1) == d("2026-03-01")
    assert declaration_due_date(february, 15) == d("2026-03-15")


# ============================================================================ versions


def test_the_first_declaration_of_a_period_is_version_1() -> None:
    assert next_version(Q1, YEAR, []) == 1
    assert next_version(Q2, YEAR, [declaration(Q1)]) == 1  # adjacent, not overlapping


def test_the_same_period_again_is_a_correction_with_the_next_version() -> None:
    assert next_version(Q1, YEAR, [declaration(Q1)]) == 2
    assert next_version(Q1, YEAR, [declaration(Q1), declaration(Q1, 2), declaration(Q2)]) == 3


def test_a_period_overlapping_a_declared_one_is_refused() -> None:
    straddling = Period(d("2026-03-01"), d("2026-06-01"))

    error = refused(lambda: next_version(straddling, YEAR, [declaration(Q1)]), "turnover.overlapping_period")
    assert error.context == {"declared_period": str(Q1)}
    # A month inside a declared quarter is no correction of it either.
    refused(
        lambda: next_version(Period(d("2026-02-01"), d("2026-03-01")), YEAR, [declaration(Q1)]),
        "turnover.overlapping_period",
    )


def test_a_period_outside_the_policy_year_is_refused() -> None:
    across_the_end = Period(d("2026-12-01"), d("2027-02-01"))
    before_the_start = Period(d("2025-12-01"), d("2026-01-01"))

    assert refused(lambda: next_version(across_the_end, YEAR, []), "turnover.outside_policy_year").field == (
        "period_end"
    )
    assert refused(lambda: next_version(before_the_start, YEAR, []), "turnover.outside_policy_year").field == (
        "period_start"
    )


def test_latest_versions_keeps_the_last_version_of_each_period_in_period_order() -> None:
    q1_v1, q1_v2, q2_v1 = declaration(Q1, 1, "100"), declaration(Q1, 2, "200"), declaration(Q2, 1, "300")

    assert latest_versions([q2_v1, q1_v2, q1_v1]) == [q1_v2, q2_v1]


# ============================================================================ earned premium


def test_insurable_turnover_is_the_turnover_less_the_exclusions() -> None:
    declared = declaration(
        domestic="1200000.00", export="250000.00", cash_sales="100000.00", intra_group="50000.00",
        public_buyers="50000.00",
    )  # fmt: skip

    # 1,200,000 − 100,000 − 50,000 − 50,000 = 1,000,000 domestic; 250,000 export.
    assert declared.domestic.excluded == eur("200000.00")
    assert declared.domestic.insurable == eur("1000000.00")
    assert declared.insurable == eur("1250000.00")
    lines = earned_lines(declared, RATES)
    # 1,000,000 × 0.0025 = 2,500.00; 250,000 × 0.0040 = 1,000.00.
    assert [(line.territory, line.rate, line.premium) for line in lines] == [
        (Territory.DOMESTIC, Decimal("0.0025"), eur("2500.00")),
        (Territory.EXPORT, Decimal("0.0040"), eur("1000.00")),
    ]


def test_each_territory_is_rounded_half_up_to_the_cent() -> None:
    lines = earned_lines(declaration(domestic="1002.00", export="1001.25"), RATES)

    # 1,002.00 × 0.0025 = 2.505 → 2.51 (half-up, not half-even's 2.50); 1,001.25 × 0.0040 = 4.005 → 4.01.
    assert [line.premium for line in lines] == [eur("2.51"), eur("4.01")]


def test_rounding_is_per_declared_period_and_territory_not_on_the_year_total() -> None:
    q1 = earned_lines(declaration(Q1, domestic="1002.00"), RATES)
    q2 = earned_lines(declaration(Q2, domestic="1002.00"), RATES)

    # 2.505 + 2.505 = 5.01 exactly, but each quarter is invoiced at 2.51: the year earns 5.02.
    assert sum(line.premium.amount for line in q1 + q2) == Decimal("5.02")
    assert [line.period for line in q1 + q2] == [Q1, Q1, Q2, Q2]


# ============================================================================ turnover figures


def test_a_negative_amount_is_refused() -> None:
    part = TerritoryTurnover.insurable_only(Territory.DOMESTIC, eur("-1.00"))

    assert refused(lambda: part.check("EUR"), "turnover.negative").field == "domestic.turnover"
    cash = TerritoryTurnover(Territory.EXPORT, eur("100"), eur("-1"), eur("0"), eur("0"))
    assert refused(lambda: cash.check("EUR"), "turnover.negative").field == "export.cash_sales"


def test_exclusions_above_the_turnover_are_refused() -> None:
    part = TerritoryTurnover(Territory.DOMESTIC, eur("1000.00"), eur("600.00"), eur("300.00"), eur("100.01"))

    error = refused(lambda: part.check("EUR"), "turnover.exclusions_exceed_turnover")
    assert error.field == "domestic.turnover"
    # Exactly the turnover excluded is allowed: nothing insurable.
    whole = TerritoryTurnover(Territory.DOMESTIC, eur("1000.00"), eur("600.00"), eur("300.00"), eur("100.00"))
    whole.check("EUR")
    assert whole.insurable == eur(0)


def test_an_amount_in_another_currency_is_refused() -> None:
    part = TerritoryTurnover.insurable_only(Territory.EXPORT, Money.of("100.00", "USD"))

    error = refused(lambda: part.check("EUR"), "turnover.currency_mismatch")
    assert error.field == "export.turnover"


def test_more_decimals_than_the_currency_has_are_refused() -> None:
    part = TerritoryTurnover.insurable_only(Territory.DOMESTIC, eur("100.001"))

    assert refused(lambda: part.check("EUR"), "turnover.invalid").field == "domestic.turnover"


# ============================================================================ instalments


def test_the_provisional_premium_splits_in_four_parts_summing_exactly() -> None:
    schedule = instalment_schedule(YEAR, eur("10000.01"), 4)

    # 10,000.01 / 4 = 2,500.0025: the odd cent goes to the first instalment.
    assert [i.amount for i in schedule] == [eur("2500.01"), eur("2500.00"), eur("2500.00"), eur("2500.00")]
    assert sum(i.amount.amount for i in schedule) == Decimal("10000.01")
    assert [i.due_on for i in schedule] == [d("2026-01-01"), d("2026-04-01"), d("2026-07-01"), d("2026-10-01")]
    assert [(i.number, i.count) for i in schedule] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_instalments_of_a_year_starting_on_31_january_fall_on_month_ends() -> None:
    year = Period.twelve_months(d("2026-01-31"))

    quarterly = instalment_schedule(year, eur("1000.00"), 4)
    assert [i.due_on for i in quarterly] == [d("2026-01-31"), d("2026-04-30"), d("2026-07-31"), d("2026-10-31")]
    monthly = instalment_schedule(year, eur("1000.00"), 12)
    assert [i.due_on for i in monthly[:3]] == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]
    # 1,000.00 / 12 = 83.333…: four parts of 83.34 and eight of 83.33.
    assert [i.amount for i in monthly].count(eur("83.34")) == 4
    assert sum(i.amount.amount for i in monthly) == Decimal("1000.00")


def test_one_or_two_instalments() -> None:
    assert [(i.due_on, i.amount) for i in instalment_schedule(YEAR, eur("999.99"), 1)] == [
        (d("2026-01-01"), eur("999.99"))
    ]
    assert [(i.due_on, i.amount) for i in instalment_schedule(YEAR, eur("999.99"), 2)] == [
        (d("2026-01-01"), eur("500.00")),
        (d("2026-07-01"), eur("499.99")),
    ]


def test_no_provisional_premium_no_instalment_and_no_zero_instalment() -> None:
    assert instalment_schedule(YEAR, eur(0), 4) == []
    # 0.02 in 4: two instalments of 0.01, none of 0.00.
    assert [(i.number, i.amount) for i in instalment_schedule(YEAR, eur("0.02"), 4)] == [
        (1, eur("0.01")),
        (2, eur("0.01")),
    ]


def test_three_instalments_are_refused() -> None:
    refused(lambda: instalment_schedule(YEAR, eur("900.00"), 3), "premium.invalid_instalments")


# ============================================================================ the year end


def figures(policy_terms: PolicyTerms, *, earned: str, called: str = "0", indemnities: str = "0", **more: Any) -> Any:
    return year_figures(
        year=YEAR,
        terms=policy_terms,
        earned=eur(earned),
        called=eur(called),
        paid=eur(more.get("paid", "0")),
        request_count=more.get("request_count", 0),
        buyers_monitored=more.get("buyers_monitored", 0),
        indemnities=eur(indemnities),
        declared_periods=more.get("declared_periods", 4),
    )


def test_earned_below_the_minimum_pays_the_minimum() -> None:
    result = figures(terms(minimum_premium="10000.00"), earned="6000.00", called="7500.00")

    # premium = max(10,000, 6,000) = 10,000; three instalments of 2,500 called: adjustment 10,000 − 7,500.
    assert result.premium == eur("10000.00")
    assert result.adjustment == eur("2500.00")
    assert result.adjustment + result.called == result.premium


def test_earned_above_the_minimum_pays_the_earned_premium() -> None:
    result = figures(terms(minimum_premium="10000.00"), earned="14250.50", called="10000.00")

    assert result.premium == eur("14250.50")
    assert result.adjustment == eur("4250.50")


def test_more_called_than_the_year_premium_gives_a_negative_adjustment() -> None:
    # The minimum was endorsed down to 8,000 after 10,000 had been called; 6,000 earned.
    result = figures(terms(minimum_premium="8000.00"), earned="6000.00", called="10000.00")

    assert (result.premium, result.adjustment) == (eur("8000.00"), eur("-2000.00"))


def test_fees_are_per_request_and_per_buyer_under_cover() -> None:
    result = figures(
        terms(minimum_premium="1000.00", request_fee="75.50", monitoring_fee="40.00"),
        earned="0",
        request_count=3,
        buyers_monitored=5,
    )

    # 3 × 75.50 + 5 × 40.00 = 226.50 + 200.00
    assert result.fees == eur("426.50")
    assert (result.request_count, result.buyers_monitored) == (3, 5)


def test_a_bonus_below_the_loss_ratio_threshold() -> None:
    result = figures(terms(minimum_premium="10000.00"), earned="0", called="10000.00", indemnities="2000.00")

    # 2,000 / 10,000 = 0.20 < 0.50: 0.20 × (10,000 − 2,000) = 1,600.
    assert result.loss_ratio == Decimal("0.2000")
    assert result.bonus == eur("1600.00")
    assert result.balance == result.adjustment + result.fees - result.bonus == eur("-1600.00")


def test_no_bonus_exactly_at_the_threshold_nor_above() -> None:
    at = figures(terms(minimum_premium="10000.00"), earned="0", indemnities="5000.00")
    just_below = figures(terms(minimum_premium="10000.00"), earned="0", indemnities="4999.99")
    above = figures(terms(minimum_premium="10000.00"), earned="0", indemnities="7000.00")

    assert at.loss_ratio == Decimal("0.5000")
    assert at.bonus == eur(0)
    # 0.20 × (10,000 − 4,999.99) = 1,000.002 → 1,000.00
    assert just_below.bonus == eur("1000.00")
    assert above.bonus == eur(0)


def test_the_loss_ratio_is_rounded_half_up_but_the_bonus_compares_the_exact_ratio() -> None:
    # 2,469 / 20,000 = 0.12345 → 0.1235 half-up (half-even would give 0.1234).
    assert loss_ratio(eur("2469.00"), eur("20000.00")) == Decimal("0.1235")
    assert loss_ratio(eur("1.00"), eur("20000.00")) == Decimal("0.0001")  # 0.00005
    assert loss_ratio(eur("1.00"), eur(0)) is None
    # 4,999.50 / 10,000 = 0.49995: shown as 0.5000, yet below the 0.50 threshold: 0.20 × 5,000.50 = 1,000.10.
    close_call = figures(terms(minimum_premium="10000.00"), earned="0", indemnities="4999.50")
    assert (close_call.loss_ratio, close_call.bonus) == (Decimal("0.5000"), eur("1000.10"))


def test_the_bonus_rate_and_threshold_are_the_policys() -> None:
    generous = terms(minimum_premium="10000.00", no_claims_bonus_rate="0.35", no_claims_bonus_threshold="0.25")

    # 2,000 / 10,000 = 0.20 < 0.25: 0.35 × 8,000 = 2,800.
    assert figures(generous, earned="0", indemnities="2000.00").bonus == eur("2800.00")
    assert figures(generous, earned="0", indemnities="2500.00").bonus == eur(0)
    assert figures(terms(minimum_premium="10000.00", no_claims_bonus_rate="0"), earned="0").bonus == eur(0)


def test_no_premium_no_bonus_no_loss_ratio_no_multiple_cap() -> None:
    result = figures(terms(), earned="0")

    assert (result.premium, result.bonus, result.loss_ratio, result.max_liability) == (eur(0), eur(0), None, None)
    assert no_claims_bonus(eur(0), eur(0), Decimal("0.20"), Decimal("0.50")) == eur(0)


def test_the_maximum_liability_is_a_multiple_of_the_year_premium_or_a_fixed_amount() -> None:
    # 30 × max(10,000, 12,345.67) = 370,370.10
    assert figures(terms(minimum_premium="10000.00"), earned="12345.67").max_liability == eur("370370.10")
    # 12.5 × 10,000.01 = 125,000.125 → 125,000.13
    assert max_liability(terms(max_liability_multiple="12.5"), eur("10000.01")) == eur("125000.13")
    fixed = terms(minimum_premium="10000.00", max_liability_amount="250000.00")
    assert figures(fixed, earned="50000.00").max_liability == eur("250000.00")


def test_the_expected_periods_follow_the_declaration_frequency() -> None:
    assert figures(terms(), earned="0").expected_periods == 4
    assert figures(terms(declaration_frequency="monthly"), earned="0").expected_periods == 12


def test_a_year_closes_on_its_last_day_at_the_earliest() -> None:
    error = refused(lambda: check_year_can_close(YEAR, d("2026-12-30")), "premium.year_not_ended", RuleBroken)
    assert error.field == "on"
    check_year_can_close(YEAR, d("2026-12-31"))
    check_year_can_close(YEAR, d("2027-01-15"))


# ============================================================================ documents, payments, movements


def document(number: str, kind: DocumentKind, amount: str, issued: str, item: PremiumItem) -> PremiumDocument:
    return PremiumDocument(
        id=number,
        policy_id="policy-1",
        number=number,
        kind=kind,
        item=item,
        year_start=YEAR.start,
        issued_on=d(issued),
        due_on=d(issued) + timedelta(days=30),
        amount=eur(amount),
        label=number,
        source_key=number,
        created_by="user:system",
        created_at=AT,
    )


def payment(amount: str, on: str) -> PremiumPayment:
    return PremiumPayment(f"pay-{on}", "policy-1", eur(amount), d(on), "wire", "user:uw", AT)


INVOICE, CREDIT = DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE
DOCUMENTS = [
    document("PI-2026-000002", INVOICE, "2500.00", "2026-04-01", PremiumItem.INSTALMENT),
    document("PI-2026-000001", INVOICE, "2500.00", "2026-01-01", PremiumItem.INSTALMENT),
    document("PI-2027-000001", INVOICE, "1000.00", "2027-01-05", PremiumItem.ADJUSTMENT),
    document("PC-2027-000001", CREDIT, "500.00", "2027-01-05", PremiumItem.NO_CLAIMS_BONUS),
]


def test_payments_and_credit_notes_settle_the_oldest_invoices_first() -> None:
    paid = paid_per_document(DOCUMENTS, [payment("2000.00", "2026-01-20"), payment("1000.00", "2026-04-20")])

    # 2,000 + 1,000 paid and 500 credited = 3,500: January's 2,500 in full, April's 1,000 of 2,500, none after.
    assert paid == {"PI-2026-000001": eur("2500.00"), "PI-2026-000002": eur("1000.00"), "PI-2027-000001": eur(0)}
    # The insured still owes 6,000 invoiced − 500 credited − 3,000 paid.
    assert statement_balance(DOCUMENTS, [payment("3000.00", "2026-04-20")], "EUR") == eur("2500.00")


def test_nothing_paid_without_payments_and_nothing_to_settle_without_documents() -> None:
    assert paid_per_document(DOCUMENTS[:2], []) == {"PI-2026-000001": eur(0), "PI-2026-000002": eur(0)}
    assert paid_per_document([], [payment("100.00", "2026-01-20")]) == {}
    # An overpayment settles every invoice and stays on the account.
    over = paid_per_document(DOCUMENTS[:2], [payment("6000.00", "2026-01-20")])
    assert over == {"PI-2026-000001": eur("2500.00"), "PI-2026-000002": eur("2500.00")}


def test_an_amount_owed_back_is_a_credit_note() -> None:
    assert signed_document(eur("120.00")) == (DocumentKind.INVOICE, eur("120.00"))
    assert signed_document(eur("-120.00")) == (DocumentKind.CREDIT_NOTE, eur("120.00"))
    assert DOCUMENTS[3].signed == eur("-500.00")
    assert document_number(INVOICE, 2026, 7) == "PI-2026-000007"
    assert document_number(CREDIT, 2027, 123456) == "PC-2027-123456"


def test_paired_movements_debit_the_debtor_and_credit_the_creditor() -> None:
    debit, credit = paired_movements(
        ids=("m1", "m2"), transaction_id="t1", policy_id="policy-1", kind="premium_invoice",
        debtor="insured:org-1", creditor="insurer", amount=eur("2500.00"), on=d("2026-01-01"), reference="doc-1",
        at=AT,
    )  # fmt: skip

    assert (debit.account, debit.amount) == ("insured:org-1", eur("-2500.00"))
    assert (credit.account, credit.amount) == ("insurer", eur("2500.00"))
    assert debit.amount + credit.amount == eur(0)
    assert debit.transaction_id == credit.transaction_id == "t1"


# ============================================================================ the new terms


def test_the_premium_terms_have_their_defaults() -> None:
    default = terms()

    assert (default.declaration_frequency, default.declaration_days, default.premium_instalments) == (
        DeclarationFrequency.QUARTERLY,
        30,
        4,
    )
    chosen = terms(declaration_frequency="monthly", declaration_days=15, premium_instalments=12)
    assert (chosen.declaration_frequency, chosen.declaration_days, chosen.premium_instalments) == (
        DeclarationFrequency.MONTHLY,
        15,
        12,
    )
    assert chosen.to_dict()["declaration_frequency"] == "monthly"


@pytest.mark.parametrize("count", [0, 3, 6, 24, True, "4", Decimal(4), 4.0])
def test_premium_instalments_other_than_1_2_4_12_are_refused(count: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        terms(premium_instalments=count)

    assert (caught.value.code, caught.value.field) == ("terms.out_of_range", "premium_instalments")


@pytest.mark.parametrize("count", [1, 2, 4, 12])
def test_premium_instalments_of_1_2_4_12_are_accepted(count: int) -> None:
    assert terms(premium_instalments=count).premium_instalments == count


@pytest.mark.parametrize("frequency", ["weekly", "annual", "", "Monthly"])
def test_an_unknown_declaration_frequency_is_refused(frequency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        terms(declaration_frequency=frequency)

    assert (caught.value.code, caught.value.field) == ("terms.invalid", "declaration_frequency")


@pytest.mark.parametrize(
    ("days", "code"), [(0, "terms.out_of_range"), (121, "terms.out_of_range"), ("30", "terms.invalid")]
)
def test_declaration_days_are_between_1_and_120(days: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        terms(declaration_days=days)

    assert (caught.value.code, caught.value.field) == (code, "declaration_days")
    assert terms(declaration_days=1).declaration_days == 1
    assert terms(declaration_days=120).declaration_days == 120


def test_an_endorsement_validates_the_premium_terms_too() -> None:
    base = terms()

    assert base.amend({"premium_instalments": 2}).premium_instalments == 2
    with pytest.raises(InvalidInput) as caught:
        base.amend({"premium_instalments": 3})
    assert caught.value.code == "terms.out_of_range"
    assert base.amend({"declaration_frequency": "monthly"}).changes_from(base) == {
        "declaration_frequency": ("quarterly", "monthly")
    }
