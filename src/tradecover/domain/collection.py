"""Collection cases: amicable then judicial collection of a notified buyer's debts (DOMAIN.md §7).

Once an insured notifies an overdue buyer, the file is handed to the insurer's
collectors: one case per (policy, buyer) at a time, holding the debts handed
over (the notified invoices, each guaranteed or not). The case moves through
stages, by the actions taken on it:

* **amicable**: reminders, phone calls, the formal notice (*mise en demeure*),
  a payment plan, notes;
* **judicial**: an order for payment (*injonction de payer*), a suit, or the
  claim filed with the insolvency administrator (*mandataire judiciaire*);
  taking one of them moves an amicable case to judicial;
* **closed** (paid, partly paid, irrecoverable): nothing more is done.

:data:`ALLOWED_ACTIONS` is the explicit table of what may be done in each stage.

Cash the collector receives from the buyer is allocated to the case's debts
oldest first (issue date, due date, number), including VAT. Guaranteed debts
are collected free; on what goes to non-guaranteed ones, the insurer takes a
commission (*default* 10 %), rounded half-up to the cent.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from tradecover.domain.errors import Conflict, InvalidInput, RuleBroken
from tradecover.domain.money import Money

DEFAULT_COMMISSION_RATE = Decimal("0.10")  # DOMAIN.md §7: on what is recovered of non-guaranteed debts


class CaseStage(StrEnum):
    AMICABLE = "amicable"
    JUDICIAL = "judicial"
    CLOSED = "closed"


class ActionKind(StrEnum):
    REMINDER = "reminder"  # relance
    PHONE_CALL = "phone_call"
    FORMAL_NOTICE = "formal_notice"  # mise en demeure
    PAYMENT_PLAN = "payment_plan"  # échéancier
    ORDER_FOR_PAYMENT = "order_for_payment"  # injonction de payer
    SUIT = "suit"  # assignation
    ADMINISTRATOR_CLAIM_FILING = "administrator_claim_filing"  # déclaration de créance au mandataire judiciaire
    NOTE = "note"


AMICABLE_ACTIONS: frozenset[ActionKind] = frozenset(
    {ActionKind.REMINDER, ActionKind.PHONE_CALL, ActionKind.FORMAL_NOTICE, ActionKind.PAYMENT_PLAN}
)
JUDICIAL_ACTIONS: frozenset[ActionKind] = frozenset(
    {ActionKind.ORDER_FOR_PAYMENT, ActionKind.SUIT, ActionKind.ADMINISTRATOR_CLAIM_FILING}
)
# Neither amicable nor judicial: a note may be written at any stage before closure.
NEUTRAL_ACTIONS: frozenset[ActionKind] = frozenset({ActionKind.NOTE})

# What may be done in each stage. Once judicial, the amicable letters (reminder, formal notice) are
# behind us; talking to the buyer and agreeing a payment plan still happen, and further judicial steps
# (a suit after an order for payment, the claim filing when an insolvency opens). A closed case is done.
ALLOWED_ACTIONS: Mapping[CaseStage, frozenset[ActionKind]] = {
    CaseStage.AMICABLE: frozenset(ActionKind),
    CaseStage.JUDICIAL: JUDICIAL_ACTIONS | NEUTRAL_ACTIONS | {ActionKind.PHONE_CALL, ActionKind.PAYMENT_PLAN},
    CaseStage.CLOSED: frozenset(),
}


class ClosureOutcome(StrEnum):
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    IRRECOVERABLE = "irrecoverable"


class CostKind(StrEnum):
    COURT_FEE = "court_fee"  # frais de greffe, de justice
    BAILIFF = "bailiff"  # commissaire de justice (huissier)
    LAWYER = "lawyer"
    OTHER = "other"


def case_reference(year: int, sequence: int) -> str:
    """``COL-2026-000123``: the case's number, per year of opening."""
    return f"COL-{year}-{sequence:06d}"


# --- Debts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDebt:
    """An invoice handed over to collection: what the buyer owed on it then, including VAT.

    ``guaranteed``: covered and notified in time (the insurer collects it free and indemnifies it);
    otherwise the insurer collects it for the insured against a commission.
    """

    invoice_id: str
    number: str
    issue_date: date
    due_date: date
    amount_incl_vat: Money
    unpaid_amount: Money  # at hand-over, including VAT
    guaranteed: bool
    notification_id: str | None = None

    @property
    def currency(self) -> str:
        return self.unpaid_amount.currency


