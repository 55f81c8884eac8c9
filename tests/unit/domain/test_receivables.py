"""The invoice ledger's rules, pure domain (DOMAIN.md §6): no database.

Settlement (cash and credit notes settle the named invoices, then the oldest,
including VAT; the rest stays on account), the unpaid part excluding VAT at
each invoice's own ratio, the aged balance and DSO, and the buyer's payment
behaviour. Hypothesis checks the ledger's arithmetic on random ledgers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.receivables import (
    AGE_BUCKETS,
    EntryKind,
    Invoice,
    Payment,
    Settlement,
    age_bucket,
    aged_balance,
    combine_aged,
    days_sales_outstanding,
    net_part,
    payment_behaviour,
    settle,
    twelve_months_before,
    validate_invoice_amounts,
    validate_invoice_dates,
)

EUR = "EUR"
USD = "USD"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
JAN = date(2026, 1, 1)
FAR = date(2030, 1, 1)


def money(minor: int, currency: str = EUR) -> Money:
    return Money.from_minor(minor, currency)


def invoice(
    number: str,
    issued: date,
    *,
    net: int = 10_000,
    vat: int = 2_000,
    due: date | None = None,
    delivered: date | None = None,
    currency: str = EUR,
    kind: EntryKind = EntryKind.INVOICE,
    reference: str | None = None,
    id: str | None = None,
) -> Invoice:
    """An invoice (or credit note) of ``net`` + ``vat`` minor units, due 30 days after issue by default."""
    return Invoice(
        id=id or f"{kind.value}-{number}",
        policy_id="p-1",
        buyer_id="b-1",
        kind=kind,
        number=number,
        issue_date=issued,
        delivery_date=delivered or issued,
        due_date=due or issued + timedelta(days=30),
        amount_excl_vat=money(net, currency),
        vat_amount=money(vat, currency),
        recorded_at=AT,
        recorded_by="test",
        invoice_reference=reference,
    )


def credit_note(number: str, issued: date, *, net: int, vat: int, reference: str | None = None) -> Invoice:
    return invoice(number, issued, net=net, vat=vat, due=issued, kind=EntryKind.CREDIT_NOTE, reference=reference)


def payment(id: str, received: date, amount: int, *, currency: str = EUR, invoices: tuple[str, ...] = ()) -> Payment:
    return Payment(
        id=id,
        policy_id="p-1",
        buyer_id="b-1",
        received_on=received,
        amount=money(amount, currency),
        recorded_at=AT,
        recorded_by="test",
        invoices=invoices,
    )


def open_by_number(settlement: Settlement) -> dict[str, int]:
    return {item.invoice.number: item.open_gross_minor for item in settlement.items}


def only(settlements: dict[str, Settlement], currency: str = EUR) -> Settlement:
    assert set(settlements) == {currency}
    return settlements[currency]


# ------------------------------------------------------------------ settlement order


def test_payment_settles_the_oldest_issue_date_first() -> None:
    later = invoice("A-2", date(2026, 1, 20))
    older = invoice("B-1", date(2026, 1, 10))
    result = only(settle([later, older], [payment("p", date(2026, 2, 1), 15_000)], on=FAR))
    assert open_by_number(result) == {"B-1": 0, "A-2": 9_000}
    assert [i.invoice.number for i in result.items] == ["B-1", "A-2"]  # oldest first


def test_same_issue_date_settles_the_earliest_due_date_then_the_lowest_number() -> None:
    day = date(2026, 1, 10)
    late_due = invoice("A", day, due=day + timedelta(days=60))
    early_due_b = invoice("C", day, due=day + timedelta(days=30))
    early_due_a = invoice("B", day, due=day + timedelta(days=30))
    result = only(settle([late_due, early_due_b, early_due_a], [payment("p", date(2026, 2, 1), 18_000)], on=FAR))
    assert open_by_number(result) == {"B": 0, "C": 6_000, "A": 12_000}


def test_payment_settles_the_invoices_it_names_first_then_the_oldest() -> None:
    first = invoice("F-1", date(2026, 1, 5))
    second = invoice("F-2", date(2026, 1, 6))
    third = invoice("F-3", date(2026, 1, 7))
    result = only(settle([first, second, third], [payment("p", date(2026, 2, 1), 15_000, invoices=("F-3",))], on=FAR))
    assert open_by_number(result) == {"F-1": 9_000, "F-2": 12_000, "F-3": 0}


def test_payment_naming_an_unknown_invoice_settles_the_oldest() -> None:
    first = invoice("F-1", date(2026, 1, 5))
    result = only(settle([first], [payment("p", date(2026, 2, 1), 5_000, invoices=("NOPE",))], on=FAR))
    assert open_by_number(result) == {"F-1": 7_000}


def test_credit_note_settles_its_invoice_then_the_oldest() -> None:
    first = invoice("F-1", date(2026, 1, 5))
    second = invoice("F-2", date(2026, 1, 6))
    # 150.00 incl. VAT on F-2 (120.00): F-2 is cleared, the 30.00 left goes to the oldest, F-1.
    note = credit_note("AV-1", date(2026, 1, 20), net=12_500, vat=2_500, reference="F-2")
    result = only(settle([first, second, note], [], on=FAR))
    assert open_by_number(result) == {"F-1": 9_000, "F-2": 0}
    assert result.on_account_minor == 0
    assert [i.invoice.number for i in result.items] == ["F-1", "F-2"]  # a credit note is no open item


def test_credit_note_without_invoice_settles_the_oldest_and_the_rest_stays_on_account() -> None:
    first = invoice("F-1", date(2026, 1, 5))
    note = credit_note("AV-1", date(2026, 1, 20), net=15_000, vat=3_000)
    result = only(settle([first, note], [], on=FAR))
    assert open_by_number(result) == {"F-1": 0}
    assert result.on_account_minor == 6_000
    assert result.balance_minor() == -6_000


def test_cash_on_account_settles_later_invoices_on_their_issue_date() -> None:
    advance = payment("p", date(2026, 1, 2), 30_000)
    first = invoice("F-1", date(2026, 1, 10))
    second = invoice("F-2", date(2026, 2, 10))
    early = only(settle([first, second], [advance], on=date(2026, 1, 5)))
    assert early.items == []
    assert early.on_account_minor == 30_000
    result = only(settle([first, second], [advance], on=FAR))
    assert open_by_number(result) == {"F-1": 0, "F-2": 0}
    assert result.on_account_minor == 6_000
    assert [(i.settled_on, i.late_settlement_days) for i in result.items] == [
        (date(2026, 1, 10), 0),
        (date(2026, 2, 10), 0),
    ]


def test_invoices_of_a_day_come_before_the_cash_of_that_day() -> None:
    day = date(2026, 1, 10)
    result = only(settle([invoice("F-1", day)], [payment("p", day, 12_000)], on=FAR))
    assert open_by_number(result) == {"F-1": 0}
    assert result.on_account_minor == 0


def test_reversed_entries_are_ignored() -> None:
    kept = invoice("F-1", date(2026, 1, 5))
    reversed_invoice = invoice("F-0", date(2026, 1, 1))
    bounced = payment("p-bounced", date(2026, 2, 1), 12_000)
    paid = payment("p-ok", date(2026, 2, 2), 2_000)
    note = credit_note("AV-1", date(2026, 1, 20), net=1_000, vat=200, reference="F-1")
    result = only(
        settle(
            [kept, reversed_invoice, note],
            [bounced, paid],
            on=FAR,
            reversed_ids=frozenset({reversed_invoice.id, bounced.id, note.id}),
        )
    )
    assert open_by_number(result) == {"F-1": 10_000}


def test_entries_after_the_date_are_not_yet_there() -> None:
    first = invoice("F-1", date(2026, 1, 5))
    second = invoice("F-2", date(2026, 3, 1))
    pay = payment("p", date(2026, 2, 1), 5_000)
    assert open_by_number(only(settle([first, second], [pay], on=date(2026, 1, 31)))) == {"F-1": 12_000}
    assert open_by_number(only(settle([first, second], [pay], on=date(2026, 2, 1)))) == {"F-1": 7_000}
    assert open_by_number(only(settle([first, second], [pay], on=date(2026, 3, 1)))) == {"F-1": 7_000, "F-2": 12_000}


def test_each_currency_settles_apart() -> None:
    euros = invoice("E-1", date(2026, 1, 5))
    dollars = invoice("D-1", date(2026, 1, 6), net=50_000, vat=0, currency=USD)
    pays = [payment("p-usd", date(2026, 2, 1), 60_000, currency=USD), payment("p-eur", date(2026, 2, 1), 2_000)]
    result = settle([euros, dollars], pays, on=FAR)
    assert set(result) == {EUR, USD}
    assert open_by_number(result[EUR]) == {"E-1": 10_000}
    assert result[EUR].on_account_minor == 0
    assert open_by_number(result[USD]) == {"D-1": 0}
    assert result[USD].on_account_minor == 10_000  # the dollars never pay the euro invoice


def test_late_settlement_is_counted_from_the_due_date_to_the_last_cent() -> None:
    first = invoice("F-1", date(2026, 1, 5), due=date(2026, 2, 4))
    pays = [payment("p1", date(2026, 2, 1), 6_000), payment("p2", date(2026, 2, 14), 6_000)]
    [item] = only(settle([first], pays, on=FAR)).items
    assert (item.settled_on, item.late_settlement_days) == (date(2026, 2, 14), 10)


# ------------------------------------------------------------------ net part


def test_net_part_keeps_the_invoices_own_ratio() -> None:
    # 100.00 + 20.00 VAT: a sixth of what is unpaid is VAT.
    vat_20 = invoice("F-1", JAN, net=10_000, vat=2_000)
    result = only(settle([vat_20], [payment("p", date(2026, 2, 1), 6_000)], on=FAR))
    [item] = result.items
    assert (item.open_gross, item.open_net) == (money(6_000), money(5_000))
    assert result.unpaid_net_minor() == 5_000
    # A second invoice with 5.5 % VAT keeps its own ratio, not the first one's.
    vat_55 = invoice("F-2", JAN, net=20_000, vat=1_100, id="other")
    assert net_part(10_550, vat_55) == 10_000
    assert net_part(21_100, vat_55) == 20_000  # all of it: exactly the net


@pytest.mark.parametrize(
    ("open_gross", "expected_net"),
    [
        (15, 13),  # 15 × 5/6 = 12.5 → 13 (half up; half-even would give 12)
        (3, 3),  # 2.5 → 3
        (9, 8),  # 7.5 → 8
        (1, 1),  # 0.8333 → 1
        (2, 2),  # 1.6667 → 2
        (4, 3),  # 3.3333 → 3
        (0, 0),
        (12_000, 10_000),
    ],
)
def test_net_part_rounds_half_up_to_the_cent(open_gross: int, expected_net: int) -> None:
    assert net_part(open_gross, invoice("F-1", JAN, net=10_000, vat=2_000)) == expected_net


def test_net_part_of_a_partly_paid_invoice_through_settlement_rounds_half_up() -> None:
    vat_20 = invoice("F-1", JAN, net=10_000, vat=2_000)
    result = only(settle([vat_20], [payment("p", date(2026, 2, 1), 11_985)], on=FAR))
    assert result.unpaid_gross_minor() == 15
    assert result.unpaid_net_minor() == 13


def test_invoice_without_vat_is_all_net() -> None:
    no_vat = invoice("F-1", JAN, net=10_001, vat=0)
    assert net_part(3_333, no_vat) == 3_333


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("net", "vat", "code", "field"),
    [
        (Money.of("-1", EUR), Money.of("0", EUR), "ledger.negative_amount", "amount_excl_vat"),
        (Money.of("10", EUR), Money.of("-1", EUR), "ledger.negative_amount", "vat_amount"),
        (Money.of("0", EUR), Money.of("0", EUR), "ledger.invalid_amount", "amount_excl_vat"),
        (Money.of("10.001", EUR), Money.of("0", EUR), "ledger.invalid_amount", "amount_excl_vat"),
        (Money.of("10", EUR), Money.of("2", USD), "ledger.currency_mismatch", "vat_amount"),
    ],
)
def test_bad_amounts_are_refused_with_their_field(net: Money, vat: Money, code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_invoice_amounts(net, vat)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_vat_alone_is_an_invoice() -> None:
    validate_invoice_amounts(Money.of("0", EUR), Money.of("2", EUR))


def test_due_date_before_issue_and_delivery_far_from_issue_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_invoice_dates(date(2026, 2, 1), date(2026, 2, 1), date(2026, 1, 31))
    assert (caught.value.code, caught.value.field) == ("ledger.invalid_due_date", "due_date")
    with pytest.raises(InvalidInput) as caught:
        validate_invoice_dates(date(2026, 2, 1), date(2025, 1, 30), date(2026, 3, 1))
    assert (caught.value.code, caught.value.field) == ("ledger.invalid_delivery_date", "delivery_date")
    validate_invoice_dates(date(2026, 2, 1), date(2026, 1, 25), date(2026, 2, 1))  # due on the issue date: fine


# ------------------------------------------------------------------ aged balance and DSO


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "not_due"),
        (1, "1_30"),
        (30, "1_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "over_90"),
        (3_650, "over_90"),
    ],
)
def test_age_bucket_boundaries(days: int, bucket: str) -> None:
    assert age_bucket(days) == bucket


def test_aged_balance_puts_each_open_item_in_its_bucket() -> None:
    on = date(2026, 6, 30)
    overdue = {"N": -5, "Z": 0, "A": 1, "B": 30, "C": 31, "D": 60, "E": 61, "F": 90, "G": 91}
    invoices = [
        invoice(number, date(2026, 1, 1), net=100 * (i + 1), vat=0, due=on - timedelta(days=days))
        for i, (number, days) in enumerate(overdue.items())
    ]
    settlement = only(settle(invoices, [payment("p", date(2026, 2, 1), 50), payment("q", on, 20_000)], on=on))
    # The 50 went to the oldest (all issued the same day: the earliest due, G); the 200.00 cleared everything.
    assert settlement.open_items == []
    settlement = only(settle(invoices, [payment("p", date(2026, 2, 1), 50)], on=on))
    aged = aged_balance(settlement, on)
    assert {name: amount.to_minor() for name, amount in aged.buckets.items()} == {
        "not_due": 100 + 200,
        "1_30": 300 + 400,
        "31_60": 500 + 600,
        "61_90": 700 + 800,
        "over_90": 900 - 50,
    }
    assert list(aged.buckets) == [name for name, _, _ in AGE_BUCKETS]
    assert aged.total == money(4_450)
    assert aged.overdue == money(4_450 - 300)
    assert aged.on_account == money(0)


def test_combined_aged_balance_adds_buckets_and_cash_on_account() -> None:
    on = date(2026, 6, 30)
    first = aged_balance(only(settle([invoice("F", JAN, net=1_000, vat=0, due=on)], [], on=on)), on)
    second = aged_balance(only(settle([], [payment("p", JAN, 700)], on=on)), on)
    both = combine_aged([first, second], EUR)
    assert both.buckets["not_due"] == money(1_000)
    assert both.on_account == money(700)
    assert both.total == money(1_000)


def test_dso_is_receivables_over_the_sales_of_the_window() -> None:
    on = date(2026, 6, 30)
    sales = [
        invoice("IN", on - timedelta(days=89), net=5_000, vat=1_000),
        invoice("EDGE", on, net=2_500, vat=500),
        invoice("OUT", on - timedelta(days=90), net=50_000, vat=0),  # the window is (on − 90, on]
        invoice("FUTURE", on + timedelta(days=1), net=50_000, vat=0),
        credit_note("AV", on - timedelta(days=5), net=50_000, vat=0),  # credit notes are no sales
    ]
    # Sales 90.00 incl. VAT over 90 days, receivables 60.00: 60 days of sales.
    assert days_sales_outstanding(6_000, sales, on=on) == Decimal("60.0")
    assert days_sales_outstanding(1_000, sales, on=on) == Decimal("10.0")
    assert days_sales_outstanding(1, sales, on=on, window_days=30) == Decimal("0.0")
    assert days_sales_outstanding(6_000, sales[2:], on=on) is None


# ------------------------------------------------------------------ payment behaviour


def test_payment_behaviour_weights_days_beyond_terms_by_amount() -> None:
    on = date(2026, 6, 30)
    late = invoice("LATE", date(2026, 1, 1), net=10_000, vat=0, due=date(2026, 1, 31))  # paid 10 days late
    on_time = invoice("OK", date(2026, 1, 2), net=30_000, vat=0, due=date(2026, 3, 1))
    pays = [payment("p1", date(2026, 2, 10), 10_000, invoices=("LATE",)), payment("p2", date(2026, 2, 20), 30_000)]
    behaviour = payment_behaviour(settle([late, on_time], pays, on=on).values(), on=on)
    assert behaviour.invoices_paid == 2
    assert behaviour.invoices_paid_late == 1
    assert behaviour.share_paid_late == Decimal("0.5")
    assert behaviour.average_days_beyond_terms == Decimal("2.5")  # (100 × 10 + 300 × 0) / 400
    assert behaviour.max_days_overdue_12_months == 10
    assert behaviour.overdue_open_minor == 0
    assert behaviour.trading_since == date(2026, 1, 1)


def test_worst_delay_counts_the_last_twelve_months_and_what_is_still_open() -> None:
    on = date(2026, 6, 30)
    long_ago = invoice("OLD", date(2024, 1, 1), net=1_000, vat=0, due=date(2024, 1, 31))  # paid 200 days late
    recent = invoice("NEW", date(2026, 1, 1), net=1_000, vat=0, due=date(2026, 1, 31))  # paid 5 days late
    still_open = invoice("OPEN", date(2026, 5, 1), net=3_000, vat=0, due=date(2026, 6, 10))  # 20 days overdue
    not_due = invoice("NOT-DUE", date(2026, 6, 20), net=4_000, vat=0, due=date(2026, 7, 20))
    pays = [payment("p1", date(2024, 8, 18), 1_000), payment("p2", date(2026, 2, 5), 1_000)]
    behaviour = payment_behaviour(settle([long_ago, recent, still_open, not_due], pays, on=on).values(), on=on)
    assert behaviour.trading_since == date(2024, 1, 1)  # the relationship started then, paid or not
    assert behaviour.invoices_paid == 1  # OLD was settled more than twelve months ago
    assert behaviour.invoices_paid_late == 1
    assert behaviour.max_days_overdue_12_months == 20
    assert behaviour.overdue_open_minor == 3_000
    # A year earlier the old delay was inside the window.
    then = payment_behaviour(settle([long_ago], pays[:1], on=date(2025, 1, 1)).values(), on=date(2025, 1, 1))
    assert then.max_days_overdue_12_months == 200


def test_no_paid_invoice_means_no_share_paid_late() -> None:
    on = date(2026, 6, 30)
    behaviour = payment_behaviour(settle([invoice("F", date(2026, 6, 1))], [], on=on).values(), on=on)
    assert behaviour.invoices_paid == 0
    assert behaviour.share_paid_late is None
    assert behaviour.average_days_beyond_terms == Decimal(0)
    assert payment_behaviour([], on=on).trading_since is None


def test_twelve_months_before_a_leap_day() -> None:
    assert twelve_months_before(date(2028, 2, 29)) == date(2027, 2, 28)
    assert twelve_months_before(date(2026, 3, 15)) == date(2025, 3, 15)


# ------------------------------------------------------------------ properties

CURRENCIES = (EUR, USD)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[Invoice], list[Payment]]:
    """Random invoices, credit notes (on an invoice or not) and payments (naming invoices or not)."""
    count = draw(st.integers(1, 8))
    invoices: list[Invoice] = []
    for i in range(count):
        issued = JAN + timedelta(days=draw(st.integers(0, 120)))
        invoices.append(
            invoice(
                f"F-{i:02d}",
                issued,
                net=draw(st.integers(0, 500_000)),
                vat=draw(st.integers(1, 100_000)),
                due=issued + timedelta(days=draw(st.integers(0, 120))),
                currency=draw(st.sampled_from(CURRENCIES)),
            )
        )
    for i in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(invoices))
        reference = draw(st.sampled_from([target.number, None, "UNKNOWN"]))
        issued = target.issue_date + timedelta(days=draw(st.integers(-5, 60)))
        invoices.append(
            invoice(
                f"AV-{i}",
                issued,
                net=draw(st.integers(1, 200_000)),
                vat=draw(st.integers(0, 40_000)),
                due=issued,
                currency=target.currency,
                kind=EntryKind.CREDIT_NOTE,
                reference=reference,
            )
        )
    payments = [
        payment(
            f"P-{i}",
            JAN + timedelta(days=draw(st.integers(0, 200))),
            draw(st.integers(1, 700_000)),
            currency=draw(st.sampled_from(CURRENCIES)),
            invoices=tuple(draw(st.lists(st.sampled_from([i.number for i in invoices] + ["NONE"]), max_size=2))),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    return invoices, payments


@given(ledgers())
@settings(max_examples=200, deadline=None)
def test_open_items_less_cash_on_account_is_invoiced_less_credited_less_paid(
    ledger: tuple[list[Invoice], list[Payment]],
) -> None:
    invoices, payments = ledger
    expected: dict[str, int] = defaultdict(int)
    for inv in invoices:
        sign = 1 if inv.kind is EntryKind.INVOICE else -1
        expected[inv.currency] += sign * inv.amount_incl_vat.to_minor()
    for pay in payments:
        expected[pay.amount.currency] -= pay.amount.to_minor()
    result = settle(invoices, payments, on=FAR)
    assert set(result) == set(expected)
    for currency, settlement in result.items():
        assert settlement.unpaid_gross_minor() - settlement.on_account_minor == expected[currency]
        assert settlement.balance_minor() == expected[currency]
        assert settlement.on_account_minor >= 0
        assert settlement.on_account_minor == 0 or settlement.unpaid_gross_minor() == 0  # cash never sits idle
        for item in settlement.items:
            assert 0 <= item.open_gross_minor <= item.invoice.amount_incl_vat.to_minor()
            assert 0 <= item.open_net_minor <= item.invoice.amount_excl_vat.to_minor()
            assert item.invoice.kind is EntryKind.INVOICE
            assert item.invoice.currency == currency


@given(ledgers(), st.integers(0, 200), st.integers(1, 300_000), st.sampled_from(CURRENCIES), st.booleans())
@settings(max_examples=200, deadline=None)
def test_paying_never_increases_what_any_invoice_still_owes(
    ledger: tuple[list[Invoice], list[Payment]], day: int, amount: int, currency: str, name_one: bool
) -> None:
    invoices, payments = ledger
    named = (invoices[-1].number,) if name_one else ()
    extra = payment("P-extra", JAN + timedelta(days=day), amount, currency=currency, invoices=named)
    for on in (date(2026, 3, 1), FAR):
        before = {i.invoice.id: i.open_gross_minor for s in settle(invoices, payments, on=on).values() for i in s.items}
        after_settlements = settle(invoices, [*payments, extra], on=on)
        after = {i.invoice.id: i.open_gross_minor for s in after_settlements.values() for i in s.items}
        assert after.keys() == before.keys()
        for invoice_id, owed in after.items():
            assert owed <= before[invoice_id]
        paid_now = sum(before.values()) - sum(after.values())
        assert 0 <= paid_now <= (amount if extra.received_on <= on else 0)
