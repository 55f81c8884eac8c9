"""The indemnity of a claim and the sharing of recoveries, pure domain (DOMAIN.md §8): no database.

One named test per rule, on small cases whose amounts are worked out by hand
in the comments, then Hypothesis properties on random timelines (invoices with
VAT, payments, credit notes and recoveries settling them, limit histories with
increases, reductions and cancellations, random policy terms).

The claim's invoices are built from the ledger the way the claims service does:
``settle`` applies cash and credit notes oldest first including VAT, and each
application lowers the invoice's unpaid part excluding VAT at its own ratio.
Unless a test says otherwise the terms are the defaults: indemnity rate 90 %,
non-qualifying loss 1,000, no deductible, no maximum liability known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.credit_limits import LimitPeriod
from tradecover.domain.errors import InvalidInput
from tradecover.domain.indemnity import (
    CREDIT_NOTES,
    PAYMENTS,
    RECOVERIES,
    ClaimInvoice,
    Indemnity,
    IndemnityTerms,
    Payee,
    compute_indemnity,
    payees,
    share_recovery,
)
from tradecover.domain.money import Money
from tradecover.domain.receivables import CREDIT_NOTE_SOURCE, EntryKind, Invoice, Payment, Settlement, net_part, settle
from tradecover.domain.terms import DeductibleKind

EUR = "EUR"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
JAN = date(2026, 1, 1)
SETTLED_ON = date(2026, 6, 30)
ZERO = Money.zero(EUR)
RECOVERY_SOURCES = frozenset({"collection", "recovery"})  # as the claims service reads a payment's source


def eur(amount: int | str) -> Money:
    return Money.of(amount, EUR)


def minor(units: int) -> Money:
    return Money.from_minor(units, EUR)


# --- Building a claim ------------------------------------------------------------------------------------


def ledger_invoice(
    number: str, issued: date, net: int | str, vat: int | str, *, terms: int = 60, delivered: date | None = None
) -> Invoice:
    return Invoice(
        id=f"i-{number}",
        policy_id="p-1",
        buyer_id="b-1",
        kind=EntryKind.INVOICE,
        number=number,
        issue_date=issued,
        delivery_date=delivered or issued,
        due_date=issued + timedelta(days=terms),
        amount_excl_vat=eur(net),
        vat_amount=eur(vat),
        recorded_at=AT,
        recorded_by="test",
    )


def credit_note(number: str, issued: date, net: int | str, vat: int | str, invoice: str | None = None) -> Invoice:
    return replace(
        ledger_invoice(number, issued, net, vat, terms=0), kind=EntryKind.CREDIT_NOTE, invoice_reference=invoice
    )


def payment(ref: str, received: date, amount: int | str, *, source: str = "payment", names: str = "") -> Payment:
    return Payment(
        id=f"pay-{ref}",
        policy_id="p-1",
        buyer_id="b-1",
        received_on=received,
        amount=eur(amount),
        recorded_at=AT,
        recorded_by="test",
        invoices=(names,) if names else (),
        source=source,
    )


def claim_invoices(settlement: Settlement, factors: Mapping[str, str] | None = None) -> list[ClaimInvoice]:
    """Every invoice of the settlement as accepted in the notification, its reductions excluding VAT by source."""
    factors = factors or {}
    applied: dict[str, list[tuple[int, str]]] = {}
    for invoice_id, used, source in settlement.applications:
        applied.setdefault(invoice_id, []).append((used, source))
    out: list[ClaimInvoice] = []
    for item in settlement.items:
        inv = item.invoice
        gross = inv.amount_incl_vat.to_minor()
        net_open = inv.amount_excl_vat.to_minor()
        paid = 0
        reductions: dict[str, int] = {}
        for used, source in applied.get(inv.id, []):
            paid += used
            now_open = net_part(gross - paid, inv)
            kind = (
                CREDIT_NOTES if source == CREDIT_NOTE_SOURCE else RECOVERIES if source in RECOVERY_SOURCES else PAYMENTS
            )
            reductions[kind] = reductions.get(kind, 0) + net_open - now_open
            net_open = now_open
        out.append(
            ClaimInvoice(
                invoice_id=inv.id,
                number=inv.number,
                issue_date=inv.issue_date,
                delivery_date=inv.delivery_date,
                due_date=inv.due_date,
                amount_excl_vat=inv.amount_excl_vat,
                reductions=tuple((k, minor(v)) for k, v in reductions.items() if v),
                factor=factors.get(inv.number),
            )
        )
    return out


def from_ledger(
    invoices: Sequence[Invoice], cash: Sequence[Payment | Invoice] = (), *, on: date = SETTLED_ON
) -> list[ClaimInvoice]:
    notes = [c for c in cash if isinstance(c, Invoice)]
    payments = [c for c in cash if isinstance(c, Payment)]
    return claim_invoices(settle([*invoices, *notes], payments, on=on)[EUR])


def unpaid(
    number: str,
    delivered: date,
    net: int | str,
    *,
    paid: int | str = 0,
    credited: int | str = 0,
    recovered: int | str = 0,
    factor: str | None = None,
) -> ClaimInvoice:
    """A claim invoice written directly: its amount excluding VAT and what reduced it."""
    reductions = tuple(
        (kind, eur(amount))
        for kind, amount in ((PAYMENTS, paid), (CREDIT_NOTES, credited), (RECOVERIES, recovered))
        if eur(amount).is_positive()
    )
    return ClaimInvoice(
        f"i-{number}", number, delivered, delivered, delivered + timedelta(days=60), eur(net), reductions, factor
    )


def limit(*changes: tuple[date, int], discretionary: int = 0) -> list[LimitPeriod]:
    """The limit's periods: before the first change the discretionary limit, then each amount until the next."""
    starts = [start for start, _ in changes]
    periods = [LimitPeriod(date.min, starts[0] if starts else None, eur(discretionary))]
    for position, (start, amount) in enumerate(changes):
        end = starts[position + 1] if position + 1 < len(starts) else None
        periods.append(LimitPeriod(start, end, eur(amount)))
    return periods


