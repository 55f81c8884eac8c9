"""Credit-limit rules, pure domain (DOMAIN.md §3, §5, §6): no database.

The automatic decision, buyer capacity, coverability, the limit in force on a
delivery date over a decision history, the transition table, the insured's
discretionary cover and the date rules.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.buyers import INSOLVENCY_STATUSES, LegalStatus
from tradecover.domain.credit_limits import (
    IN_FORCE_STATUSES,
    TRANSITIONS,
    Accumulation,
    BuyerRiskView,
    Capacity,
    Decision,
    EngineSettings,
    LimitDecision,
    LimitPeriod,
    LimitStatus,
    PaymentExperience,
    amount_in_force,
    buyer_capacity,
    check_transition,
    coverability,
    decide,
    discretionary_cover,
    latest_status,
    limit_periods,
    reduction_effective_date,
    yearly_review_date,
)
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.receco import ReasonCode, RequestType, ResponseType

SETTINGS = EngineSettings()
EUR = "EUR"
HOLDER_SIREN = "732829320"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
D = Decimal


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


def buyer(**changes: object) -> BuyerRiskView:
    """A healthy French SAS graded 3: capacity max(25 % × 1M, 5 % × 10M) × 0.80 = 400,000."""
    base = BuyerRiskView(
        buyer_id="b-1",
        country="FR",
        legal_status=LegalStatus.ACTIVE,
        risk_grade=3,
        legal_form="5710",
        siren="552100554",
        naf_code="46.69B",
        equity=D("1000000"),
        turnover=D("10000000"),
        capacity_override=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def nothing_accumulated() -> Accumulation:
    return Accumulation(on_buyer=D(0), on_group=D(0), group_capacity=None)


def run(
    requested: str,
    view: BuyerRiskView | None = None,
    *,
    capacity: Capacity | None = None,
    accumulation: Accumulation | None = None,
    covered_countries: tuple[str, ...] = ("FR",),
    engine: EngineSettings = SETTINGS,
) -> Decision:
    view = view or buyer()
    return decide(
        requested=eur(requested),
        buyer=view,
        capacity=capacity if capacity is not None else buyer_capacity(view, engine),
        accumulation=accumulation or nothing_accumulated(),
        covered_countries=covered_countries,
        policyholder_siren=HOLDER_SIREN,
        settings=engine,
    )


def overridden(amount: str) -> Capacity:
    return Capacity(D(amount), (ReasonCode.CAPACITY_OVERRIDE,))


# ------------------------------------------------------------------ buyer capacity


@pytest.mark.parametrize(
    ("grade", "expected"),
    [(1, "500000"), (2, "450000"), (3, "400000"), (4, "350000"), (5, "275000"), (6, "200000"), (7, "125000")],
)
def test_capacity_is_the_larger_size_share_times_the_grade_multiplier(grade: int, expected: str) -> None:
    # size = max(0.25 × 1,000,000 equity, 0.05 × 10,000,000 turnover) = 500,000
    capacity = buyer_capacity(buyer(risk_grade=grade), SETTINGS)
    assert capacity.amount == D(expected)
    assert capacity.reasons == (ReasonCode.WITHIN_CAPACITY,)


def test_capacity_uses_the_equity_share_when_it_is_the_larger() -> None:
    # 0.25 × 4,000,000 = 1,000,000 > 0.05 × 10,000,000 = 500,000; grade 1 multiplier 1.00
    assert buyer_capacity(buyer(risk_grade=1, equity=D("4000000")), SETTINGS).amount == D("1000000")


def test_capacity_counts_negative_equity_as_nothing() -> None:
    only_turnover = buyer(risk_grade=1, equity=D("-3000000"), turnover=D("2000000"))
    assert buyer_capacity(only_turnover, SETTINGS).amount == D("100000")
    nothing = buyer(risk_grade=1, equity=D("-3000000"), turnover=None)
    assert buyer_capacity(nothing, SETTINGS).amount == D(0)


def test_capacity_works_from_one_known_size_figure() -> None:
    assert buyer_capacity(buyer(risk_grade=1, equity=None, turnover=D("2000000")), SETTINGS).amount == D("100000")
    assert buyer_capacity(buyer(risk_grade=1, equity=D("400000"), turnover=None), SETTINGS).amount == D("100000")


@pytest.mark.parametrize("grade", [9, 10])
def test_capacity_of_a_buyer_graded_9_or_worse_is_nothing(grade: int) -> None:
    assert buyer_capacity(buyer(risk_grade=grade), SETTINGS).amount == D(0)


def test_capacity_is_rounded_to_whole_units() -> None:
    capacity = buyer_capacity(buyer(risk_grade=5, equity=None, turnover=D("1234567.89")), SETTINGS)
    # 0.05 × 1,234,567.89 × 0.55 = 33,950.616975 → 33,951
    assert capacity.amount == D("33951")


def test_capacity_without_a_grade_cannot_be_computed() -> None:
    assert buyer_capacity(buyer(risk_grade=None), SETTINGS) == Capacity(None, (ReasonCode.NOT_GRADED,))


def test_capacity_without_financials_cannot_be_computed() -> None:
    no_figures = buyer(equity=None, turnover=None)
    assert buyer_capacity(no_figures, SETTINGS) == Capacity(None, (ReasonCode.NO_FINANCIALS,))


@pytest.mark.parametrize(
    ("naf_code", "cap"),
    [
        ("41.20A", "1000000"),  # construction, divisions 41-43
        ("43.99C", "1000000"),
        ("55.10Z", "500000"),  # accommodation and food, 55-56
        ("56.10A", "500000"),
        ("44.00Z", "5000000"),  # just outside the construction range: default cap
        ("46.69B", "5000000"),
        (None, "5000000"),
    ],
)
def test_a_sector_cap_bounds_the_capacity(naf_code: str | None, cap: str) -> None:
    huge = buyer(risk_grade=1, equity=D("100000000"), naf_code=naf_code)  # 25,000,000 by size
    assert buyer_capacity(huge, SETTINGS).amount == D(cap)


@pytest.mark.parametrize(("country", "cap"), [("FR", "10000000"), ("DE", "10000000"), ("IT", "2000000")])
def test_a_country_cap_bounds_the_capacity(country: str, cap: str) -> None:
    engine = dataclasses.replace(SETTINGS, default_sector_cap=D("99000000"))
    huge = buyer(risk_grade=1, equity=D("100000000"), country=country)
    assert buyer_capacity(huge, engine).amount == D(cap)


def test_an_underwriter_capacity_override_replaces_the_capacity_function() -> None:
    # Even ungraded, without financials, and above every cap: the underwriter's figure is the capacity.
    for view in (
        buyer(capacity_override=D("50000")),
        buyer(capacity_override=D("50000"), risk_grade=None, equity=None, turnover=None),
    ):
        assert buyer_capacity(view, SETTINGS) == Capacity(D("50000"), (ReasonCode.CAPACITY_OVERRIDE,))
    above_caps = buyer(capacity_override=D("30000000"), naf_code="41.20A", country="IT")
    assert buyer_capacity(above_caps, SETTINGS).amount == D("30000000")


def test_a_zero_capacity_override_refuses_everything() -> None:
    decision = run("10000", buyer(capacity_override=D(0)))
    assert decision.status is ResponseType.NOT_APPROVED
    assert decision.granted == eur(0)


@given(
    equity=st.decimals(min_value=-(10**7), max_value=10**9, places=2),
    turnover=st.decimals(min_value=0, max_value=10**10, places=2),
    grade=st.integers(min_value=1, max_value=9),
)
def test_capacity_never_grows_as_the_grade_worsens(equity: Decimal, turnover: Decimal, grade: int) -> None:
    better = buyer_capacity(buyer(risk_grade=grade, equity=equity, turnover=turnover), SETTINGS).amount
    worse = buyer_capacity(buyer(risk_grade=grade + 1, equity=equity, turnover=turnover), SETTINGS).amount
    assert better is not None
    assert worse is not None
    assert D(0) <= worse <= better


# ------------------------------------------------------------------ coverability


@pytest.mark.parametrize("status", sorted(INSOLVENCY_STATUSES))
def test_a_buyer_in_an_insolvency_procedure_is_not_coverable(status: LegalStatus) -> None:
    found = coverability(buyer(legal_status=status), covered_countries=("FR",), policyholder_siren=None)
    assert found is ReasonCode.INSOLVENCY_PROCEDURE


def test_a_ceased_buyer_is_not_coverable() -> None:
    found = coverability(buyer(legal_status=LegalStatus.CEASED), covered_countries=("FR",), policyholder_siren=None)
    assert found is ReasonCode.BUYER_CEASED


def test_country_not_covered_is_refused() -> None:
    german = buyer(country="DE", siren=None)
    assert coverability(german, covered_countries=("FR",), policyholder_siren=None) is ReasonCode.COUNTRY_NOT_COVERED
    assert coverability(german, covered_countries=("FR", "DE"), policyholder_siren=None) is None
    decision = run("10000", german)
    assert (decision.status, decision.reasons) == (ResponseType.NOT_APPROVED, (ReasonCode.COUNTRY_NOT_COVERED,))
    assert run("10000", german, covered_countries=("FR", "DE")).status is ResponseType.APPROVED


@pytest.mark.parametrize(
    ("legal_form", "reason"),
    [
        ("7210", ReasonCode.PUBLIC_BODY),  # commune
        ("7389", ReasonCode.PUBLIC_BODY),  # public administrative body
        ("1000", ReasonCode.PRIVATE_INDIVIDUAL),
    ],
)
def test_public_bodies_and_individuals_are_never_coverable(legal_form: str, reason: ReasonCode) -> None:
    excluded = buyer(legal_form=legal_form, risk_grade=1)
    assert coverability(excluded, covered_countries=("FR",), policyholder_siren=None) is reason
    # Not even with an underwriter's capacity.
    decision = run("10000", excluded, capacity=overridden("1000000"))
    assert (decision.status, decision.granted, decision.reasons) == (ResponseType.NOT_APPROVED, eur(0), (reason,))


def test_the_insureds_own_company_is_never_coverable() -> None:
    itself = buyer(siren=HOLDER_SIREN)
    assert coverability(itself, covered_countries=("FR",), policyholder_siren=HOLDER_SIREN) is ReasonCode.OWN_GROUP
    assert run("10000", itself).reasons == (ReasonCode.OWN_GROUP,)


def test_a_healthy_domestic_company_is_coverable() -> None:
    assert coverability(buyer(), covered_countries=("FR",), policyholder_siren=HOLDER_SIREN) is None
    assert coverability(buyer(legal_form=None, siren=None), covered_countries=("FR",), policyholder_siren=None) is None


# ------------------------------------------------------------------ the automatic decision


@pytest.mark.parametrize("grade", [9, 10])
def test_a_buyer_graded_9_or_worse_is_refused(grade: int) -> None:
    decision = run("10000", buyer(risk_grade=grade), capacity=overridden("1000000"))
    assert decision == Decision(ResponseType.NOT_APPROVED, eur(0), (ReasonCode.GRADE_TOO_LOW,))


def test_a_buyer_graded_8_is_still_decided_on_its_capacity() -> None:
    # grade 8: 500,000 × 0.10 = 50,000
    assert run("40000", buyer(risk_grade=8)).status is ResponseType.APPROVED
    assert run("60000", buyer(risk_grade=8)).granted == eur("50000")


def test_an_exclusion_refuses_before_the_automatic_ceiling_refers() -> None:
    decision = run("900000", buyer(risk_grade=9))
    assert decision.status is ResponseType.NOT_APPROVED
    assert decision.suggestion is None


def test_a_request_within_remaining_capacity_is_approved_in_full() -> None:
    decision = run("100000")
    assert decision == Decision(ResponseType.APPROVED, eur("100000"), (ReasonCode.APPROVED_IN_FULL,))


def test_grant_is_min_of_request_and_remaining_capacity() -> None:
    decision = run("100000", capacity=overridden("100000"), accumulation=Accumulation(D("30000"), D("30000"), None))
    assert decision == Decision(ResponseType.PARTLY_APPROVED, eur("70000"), (ReasonCode.CAPACITY_REACHED,))


def test_accumulation_counts_limits_of_all_insureds() -> None:
    # The accumulation the engine receives is the other policies' limits on the buyer.
    alone = run("80000", capacity=overridden("100000"))
    shared = run("80000", capacity=overridden("100000"), accumulation=Accumulation(D("45000"), D("45000"), None))
    assert alone.granted == eur("80000")
    assert shared.granted == eur("55000")


def test_accumulation_counts_the_buyers_group() -> None:
    # The buyer alone has room for 80,000, but its group has only 25,000 left.
    group = Accumulation(on_buyer=D("20000"), on_group=D("175000"), group_capacity=D("200000"))
    decision = run("80000", capacity=overridden("100000"), accumulation=group)
    assert decision == Decision(ResponseType.PARTLY_APPROVED, eur("25000"), (ReasonCode.GROUP_CAPACITY_REACHED,))
    full = Accumulation(on_buyer=D(0), on_group=D("198000"), group_capacity=D("200000"))
    refused = run("80000", capacity=overridden("100000"), accumulation=full)
    assert refused.reasons == (ReasonCode.GROUP_CAPACITY_REACHED, ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT)
    roomy = Accumulation(on_buyer=D(0), on_group=D(0), group_capacity=D("900000"))
    assert run("80000", capacity=overridden("50000"), accumulation=roomy).reasons == (ReasonCode.CAPACITY_REACHED,)


def test_an_over_accumulated_buyer_leaves_nothing_rather_than_a_negative_amount() -> None:
    decision = run("10000", capacity=overridden("100000"), accumulation=Accumulation(D("130000"), D("130000"), None))
    assert decision.status is ResponseType.NOT_APPROVED
    assert decision.granted == eur(0)


def test_below_minimum_useful_amount_is_a_refusal() -> None:
    just_below = run("50000", capacity=overridden("100000"), accumulation=Accumulation(D("95001"), D("95001"), None))
    assert just_below == Decision(
        ResponseType.NOT_APPROVED, eur(0), (ReasonCode.CAPACITY_REACHED, ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT)
    )
    at_minimum = run("50000", capacity=overridden("100000"), accumulation=Accumulation(D("95000"), D("95000"), None))
    assert (at_minimum.status, at_minimum.granted) == (ResponseType.PARTLY_APPROVED, eur("5000"))


def test_a_small_request_is_refused_for_its_size_not_for_a_full_capacity() -> None:
    decision = run("1000")  # 400,000 of capacity, nothing accumulated
    assert decision.status is ResponseType.NOT_APPROVED
    assert decision.reasons == (ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT,)


def test_above_automatic_ceiling_is_referred() -> None:
    referred = run("150000.01")
    assert referred.status is ResponseType.STILL_INVESTIGATING
    assert referred.granted == eur(0)
    assert referred.reasons == (ReasonCode.ABOVE_AUTOMATIC_CEILING,)
    assert referred.suggestion == eur("150000.01")  # what the engine would grant: capacity 400,000
    at_ceiling = run("150000")
    assert (at_ceiling.status, at_ceiling.granted) == (ResponseType.APPROVED, eur("150000"))


def test_a_referral_suggests_the_capped_grant() -> None:
    decision = run("300000", capacity=overridden("250000"), accumulation=Accumulation(D("50000"), D("50000"), None))
    assert decision.status is ResponseType.STILL_INVESTIGATING
    assert decision.suggestion == eur("200000")


@pytest.mark.parametrize(
    ("view", "reason"),
    [(buyer(risk_grade=None), ReasonCode.NOT_GRADED), (buyer(equity=None, turnover=None), ReasonCode.NO_FINANCIALS)],
)
def test_missing_data_is_referred(view: BuyerRiskView, reason: ReasonCode) -> None:
    decision = run("20000", view)
    assert (decision.status, decision.granted, decision.reasons) == (
        ResponseType.STILL_INVESTIGATING,
        eur(0),
        (reason,),
    )


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "-50000"])
def test_a_zero_or_negative_request_is_invalid(amount: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run(amount)
    assert caught.value.code == "credit_limit.invalid_amount"
    assert caught.value.field == "amount"


def test_the_engine_settings_are_the_insurers_not_constants() -> None:
    strict = dataclasses.replace(SETTINGS, minimum_useful_amount=D("20000"), automatic_ceiling=D("50000"))
    assert run("15000", engine=strict).status is ResponseType.NOT_APPROVED
    assert run("50001", engine=strict).status is ResponseType.STILL_INVESTIGATING
    assert run("50000", engine=strict).status is ResponseType.APPROVED


money_amounts = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
whole_amounts = st.decimals(min_value=0, max_value=D("2000000"), places=0)


@settings(max_examples=300, deadline=None)
@given(
    requested=money_amounts,
    capacity=st.one_of(st.none(), whole_amounts),
    on_buyer=whole_amounts,
    group=st.one_of(st.none(), st.tuples(whole_amounts, whole_amounts)),
    grade=st.integers(min_value=1, max_value=10),
)
def test_decision_properties(
    requested: Decimal,
    capacity: Decimal | None,
    on_buyer: Decimal,
    group: tuple[Decimal, Decimal] | None,
    grade: int,
) -> None:
    """granted ≤ requested, ≤ remaining capacity, 0 or ≥ the minimum; the status matches the amounts."""
    on_group, group_capacity = group if group is not None else (on_buyer, None)
    accumulation = Accumulation(on_buyer, max(on_group, on_buyer), group_capacity)
    reasons = (ReasonCode.CAPACITY_OVERRIDE,) if capacity is not None else (ReasonCode.NOT_GRADED,)
    decision = run(
        str(requested),
        buyer(risk_grade=grade),
        capacity=Capacity(capacity, reasons),
        accumulation=accumulation,
    )
    granted = decision.granted.amount
    assert decision.granted.currency == EUR
    assert decision.reasons, "every decision gives a reason"
    assert D(0) <= granted <= requested
    remaining = D(0)
    if capacity is not None:
        remaining = capacity - accumulation.on_buyer
        if group_capacity is not None:
            remaining = min(remaining, group_capacity - accumulation.on_group)
        assert granted <= max(remaining, D(0))
    assert granted == 0 or granted >= SETTINGS.minimum_useful_amount
    if grade >= 9:
        assert (decision.status, decision.reasons) == (ResponseType.NOT_APPROVED, (ReasonCode.GRADE_TOO_LOW,))
    elif capacity is None or requested > SETTINGS.automatic_ceiling:
        assert decision.status is ResponseType.STILL_INVESTIGATING
    if decision.status is ResponseType.APPROVED:
        assert granted == requested
        assert decision.reasons == (ReasonCode.APPROVED_IN_FULL,)
    elif decision.status is ResponseType.PARTLY_APPROVED:
        assert SETTINGS.minimum_useful_amount <= granted < requested
        assert decision.reasons[0] in (ReasonCode.CAPACITY_REACHED, ReasonCode.GROUP_CAPACITY_REACHED)
    elif decision.status is ResponseType.NOT_APPROVED:
        assert granted == 0
    else:
        assert decision.status is ResponseType.STILL_INVESTIGATING
        assert granted == 0
        if decision.suggestion is not None:
            assert decision.suggestion.amount <= min(requested, max(remaining, D(0)))
    if decision.status is not ResponseType.STILL_INVESTIGATING:
        assert decision.suggestion is None
        assert requested <= SETTINGS.automatic_ceiling or grade >= 9


# ------------------------------------------------------------------ limit history: amount in force and periods

_SEQ = iter(range(1, 10**9))


def decision(
    status: LimitStatus,
    amount: str,
    effective: date,
    *,
    sequence: int | None = None,
    expires_on: date | None = None,
    request_type: RequestType = RequestType.NEW,
) -> LimitDecision:
    seq = sequence if sequence is not None else next(_SEQ)
    return LimitDecision(
        id=f"d-{seq}",
        policy_id="p-1",
        buyer_id="b-1",
        sequence=seq,
        request_type=request_type,
        status=status,
        requested_amount=None,
        granted_amount=eur(amount),
        effective_date=effective,
        expires_on=expires_on,
        reasons=(),
        decided_by="user:u",
        decided_at=AT,
    )


MAR_15 = date(2026, 3, 15)
APR_14 = date(2026, 4, 14)


def test_no_decision_means_no_limit() -> None:
    assert amount_in_force([], MAR_15, EUR) == eur(0)
    assert limit_periods([], EUR, date(2026, 12, 31)) == []
    assert latest_status([]) is None


def test_a_limit_covers_deliveries_from_its_effective_date() -> None:
    history = [decision(LimitStatus.APPROVED, "100000", MAR_15, sequence=1)]
    assert amount_in_force(history, MAR_15 - timedelta(days=1), EUR) == eur(0)
    assert amount_in_force(history, MAR_15, EUR) == eur("100000")
    assert amount_in_force(history, date(2027, 1, 1), EUR) == eur("100000")


def reduced_later() -> list[LimitDecision]:
    """100,000 from 15 March; the insurer notifies a reduction to 40,000 with 30 days' notice."""
    return [
        decision(LimitStatus.APPROVED, "100000", MAR_15, sequence=1),
        decision(LimitStatus.REDUCED, "40000", reduction_effective_date(MAR_15, 30), sequence=2),
    ]


