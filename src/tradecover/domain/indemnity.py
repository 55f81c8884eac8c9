"""The indemnity of one claim and the sharing of recoveries (DOMAIN.md §8).

All amounts exclude VAT and are in the policy currency:

1. loss = what remains unpaid of the claim's invoices (those accepted in the
   overdue notification) after payments, credit notes and recoveries received
   before settlement;
2. covered loss = the covered-exposure rule of §6 applied to what remains unpaid;
3. nothing if the covered loss is below the non-qualifying loss;
4. covered loss × indemnity rate − the per-claim deductible (≥ 0), or minus what
   remains of the annual aggregate deductible;
5. capped by what remains of the policy year's maximum liability.

Every step is a line of the settlement statement with its amount and its rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.credit_limits import LimitPeriod
from tradecover.domain.errors import InvalidInput
from tradecover.domain.exposure import ExposureLine, covered_exposure
from tradecover.domain.money import Money
from tradecover.domain.terms import DeductibleKind

# Where the reductions of an invoice come from, as the statement groups them.
PAYMENTS = "payments_before_settlement"
CREDIT_NOTES = "credit_notes"
RECOVERIES = "recoveries_before_settlement"
REDUCTION_LABELS = {
    PAYMENTS: "Payments received",
    CREDIT_NOTES: "Credit notes",
    RECOVERIES: "Recoveries before settlement",
}


@dataclass(frozen=True)
class ClaimInvoice:
    """One invoice accepted in the notification, in the policy currency, on the settlement date."""

    invoice_id: str
    number: str
    issue_date: date
    delivery_date: date
    due_date: date
    amount_excl_vat: Money
    reductions: tuple[tuple[str, Money], ...]  # (PAYMENTS | CREDIT_NOTES | RECOVERIES, amount excl. VAT)
    factor: str | None = None  # loss payee of an assigned invoice: the factor's name
    factor_id: str | None = None  # the factor organisation (none on an assignment made by name only)

    @property
    def unpaid_excl_vat(self) -> Money:
        unpaid = self.amount_excl_vat
        for _, amount in self.reductions:
            unpaid = unpaid - amount
        return unpaid


@dataclass(frozen=True)
class IndemnityTerms:
    currency: str
    indemnity_rate: Decimal
    non_qualifying_loss: Money
    deductible: Money
    deductible_kind: DeductibleKind
    aggregate_deductible_used: Money  # consumed by the policy year's earlier claims
    max_liability: Money | None  # the policy year's; None when no premium is known yet to derive it
    max_liability_rule: str  # how it was derived, e.g. "30 × premium 5,000.00"
    indemnities_of_year: Money  # already paid (or approved) on the policy year


@dataclass(frozen=True)
class StatementLine:
    code: str
    label: str
    rule: str  # in English; ``params`` are its figures, for the statement in another language
    amount: Money | None
    emphasis: bool = False
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Payee:
    name: str  # "insured" or the factor
    role: str  # "insured" | "factor"
    amount: Money
    id: str | None = None  # the factor organisation


@dataclass(frozen=True)
class Indemnity:
    loss: Money
    covered_loss: Money
    qualifies: bool
    after_rate: Money
    deductible_applied: Money
    aggregate_deductible_consumed: Money
    capped_by: Money | None  # what remained of the maximum liability, when it cut the indemnity
    indemnity: Money
    lines: tuple[StatementLine, ...]
    payees: tuple[Payee, ...]


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def compute_indemnity(
    invoices: Sequence[ClaimInvoice],
    periods: Sequence[LimitPeriod],
    terms: IndemnityTerms,
) -> Indemnity:
    """The indemnity of one claim with every line of its settlement statement."""
    cur = terms.currency
    if not Decimal("0") <= terms.indemnity_rate <= Decimal("1"):
        raise InvalidInput("the indemnity rate must be between 0 and 1", code="claim.invalid_rate")
    zero = Money.zero(cur)
    lines: list[StatementLine] = []
    original = sum((i.amount_excl_vat for i in invoices), zero)
    lines.append(
        StatementLine(
            "invoices_unpaid",
            "Invoices accepted in the overdue notification, excl. VAT",
            f"{len(invoices)} invoice(s) notified in time and covered",
            original,
            params=(("count", str(len(invoices))),),
        )
    )
    for code in (CREDIT_NOTES, PAYMENTS, RECOVERIES):
        total = sum((amount for i in invoices for kind, amount in i.reductions if kind == code), zero)
        if total.is_positive():
            lines.append(
                StatementLine(
                    code,
                    REDUCTION_LABELS[code],
                    "received before settlement, settling the oldest invoices first; VAT ratio of each invoice",
                    -total,
                )
            )
    loss = sum((i.unpaid_excl_vat for i in invoices), zero)
    lines.append(StatementLine("loss", "Loss, excl. VAT", "what remains unpaid of the notified invoices", loss, True))

    exposure_lines = [
        ExposureLine(i.invoice_id, i.number, i.delivery_date, i.due_date, cur, i.unpaid_excl_vat, None)
        for i in invoices
        if i.unpaid_excl_vat.is_positive()
    ]
    covered = Money.min_of(covered_exposure(exposure_lines, periods, cur), loss)
    if covered < loss:
        lines.append(
            StatementLine(
                "above_covered_exposure",
                "Part of the loss above the covered exposure",
                "max over the limit periods of min(outstanding delivered by then, limit in force)",
                -(loss - covered),
            )
        )
    lines.append(
        StatementLine("covered_loss", "Covered loss", "the covered-exposure rule applied to the loss", covered, True)
    )

    qualifies = covered >= terms.non_qualifying_loss and covered.is_positive()
    if not qualifies:
        lines.append(
            StatementLine(
                "non_qualifying_loss",
                "Non-qualifying loss",
                f"covered loss {covered.quantize_str()} is below the threshold "
                f"{terms.non_qualifying_loss.quantize_str()}: no indemnity",
                None,
                params=(("covered", covered.quantize_str()), ("threshold", terms.non_qualifying_loss.quantize_str())),
            )
        )
        lines.append(StatementLine("indemnity", "Indemnity", "nothing is due", zero, True))
        return Indemnity(loss, covered, False, zero, zero, zero, None, zero, tuple(lines), ())

    after_rate = (covered * terms.indemnity_rate).round(ROUND_HALF_UP)
    lines.append(
        StatementLine(
            "indemnity_rate",
            "Covered loss × indemnity rate",
            f"{covered.quantize_str()} × {_pct(terms.indemnity_rate)}, rounded half-up to the cent",
            after_rate,
            params=(("covered", covered.quantize_str()), ("rate", f"{(terms.indemnity_rate * 100).normalize():f}")),
        )
    )
    deductible_applied = zero
    consumed = zero
    if terms.deductible.is_positive():
        if terms.deductible_kind is DeductibleKind.ANNUAL_AGGREGATE:
            remaining = Money.max_of(terms.deductible - terms.aggregate_deductible_used, zero)
            consumed = Money.min_of(remaining, after_rate)
            deductible_applied = consumed
            lines.append(
                StatementLine(
                    "aggregate_deductible",
                    "Annual aggregate deductible",
                    f"{terms.deductible.quantize_str()} a year, {terms.aggregate_deductible_used.quantize_str()} "
                    f"consumed by earlier claims; this claim consumes {consumed.quantize_str()}",
                    -consumed,
                    params=(
                        ("deductible", terms.deductible.quantize_str()),
                        ("used", terms.aggregate_deductible_used.quantize_str()),
                        ("consumed", consumed.quantize_str()),
                    ),
                )
            )
        else:
            deductible_applied = Money.min_of(terms.deductible, after_rate)
            lines.append(
                StatementLine(
                    "deductible",
                    "Deductible per claim",
                    f"{terms.deductible.quantize_str()} per claim (the indemnity is never negative)",
                    -deductible_applied,
                    params=(("deductible", terms.deductible.quantize_str()),),
                )
            )
    indemnity = after_rate - deductible_applied
    capped_by: Money | None = None
    if terms.max_liability is not None:
        remaining_liability = Money.max_of(terms.max_liability - terms.indemnities_of_year, zero)
        if indemnity > remaining_liability:
            capped_by = remaining_liability
            lines.append(
                StatementLine(
                    "max_liability",
                    "Remaining maximum liability",
                    f"maximum liability of the policy year {terms.max_liability.quantize_str()} "
                    f"({terms.max_liability_rule}) less {terms.indemnities_of_year.quantize_str()} already "
                    f"indemnified: the indemnity is capped at {remaining_liability.quantize_str()}",
                    -(indemnity - remaining_liability),
                    params=(
                        ("max_liability", terms.max_liability.quantize_str()),
                        ("paid", terms.indemnities_of_year.quantize_str()),
                        ("remaining", remaining_liability.quantize_str()),
                    ),
                )
            )
            indemnity = remaining_liability
    lines.append(StatementLine("indemnity", "Indemnity", "paid to the loss payees below", indemnity, True))
    return Indemnity(
        loss,
        covered,
        True,
        after_rate,
        deductible_applied,
        consumed,
        capped_by,
        indemnity,
        tuple(lines),
        payees(indemnity, invoices),
    )


def payees(indemnity: Money, invoices: Sequence[ClaimInvoice]) -> tuple[Payee, ...]:
    """The indemnity split over the invoices in proportion to what remains unpaid of each; the part of
    an invoice assigned to a factor goes to that factor (DOMAIN.md §8), the rest to the insured."""
    weights = [max(i.unpaid_excl_vat.to_minor(), 0) for i in invoices]
    if not indemnity.is_positive() or not any(weights):
        return ()
    parts = indemnity.allocate(weights)
    # Factors are told apart by organisation (two factors never merge because of a name); an assignment
    # made by name only is keyed by that name.
    by_payee: dict[tuple[str, str] | None, Money] = {}
    for invoice, part in zip(invoices, parts, strict=True):
        key = None if invoice.factor is None else (invoice.factor, invoice.factor_id or "")
        by_payee[key] = by_payee.get(key, Money.zero(indemnity.currency)) + part
    out = [Payee("insured", "insured", by_payee.pop(None))] if None in by_payee else []
    out.extend(
        Payee(name, "factor", amount, factor_id or None)
        for (name, factor_id), amount in sorted((k, v) for k, v in by_payee.items() if k is not None)
    )
    return tuple(p for p in out if p.amount.is_positive())


# --- Recoveries -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryShares:
    insurer: Money
    insured: Money
    rule: str


def share_recovery(
    recovery: Money,
    *,
    indemnity: Money,
    loss: Money,
    insurer_recovered: Money,
    recovered_on_loss: Money | None = None,
) -> RecoveryShares:
    """After indemnity the insurer takes recovery × indemnity ÷ loss (it is subrogated for that share),
    the insured the rest; the two parts sum exactly to the recovery, and the insurer never recovers more
    than it paid.

    The loss excludes VAT, so what the insurer shares is ``recovered_on_loss``: the part of the cash
    that reduced the claim's loss, excluding VAT (the VAT, and cash that paid debts outside the claim,
    stay the insured's). Without it the whole recovery is shared.
    """
    if recovery.is_negative():
        raise InvalidInput("a recovery cannot be negative", code="recovery.invalid_amount", field="amount")
    zero = Money.zero(recovery.currency)
    if not loss.is_positive() or not indemnity.is_positive():
        return RecoveryShares(zero, recovery, "no indemnity was paid: the recovery is the insured's")
    base = recovery if recovered_on_loss is None else Money.min_of(Money.max_of(recovered_on_loss, zero), recovery)
    indemnity_minor = min(indemnity.to_minor(), loss.to_minor())
    insurer, _ = base.allocate([indemnity_minor, loss.to_minor() - indemnity_minor])
    rule = f"insurer: {base.quantize_str()} × {indemnity.quantize_str()} ÷ {loss.quantize_str()}; insured: the rest"
    if base != recovery:
        rule = (
            f"{base.quantize_str()} of the {recovery.quantize_str()} recovered reduced the claim's loss "
            f"(excluding VAT); " + rule
        )
    room = Money.max_of(indemnity - insurer_recovered, zero)
    if insurer > room:
        insurer = room
        rule += f"; limited to what the insurer has not recovered of its indemnity ({room.quantize_str()})"
    return RecoveryShares(insurer, recovery - insurer, rule)


def quantize_rate(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