LIMIT_50K = limit((JAN, 50_000))


def terms(
    *,
    rate: str = "0.90",
    non_qualifying: int | str = 1_000,
    deductible: int | str = 0,
    kind: DeductibleKind = DeductibleKind.PER_CLAIM,
    deductible_used: int | str = 0,
    max_liability: int | str | None = None,
    paid_in_year: int | str = 0,
) -> IndemnityTerms:
    return IndemnityTerms(
        currency=EUR,
        indemnity_rate=Decimal(rate),
        non_qualifying_loss=eur(non_qualifying),
        deductible=eur(deductible),
        deductible_kind=kind,
        aggregate_deductible_used=eur(deductible_used),
        max_liability=None if max_liability is None else eur(max_liability),
        max_liability_rule="30 × premium 5000.00",
        indemnities_of_year=eur(paid_in_year),
    )


def amounts(result: Indemnity) -> dict[str, Money | None]:
    return {line.code: line.amount for line in result.lines}


# --- 1. Loss ---------------------------------------------------------------------------------------------


def test_loss_excludes_vat_after_payments_oldest_first() -> None:
    # F-1 (10 Jan): 10,000 + 20 % VAT = 12,000; F-2 (10 Feb): 5,000 + 10 % VAT = 5,500.
    # 14,000 received on 1 March settles the oldest first: F-1 in full (12,000), then 2,000 of F-2.
    # F-2 keeps 3,500 unpaid including VAT, i.e. 3,500 × 5,000 / 5,500 = 3,181.8181… → 3,181.82 excluding VAT.
    # (Newest first would have left 3,500 of F-1, i.e. 2,916.67; including VAT the loss would be 3,500.)
    invoices = [
        ledger_invoice("F-1", date(2026, 1, 10), 10_000, 2_000),
        ledger_invoice("F-2", date(2026, 2, 10), 5_000, 500),
    ]
    claim = from_ledger(invoices, [payment("1", date(2026, 3, 1), 14_000)])
    assert [i.unpaid_excl_vat for i in claim] == [ZERO, eur("3181.82")]
    result = compute_indemnity(claim, LIMIT_50K, terms())
    assert result.loss == eur("3181.82")
    # Payments: 10,000 (F-1) + 5,000 − 3,181.82 (F-2) = 11,818.18; 15,000 − 11,818.18 = 3,181.82.
    assert amounts(result)["invoices_unpaid"] == eur(15_000)
    assert amounts(result)[PAYMENTS] == eur("-11818.18")
    assert result.covered_loss == eur("3181.82")
    # 3,181.82 × 90 % = 2,863.638 → 2,863.64.
    assert result.indemnity == eur("2863.64")