@pytest.mark.parametrize(
    ("on", "expected"),
    [(APR_14 - timedelta(days=1), "100000"), (APR_14, "40000"), (APR_14 + timedelta(days=1), "40000")],
)
def test_a_reduction_applies_to_deliveries_after_its_notice(on: date, expected: str) -> None:
    assert amount_in_force(reduced_later(), on, EUR) == eur(expected)


def test_a_reduction_effective_later_splits_the_limit_periods() -> None:
    assert limit_periods(reduced_later(), EUR, date(2026, 12, 31)) == [
        LimitPeriod(MAR_15, APR_14, eur("100000")),
        LimitPeriod(APR_14, None, eur("40000")),
    ]
    # Periods only look as far as asked.
    assert limit_periods(reduced_later(), EUR, date(2026, 4, 1)) == [LimitPeriod(MAR_15, None, eur("100000"))]


def covered_exposure(periods: list[LimitPeriod], invoices: list[tuple[date, Decimal]]) -> Decimal:
    """DOMAIN.md §6: max over periods k of min(O_k, L_k), O_k = outstanding delivered before the end of k."""
    best = D(0)
    for period in periods:
        outstanding = sum(
            (amount for delivered, amount in invoices if period.end is None or delivered < period.end), D(0)
        )
        best = max(best, min(outstanding, period.amount.amount))
    return best


