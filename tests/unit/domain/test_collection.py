"""Collection cases' rules, pure domain (DOMAIN.md §7): no database.

The transition table of actions by stage, receipts allocated oldest first with the commission on
non-guaranteed debts only, a receipt larger than the debt refused, the closure outcomes, case dates.
Hypothesis checks the allocation's arithmetic on random cases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.collection import (
    ALLOWED_ACTIONS,
    AMICABLE_ACTIONS,
    JUDICIAL_ACTIONS,
    ActionKind,
    AllocationLine,
    CaseCost,
    CaseDebt,
    CaseStage,
    ClosureOutcome,
    CollectionCase,
    CostKind,
    Receipt,
    allocate_receipt,
    allowed_outcomes,
    case_balance,
    case_reference,
    check_action_allowed,
    check_case_date,
    check_debts,
    check_outcome,
    commission_on,
    remaining_by_debt,
    stage_after,
)
from tradecover.domain.errors import Conflict, DomainError, InvalidInput, RuleBroken
from tradecover.domain.money import Money

EUR = "EUR"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def eur(amount: str | int) -> Money:
    return Money.of(amount, EUR)


def debt(
    number: str,
    issued: date,
    unpaid: str,
    *,
    guaranteed: bool = True,
    due: date | None = None,
    amount: str | None = None,
    currency: str = EUR,
) -> CaseDebt:
    return CaseDebt(
        invoice_id=f"id-{number}",
        number=number,
        issue_date=issued,
        due_date=due or issued + timedelta(days=30),
        amount_incl_vat=Money.of(amount or unpaid, currency),
        unpaid_amount=Money.of(unpaid, currency),
        guaranteed=guaranteed,
    )


def raises(kind: type[DomainError], code: str) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(kind, match=code.replace(".", r"\."))


# --- The transition table -----------------------------------------------------------------------------------


def test_every_action_kind_is_amicable_judicial_or_a_note() -> None:
    assert AMICABLE_ACTIONS | JUDICIAL_ACTIONS | {ActionKind.NOTE} == set(ActionKind)
    assert not AMICABLE_ACTIONS & JUDICIAL_ACTIONS


def test_an_amicable_case_takes_every_action() -> None:
    assert ALLOWED_ACTIONS[CaseStage.AMICABLE] == frozenset(ActionKind)


@pytest.mark.parametrize("kind", sorted(JUDICIAL_ACTIONS))
def test_a_judicial_action_moves_an_amicable_case_to_judicial(kind: ActionKind) -> None:
    assert stage_after(CaseStage.AMICABLE, kind) is CaseStage.JUDICIAL
    assert stage_after(CaseStage.JUDICIAL, kind) is CaseStage.JUDICIAL


@pytest.mark.parametrize("kind", sorted(AMICABLE_ACTIONS | {ActionKind.NOTE}))
def test_an_amicable_action_leaves_an_amicable_case_amicable(kind: ActionKind) -> None:
    assert stage_after(CaseStage.AMICABLE, kind) is CaseStage.AMICABLE


@pytest.mark.parametrize("kind", [ActionKind.REMINDER, ActionKind.FORMAL_NOTICE])
def test_no_amicable_letter_once_judicial(kind: ActionKind) -> None:
    with raises(Conflict, "collection.action_not_allowed"):
        check_action_allowed(CaseStage.JUDICIAL, kind)


@pytest.mark.parametrize("kind", [ActionKind.NOTE, ActionKind.PHONE_CALL, ActionKind.PAYMENT_PLAN])
def test_a_judicial_case_still_takes_notes_calls_and_payment_plans(kind: ActionKind) -> None:
    assert stage_after(CaseStage.JUDICIAL, kind) is CaseStage.JUDICIAL


@pytest.mark.parametrize("kind", list(ActionKind))
def test_no_action_on_a_closed_case(kind: ActionKind) -> None:
    assert kind not in ALLOWED_ACTIONS[CaseStage.CLOSED]
    with raises(Conflict, "collection.case_closed"):
        stage_after(CaseStage.CLOSED, kind)


def test_a_case_reference_is_numbered_per_year() -> None:
    assert case_reference(2026, 123) == "COL-2026-000123"


# --- Dates ----------------------------------------------------------------------------------------------------


def test_a_case_fact_is_dated_between_the_opening_and_today() -> None:
    opened, today = date(2026, 3, 1), date(2026, 3, 15)
    check_case_date(opened, opened_on=opened, today=today)
    check_case_date(today, opened_on=opened, today=today)
    with raises(InvalidInput, "collection.date_in_future"):
        check_case_date(today + timedelta(days=1), opened_on=opened, today=today)
    with raises(InvalidInput, "collection.date_before_opening"):
        check_case_date(opened - timedelta(days=1), opened_on=opened, today=today)


# --- Debts ----------------------------------------------------------------------------------------------------


def test_debts_are_positive_unpaid_parts_of_their_invoice_in_one_currency() -> None:
    assert check_debts([debt("F1", date(2026, 1, 1), "100")]) == EUR
    with raises(InvalidInput, "collection.no_debt"):
        check_debts([])
    with raises(InvalidInput, "collection.bad_debt"):
        check_debts([debt("F1", date(2026, 1, 1), "0", amount="100")])
    with raises(InvalidInput, "collection.bad_debt"):
        check_debts([debt("F1", date(2026, 1, 1), "120", amount="100")])
    with raises(InvalidInput, "collection.currency_mismatch"):
        check_debts([debt("F1", date(2026, 1, 1), "100"), debt("F2", date(2026, 1, 2), "100", currency="USD")])
    with raises(InvalidInput, "collection.duplicate_debt"):
        check_debts([debt("F1", date(2026, 1, 1), "100"), debt("F1", date(2026, 1, 1), "100")])


def test_a_case_adds_an_invoice_once() -> None:
    case = _case([debt("F1", date(2026, 1, 1), "100")])
    added = case.new_debts([debt("F1", date(2026, 1, 1), "100"), debt("F2", date(2026, 1, 5), "50")] * 2)
    assert [d.number for d in added] == ["F2"]


# --- Allocation and commission ----------------------------------------------------------------------------------


def test_a_receipt_settles_the_oldest_debt_first() -> None:
    debts = [
        debt("F3", date(2026, 2, 1), "300"),
        debt("F1", date(2026, 1, 1), "100"),
        debt("F2", date(2026, 1, 1), "200", due=date(2026, 1, 15)),  # same day, falls due earlier than F1
    ]
    allocation = allocate_receipt(debts, eur("250"))
    assert [(line.number, line.amount) for line in allocation.lines] == [("F2", eur("200")), ("F1", eur("50"))]


def test_on_the_same_issue_and_due_dates_the_number_decides() -> None:
    debts = [debt("B", date(2026, 1, 1), "100"), debt("A", date(2026, 1, 1), "100")]
    assert [line.number for line in allocate_receipt(debts, eur("150")).lines] == ["A", "B"]


def test_a_receipt_settles_what_earlier_receipts_left() -> None:
    debts = [debt("F1", date(2026, 1, 1), "100"), debt("F2", date(2026, 2, 1), "100")]
    allocation = allocate_receipt(debts, eur("120"), remaining=remaining_by_debt(debts, {"id-F1": eur("60")}))
    assert [(line.number, line.amount) for line in allocation.lines] == [("F1", eur("40")), ("F2", eur("80"))]


def test_what_remains_is_bounded_by_what_the_ledger_shows_unpaid() -> None:
    """The buyer may pay the insured directly after the hand-over: the debt shrinks on the case too."""
    debts = [debt("F1", date(2026, 1, 1), "100"), debt("F2", date(2026, 2, 1), "100")]
    allocated = {"id-F1": eur("30")}
    assert remaining_by_debt(debts, allocated) == {"id-F1": eur("70"), "id-F2": eur("100")}
    on_ledger = {"id-F1": eur("70"), "id-F2": eur("40")}  # 60 paid to the insured on F2
    assert remaining_by_debt(debts, allocated, open_on_ledger=on_ledger) == {"id-F1": eur("70"), "id-F2": eur("40")}
    assert remaining_by_debt(debts, allocated, open_on_ledger={}) == {"id-F1": eur(0), "id-F2": eur(0)}
    with raises(RuleBroken, "collection.receipt_exceeds_debt"):
        allocate_receipt(debts, eur("110.01"), remaining=remaining_by_debt(debts, allocated, open_on_ledger=on_ledger))


def test_the_commission_is_taken_only_on_non_guaranteed_debts() -> None:
    debts = [
        debt("F1", date(2026, 1, 1), "1000.00", guaranteed=True),
        debt("F2", date(2026, 2, 1), "500.00", guaranteed=False),
    ]
    allocation = allocate_receipt(debts, eur("1200.00"))
    assert allocation.guaranteed_amount == eur("1000.00")
    assert allocation.non_guaranteed_amount == eur("200.00")
    assert allocation.commission_amount == eur("20.00")  # 10 % of 200, nothing on the guaranteed 1,000


def test_guaranteed_debts_are_collected_free() -> None:
    allocation = allocate_receipt([debt("F1", date(2026, 1, 1), "1000.00")], eur("999.99"))
    assert allocation.commission_amount == eur("0")


def test_the_commission_rate_is_an_argument_and_rounds_half_up_to_the_cent() -> None:
    debts = [debt("F1", date(2026, 1, 1), "100.00", guaranteed=False)]
    assert allocate_receipt(debts, eur("0.05")).commission_amount == eur("0.01")  # 0.005 → 0.01
    assert allocate_receipt(debts, eur("0.04")).commission_amount == eur("0.00")  # 0.004 → 0.00
    assert allocate_receipt(debts, eur("33.33"), commission_rate=Decimal("0.15")).commission_amount == eur("5.00")
    assert commission_on(eur("12.25"), Decimal("0.10")) == eur("1.23")


def test_a_commission_rate_is_a_fraction_between_0_and_1() -> None:
    with raises(InvalidInput, "collection.bad_commission_rate"):
        allocate_receipt([debt("F1", date(2026, 1, 1), "100")], eur("10"), commission_rate=Decimal(10))


def test_a_receipt_larger_than_the_debt_is_refused() -> None:
    debts = [debt("F1", date(2026, 1, 1), "100.00"), debt("F2", date(2026, 1, 2), "50.00")]
    allocate_receipt(debts, eur("150.00"))  # the whole debt: fine
    with raises(RuleBroken, "collection.receipt_exceeds_debt") as caught:
        allocate_receipt(debts, eur("150.01"))
    assert caught.value.field == "amount"
    with raises(RuleBroken, "collection.receipt_exceeds_debt"):
        allocate_receipt(
            debts, eur("100.00"), remaining=remaining_by_debt(debts, {"id-F1": eur("100.00"), "id-F2": eur("0.01")})
        )


@pytest.mark.parametrize("amount", ["0", "-1", "0.001"])
def test_a_receipt_is_a_positive_amount_in_cents(amount: str) -> None:
    with raises(InvalidInput, "collection.bad_amount"):
        allocate_receipt([debt("F1", date(2026, 1, 1), "100")], Money.of(amount, EUR))


def test_a_receipt_in_another_currency_is_refused() -> None:
    with raises(InvalidInput, "collection.currency_mismatch"):
        allocate_receipt([debt("F1", date(2026, 1, 1), "100")], Money.of("10", "USD"))


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[CaseDebt], dict[str, Money], Money, Decimal]:
    n = draw(st.integers(min_value=1, max_value=8))
    debts: list[CaseDebt] = []
    allocated: dict[str, Money] = {}
    for i in range(n):
        unpaid = draw(st.integers(min_value=1, max_value=10_000_000))
        issued = date(2026, 1, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=60)))
        debts.append(
            CaseDebt(
                f"id-{i}",
                f"F{i:03d}",
                issued,
                issued + timedelta(days=draw(st.integers(min_value=0, max_value=90))),
                Money.from_minor(unpaid + draw(st.integers(min_value=0, max_value=1000)), EUR),
                Money.from_minor(unpaid, EUR),
                draw(st.booleans()),
            )
        )
        allocated[f"id-{i}"] = Money.from_minor(draw(st.integers(min_value=0, max_value=unpaid - 1)), EUR)
    due = sum(d.unpaid_amount.to_minor() - allocated[d.invoice_id].to_minor() for d in debts)
    amount = Money.from_minor(draw(st.integers(min_value=1, max_value=due)), EUR)
    rate = Decimal(draw(st.integers(min_value=0, max_value=100))) / 100
    return debts, allocated, amount, rate


@given(cases())
def test_allocations_and_commission_never_exceed_the_receipt_and_sum_exactly(
    case: tuple[list[CaseDebt], dict[str, Money], Money, Decimal],
) -> None:
    debts, allocated, amount, rate = case
    allocation = allocate_receipt(debts, amount, remaining=remaining_by_debt(debts, allocated), commission_rate=rate)
    lines_total = sum((line.amount for line in allocation.lines), eur(0))
    assert lines_total == amount
    assert allocation.guaranteed_amount + allocation.non_guaranteed_amount == amount
    assert eur(0) <= allocation.commission_amount <= allocation.non_guaranteed_amount <= amount
    assert allocation.commission_amount == (allocation.non_guaranteed_amount * rate).round()
    remaining = remaining_by_debt(debts, allocated)
    for line in allocation.lines:
        assert eur(0) < line.amount <= remaining[line.invoice_id]
    # oldest first: every debt before the last one touched is settled in full
    touched = {line.invoice_id: line.amount for line in allocation.lines}
    ordered = sorted(debts, key=lambda d: (d.issue_date, d.due_date, d.number))
    last = max(i for i, d in enumerate(ordered) if d.invoice_id in touched)
    for d in ordered[:last]:
        assert touched.get(d.invoice_id, eur(0)) == remaining[d.invoice_id]


@given(cases())
def test_a_receipt_one_cent_above_what_remains_is_always_refused(
    case: tuple[list[CaseDebt], dict[str, Money], Money, Decimal],
) -> None:
    debts, allocated, _, rate = case
    due = sum(remaining_by_debt(debts, allocated).values(), eur(0))
    with raises(RuleBroken, "collection.receipt_exceeds_debt"):
        allocate_receipt(debts, due + eur("0.01"), remaining=remaining_by_debt(debts, allocated), commission_rate=rate)


# --- Closure -------------------------------------------------------------------------------------------------


def test_paid_only_when_nothing_remains_due() -> None:
    assert ClosureOutcome.PAID in allowed_outcomes(eur(0), eur(100))
    assert ClosureOutcome.PAID not in allowed_outcomes(eur("0.01"), eur(100))
    with raises(RuleBroken, "collection.outcome_not_allowed"):
        check_outcome(ClosureOutcome.PAID, remaining=eur("0.01"), received=eur(100))


def test_partly_paid_when_something_was_received_and_something_remains() -> None:
    assert allowed_outcomes(eur(50), eur(50)) == {ClosureOutcome.PARTLY_PAID, ClosureOutcome.IRRECOVERABLE}
    with raises(RuleBroken, "collection.outcome_not_allowed"):
        check_outcome(ClosureOutcome.PARTLY_PAID, remaining=eur(50), received=eur(0))
    with raises(RuleBroken, "collection.outcome_not_allowed"):
        check_outcome(ClosureOutcome.PARTLY_PAID, remaining=eur(0), received=eur(50))


def test_irrecoverable_at_any_time_by_decision() -> None:
    for remaining, received in [(eur(0), eur(100)), (eur(50), eur(50)), (eur(100), eur(0))]:
        assert ClosureOutcome.IRRECOVERABLE in allowed_outcomes(remaining, received)
    assert allowed_outcomes(eur(100), eur(0)) == {ClosureOutcome.IRRECOVERABLE}


# --- Balance -------------------------------------------------------------------------------------------------


def _case(debts: list[CaseDebt]) -> CollectionCase:
    return CollectionCase(
        id="case-1",
        reference="COL-2026-000001",
        policy_id="p",
        buyer_id="b",
        organisation_id="o",
        currency=EUR,
        stage=CaseStage.AMICABLE,
        opened_on=date(2026, 3, 1),
        opened_at=AT,
        opened_by="user:x",
        commission_rate=Decimal("0.10"),
        debts=debts,
    )


def test_the_balance_splits_what_remains_and_what_was_received_between_guaranteed_and_not() -> None:
    debts = [
        debt("F1", date(2026, 1, 1), "1000.00", guaranteed=True),
        debt("F2", date(2026, 2, 1), "500.00", guaranteed=False),
    ]
    case = _case(debts)
    allocation = allocate_receipt(debts, eur("1200.00"))
    receipt = Receipt(
        "r1", case.id, allocation.amount, date(2026, 3, 10), None, allocation.lines, allocation.guaranteed_amount,
        allocation.non_guaranteed_amount, allocation.commission_rate, allocation.commission_amount, None, "u", AT,
    )  # fmt: skip
    cost = CaseCost("c1", case.id, CostKind.BAILIFF, eur("80.00"), date(2026, 3, 11), None, "u", AT)
    balance = case_balance(case, [receipt], [cost])
    assert balance.handed_over == eur("1500.00")
    assert balance.received == eur("1200.00")
    assert balance.remaining == eur("300.00")
    assert (balance.remaining_guaranteed, balance.remaining_non_guaranteed) == (eur(0), eur("300.00"))
    assert (balance.received_guaranteed, balance.received_non_guaranteed) == (eur("1000.00"), eur("200.00"))
    assert balance.commission == eur("20.00")
    assert balance.costs == eur("80.00")
    assert balance.remaining_by_debt == {"id-F1": eur(0), "id-F2": eur("300.00")}
    assert balance.settled_otherwise == eur(0)
    # the buyer then paid the insured 100 on F2 directly
    bounded = case_balance(case, [receipt], [cost], open_on_ledger={"id-F1": eur(0), "id-F2": eur("200.00")})
    assert (bounded.remaining, bounded.settled_otherwise) == (eur("200.00"), eur("100.00"))
    assert receipt.lines == (
        AllocationLine("id-F1", "F1", eur("1000.00"), True),
        AllocationLine("id-F2", "F2", eur("200.00"), False),
    )