def test_credit_notes_and_recoveries_before_settlement_reduce_the_loss() -> None:
    # F-1 (10 Jan) 10,000 + 2,000; F-2 (10 Feb) 5,000 + 1,000.
    # 20 Feb credit note 1,000 + 200 on F-2: F-2 unpaid 4,800 incl. VAT = 4,000 excl.
    # 1 March payment 6,000: oldest first, F-1 unpaid 6,000 incl. = 5,000 excl. (payments −5,000).
    # 1 April recovery by the collector 3,600: F-1 unpaid 2,400 incl. = 2,000 excl. (recoveries −3,000).
    # Loss = 2,000 + 4,000 = 6,000 = 15,000 − 1,000 − 5,000 − 3,000.
    invoices = [
        ledger_invoice("F-1", date(2026, 1, 10), 10_000, 2_000),
        ledger_invoice("F-2", date(2026, 2, 10), 5_000, 1_000),
    ]
    cash: list[Payment | Invoice] = [
        credit_note("AV-1", date(2026, 2, 20), 1_000, 200, invoice="F-2"),
        payment("1", date(2026, 3, 1), 6_000),
        payment("2", date(2026, 4, 1), 3_600, source="collection"),
    ]
    result = compute_indemnity(from_ledger(invoices, cash), LIMIT_50K, terms())
    assert amounts(result) == {
        "invoices_unpaid": eur(15_000),
        CREDIT_NOTES: eur(-1_000),
        PAYMENTS: eur(-5_000),
        RECOVERIES: eur(-3_000),
        "loss": eur(6_000),
        "covered_loss": eur(6_000),
        "indemnity_rate": eur(5_400),  # 6,000 × 90 %
        "indemnity": eur(5_400),
    }


def test_payments_received_after_the_settlement_date_do_not_reduce_the_loss() -> None:
    # F-1: 10,000 + 2,000; 6,000 paid on 15 July, after the settlement date of 30 June.
    invoices = [ledger_invoice("F-1", date(2026, 1, 10), 10_000, 2_000)]
    late = [payment("1", date(2026, 7, 15), 6_000)]
    assert compute_indemnity(from_ledger(invoices, late), LIMIT_50K, terms()).loss == eur(10_000)
    # Settled on 15 July, it counts: 6,000 incl. VAT unpaid = 5,000 excl.
    on_the_day = from_ledger(invoices, late, on=date(2026, 7, 15))
    assert compute_indemnity(on_the_day, LIMIT_50K, terms()).loss == eur(5_000)


# --- 2. Covered loss -------------------------------------------------------------------------------------


def test_covered_loss_applies_the_covered_exposure_rule_after_a_reduction() -> None:
    # Limit 50,000 from 1 January, reduced to 20,000 from 1 April.
    # F-1 delivered 1 Feb, 30,000 unpaid; F-2 delivered 15 April, 10,000 unpaid.
    # Period to 1 April: min(30,000, 50,000) = 30,000; from 1 April: min(40,000, 20,000) = 20,000.
    # Covered loss = max(30,000, 20,000) = 30,000: F-1 stays covered up to the former amount, F-2 is not.
    periods = limit((JAN, 50_000), (date(2026, 4, 1), 20_000))
    claim = [unpaid("F-1", date(2026, 2, 1), 30_000), unpaid("F-2", date(2026, 4, 15), 10_000)]
    result = compute_indemnity(claim, periods, terms())
    assert result.loss == eur(40_000)
    assert result.covered_loss == eur(30_000)
    assert amounts(result)["above_covered_exposure"] == eur(-10_000)
    assert result.indemnity == eur(27_000)  # 30,000 × 90 %
    # With F-1 at 15,000, F-2 is covered while the total fits the new 20,000: max(15,000, min(25,000, 20,000)).
    smaller = [unpaid("F-1", date(2026, 2, 1), 15_000), unpaid("F-2", date(2026, 4, 15), 10_000)]
    assert compute_indemnity(smaller, periods, terms()).covered_loss == eur(20_000)


def test_deliveries_after_a_cancellation_are_not_in_the_covered_loss() -> None:
    # Limit 50,000 from 1 January, cancelled on 1 May (a period at 0).
    # F-1 delivered 1 Feb, 20,000; F-2 delivered 5 May, 15,000: max(min(20,000, 50,000), min(35,000, 0)) = 20,000.
    periods = limit((JAN, 50_000), (date(2026, 5, 1), 0))
    claim = [unpaid("F-1", date(2026, 2, 1), 20_000), unpaid("F-2", date(2026, 5, 5), 15_000)]
    result = compute_indemnity(claim, periods, terms())
    assert (result.loss, result.covered_loss, result.indemnity) == (eur(35_000), eur(20_000), eur(18_000))


def test_an_increase_after_the_invoices_fell_overdue_does_not_raise_the_covered_loss() -> None:
    # Limit 20,000 from 1 January; F-1 delivered 1 Feb, due 2 April, 35,000 unpaid; limit raised to 50,000 on
    # 1 May, when F-1 was already overdue: it stays covered by the former 20,000 only (DOMAIN.md §5).
    periods = limit((JAN, 20_000), (date(2026, 5, 1), 50_000))
    result = compute_indemnity([unpaid("F-1", date(2026, 2, 1), 35_000)], periods, terms())
    assert (result.loss, result.covered_loss, result.indemnity) == (eur(35_000), eur(20_000), eur(18_000))
    # Raised on 1 March, before F-1 fell due, the new amount covers it: min(35,000, 50,000) = 35,000.
    earlier = limit((JAN, 20_000), (date(2026, 3, 1), 50_000))
    assert compute_indemnity([unpaid("F-1", date(2026, 2, 1), 35_000)], earlier, terms()).covered_loss == eur(35_000)