def test_deliveries_before_a_reduction_stay_covered_up_to_the_former_amount() -> None:
    periods = limit_periods(reduced_later(), EUR, date(2026, 12, 31))
    before = [(date(2026, 4, 1), D("90000"))]
    assert covered_exposure(periods, before) == D("90000")  # the former 100,000 covers it
    # A later delivery is covered only while the total fits the new amount.
    assert covered_exposure(periods, [*before, (date(2026, 5, 1), D("20000"))]) == D("90000")
    assert covered_exposure(periods, [(date(2026, 5, 1), D("60000"))]) == D("40000")


def test_a_cancellation_is_a_period_with_no_limit() -> None:
    history = [
        decision(LimitStatus.APPROVED, "50000", MAR_15, sequence=1),
        decision(LimitStatus.CANCELLED, "0", APR_14, sequence=2),
    ]
    assert amount_in_force(history, APR_14, EUR) == eur(0)
    assert limit_periods(history, EUR, date(2026, 12, 31)) == [
        LimitPeriod(MAR_15, APR_14, eur("50000")),
        LimitPeriod(APR_14, None, eur(0)),
    ]


def test_a_refused_increase_leaves_the_previous_limit_in_force() -> None:
    history = [
        decision(LimitStatus.APPROVED, "50000", MAR_15, sequence=1),
        decision(LimitStatus.REFUSED, "0", APR_14, sequence=2),
    ]
    assert amount_in_force(history, date(2026, 6, 1), EUR) == eur("50000")
    assert limit_periods(history, EUR, date(2026, 12, 31)) == [LimitPeriod(MAR_15, None, eur("50000"))]