def debt_order(debt: CaseDebt) -> tuple[date, date, str, str]:
    """Oldest first: issue date, then due date, then number (DOMAIN.md §6)."""
    return (debt.issue_date, debt.due_date, debt.number, debt.invoice_id)


def check_debts(debts: Sequence[CaseDebt], currency: str | None = None) -> str:
    """Every debt is a positive unpaid part of its invoice, all in one currency; returns that currency."""
    if not debts:
        raise InvalidInput("a collection case needs at least one debt", code="collection.no_debt", field="debts")
    expected = currency or debts[0].currency
    seen: set[str] = set()
    for debt in debts:
        if debt.invoice_id in seen:
            raise InvalidInput(
                f"invoice {debt.number} is handed over twice", code="collection.duplicate_debt", field="debts"
            )
        seen.add(debt.invoice_id)
        if debt.unpaid_amount.currency != expected or debt.amount_incl_vat.currency != expected:
            raise InvalidInput(
                f"invoice {debt.number} is in {debt.currency}, the case in {expected}: one currency per case",
                code="collection.currency_mismatch",
                field="debts",
            )
        if not debt.unpaid_amount.is_positive() or debt.unpaid_amount > debt.amount_incl_vat:
            raise InvalidInput(
                f"invoice {debt.number}: the unpaid amount must be positive and at most the invoice's amount",
                code="collection.bad_debt",
                field="debts",
            )
        if debt.unpaid_amount.round() != debt.unpaid_amount:
            raise InvalidInput(
                f"invoice {debt.number}: the unpaid amount has more decimals than its currency allows",
                code="collection.bad_debt",
                field="debts",
            )
        if debt.due_date < debt.issue_date:
            raise InvalidInput(
                f"invoice {debt.number} falls due before it was issued", code="collection.bad_debt", field="debts"
            )
    return expected


def check_commission_rate(rate: Decimal) -> Decimal:
    if not isinstance(rate, Decimal) or not rate.is_finite() or not (Decimal(0) <= rate <= Decimal(1)):
        raise InvalidInput(
            "the commission rate is a fraction between 0 and 1 (0.10 for 10 %)",
            code="collection.bad_commission_rate",
            field="commission_rate",
        )
    return rate


# --- Receipts: allocation and commission -------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationLine:
    """The part of a receipt that settles one debt."""

    invoice_id: str
    number: str
    amount: Money
    guaranteed: bool


@dataclass(frozen=True)
class Allocation:
    """A receipt split over the case's debts, oldest first, with the insurer's commission."""

    amount: Money
    lines: tuple[AllocationLine, ...]
    guaranteed_amount: Money  # the part that settles guaranteed debts: collected free
    non_guaranteed_amount: Money  # the part that settles non-guaranteed debts
    commission_rate: Decimal
    commission_amount: Money  # rate × non-guaranteed part, half-up to the cent; the insurer's


def allocated_by_debt(receipts: Sequence[Receipt]) -> dict[str, Money]:
    """What the case's receipts allocated to each debt, by invoice id."""
    out: dict[str, Money] = {}
    for receipt in receipts:
        for line in receipt.lines:
            earlier = out.get(line.invoice_id)
            out[line.invoice_id] = line.amount if earlier is None else earlier + line.amount
    return out


def remaining_by_debt(
    debts: Sequence[CaseDebt],
    allocated: Mapping[str, Money] | None = None,
    *,
    open_on_ledger: Mapping[str, Money] | None = None,
) -> dict[str, Money]:
    """What remains due on each debt, by invoice id.

    Its unpaid amount at hand-over less what the case's receipts allocated to it; and, given what the
    ledger says is still open on each invoice (``open_on_ledger``, after the buyer's own payments and
    credit notes), no more than that: cash the insured received directly settles the debt too.
    """
    allocated = allocated or {}
    out: dict[str, Money] = {}
    for debt in debts:
        paid = allocated.get(debt.invoice_id)
        left = debt.unpaid_amount if paid is None else debt.unpaid_amount - paid
        if open_on_ledger is not None:
            on_ledger = open_on_ledger.get(debt.invoice_id, Money.zero(debt.currency))
            left = Money.max_of(Money.min_of(left, on_ledger), Money.zero(debt.currency))
        out[debt.invoice_id] = left
    return out


def commission_on(non_guaranteed: Money, rate: Decimal) -> Money:
    """The insurer's commission on what was recovered of non-guaranteed debts, half-up to the cent."""
    return (non_guaranteed * check_commission_rate(rate)).round()