def test_the_covered_loss_counts_what_remains_unpaid_not_the_invoiced_amount() -> None:
    # 80,000 invoiced, 45,000 paid: 35,000 unpaid fits the 50,000 limit in full.
    claim = [unpaid("F-1", date(2026, 2, 1), 80_000, paid=45_000)]
    result = compute_indemnity(claim, LIMIT_50K, terms())
    assert (result.loss, result.covered_loss) == (eur(35_000), eur(35_000))
    assert "above_covered_exposure" not in amounts(result)


# --- 3. Non-qualifying loss -------------------------------------------------------------------------------


def test_no_indemnity_below_the_non_qualifying_loss() -> None:
    below = compute_indemnity([unpaid("F-1", date(2026, 2, 1), "999.99")], LIMIT_50K, terms())
    assert not below.qualifies
    assert below.indemnity == ZERO
    assert below.payees == ()
    assert amounts(below)["non_qualifying_loss"] is None
    assert amounts(below)["indemnity"] == ZERO
    # At the threshold itself the claim qualifies: 1,000 × 90 % = 900.
    at = compute_indemnity([unpaid("F-1", date(2026, 2, 1), 1_000)], LIMIT_50K, terms())
    assert at.qualifies
    assert at.indemnity == eur(900)


def test_the_threshold_applies_to_the_covered_loss_not_the_loss() -> None:
    # A 5,000 loss under an 800 limit: covered loss 800 < 1,000, nothing is due.
    result = compute_indemnity([unpaid("F-1", date(2026, 2, 1), 5_000)], limit((JAN, 800)), terms())
    assert (result.loss, result.covered_loss, result.qualifies, result.indemnity) == (
        eur(5_000),
        eur(800),
        False,
        ZERO,
    )


# --- 4. Rate and deductible --------------------------------------------------------------------------------


def test_covered_loss_times_the_indemnity_rate_rounds_half_up_to_the_cent() -> None:
    # 1,000.05 × 90 % = 900.045 → 900.05.
    result = compute_indemnity([unpaid("F-1", date(2026, 2, 1), "1000.05")], LIMIT_50K, terms())
    assert result.after_rate == eur("900.05")
    assert result.indemnity == eur("900.05")
    # 20,000 × 95 % = 19,000; 20,000 × 50 % = 10,000.
    claim = [unpaid("F-1", date(2026, 2, 1), 20_000)]
    assert compute_indemnity(claim, LIMIT_50K, terms(rate="0.95")).indemnity == eur(19_000)
    assert compute_indemnity(claim, LIMIT_50K, terms(rate="0.50")).indemnity == eur(10_000)


def test_per_claim_deductible_is_subtracted_after_the_rate() -> None:
    # 20,000 × 90 % = 18,000 − 5,000 = 13,000.
    result = compute_indemnity([unpaid("F-1", date(2026, 2, 1), 20_000)], LIMIT_50K, terms(deductible=5_000))
    assert result.deductible_applied == eur(5_000)
    assert amounts(result)["deductible"] == eur(-5_000)
    assert result.indemnity == eur(13_000)


def test_per_claim_deductible_never_makes_the_indemnity_negative() -> None:
    # 2,000 × 90 % = 1,800 − 5,000 → 0: only 1,800 of the deductible is applied.
    result = compute_indemnity([unpaid("F-1", date(2026, 2, 1), 2_000)], LIMIT_50K, terms(deductible=5_000))
    assert result.qualifies
    assert result.deductible_applied == eur(1_800)
    assert result.indemnity == ZERO
    assert result.payees == ()
    # Each claim bears the whole per-claim deductible again: nothing is carried over.
    again = compute_indemnity(
        [unpaid("F-1", date(2026, 2, 1), 20_000)], LIMIT_50K, terms(deductible=5_000, deductible_used=1_800)
    )
    assert again.indemnity == eur(13_000)