def test_a_referred_request_counts_nothing_until_decided() -> None:
    history = [
        decision(LimitStatus.APPROVED, "50000", MAR_15, sequence=1),
        decision(LimitStatus.REFERRED, "0", APR_14, sequence=2),
        decision(LimitStatus.REQUESTED, "0", APR_14, sequence=3),
    ]
    assert amount_in_force(history, APR_14, EUR) == eur("50000")


def test_a_request_amount_is_the_new_total_not_an_increment() -> None:
    history = [
        decision(LimitStatus.APPROVED, "50000", MAR_15, sequence=1),
        decision(LimitStatus.APPROVED, "80000", APR_14, sequence=2, request_type=RequestType.INCREASE),
    ]
    assert amount_in_force(history, APR_14, EUR) == eur("80000")


def test_decisions_of_one_day_apply_in_sequence() -> None:
    history = [
        decision(LimitStatus.APPROVED, "50000", MAR_15, sequence=1),
        decision(LimitStatus.PARTIAL, "70000", MAR_15, sequence=2),
    ]
    assert amount_in_force(list(reversed(history)), MAR_15, EUR) == eur("70000")
    assert latest_status(history) is LimitStatus.PARTIAL


JUN_30 = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("on", "expected"),
    [(JUN_30 - timedelta(days=1), "30000"), (JUN_30, "0"), (JUN_30 + timedelta(days=1), "0")],
)
def test_a_temporary_limit_expires_by_itself(on: date, expected: str) -> None:
    # No expiry decision is needed: the end date alone ends it (periods are half-open [start, end)).
    history = [decision(LimitStatus.APPROVED, "30000", MAR_15, sequence=1, expires_on=JUN_30)]
    assert amount_in_force(history, on, EUR) == eur(expected)


