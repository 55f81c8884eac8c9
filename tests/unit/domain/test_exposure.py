"""Covered exposure, invoice eligibility and the order check, pure domain (DOMAIN.md §5, §6): no database.

The tests are named after the rules of DOMAIN.md §6. The covered exposure of
a buyer is max over the limit's periods k of min(O_k, L_k), O_k being the
outstanding of the covered invoices delivered before the end of period k;
the periods come from the limit's decision history (``limit_periods``),
preceded by the discretionary limit (``periods_with_discretionary``).
Hypothesis checks the rule's bounds on random ledgers and limit histories.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.credit_limits import LimitDecision, LimitPeriod, LimitStatus, amount_in_force, limit_periods
from tradecover.domain.exposure import (
    WATCH_GRADE,
    CoverConditions,
    ExposureLine,
    Ineligibility,
    OrderCover,
    OrderReason,
    buyer_exposure,
    check_order,
    covered_exposure,
    ineligibility,
    periods_with_discretionary,
)
from tradecover.domain.money import Money
from tradecover.domain.receco import RequestType
from tradecover.domain.receivables import Dispute, EntryKind, Invoice, Payment, settle

EUR = "EUR"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
POLICY_YEAR = ((date(2026, 1, 1), date(2027, 1, 1)),)
ON = date(2026, 6, 30)
ZERO = Money.zero(EUR)


def eur(amount: int | str) -> Money:
    return Money.of(amount, EUR)


def decision(
    sequence: int, status: LimitStatus, amount: int, effective: date, expires: date | None = None
) -> LimitDecision:
    request_type = {
        LimitStatus.APPROVED: RequestType.NEW,
        LimitStatus.PARTIAL: RequestType.NEW,
        LimitStatus.REDUCED: RequestType.REDUCTION,
        LimitStatus.CANCELLED: RequestType.CANCELLATION,
    }.get(status, RequestType.NEW)
    return LimitDecision(
        id=f"d-{sequence}",
        policy_id="p-1",
        buyer_id="b-1",
        sequence=sequence,
        request_type=request_type,
        status=status,
        requested_amount=eur(amount),
        granted_amount=eur(amount),
        effective_date=effective,
        expires_on=expires,
        reasons=(),
        decided_by="test",
        decided_at=AT,
    )


def line(number: str, delivered: date, open_net: int | str, reason: Ineligibility | None = None) -> ExposureLine:
    return ExposureLine(
        invoice_id=f"i-{number}",
        number=number,
        delivery_date=delivered,
        due_date=delivered + timedelta(days=60),
        currency=EUR,
        open_net=eur(open_net),
        reason=reason,
    )


def periods(history: list[LimitDecision], discretionary: int = 0, until: date = ON) -> list[LimitPeriod]:
    return periods_with_discretionary(limit_periods(history, EUR, until=until), eur(discretionary))


def covered(lines: list[ExposureLine], history: list[LimitDecision], discretionary: int = 0) -> Money:
    return covered_exposure(lines, periods(history, discretionary), EUR)


def invoice(number: str, delivered: date, *, terms: int = 60, issued: date | None = None) -> Invoice:
    issue = issued or delivered
    return Invoice(
        id=f"i-{number}",
        policy_id="p-1",
        buyer_id="b-1",
        kind=EntryKind.INVOICE,
        number=number,
        issue_date=issue,
        delivery_date=delivered,
        due_date=issue + timedelta(days=terms),
        amount_excl_vat=eur(1000),
        vat_amount=eur(200),
        recorded_at=AT,
        recorded_by="test",
    )


def conditions(**changes: object) -> CoverConditions:
    values: dict[str, object] = {
        "max_credit_period_days": 120,
        "policy_periods": POLICY_YEAR,
        "stop_ship_from": None,
        "buyer_excluded": False,
    }
    values.update(changes)
    return CoverConditions(**values)  # type: ignore[arg-type]


# ====================================================================== the covered-exposure rule (§6)

LIMIT_100K = decision(1, LimitStatus.APPROVED, 100_000, date(2026, 1, 1))


def test_reduction_leaves_earlier_deliveries_covered_up_to_the_former_amount() -> None:
    history = [LIMIT_100K, decision(2, LimitStatus.REDUCED, 50_000, date(2026, 3, 1))]
    assert covered([line("A", date(2026, 2, 10), 80_000)], history) == eur(80_000)
    # …up to the former amount, not beyond it.
    assert covered([line("A", date(2026, 2, 10), 130_000)], history) == eur(100_000)


def test_later_delivery_is_covered_only_while_the_total_fits_the_new_amount() -> None:
    history = [LIMIT_100K, decision(2, LimitStatus.REDUCED, 50_000, date(2026, 3, 1))]
    earlier, later = line("A", date(2026, 2, 10), 30_000), line("B", date(2026, 3, 10), 40_000)
    # Before the reduction 30,000 was covered; with B the total (70,000) exceeds the new 50,000: B adds 20,000.
    assert covered([earlier, later], history) == eur(50_000)
    assert covered([earlier, line("B", date(2026, 3, 10), 15_000)], history) == eur(45_000)  # it all fits
    # When the earlier deliveries alone exceed the new amount, a later one adds nothing.
    assert covered([line("A", date(2026, 2, 10), 80_000), later], history) == eur(80_000)
    # The reduction applies from its effective date: a delivery on that day is a later one.
    assert covered([line("A", date(2026, 2, 10), 80_000), line("C", date(2026, 3, 1), 5_000)], history) == eur(80_000)
    assert covered([line("A", date(2026, 2, 28), 40_000), line("C", date(2026, 3, 1), 20_000)], history) == eur(50_000)


def test_increase_covers_later_and_earlier_deliveries_up_to_the_new_amount() -> None:
    history = [decision(1, LimitStatus.APPROVED, 50_000, date(2026, 1, 1))]
    history.append(decision(2, LimitStatus.APPROVED, 100_000, date(2026, 3, 1)))
    earlier, later = line("A", date(2026, 2, 10), 70_000), line("B", date(2026, 3, 10), 20_000)
    assert covered([earlier], history[:1]) == eur(50_000)  # before the increase
    assert covered([earlier, later], history) == eur(90_000)  # the increase covers A in full, and B
    assert covered([earlier, line("B", date(2026, 3, 10), 45_000)], history) == eur(100_000)  # up to the new amount


def test_cancellation_is_a_period_with_limit_zero() -> None:
    history = [LIMIT_100K, decision(2, LimitStatus.CANCELLED, 0, date(2026, 3, 1))]
    assert limit_periods(history, EUR, until=ON) == [
        LimitPeriod(date(2026, 1, 1), date(2026, 3, 1), eur(100_000)),
        LimitPeriod(date(2026, 3, 1), None, ZERO),
    ]
    assert amount_in_force(history, ON, EUR) == ZERO
    earlier, later = line("A", date(2026, 2, 10), 60_000), line("B", date(2026, 3, 10), 30_000)
    assert covered([earlier, later], history) == eur(60_000)  # what was delivered before stays covered
    assert covered([later], history) == ZERO  # nothing delivered after is


def test_before_the_first_limit_the_discretionary_limit_applies() -> None:
    # No limit at all: the discretionary limit covers the buyer.
    assert covered([line("A", date(2026, 2, 1), 30_000)], [], discretionary=10_000) == eur(10_000)
    assert covered([line("A", date(2026, 2, 1), 3_000)], [], discretionary=10_000) == eur(3_000)
    assert covered([line("A", date(2026, 2, 1), 30_000)], [], discretionary=0) == ZERO  # else zero
    # A first limit below it: what was delivered before stays covered up to the discretionary amount.
    history = [decision(1, LimitStatus.PARTIAL, 5_000, date(2026, 3, 1))]
    assert periods(history, 10_000)[0] == LimitPeriod(date.min, date(2026, 3, 1), eur(10_000))
    assert covered([line("A", date(2026, 2, 1), 30_000)], history, discretionary=10_000) == eur(10_000)
    assert covered([line("B", date(2026, 3, 2), 30_000)], history, discretionary=10_000) == eur(5_000)


def test_a_refusal_ends_the_discretionary_cover_without_granting_anything() -> None:
    history = [decision(1, LimitStatus.REFUSED, 0, date(2026, 3, 1))]
    assert limit_periods(history, EUR, until=ON) == [LimitPeriod(date(2026, 3, 1), None, ZERO)]
    assert covered([line("A", date(2026, 3, 2), 30_000)], history, discretionary=10_000) == ZERO
    assert covered([line("A", date(2026, 2, 1), 30_000)], history, discretionary=10_000) == eur(10_000)


def test_a_temporary_limit_ends_at_its_expiry() -> None:
    history = [decision(1, LimitStatus.APPROVED, 40_000, date(2026, 1, 1), expires=date(2026, 4, 1))]
    assert covered([line("A", date(2026, 3, 31), 30_000), line("B", date(2026, 4, 1), 30_000)], history) == eur(30_000)


def test_a_future_reduction_does_not_reduce_todays_limit() -> None:
    history = [LIMIT_100K, decision(2, LimitStatus.REDUCED, 50_000, date(2026, 4, 1))]  # 30 days' notice
    assert limit_periods(history, EUR, until=date(2026, 3, 15)) == [LimitPeriod(date(2026, 1, 1), None, eur(100_000))]
    lines = [line("A", date(2026, 3, 10), 90_000)]
    assert covered_exposure(lines, periods(history, until=date(2026, 3, 15)), EUR) == eur(90_000)


def test_only_covered_invoices_count_in_the_covered_exposure() -> None:
    lines = [
        line("OK", date(2026, 2, 1), 30_000),
        line("LONG", date(2026, 2, 2), 30_000, Ineligibility.TERMS_TOO_LONG),
        line("DISPUTED", date(2026, 2, 3), 30_000, Ineligibility.DISPUTED),
        line("FX", date(2026, 2, 4), 0, Ineligibility.NO_EXCHANGE_RATE),
    ]
    exposure = buyer_exposure("b-1", lines, periods([LIMIT_100K]), eur(100_000), EUR)
    assert exposure.outstanding == eur(90_000)
    assert exposure.covered == eur(30_000)
    assert exposure.uncovered == eur(60_000)
    assert exposure.unconverted == ("FX",)
    assert exposure.utilisation == Decimal("0.9000")
    assert buyer_exposure("b-1", lines, [], ZERO, EUR).utilisation is None


def overdue_line(number: str, delivered: date, due: date, open_net: int) -> ExposureLine:
    return ExposureLine(f"i-{number}", number, delivered, due, EUR, eur(open_net), None)


def test_new_limit_does_not_cover_earlier_deliveries_already_overdue_at_the_request_date() -> None:
    # DOMAIN.md §5: a new limit covers earlier deliveries that were not overdue at its date.
    history = [decision(1, LimitStatus.APPROVED, 50_000, date(2026, 3, 1))]
    overdue = overdue_line("A", date(2026, 1, 5), date(2026, 2, 4), 20_000)
    not_yet_due = overdue_line("B", date(2026, 2, 1), date(2026, 3, 31), 10_000)
    due_that_day = overdue_line("C", date(2026, 2, 1), date(2026, 3, 1), 5_000)  # due, not yet overdue
    assert covered([overdue, not_yet_due, due_that_day], history) == eur(15_000)
    # …except up to the discretionary limit that covered it before.
    assert covered([overdue, not_yet_due, due_that_day], history, discretionary=10_000) == eur(25_000)


def test_deliveries_a_new_limit_left_out_stay_out_after_it_is_reduced() -> None:
    history = [
        decision(1, LimitStatus.APPROVED, 50_000, date(2026, 3, 1)),
        decision(2, LimitStatus.REDUCED, 40_000, date(2026, 4, 1)),
    ]
    overdue = overdue_line("A", date(2026, 1, 5), date(2026, 2, 4), 30_000)
    assert covered([overdue], history) == ZERO
    later = overdue_line("B", date(2026, 4, 10), date(2026, 5, 10), 5_000)
    assert covered([overdue, later], history) == eur(5_000)
    cancelled = [*history, decision(3, LimitStatus.CANCELLED, 0, date(2026, 5, 1))]
    assert covered([overdue, later], cancelled) == eur(5_000)


def test_an_increase_keeps_earlier_overdue_deliveries_covered_up_to_the_former_amount() -> None:
    history = [
        decision(1, LimitStatus.APPROVED, 20_000, date(2026, 1, 1)),
        decision(2, LimitStatus.APPROVED, 50_000, date(2026, 3, 1)),
    ]
    overdue = overdue_line("A", date(2026, 1, 5), date(2026, 2, 4), 30_000)
    assert covered([overdue], history) == eur(20_000)  # not the new 50,000
    later = overdue_line("B", date(2026, 3, 10), date(2026, 4, 9), 25_000)
    assert covered([overdue, later], history) == eur(45_000)  # A up to the former 20,000, and B
    assert covered([overdue, overdue_line("B", date(2026, 3, 10), date(2026, 4, 9), 40_000)], history) == eur(50_000)
    # A second increase does not bring A back in either.
    twice = [*history, decision(3, LimitStatus.APPROVED, 100_000, date(2026, 5, 1))]
    assert covered([overdue], twice) == eur(20_000)


# ====================================================================== the covered invoice (§6 eligibility)


def test_terms_longer_than_the_maximum_credit_period_are_not_covered() -> None:
    assert ineligibility(invoice("A", date(2026, 2, 1), terms=120), conditions(), [], ON) is None
    assert (
        ineligibility(invoice("A", date(2026, 2, 1), terms=121), conditions(), [], ON) is Ineligibility.TERMS_TOO_LONG
    )
    assert ineligibility(invoice("A", date(2026, 2, 1), terms=91), conditions(max_credit_period_days=90), [], ON) is (
        Ineligibility.TERMS_TOO_LONG
    )


def test_delivered_outside_the_policy_period_is_not_covered() -> None:
    outside = Ineligibility.OUTSIDE_POLICY_PERIOD
    assert ineligibility(invoice("A", date(2025, 12, 31)), conditions(), [], ON) is outside
    assert ineligibility(invoice("A", date(2026, 1, 1)), conditions(), [], ON) is None
    assert ineligibility(invoice("A", date(2026, 12, 31)), conditions(), [], ON) is None
    assert ineligibility(invoice("A", date(2027, 1, 1)), conditions(), [], ON) is outside  # the end is excluded
    # Delivered within the period though issued before it: the delivery date decides.
    assert ineligibility(invoice("A", date(2026, 1, 2), issued=date(2025, 12, 30)), conditions(), [], ON) is None
    renewed = conditions(policy_periods=(*POLICY_YEAR, (date(2027, 1, 1), date(2028, 1, 1))))
    assert ineligibility(invoice("A", date(2027, 1, 1)), renewed, [], ON) is None


def test_delivered_after_an_overdue_notification_is_not_covered() -> None:
    stop = conditions(stop_ship_from=date(2026, 4, 1))
    assert ineligibility(invoice("A", date(2026, 3, 31)), stop, [], ON) is None
    assert ineligibility(invoice("A", date(2026, 4, 1)), stop, [], ON) is None  # delivered the day it was notified
    assert ineligibility(invoice("A", date(2026, 4, 2)), stop, [], ON) is (
        Ineligibility.DELIVERED_AFTER_OVERDUE_NOTIFICATION
    )


def test_an_invoice_under_open_dispute_is_not_covered_while_the_dispute_lasts() -> None:
    inv = invoice("A", date(2026, 2, 1))
    dispute = Dispute("d", "p-1", "b-1", "A", date(2026, 3, 1), "goods damaged")
    assert ineligibility(inv, conditions(), [dispute], ON) is Ineligibility.DISPUTED
    assert ineligibility(inv, conditions(), [dispute], date(2026, 2, 28)) is None  # not opened yet
    resolved = Dispute("d", "p-1", "b-1", "A", date(2026, 3, 1), "goods damaged", resolved_on=date(2026, 4, 1))
    assert ineligibility(inv, conditions(), [resolved], date(2026, 3, 31)) is Ineligibility.DISPUTED
    assert ineligibility(inv, conditions(), [resolved], date(2026, 4, 1)) is None
    other = Dispute("d", "p-1", "b-1", "B", date(2026, 3, 1), None)
    assert ineligibility(inv, conditions(), [other], ON) is None  # a dispute on another invoice


def test_a_buyer_never_coverable_has_no_covered_invoice() -> None:
    inv = invoice("A", date(2026, 2, 1))
    assert ineligibility(inv, conditions(buyer_excluded=True), [], ON) is Ineligibility.BUYER_NOT_COVERABLE


def test_an_invoice_with_no_exchange_rate_is_listed_as_unconverted_not_summed() -> None:
    fx = line("USD-1", date(2026, 2, 1), 0, Ineligibility.NO_EXCHANGE_RATE)
    exposure = buyer_exposure("b-1", [fx, line("E", date(2026, 2, 1), 1_000)], periods([LIMIT_100K]), eur(1), EUR)
    assert exposure.unconverted == ("USD-1",)
    assert exposure.outstanding == eur(1_000)
    assert exposure.covered == eur(1_000)


def test_the_first_reason_found_is_given() -> None:
    everything = conditions(max_credit_period_days=30, stop_ship_from=date(2026, 1, 1), buyer_excluded=True)
    assert ineligibility(invoice("A", date(2025, 6, 1), terms=200), everything, [], ON) is Ineligibility.TERMS_TOO_LONG


# ====================================================================== order check (§6)


def order(amount: int, **changes: object) -> tuple[OrderCover, Money, Money, tuple[OrderReason, ...]]:
    values: dict[str, object] = {
        "amount": eur(amount),
        "limit_in_force": eur(100_000),
        "unpaid": eur(30_000),
        "open_orders": eur(20_000),
        "stop_ship": False,
        "open_disputes": 0,
        "grade": 4,
        "not_coverable": False,
        "policy_in_force": True,
    }
    values.update(changes)
    result = check_order(**values)  # type: ignore[arg-type]
    return result.status, result.covered, result.headroom, result.reasons


def test_order_within_the_headroom_is_covered() -> None:
    # headroom = limit in force − (unpaid invoices + open orders) = 100,000 − 50,000
    assert order(40_000) == (OrderCover.COVERED, eur(40_000), eur(50_000), (OrderReason.WITHIN_LIMIT,))
    assert order(50_000)[:2] == (OrderCover.COVERED, eur(50_000))


def test_order_beyond_the_headroom_is_partly_covered_by_the_headroom() -> None:
    assert order(60_000) == (OrderCover.PARTIALLY_COVERED, eur(50_000), eur(50_000), (OrderReason.LIMIT_EXCEEDED,))


def test_order_without_headroom_is_not_covered_and_headroom_is_never_negative() -> None:
    assert order(1, unpaid=eur(120_000)) == (OrderCover.NOT_COVERED, ZERO, ZERO, (OrderReason.LIMIT_EXCEEDED,))


def test_order_after_an_overdue_notification_is_not_covered() -> None:
    status, cover, headroom, reasons = order(1_000, stop_ship=True)
    assert (status, cover, headroom) == (OrderCover.NOT_COVERED, ZERO, eur(50_000))
    assert reasons == (OrderReason.OVERDUE_NOTIFICATION,)


def test_order_to_a_buyer_without_limit_is_not_covered() -> None:
    status, cover, _, reasons = order(1_000, limit_in_force=ZERO, unpaid=ZERO, open_orders=ZERO)
    assert (status, cover, reasons) == (OrderCover.NOT_COVERED, ZERO, (OrderReason.NO_LIMIT,))


def test_a_poor_grade_and_an_open_dispute_are_said_but_do_not_block() -> None:
    status, cover, _, reasons = order(1_000, grade=WATCH_GRADE, open_disputes=2)
    assert (status, cover) == (OrderCover.COVERED, eur(1_000))
    assert reasons == (OrderReason.WITHIN_LIMIT, OrderReason.GRADE, OrderReason.OPEN_DISPUTE)
    assert order(1_000, grade=WATCH_GRADE - 1)[3] == (OrderReason.WITHIN_LIMIT,)
    assert order(1_000, grade=None)[3] == (OrderReason.WITHIN_LIMIT,)


def test_a_buyer_not_coverable_or_a_policy_not_in_force_blocks_the_order() -> None:
    assert order(1_000, not_coverable=True)[:2] == (OrderCover.NOT_COVERED, ZERO)
    assert order(1_000, not_coverable=True)[3] == (OrderReason.BUYER_NOT_COVERABLE,)
    status, _, _, reasons = order(1_000, policy_in_force=False, stop_ship=True, limit_in_force=ZERO)
    assert status is OrderCover.NOT_COVERED
    assert reasons == (OrderReason.NO_LIMIT, OrderReason.POLICY_NOT_IN_FORCE, OrderReason.OVERDUE_NOTIFICATION)


# ====================================================================== properties

START = date(2026, 1, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[LimitDecision]:
    """A limit's decisions: increasing sequence numbers and effective dates; approved (some temporary), reduced,
    cancelled."""
    history: list[LimitDecision] = []
    day = START + timedelta(days=draw(st.integers(0, 60)))
    current = 0
    for sequence in range(1, draw(st.integers(0, 6)) + 1):
        if current == 0:
            status = LimitStatus.APPROVED
        else:
            status = draw(st.sampled_from([LimitStatus.APPROVED, LimitStatus.REDUCED, LimitStatus.CANCELLED]))
        if status is LimitStatus.APPROVED:
            current = draw(st.integers(1, 200)) * 1_000
        elif status is LimitStatus.REDUCED:
            current = draw(st.integers(0, max(current // 1_000 - 1, 0))) * 1_000 or 1_000
        else:
            current = 0
        temporary = status is LimitStatus.APPROVED and draw(st.booleans())
        expires = day + timedelta(days=draw(st.integers(1, 120))) if temporary else None
        history.append(decision(sequence, status, current, day, expires))
        day += timedelta(days=draw(st.integers(0, 60)))  # two decisions may take effect the same day
    return history


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Invoice], list[Payment], frozenset[str]]:
    """Invoices delivered over the year (some not covered), and payments."""
    invoices = []
    for i in range(draw(st.integers(0, 10))):
        delivered = START + timedelta(days=draw(st.integers(0, 180)))
        net = draw(st.integers(1, 8_000_000))
        invoices.append(
            Invoice(
                id=f"i-{i}",
                policy_id="p-1",
                buyer_id="b-1",
                kind=EntryKind.INVOICE,
                number=f"F-{i}",
                issue_date=delivered,
                delivery_date=delivered,
                due_date=delivered + timedelta(days=draw(st.integers(0, 90))),
                amount_excl_vat=Money.from_minor(net, EUR),
                vat_amount=Money.from_minor(draw(st.sampled_from([0, net // 5, net // 18])), EUR),
                recorded_at=AT,
                recorded_by="test",
            )
        )
    payments = [
        Payment(
            f"p-{i}",
            "p-1",
            "b-1",
            START + timedelta(days=draw(st.integers(0, 180))),
            Money.from_minor(draw(st.integers(1, 5_000_000)), EUR),
            AT,
            "test",
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    excluded = frozenset(draw(st.sets(st.sampled_from([i.id for i in invoices]))) if invoices else set())
    return invoices, payments, excluded


def exposure_of(
    invoices: list[Invoice], payments: list[Payment], excluded: frozenset[str], history: list[LimitDecision], disc: int
) -> tuple[Money, Money, list[LimitPeriod]]:
    """(outstanding, covered, periods) on ON, as the service builds them."""
    lines = [
        ExposureLine(
            item.invoice.id,
            item.invoice.number,
            item.invoice.delivery_date,
            item.invoice.due_date,
            EUR,
            item.open_net,
            Ineligibility.DISPUTED if item.invoice.id in excluded else None,
        )
        for settlement in settle(invoices, payments, on=ON).values()
        for item in settlement.open_items
    ]
    all_periods = periods(history, disc)
    in_force = amount_in_force(history, ON, EUR) if history else eur(disc)
    result = buyer_exposure("b-1", lines, all_periods, in_force, EUR)
    return result.outstanding, result.covered, all_periods


DISCRETIONARY = st.sampled_from([0, 10_000])


@given(books(), histories(), DISCRETIONARY)
@settings(max_examples=200, deadline=None)
def test_covered_never_exceeds_outstanding_nor_the_largest_limit_ever_in_force(
    book: tuple[list[Invoice], list[Payment], frozenset[str]], history: list[LimitDecision], disc: int
) -> None:
    outstanding, cover, all_periods = exposure_of(*book, history, disc)
    assert ZERO <= cover <= outstanding
    largest = max([eur(disc), *(d.granted_amount for d in history if d.status is not LimitStatus.CANCELLED)])
    assert cover <= largest
    assert cover <= max(p.amount for p in all_periods)


@given(books(), histories(), DISCRETIONARY, st.integers(0, 180), st.integers(1, 5_000_000))
@settings(max_examples=200, deadline=None)
def test_a_payment_never_raises_the_uncovered_part(
    book: tuple[list[Invoice], list[Payment], frozenset[str]],
    history: list[LimitDecision],
    disc: int,
    day: int,
    amount: int,
) -> None:
    invoices, payments, excluded = book
    extra = Payment("p-extra", "p-1", "b-1", START + timedelta(days=day), Money.from_minor(amount, EUR), AT, "test")
    outstanding, cover, _ = exposure_of(invoices, payments, excluded, history, disc)
    outstanding_after, cover_after, _ = exposure_of(invoices, [*payments, extra], excluded, history, disc)
    assert outstanding_after <= outstanding
    assert outstanding_after - cover_after <= outstanding - cover