def allocate_receipt(
    debts: Sequence[CaseDebt],
    amount: Money,
    *,
    remaining: Mapping[str, Money] | None = None,
    commission_rate: Decimal = DEFAULT_COMMISSION_RATE,
) -> Allocation:
    """Allocate cash received from the buyer to the debts, oldest first (issue date, due date, number).

    ``remaining``: what remains due on each debt (by invoice id, see :func:`remaining_by_debt`);
    by default, the unpaid amounts at hand-over. A receipt larger than what remains due on the case
    is refused: the buyer owes the case no more.
    """
    check_commission_rate(commission_rate)
    if not amount.is_positive() or amount.round() != amount:
        raise InvalidInput(
            "a receipt is a positive amount with no more decimals than its currency allows",
            code="collection.bad_amount",
            field="amount",
        )
    remaining = dict(remaining) if remaining is not None else remaining_by_debt(debts)
    currency = debts[0].currency if debts else amount.currency
    if amount.currency != currency:
        raise InvalidInput(
            f"the case's debts are in {currency}, the receipt in {amount.currency}",
            code="collection.currency_mismatch",
            field="amount",
        )
    due = Money.zero(currency)
    for value in remaining.values():
        due = due + value
    if amount > due:
        raise RuleBroken(
            f"the receipt of {amount} is larger than what remains due on the case ({due})",
            code="collection.receipt_exceeds_debt",
            field="amount",
            context={"remaining": str(due)},
        )
    left = amount
    lines: list[AllocationLine] = []
    guaranteed = non_guaranteed = Money.zero(currency)
    for debt in sorted(debts, key=debt_order):
        if left.is_zero():
            break
        open_amount = remaining[debt.invoice_id]
        if not open_amount.is_positive():
            continue
        part = Money.min_of(left, open_amount)
        left = left - part
        lines.append(AllocationLine(debt.invoice_id, debt.number, part, debt.guaranteed))
        if debt.guaranteed:
            guaranteed = guaranteed + part
        else:
            non_guaranteed = non_guaranteed + part
    return Allocation(
        amount=amount,
        lines=tuple(lines),
        guaranteed_amount=guaranteed,
        non_guaranteed_amount=non_guaranteed,
        commission_rate=commission_rate,
        commission_amount=commission_on(non_guaranteed, commission_rate),
    )


# --- Actions, costs, closure -------------------------------------------------------------------------------


def stage_after(stage: CaseStage, kind: ActionKind) -> CaseStage:
    """The stage once ``kind`` is taken: a judicial action moves an amicable case to judicial."""
    check_action_allowed(stage, kind)
    if kind in JUDICIAL_ACTIONS:
        return CaseStage.JUDICIAL
    return stage


def check_action_allowed(stage: CaseStage, kind: ActionKind) -> None:
    if stage is CaseStage.CLOSED:
        raise Conflict("the case is closed: no action may be recorded on it", code="collection.case_closed")
    if kind not in ALLOWED_ACTIONS[stage]:
        allowed = ", ".join(sorted(k.value for k in ALLOWED_ACTIONS[stage]))
        raise Conflict(
            f"a {kind.value.replace('_', ' ')} is not taken on a case at the {stage.value} stage (allowed: {allowed})",
            code="collection.action_not_allowed",
            field="kind",
            context={"stage": stage.value, "allowed": allowed},
        )


def check_case_date(on: date, *, opened_on: date, today: date, field: str = "on") -> None:
    """A case's facts are dated between its opening and today."""
    if on > today:
        raise InvalidInput(f"{on} is in the future", code="collection.date_in_future", field=field)
    if on < opened_on:
        raise InvalidInput(
            f"{on} is before the case was opened ({opened_on})", code="collection.date_before_opening", field=field
        )


def allowed_outcomes(remaining: Money, received: Money) -> frozenset[ClosureOutcome]:
    """Which outcomes a case may close with.

    *paid* only when nothing remains due; *partly paid* when something was received and something
    remains; *irrecoverable* at any time, by decision.
    """
    outcomes = {ClosureOutcome.IRRECOVERABLE}
    if not remaining.is_positive():
        outcomes.add(ClosureOutcome.PAID)
    elif received.is_positive():
        outcomes.add(ClosureOutcome.PARTLY_PAID)
    return frozenset(outcomes)