def test_a_temporary_limit_ends_its_period_on_the_expiry_date() -> None:
    history = [decision(LimitStatus.APPROVED, "30000", MAR_15, sequence=1, expires_on=JUN_30)]
    assert limit_periods(history, EUR, date(2026, 12, 31)) == [
        LimitPeriod(MAR_15, JUN_30, eur("30000")),
        LimitPeriod(JUN_30, None, eur(0)),
    ]


def test_an_expiry_decision_and_a_prolongation() -> None:
    expired = [
        decision(LimitStatus.APPROVED, "30000", MAR_15, sequence=1, expires_on=JUN_30),
        decision(LimitStatus.EXPIRED, "0", JUN_30, sequence=2),
    ]
    assert amount_in_force(expired, date(2026, 7, 1), EUR) == eur(0)
    prolonged = [
        decision(LimitStatus.APPROVED, "30000", MAR_15, sequence=1, expires_on=JUN_30),
        decision(
            LimitStatus.APPROVED,
            "30000",
            date(2026, 6, 1),
            sequence=2,
            expires_on=date(2026, 12, 31),
            request_type=RequestType.PROLONGATION,
        ),
    ]
    assert amount_in_force(prolonged, date(2026, 7, 1), EUR) == eur("30000")
    assert amount_in_force(prolonged, date(2026, 12, 31), EUR) == eur(0)