def test_annual_aggregate_deductible_is_consumed_across_the_year() -> None:
    # A 10,000 annual aggregate deductible over three claims of the same policy year.
    agg = DeductibleKind.ANNUAL_AGGREGATE
    # Claim 1: 8,000 × 90 % = 7,200, all of it absorbed by the deductible (10,000 left): indemnity 0.
    first = compute_indemnity([unpaid("A-1", date(2026, 2, 1), 8_000)], LIMIT_50K, terms(deductible=10_000, kind=agg))
    assert (first.aggregate_deductible_consumed, first.indemnity) == (eur(7_200), ZERO)
    assert amounts(first)["aggregate_deductible"] == eur(-7_200)
    # Claim 2: 20,000 × 90 % = 18,000 − the 2,800 that remain of it = 15,200.
    second = compute_indemnity(
        [unpaid("B-1", date(2026, 2, 1), 20_000)], LIMIT_50K, terms(deductible=10_000, kind=agg, deductible_used=7_200)
    )
    assert (second.aggregate_deductible_consumed, second.indemnity) == (eur(2_800), eur(15_200))
    # Claim 3: the deductible is used up, 5,000 × 90 % = 4,500 is paid in full.
    third = compute_indemnity(
        [unpaid("C-1", date(2026, 2, 1), 5_000)], LIMIT_50K, terms(deductible=10_000, kind=agg, deductible_used=10_000)
    )
    assert (third.aggregate_deductible_consumed, third.indemnity) == (ZERO, eur(4_500))


# --- 5. Maximum liability ---------------------------------------------------------------------------------


def test_indemnity_capped_by_remaining_maximum_liability() -> None:
    # Maximum liability 150,000 (30 × premium 5,000), 140,000 already indemnified: 10,000 remain.
    # 20,000 × 90 % = 18,000 → capped at 10,000 (statement line −8,000).
    claim = [unpaid("F-1", date(2026, 2, 1), 20_000)]
    result = compute_indemnity(claim, LIMIT_50K, terms(max_liability=150_000, paid_in_year=140_000))
    assert result.capped_by == eur(10_000)
    assert amounts(result)["max_liability"] == eur(-8_000)
    assert result.indemnity == eur(10_000)
    # Below the remaining liability the cap does not show.
    roomy = compute_indemnity(claim, LIMIT_50K, terms(max_liability=150_000, paid_in_year=100_000))
    assert (roomy.capped_by, roomy.indemnity) == (None, eur(18_000))
    assert "max_liability" not in amounts(roomy)


def test_nothing_is_paid_once_the_maximum_liability_is_used_up() -> None:
    claim = [unpaid("F-1", date(2026, 2, 1), 20_000)]
    for paid in (150_000, 160_000):
        result = compute_indemnity(claim, LIMIT_50K, terms(max_liability=150_000, paid_in_year=paid))
        assert (result.capped_by, result.indemnity, result.payees) == (ZERO, ZERO, ())


def test_without_a_known_maximum_liability_nothing_caps_the_indemnity() -> None:
    claim = [unpaid("F-1", date(2026, 2, 1), 40_000)]
    result = compute_indemnity(claim, LIMIT_50K, terms(paid_in_year=1_000_000))
    assert (result.capped_by, result.indemnity) == (None, eur(36_000))


def test_the_statement_shows_each_line() -> None:
    # F-1 delivered 1 Feb: 30,000 − 1,000 credited − 4,000 paid = 25,000; F-2 delivered 15 April: 10,000 − 500
    # recovered = 9,500. Loss 34,500. Limit 50,000 reduced to 20,000 on 1 April: covered max(25,000, 20,000).
    # 25,000 × 90 % = 22,500 − 2,000 deductible = 20,500 > 15,000 remaining (150,000 − 135,000): capped.
    claim = [
        unpaid("F-1", date(2026, 2, 1), 30_000, paid=4_000, credited=1_000),
        unpaid("F-2", date(2026, 4, 15), 10_000, recovered=500),
    ]
    periods = limit((JAN, 50_000), (date(2026, 4, 1), 20_000))
    result = compute_indemnity(claim, periods, terms(deductible=2_000, max_liability=150_000, paid_in_year=135_000))
    assert [(line.code, line.amount) for line in result.lines] == [
        ("invoices_unpaid", eur(40_000)),
        (CREDIT_NOTES, eur(-1_000)),
        (PAYMENTS, eur(-4_000)),
        (RECOVERIES, eur(-500)),
        ("loss", eur(34_500)),
        ("above_covered_exposure", eur(-9_500)),
        ("covered_loss", eur(25_000)),
        ("indemnity_rate", eur(22_500)),
        ("deductible", eur(-2_000)),
        ("max_liability", eur(-5_500)),
        ("indemnity", eur(15_000)),
    ]
    assert all(line.label and line.rule for line in result.lines)
    assert [line.code for line in result.lines if line.emphasis] == ["loss", "covered_loss", "indemnity"]
    # Payees by unpaid share: 15,000 × 25,000 / 34,500 = 10,869.565… and × 9,500 / 34,500 = 4,130.434…; the
    # leftover cent goes to the larger remainder (0.565 > 0.434): 10,869.57 + 4,130.43 = 15,000.00.
    assert payees(result.indemnity, claim) == (Payee("insured", "insured", eur(15_000)),)