def check_outcome(outcome: ClosureOutcome, *, remaining: Money, received: Money) -> None:
    if outcome in allowed_outcomes(remaining, received):
        return
    if outcome is ClosureOutcome.PAID:
        raise RuleBroken(
            f"the case cannot close as paid: {remaining} remains due",
            code="collection.outcome_not_allowed",
            field="outcome",
            context={"remaining": str(remaining)},
        )
    raise RuleBroken(
        "the case cannot close as partly paid: nothing was received"
        if not received.is_positive()
        else "the case cannot close as partly paid: nothing remains due (close it as paid)",
        code="collection.outcome_not_allowed",
        field="outcome",
        context={"remaining": str(remaining), "received": str(received)},
    )


# --- The case ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAction:
    """One dated step of the case, with its author; append-only."""

    id: str
    case_id: str
    kind: ActionKind
    on: date
    author: str
    note: str | None
    created_at: datetime
    letter_id: str | None = None  # the letter sent with it (formal notice), kept as a document


@dataclass(frozen=True)
class CaseCost:
    """A cost of collecting (court fees, bailiff, lawyer)."""

    id: str
    case_id: str
    kind: CostKind
    amount: Money
    incurred_on: date
    description: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class Receipt:
    """Cash the collector received from the buyer, allocated to the case's debts, with the commission."""

    id: str
    case_id: str
    amount: Money
    received_on: date
    reference: str | None
    lines: tuple[AllocationLine, ...]
    guaranteed_amount: Money
    non_guaranteed_amount: Money
    commission_rate: Decimal
    commission_amount: Money
    ledger_payment_id: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass
class CollectionCase:
    """One collection file on a (policy, buyer): its debts, stage and outcome."""

    id: str
    reference: str
    policy_id: str
    buyer_id: str
    organisation_id: str  # the insured (policyholder): the tenant
    currency: str
    stage: CaseStage
    opened_on: date
    opened_at: datetime
    opened_by: str
    commission_rate: Decimal
    debts: list[CaseDebt] = field(default_factory=list)
    closed_on: date | None = None
    outcome: ClosureOutcome | None = None
    closure_reason: str | None = None
    closed_by: str | None = None

    @property
    def is_closed(self) -> bool:
        return self.stage is CaseStage.CLOSED

    def new_debts(self, debts: Sequence[CaseDebt]) -> list[CaseDebt]:
        """The debts not on the case yet (an invoice is handed over once)."""
        known = {d.invoice_id for d in self.debts}
        out: list[CaseDebt] = []
        for debt in debts:
            if debt.invoice_id not in known:
                known.add(debt.invoice_id)
                out.append(debt)
        return out


@dataclass(frozen=True)
class CaseBalance:
    """What a case stands at: owed, received, remaining (split guaranteed / not), commission, costs."""

    currency: str
    handed_over: Money
    received: Money
    remaining: Money
    remaining_guaranteed: Money
    remaining_non_guaranteed: Money
    received_guaranteed: Money
    received_non_guaranteed: Money
    commission: Money
    costs: Money
    remaining_by_debt: Mapping[str, Money]
    settled_otherwise: Money  # by the buyer's own payments to the insured, or credit notes, since hand-over


def case_balance(
    case: CollectionCase,
    receipts: Sequence[Receipt],
    costs: Sequence[CaseCost],
    *,
    open_on_ledger: Mapping[str, Money] | None = None,
) -> CaseBalance:
    """Where the case stands; ``open_on_ledger`` as in :func:`remaining_by_debt`."""
    cur = case.currency
    zero = Money.zero(cur)
    received = received_g = received_n = commission = zero
    for receipt in receipts:
        received = received + receipt.amount
        received_g = received_g + receipt.guaranteed_amount
        received_n = received_n + receipt.non_guaranteed_amount
        commission = commission + receipt.commission_amount
    remaining = remaining_by_debt(case.debts, allocated_by_debt(receipts), open_on_ledger=open_on_ledger)
    handed = left = left_g = left_n = zero
    for debt in case.debts:
        handed = handed + debt.unpaid_amount
        left = left + remaining[debt.invoice_id]
        if debt.guaranteed:
            left_g = left_g + remaining[debt.invoice_id]
        else:
            left_n = left_n + remaining[debt.invoice_id]
    spent = zero
    for cost in costs:  # costs are recorded in the case's currency
        spent = spent + cost.amount
    return CaseBalance(
        currency=cur,
        handed_over=handed,
        received=received,
        remaining=left,
        remaining_guaranteed=left_g,
        remaining_non_guaranteed=left_n,
        received_guaranteed=received_g,
        received_non_guaranteed=received_n,
        commission=commission,
        costs=spent,
        remaining_by_debt=remaining,
        settled_otherwise=handed - received - left,
    )