def test_a_later_cancellation_is_not_undone_by_an_earlier_pending_reduction() -> None:
    history = [
        *reduced_later(),  # 40,000 from 14 April, notified 15 March
        decision(LimitStatus.CANCELLED, "0", date(2026, 3, 20), sequence=3),  # the insured cancels on 20 March
    ]
    assert amount_in_force(history, date(2026, 3, 25), EUR) == eur(0)
    assert amount_in_force(history, date(2026, 5, 1), EUR) == eur(0)


history_steps = st.lists(
    st.tuples(
        st.sampled_from(sorted(LimitStatus)),
        st.integers(min_value=0, max_value=200),  # effective, days after 1 January
        st.sampled_from(["0", "5000", "40000", "100000"]),
        st.one_of(st.none(), st.integers(min_value=1, max_value=120)),  # temporary: days until expiry
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(steps=history_steps, probe=st.integers(min_value=0, max_value=400))
def test_the_periods_agree_with_the_amount_in_force_on_every_day(
    steps: list[tuple[LimitStatus, int, str, int | None]], probe: int
) -> None:
    start = date(2026, 1, 1)
    history = [
        decision(
            status,
            amount,
            start + timedelta(days=offset),
            sequence=i + 1,
            expires_on=None if days is None else start + timedelta(days=offset + days),
        )
        for i, (status, offset, amount, days) in enumerate(steps)
    ]
    until = start + timedelta(days=400)
    periods = limit_periods(history, EUR, until)
    on = start + timedelta(days=probe)
    assert all(p.end is None or p.start < p.end for p in periods)
    assert all(a.end == b.start for a, b in pairwise(periods))
    assert all(a.amount != b.amount for a, b in pairwise(periods)), "equal neighbours merge"
    containing = [p for p in periods if p.start <= on and (p.end is None or on < p.end)]
    if containing:
        assert containing[0].amount == amount_in_force(history, on, EUR)
    else:
        assert amount_in_force(history, on, EUR) == eur(0)


# ------------------------------------------------------------------ transitions


ALLOWED = {(current, new) for current, targets in TRANSITIONS.items() for new in targets}
EVERY_PAIR = [(current, new) for current in LimitStatus for new in LimitStatus]


def test_every_state_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(LimitStatus)
    assert {LimitStatus.APPROVED, LimitStatus.PARTIAL, LimitStatus.REDUCED} == IN_FORCE_STATUSES


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (LimitStatus.REQUESTED, LimitStatus.APPROVED),
        (LimitStatus.REQUESTED, LimitStatus.PARTIAL),
        (LimitStatus.REQUESTED, LimitStatus.REFUSED),
        (LimitStatus.REQUESTED, LimitStatus.REFERRED),
        (LimitStatus.REFERRED, LimitStatus.APPROVED),
        (LimitStatus.REFERRED, LimitStatus.PARTIAL),
        (LimitStatus.REFERRED, LimitStatus.REFUSED),
        (LimitStatus.APPROVED, LimitStatus.REDUCED),
        (LimitStatus.APPROVED, LimitStatus.CANCELLED),
        (LimitStatus.APPROVED, LimitStatus.EXPIRED),
        (LimitStatus.PARTIAL, LimitStatus.REDUCED),
        (LimitStatus.PARTIAL, LimitStatus.CANCELLED),
        (LimitStatus.PARTIAL, LimitStatus.EXPIRED),
        (LimitStatus.REDUCED, LimitStatus.REDUCED),
    ],
)
def test_the_domain_transitions_are_allowed(current: LimitStatus, new: LimitStatus) -> None:
    assert (current, new) in ALLOWED
    check_transition(current, new)