def test_an_indemnity_rate_outside_zero_and_one_is_refused() -> None:
    for rate in ("-0.01", "1.01"):
        with pytest.raises(InvalidInput) as error:
            compute_indemnity([unpaid("F-1", date(2026, 2, 1), 5_000)], LIMIT_50K, terms(rate=rate))
        assert error.value.code == "claim.invalid_rate"


# --- Loss payees -----------------------------------------------------------------------------------------


def test_indemnity_on_assigned_invoices_goes_to_the_factor() -> None:
    # F-1 (30,000 unpaid) was assigned to a factor, F-2 (10,000) was not: 40,000 × 90 % = 36,000 shared 3 : 1.
    claim = [
        unpaid("F-1", date(2026, 2, 1), 30_000, factor="Eurofactor"),
        unpaid("F-2", date(2026, 2, 15), 10_000),
    ]
    result = compute_indemnity(claim, LIMIT_50K, terms())
    assert result.indemnity == eur(36_000)
    assert result.payees == (
        Payee("insured", "insured", eur(9_000)),
        Payee("Eurofactor", "factor", eur(27_000)),
    )
    every = [replace(i, factor="Eurofactor") for i in claim]
    assert compute_indemnity(every, LIMIT_50K, terms()).payees == (Payee("Eurofactor", "factor", eur(36_000)),)


def test_payees_share_the_indemnity_to_the_cent() -> None:
    # 100.00 over three equal invoices: 33.34 + 33.33 + 33.33; two of them assigned to factors.
    claim = [
        unpaid("F-1", date(2026, 2, 1), 1_000, factor="B-Factor"),
        unpaid("F-2", date(2026, 2, 1), 1_000, factor="A-Factor"),
        unpaid("F-3", date(2026, 2, 1), 1_000),
    ]
    assert payees(eur(100), claim) == (
        Payee("insured", "insured", eur("33.33")),
        Payee("A-Factor", "factor", eur("33.33")),
        Payee("B-Factor", "factor", eur("33.34")),
    )
    assert payees(ZERO, claim) == ()
    assert payees(eur(100), [unpaid("F-1", date(2026, 2, 1), 1_000, paid=1_000)]) == ()


# --- Recoveries after indemnity ----------------------------------------------------------------------------


def test_recovery_after_indemnity_is_shared_in_proportion() -> None:
    # Loss 40,000, indemnity 27,000: the insurer takes 10,000 × 27,000 / 40,000 = 6,750, the insured 3,250.
    shares = share_recovery(eur(10_000), indemnity=eur(27_000), loss=eur(40_000), insurer_recovered=ZERO)
    assert (shares.insurer, shares.insured) == (eur(6_750), eur(3_250))
    # 100 × 10,000 / 30,000 = 33.333… → 33.33; the insured gets the rest, 66.67, so the two sum to 100.00.
    thirds = share_recovery(eur(100), indemnity=eur(10_000), loss=eur(30_000), insurer_recovered=ZERO)
    assert (thirds.insurer, thirds.insured) == (eur("33.33"), eur("66.67"))


def test_insurer_never_recovers_more_than_it_paid() -> None:
    # Indemnity 27,000 of which 26,000 already recovered: of 10,000 (6,750 in proportion) the insurer takes 1,000.
    shares = share_recovery(eur(10_000), indemnity=eur(27_000), loss=eur(40_000), insurer_recovered=eur(26_000))
    assert (shares.insurer, shares.insured) == (eur(1_000), eur(9_000))
    assert "limited" in shares.rule
    done = share_recovery(eur(500), indemnity=eur(27_000), loss=eur(40_000), insurer_recovered=eur(27_000))
    assert (done.insurer, done.insured) == (ZERO, eur(500))


def test_a_recovery_on_a_claim_without_indemnity_is_the_insureds() -> None:
    shares = share_recovery(eur(1_000), indemnity=ZERO, loss=eur(40_000), insurer_recovered=ZERO)
    assert (shares.insurer, shares.insured) == (ZERO, eur(1_000))


def test_a_negative_recovery_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        share_recovery(eur(-1), indemnity=eur(27_000), loss=eur(40_000), insurer_recovered=ZERO)
    assert error.value.code == "recovery.invalid_amount"


# --- Properties --------------------------------------------------------------------------------------------

BASE = date(2026, 1, 1)
VAT_RATES = (Decimal(0), Decimal("0.055"), Decimal("0.10"), Decimal("0.20"))
FACTORS = ("Eurofactor", "Factofrance")


def _vat(net: int, rate: Decimal) -> int:
    return int((Decimal(net) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@st.composite
def claims(draw: st.DrawFn) -> list[ClaimInvoice]:
    """A buyer's invoices with VAT, then payments, credit notes and recoveries, settled on day 365."""
    invoices: list[Invoice] = []
    for k in range(draw(st.integers(1, 5))):
        issued = BASE + timedelta(days=draw(st.integers(0, 240)))
        net = draw(st.integers(1, 3_000_000))
        invoices.append(
            ledger_invoice(
                f"F-{k}",
                issued,
                str(minor(net).amount),
                str(minor(_vat(net, draw(st.sampled_from(VAT_RATES)))).amount),
                terms=draw(st.integers(0, 90)),
                delivered=issued - timedelta(days=draw(st.integers(0, 10))),
            )
        )
    numbers = [i.number for i in invoices]
    notes: list[Invoice] = []
    payments: list[Payment] = []
    for k in range(draw(st.integers(0, 5))):
        day = BASE + timedelta(days=draw(st.integers(0, 380)))
        amount = draw(st.integers(1, 2_500_000))
        named = draw(st.one_of(st.just(""), st.sampled_from(numbers)))
        kind = draw(st.sampled_from(["payment", "collection", "credit_note"]))
        if kind == "credit_note":
            vat = minor(_vat(amount, Decimal("0.20"))).amount
            notes.append(credit_note(f"AV-{k}", day, str(minor(amount).amount), str(vat), named or None))
        else:
            payments.append(payment(str(k), day, str(minor(amount).amount), source=kind, names=named))
    settlement = settle([*invoices, *notes], payments, on=BASE + timedelta(days=365))[EUR]
    factors = {n: draw(st.sampled_from(FACTORS)) for n in numbers if draw(st.booleans())}
    return claim_invoices(settlement, factors)


@st.composite
def limit_histories(draw: st.DrawFn) -> list[LimitPeriod]:
    """Discretionary cover, then new limits, increases, reductions and cancellations (amount 0)."""
    changes = draw(
        st.lists(
            st.tuples(st.integers(-60, 360), st.one_of(st.just(0), st.integers(1, 10_000_000))),
            max_size=5,
            unique_by=lambda change: change[0],
        )
    )
    discretionary = draw(st.sampled_from([0, 1_000_000]))
    dated = sorted((BASE + timedelta(days=offset), str(minor(amount).amount)) for offset, amount in changes)
    starts = [start for start, _ in dated]
    periods = [LimitPeriod(date.min, starts[0] if starts else None, minor(discretionary))]
    for position, (start, amount) in enumerate(dated):
        periods.append(LimitPeriod(start, starts[position + 1] if position + 1 < len(starts) else None, eur(amount)))
    return periods


@st.composite
def policy_terms(draw: st.DrawFn) -> IndemnityTerms:
    deductible = draw(st.integers(0, 2_000_000))
    max_liability = draw(st.one_of(st.none(), st.integers(0, 20_000_000)))
    return IndemnityTerms(
        currency=EUR,
        indemnity_rate=Decimal(draw(st.integers(50, 95))) / 100,
        non_qualifying_loss=minor(draw(st.integers(0, 500_000))),
        deductible=minor(deductible),
        deductible_kind=draw(st.sampled_from(DeductibleKind)),
        aggregate_deductible_used=minor(draw(st.integers(0, deductible + 500_000))),
        max_liability=None if max_liability is None else minor(max_liability),
        max_liability_rule="fixed amount of the policy",
        indemnities_of_year=minor(draw(st.integers(0, 25_000_000))),
    )


def _remaining_liability(t: IndemnityTerms) -> Money | None:
    return None if t.max_liability is None else Money.max_of(t.max_liability - t.indemnities_of_year, ZERO)


def _sum(moneys: Sequence[Money | None]) -> Money:
    total = ZERO
    for money in moneys:
        assert money is not None
        total = total + money
    return total


@given(claims(), limit_histories(), policy_terms())
@settings(max_examples=120, deadline=None)
def test_indemnity_stays_between_zero_and_the_covered_loss_at_the_rate_and_the_remaining_liability(
    claim: list[ClaimInvoice], periods: list[LimitPeriod], t: IndemnityTerms
) -> None:
    result = compute_indemnity(claim, periods, t)
    ceiling = (result.covered_loss * t.indemnity_rate).round()
    remaining = _remaining_liability(t)
    if remaining is not None:
        ceiling = Money.min_of(ceiling, remaining)
    assert ZERO <= result.indemnity <= ceiling
    assert ZERO <= result.covered_loss <= result.loss
    assert result.covered_loss <= Money.max_of(*(p.amount for p in periods))
    assert result.loss == _sum([i.unpaid_excl_vat for i in claim])
    assert result.qualifies == (result.covered_loss >= t.non_qualifying_loss and result.covered_loss.is_positive())
    if not result.qualifies:
        assert result.indemnity == ZERO
    if t.deductible_kind is DeductibleKind.ANNUAL_AGGREGATE:
        assert result.aggregate_deductible_consumed <= Money.max_of(t.deductible - t.aggregate_deductible_used, ZERO)
    else:
        assert result.aggregate_deductible_consumed == ZERO
        assert result.deductible_applied <= t.deductible


@given(claims(), limit_histories(), policy_terms())
@settings(max_examples=100, deadline=None)
def test_the_statement_lines_add_up(claim: list[ClaimInvoice], periods: list[LimitPeriod], t: IndemnityTerms) -> None:
    result = compute_indemnity(claim, periods, t)
    lines = {line.code: line.amount for line in result.lines}
    codes = [line.code for line in result.lines]
    assert len(codes) == len(set(codes))
    # invoices_unpaid + credit notes + payments + recoveries = loss
    reductions = [lines[code] for code in (CREDIT_NOTES, PAYMENTS, RECOVERIES) if code in lines]
    assert _sum([lines["invoices_unpaid"], *reductions]) == lines["loss"] == result.loss
    # loss + above_covered_exposure = covered_loss
    assert _sum([lines["loss"], lines.get("above_covered_exposure", ZERO)]) == lines["covered_loss"]
    assert lines["covered_loss"] == result.covered_loss
    assert lines["indemnity"] == result.indemnity
    assert codes[-1] == "indemnity"
    if not result.qualifies:
        assert lines["non_qualifying_loss"] is None
        assert lines["indemnity"] == ZERO
        return
    # covered_loss × rate − deductible (either kind) − the part above the remaining liability = indemnity
    assert lines["indemnity_rate"] == (result.covered_loss * t.indemnity_rate).round() == result.after_rate
    subtracted = [lines[c] for c in ("deductible", "aggregate_deductible", "max_liability") if c in lines]
    assert all(amount is not None and not amount.is_positive() for amount in subtracted)
    assert _sum([lines["indemnity_rate"], *subtracted]) == lines["indemnity"]


@given(claims(), limit_histories(), policy_terms())
@settings(max_examples=80, deadline=None)
def test_payees_sum_exactly_to_the_indemnity(
    claim: list[ClaimInvoice], periods: list[LimitPeriod], t: IndemnityTerms
) -> None:
    result = compute_indemnity(claim, periods, t)
    assert _sum([p.amount for p in result.payees]) == result.indemnity
    assert all(p.amount.is_positive() for p in result.payees)
    assert {p.name for p in result.payees if p.role == "factor"} <= {i.factor for i in claim if i.factor}
    if not any(i.factor for i in claim):
        assert all(p.role == "insured" for p in result.payees)


@given(st.lists(st.tuples(claims(), limit_histories()), min_size=1, max_size=4), policy_terms())
@settings(max_examples=40, deadline=None)
def test_claims_of_one_year_never_exceed_the_aggregate_deductible_nor_the_maximum_liability(
    year: list[tuple[list[ClaimInvoice], list[LimitPeriod]]], t: IndemnityTerms
) -> None:
    t = replace(t, aggregate_deductible_used=ZERO, indemnities_of_year=ZERO)
    for claim, periods in year:
        result = compute_indemnity(claim, periods, t)
        t = replace(
            t,
            aggregate_deductible_used=t.aggregate_deductible_used + result.aggregate_deductible_consumed,
            indemnities_of_year=t.indemnities_of_year + result.indemnity,
        )
    assert t.aggregate_deductible_used <= t.deductible
    if t.max_liability is not None:
        assert t.indemnities_of_year <= t.max_liability


@given(
    st.integers(1, 10_000_000),
    st.integers(0, 100),
    st.lists(st.integers(0, 5_000_000), max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_recovery_shares_sum_exactly_and_the_insurer_never_recovers_more_than_the_indemnity(
    loss_minor: int, indemnity_percent: int, recoveries: list[int]
) -> None:
    loss = minor(loss_minor)
    indemnity = (loss * Decimal(indemnity_percent) / 100).round()
    recovered = ZERO
    for amount in map(minor, recoveries):
        shares = share_recovery(amount, indemnity=indemnity, loss=loss, insurer_recovered=recovered)
        assert shares.insurer + shares.insured == amount
        assert ZERO <= shares.insurer <= amount
        assert shares.insured >= ZERO
        proportional = amount * indemnity.amount / loss.amount
        if shares.insurer < Money.max_of(indemnity - recovered, ZERO):
            assert abs(shares.insurer - proportional) < minor(1)  # recovery × indemnity ÷ loss, to the cent
        recovered = recovered + shares.insurer
        assert recovered <= indemnity