@pytest.mark.parametrize(("current", "new"), [pair for pair in EVERY_PAIR if pair not in ALLOWED])
def test_any_other_transition_is_refused(current: LimitStatus, new: LimitStatus) -> None:
    with pytest.raises(RuleBroken) as caught:
        check_transition(current, new)
    assert caught.value.code == "credit_limit.invalid_transition"
    assert caught.value.context == {"from": current.value, "to": new.value}


@pytest.mark.parametrize("terminal", [LimitStatus.REFUSED, LimitStatus.CANCELLED, LimitStatus.EXPIRED])
def test_a_refused_cancelled_or_expired_limit_can_only_be_requested_again(terminal: LimitStatus) -> None:
    assert TRANSITIONS[terminal] == {LimitStatus.REQUESTED}


def test_a_referred_request_cannot_be_reduced_or_cancelled_before_its_decision() -> None:
    for new in (LimitStatus.REDUCED, LimitStatus.CANCELLED, LimitStatus.EXPIRED):
        with pytest.raises(RuleBroken):
            check_transition(LimitStatus.REFERRED, new)


@pytest.mark.parametrize("new", [LimitStatus.REDUCED, LimitStatus.CANCELLED, LimitStatus.EXPIRED])
def test_a_limit_that_does_not_exist_can_only_be_requested(new: LimitStatus) -> None:
    check_transition(None, LimitStatus.REQUESTED)
    with pytest.raises(RuleBroken):
        check_transition(None, new)


# ------------------------------------------------------------------ discretionary cover

DISCRETIONARY = eur("10000")
TODAY = date(2026, 3, 15)


def discretionary(
    *,
    view: BuyerRiskView | None = None,
    has_insurer_decision: bool = False,
    trading_since: date | None = date(2024, 1, 1),
    max_overdue: int = 0,
    on: date = TODAY,
    covered_countries: tuple[str, ...] = ("FR",),
) -> Money:
    experience = None if trading_since is None else PaymentExperience(trading_since, max_overdue)
    return discretionary_cover(
        discretionary_limit=DISCRETIONARY,
        buyer=view or buyer(),
        has_insurer_decision=has_insurer_decision,
        experience=experience,
        on=on,
        covered_countries=covered_countries,
        policyholder_siren=HOLDER_SIREN,
    )


def test_the_insured_covers_a_buyer_itself_up_to_its_discretionary_limit() -> None:
    assert discretionary() == DISCRETIONARY


@pytest.mark.parametrize(
    ("trading_since", "covered"),
    [(date(2025, 3, 14), True), (date(2025, 3, 15), True), (date(2025, 3, 16), False), (None, False)],
)
def test_discretionary_cover_needs_twelve_months_of_payment_experience(
    trading_since: date | None, covered: bool
) -> None:
    assert discretionary(trading_since=trading_since) == (DISCRETIONARY if covered else eur(0))


@pytest.mark.parametrize(("trading_since", "covered"), [(date(2027, 2, 28), True), (date(2027, 3, 1), False)])
def test_twelve_months_before_29_february_is_28_february(trading_since: date, covered: bool) -> None:
    on = date(2028, 2, 29)
    assert discretionary(trading_since=trading_since, on=on) == (DISCRETIONARY if covered else eur(0))


@pytest.mark.parametrize(("max_overdue", "covered"), [(0, True), (60, True), (61, False), (400, False)])
def test_discretionary_cover_is_lost_with_an_overdue_over_60_days(max_overdue: int, covered: bool) -> None:
    assert discretionary(max_overdue=max_overdue) == (DISCRETIONARY if covered else eur(0))


def test_any_insurer_decision_overrides_the_discretionary_limit() -> None:
    # A refusal too: the insured may not cover itself a buyer the insurer has decided on.
    assert discretionary(has_insurer_decision=True) == eur(0)


@pytest.mark.parametrize(("grade", "covered"), [(8, True), (9, False), (10, False)])
def test_no_discretionary_cover_on_a_buyer_graded_9_or_worse(grade: int, covered: bool) -> None:
    assert discretionary(view=buyer(risk_grade=grade)) == (DISCRETIONARY if covered else eur(0))


@pytest.mark.parametrize(
    "view",
    [
        buyer(legal_form="7210"),
        buyer(legal_form="1000"),
        buyer(country="DE"),
        buyer(siren=HOLDER_SIREN),
        buyer(legal_status=LegalStatus.RECEIVERSHIP),
    ],
)
def test_no_discretionary_cover_on_a_buyer_that_is_not_coverable(view: BuyerRiskView) -> None:
    assert discretionary(view=view) == eur(0)


def test_an_ungraded_buyer_can_be_covered_at_discretion() -> None:
    assert discretionary(view=buyer(risk_grade=None, equity=None, turnover=None)) == DISCRETIONARY


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("notified", "days", "effective"),
    [
        (date(2026, 3, 15), 0, date(2026, 3, 15)),
        (date(2026, 3, 15), 30, date(2026, 4, 14)),
        (date(2026, 12, 15), 30, date(2027, 1, 14)),
        (date(2028, 2, 10), 30, date(2028, 3, 11)),  # through a 29 February
        (date(2027, 2, 10), 30, date(2027, 3, 12)),
        (date(2028, 2, 29), 1, date(2028, 3, 1)),
        (date(2028, 2, 28), 1, date(2028, 2, 29)),
    ],
)
def test_a_reduction_takes_effect_after_the_policys_notice(notified: date, days: int, effective: date) -> None:
    assert reduction_effective_date(notified, days) == effective


@pytest.mark.parametrize(
    ("decided", "review"),
    [
        (date(2026, 3, 15), date(2027, 3, 15)),
        (date(2028, 2, 28), date(2029, 2, 28)),  # the day before 29 February
        (date(2028, 2, 29), date(2029, 2, 28)),  # no 29 February next year
        (date(2028, 3, 1), date(2029, 3, 1)),  # the day after
        (date(2027, 2, 28), date(2028, 2, 28)),
        (date(2026, 12, 31), date(2027, 12, 31)),
    ],
)
def test_every_limit_is_reviewed_within_a_year(decided: date, review: date) -> None:
    assert yearly_review_date(decided) == review


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_the_review_is_never_more_than_a_year_away(decided: date) -> None:
    review = yearly_review_date(decided)
    assert timedelta(days=365) <= review - decided <= timedelta(days=366)
