"""The invoice ledger: recording invoices, credit notes, payments, disputes, reversals and factor assignments.

Entries are immutable. Re-sending the same invoice (same policy, buyer, kind
and number) with the same content is a no-op that returns the recorded one;
a re-send with other content is a conflict. Every change refreshes the
buyer's balance (the order check's index) and re-checks its alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tradecover.domain.buyers import Buyer
from tradecover.domain.errors import Conflict, InvalidInput, NotFound
from tradecover.domain.money import Money
from tradecover.domain.money import currency as checked_currency
from tradecover.domain.parties import Organisation
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import (
    Dispute,
    EntryKind,
    Invoice,
    Payment,
    payment_behaviour,
    settle,
    validate_invoice_amounts,
    validate_invoice_dates,
)
from tradecover.services import factoring
from tradecover.services.authorization import Actor, ensure_can_act
from tradecover.services.buyers import get_buyer
from tradecover.services.ledger_ports import BuyerBalance, FactorAssignment
from tradecover.services.policies import get_policy
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id, record


def policy_to_act_on(uow: UnitOfWork, actor: Actor, policy_id: str) -> Policy:
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    return policy


def buyer_of_policy(uow: UnitOfWork, actor: Actor, policy: Policy, buyer_id: str) -> Buyer:
    """A buyer of the policyholder's book: a ledger never names another insured's customer."""
    buyer = get_buyer(uow, actor, buyer_id)
    if uow.buyers.book_entry(policy.policyholder_id, buyer.id) is None:
        raise NotFound(
            f"buyer {buyer_id} is not in the book of the policy's insured (add it to the book first)",
            code="buyer.not_found",
            field="buyer_id",
            context={"id": buyer_id},
        )
    return buyer


def same_content(a: Invoice, b: Invoice) -> bool:
    return (
        a.issue_date == b.issue_date
        and a.delivery_date == b.delivery_date
        and a.due_date == b.due_date
        and a.amount_excl_vat == b.amount_excl_vat
        and a.vat_amount == b.vat_amount
        and (a.invoice_reference or None) == (b.invoice_reference or None)
    )


MAX_DEDUPE_KEY = 200  # the store keeps 300 characters; an import appends the file and line to some keys


def payment_dedupe_key(payment: Payment) -> str:
    """A payment's identity: its reference when it has one, else its date, amount and the invoices it names."""
    if payment.reference:
        return f"ref:{payment.reference}"
    key = f"{payment.received_on.isoformat()}|{payment.amount.amount}|{payment.amount.currency}|" + ",".join(
        payment.invoices
    )
    # The store keeps 300 characters of a key: a longer one (many invoices named) is kept as its digest.
    return key if len(key) <= MAX_DEDUPE_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


# --- Balances ------------------------------------------------------------------------------------------


def balances_of(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    disputes: Sequence[Dispute],
    reversed_ids: frozenset[str],
    on: date,
) -> list[BuyerBalance]:
    """A buyer's balance per currency on ``on``, with its payment experience (the order check's index)."""
    settlements = settle(invoices, payments, on=date.max, reversed_ids=reversed_ids)
    open_disputes = sum(1 for d in disputes if d.resolved_on is None)
    out: list[BuyerBalance] = []
    for currency, settlement in sorted(settlements.items()):
        behaviour = payment_behaviour([settlement], on=on)
        open_items = settlement.open_items
        out.append(
            BuyerBalance(
                currency=currency,
                unpaid_gross_minor=settlement.unpaid_gross_minor(),
                unpaid_net_minor=settlement.unpaid_net_minor(),
                on_account_minor=settlement.on_account_minor,
                oldest_due_date=min((i.invoice.due_date for i in open_items), default=None),
                open_disputes=open_disputes,
                invoices_paid=behaviour.invoices_paid,
                invoices_paid_late=behaviour.invoices_paid_late,
                days_beyond_terms=behaviour.average_days_beyond_terms,
                max_days_overdue=behaviour.max_days_overdue_12_months,
                trading_since=behaviour.trading_since,
            )
        )
    return out


def refresh_balances(
    uow: UnitOfWork,
    clock: Clock,
    policy_id: str,
    buyer_ids: Sequence[str],
    *,
    entries: tuple[Mapping[str, Sequence[Invoice]], Mapping[str, Sequence[Payment]]] | None = None,
) -> dict[str, list[BuyerBalance]]:
    """Recompute and store the balances of these buyers; returns them.

    ``entries``: every invoice and payment of these buyers under the policy, when the caller holds them
    already (an import that just wrote them), so that they are not read back.
    """
    if not buyer_ids:
        return {}
    invoices, payments = uow.ledger.entries(policy_id, buyer_ids) if entries is None else entries
    reversed_ids = uow.ledger.reversed_ids(policy_id)
    disputes_by_buyer: dict[str, list[Dispute]] = {}
    for d in uow.ledger.disputes(policy_id):
        disputes_by_buyer.setdefault(d.buyer_id, []).append(d)
    today = clock.today()
    computed = {
        buyer_id: balances_of(
            invoices.get(buyer_id, []),
            payments.get(buyer_id, []),
            disputes_by_buyer.get(buyer_id, []),
            reversed_ids,
            today,
        )
        for buyer_id in buyer_ids
    }
    uow.ledger.save_many_balances(policy_id, computed, clock.now())
    return computed


def after_change(uow: UnitOfWork, clock: Clock, actor: Actor, policy: Policy, buyer_ids: Sequence[str]) -> None:
    """Refresh the balances and re-check the alerts of the buyers a change touched."""
    from tradecover.services.alerts import check_alerts

    refresh_balances(uow, clock, policy.id, buyer_ids)
    for buyer_id in buyer_ids:
        uow.buyers.touch_inputs(buyer_id)  # payment experience is a grading input: re-grade tonight
    check_alerts(uow, clock, policy, on=clock.today(), buyer_ids=buyer_ids)


# --- Recording one entry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    entry: Invoice | Payment
    created: bool


def build_invoice(
    *,
    policy_id: str,
    buyer_id: str,
    kind: EntryKind,
    number: str,
    issue_date: date,
    delivery_date: date | None,
    due_date: date | None,
    amount_excl_vat: Money,
    vat_amount: Money,
    invoice_reference: str | None,
    order_reference: str | None,
    source: str | None,
    by: str,
    clock: Clock,
) -> Invoice:
    number = (number or "").strip()
    if not number or len(number) > 100:
        raise InvalidInput(
            "an invoice number of 1 to 100 characters is required", code="ledger.bad_number", field="number"
        )
    delivery = delivery_date or issue_date
    due = due_date or issue_date
    validate_invoice_amounts(amount_excl_vat, vat_amount)
    if kind is EntryKind.INVOICE:
        validate_invoice_dates(issue_date, delivery, due)
    return Invoice(
        id=new_id(),
        policy_id=policy_id,
        buyer_id=buyer_id,
        kind=kind,
        number=number,
        issue_date=issue_date,
        delivery_date=delivery,
        due_date=due,
        amount_excl_vat=amount_excl_vat,
        vat_amount=vat_amount,
        recorded_at=clock.now(),
        recorded_by=by,
        invoice_reference=(invoice_reference or "").strip() or None,
        order_reference=(order_reference or "").strip() or None,
        source=source,
    )


def record_invoice(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    number: str,
    issue_date: date,
    delivery_date: date | None,
    due_date: date | None,
    amount_excl_vat: Money,
    vat_amount: Money,
    kind: EntryKind = EntryKind.INVOICE,
    invoice_reference: str | None = None,
    order_reference: str | None = None,
    factor: str | None = None,
    factor_id: str | None = None,
    with_recourse: bool = True,
) -> Recorded:
    """Record an invoice or a credit note; an identical re-send returns the recorded one.

    ``factor_id`` (or ``factor``, a factor organisation's exact name) assigns the invoice to that factor
    on its issue date, which needs the policy's delegation to it in force then."""
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    invoice = build_invoice(
        policy_id=policy.id,
        buyer_id=buyer.id,
        kind=kind,
        number=number,
        issue_date=issue_date,
        delivery_date=delivery_date,
        due_date=due_date,
        amount_excl_vat=amount_excl_vat,
        vat_amount=vat_amount,
        invoice_reference=invoice_reference,
        order_reference=order_reference,
        source="api",
        by=actor.audit_label(policy.policyholder_id),
        clock=clock,
    )
    existing = uow.ledger.find_invoice(policy.id, buyer.id, kind, invoice.number)
    if existing is not None:
        if same_content(existing, invoice):
            return Recorded(existing, False)
        raise Conflict(
            f"{kind.value.replace('_', ' ')} {invoice.number} was already recorded with other content; "
            "record a credit note or a reversal to correct it",
            code="ledger.conflicting_resend",
            field="number",
            context={"recorded_id": existing.id},
        )
    if (
        kind is EntryKind.CREDIT_NOTE
        and invoice.invoice_reference
        and uow.ledger.find_invoice(policy.id, buyer.id, EntryKind.INVOICE, invoice.invoice_reference) is None
    ):
        raise InvalidInput(
            f"the credit note's invoice {invoice.invoice_reference} is not in the ledger",
            code="ledger.unknown_invoice",
            field="invoice",
        )
    assignee = None
    if factor is not None and not factor.strip() and not factor_id:
        raise InvalidInput("the factor's name is empty: name the factor organisation", code="ledger.bad_factor",
                           field="factor")  # fmt: skip
    if factor_id or (factor and factor.strip()):
        if kind is not EntryKind.INVOICE:
            raise InvalidInput("only an invoice is assigned to a factor", code="ledger.bad_factor", field="factor_id")
        # Checked before anything is written.
        assignee = factoring.factor_for_assignment(uow, policy, factor_id=factor_id, name=factor, on=invoice.issue_date)
    uow.ledger.add_invoices([invoice])
    if invoice.order_reference:
        uow.ledger.close_orders(policy.id, buyer.id, [invoice.order_reference], invoice.issue_date)
    if assignee is not None:
        _assign(uow, clock, actor, policy, invoice, assignee, invoice.issue_date, with_recourse)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action=f"ledger.{kind.value}_recorded",
        object_type="invoice",
        object_id=invoice.id,
        summary={
            "policy": policy.number,
            "buyer_id": buyer.id,
            "number": invoice.number,
            "amount_excl_vat": str(invoice.amount_excl_vat),
            "vat_amount": str(invoice.vat_amount),
            "due_date": invoice.due_date.isoformat(),
        },
    )
    after_change(uow, clock, actor, policy, [buyer.id])
    return Recorded(invoice, True)


def record_payment(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money,
    received_on: date,
    reference: str | None = None,
    invoices: Sequence[str] = (),
    source: str = "api",
) -> Recorded:
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    payment = build_payment(
        policy_id=policy.id,
        buyer_id=buyer.id,
        amount=amount,
        received_on=received_on,
        reference=reference,
        invoices=invoices,
        source=source,
        by=actor.audit_label(policy.policyholder_id),
        clock=clock,
    )
    key = payment_dedupe_key(payment)
    existing = uow.ledger.find_payment(policy.id, buyer.id, key)
    if existing is not None:
        if existing.amount == payment.amount and existing.received_on == payment.received_on:
            return Recorded(existing, False)
        raise Conflict(
            f"payment {reference} was already recorded with another amount or date",
            code="ledger.conflicting_resend",
            field="reference",
            context={"recorded_id": existing.id},
        )
    uow.ledger.add_payments([(payment, key)])
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="ledger.payment_recorded",
        object_type="payment",
        object_id=payment.id,
        summary={"policy": policy.number, "buyer_id": buyer.id, "amount": str(payment.amount), "on": str(received_on)},
    )
    after_change(uow, clock, actor, policy, [buyer.id])
    if source != "collection":  # the collection case shares its own receipts
        from tradecover.services.recoveries import apply_recovery

        # The buyer paying the insured after an indemnity is a recovery the insurer shares in.
        apply_recovery(
            uow, clock, actor, policy_id=policy.id, buyer_id=buyer.id, amount=payment.amount, received_on=received_on,
            source="payment", reference=payment.id, payment_id=payment.id,
        )  # fmt: skip
    return Recorded(payment, True)


def build_payment(
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money,
    received_on: date,
    reference: str | None,
    invoices: Sequence[str],
    source: str | None,
    by: str,
    clock: Clock,
) -> Payment:
    if not amount.is_positive():
        raise InvalidInput("a payment must be positive", code="ledger.invalid_amount", field="amount")
    if amount.round() != amount:
        raise InvalidInput(
            "the amount has more decimals than its currency allows", code="ledger.invalid_amount", field="amount"
        )
    reference = (reference or "").strip() or None
    if reference is not None and len(reference) > 200:
        raise InvalidInput(
            "the reference is longer than 200 characters", code="ledger.bad_reference", field="reference"
        )
    return Payment(
        id=new_id(),
        policy_id=policy_id,
        buyer_id=buyer_id,
        received_on=received_on,
        amount=amount,
        recorded_at=clock.now(),
        recorded_by=by,
        reference=reference,
        invoices=tuple(n.strip() for n in invoices if n.strip()),
        source=source,
    )


def _invoice_by_number(uow: UnitOfWork, policy: Policy, buyer_id: str, number: str) -> Invoice:
    invoice = uow.ledger.find_invoice(policy.id, buyer_id, EntryKind.INVOICE, number)
    if invoice is None:
        raise NotFound(f"invoice {number} not found", code="invoice.not_found", field="invoice")
    return invoice


def open_dispute(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    invoice_number: str,
    on: date,
    reason: str | None = None,
) -> Dispute:
    """A dispute takes the invoice out of the cover until it is resolved."""
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    invoice = _invoice_by_number(uow, policy, buyer.id, invoice_number)
    if any(
        d.invoice_number == invoice.number and d.resolved_on is None for d in uow.ledger.disputes(policy.id, buyer.id)
    ):
        raise Conflict(f"invoice {invoice.number} is already disputed", code="dispute.already_open", field="invoice")
    dispute = Dispute(new_id(), policy.id, buyer.id, invoice.number, on, (reason or "").strip() or None)
    uow.ledger.add_dispute(dispute, by=actor.audit_label(policy.policyholder_id), at=clock.now())
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="ledger.dispute_opened",
        object_type="dispute",
        object_id=dispute.id,
        summary={"invoice": invoice.number, "on": on.isoformat()},
        reason=dispute.reason,
    )
    after_change(uow, clock, actor, policy, [buyer.id])
    return dispute


def resolve_dispute(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    invoice_number: str,
    on: date,
    reason: str | None = None,
) -> Dispute:
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    open_ones = [
        d
        for d in uow.ledger.disputes(policy.id, buyer.id)
        if d.invoice_number == invoice_number and d.resolved_on is None
    ]
    if not open_ones:
        raise NotFound(f"no open dispute on invoice {invoice_number}", code="dispute.not_found", field="invoice")
    dispute = open_ones[0]
    if on < dispute.opened_on:
        raise InvalidInput("a dispute cannot be resolved before it was opened", code="dispute.bad_date", field="date")
    uow.ledger.resolve_dispute(dispute.id, on)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="ledger.dispute_resolved",
        object_type="dispute",
        object_id=dispute.id,
        summary={"invoice": invoice_number, "on": on.isoformat()},
        reason=reason,
    )
    after_change(uow, clock, actor, policy, [buyer.id])
    return Dispute(
        dispute.id, dispute.policy_id, dispute.buyer_id, dispute.invoice_number, dispute.opened_on, dispute.reason, on
    )


def reverse_entry(uow: UnitOfWork, clock: Clock, actor: Actor, *, policy_id: str, entry_id: str, reason: str) -> None:
    """Cancel a recorded invoice, credit note or payment: the entry stays, marked reversed, with who and why."""
    policy = policy_to_act_on(uow, actor, policy_id)
    if not reason.strip():
        raise InvalidInput("a reversal needs a reason", code="ledger.reason_required", field="reason")
    entry: Invoice | Payment | None = uow.ledger.get_invoice(entry_id) or uow.ledger.get_payment(entry_id)
    if entry is None or entry.policy_id != policy.id:
        raise NotFound(f"ledger entry {entry_id} not found", code="ledger_entry.not_found", field="entry_id")
    if entry_id in uow.ledger.reversed_ids(policy.id):
        raise Conflict("this entry is already reversed", code="ledger.already_reversed", field="entry_id")
    uow.ledger.add_reversal(
        id=new_id(),
        policy_id=policy.id,
        buyer_id=entry.buyer_id,
        entry_id=entry_id,
        reason=reason.strip(),
        by=actor.audit_label(policy.policyholder_id),
        at=clock.now(),
    )
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="ledger.entry_reversed",
        object_type="ledger_entry",
        object_id=entry_id,
        summary={"policy": policy.number},
        reason=reason.strip(),
    )
    after_change(uow, clock, actor, policy, [entry.buyer_id])


def _assign(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy: Policy,
    invoice: Invoice,
    factor: Organisation,
    on: date,
    with_recourse: bool,
) -> None:
    uow.ledger.assign_to_factor(
        FactorAssignment(new_id(), invoice.id, factor.name, on, factor.id, with_recourse),
        by=actor.audit_label(policy.policyholder_id),
        at=clock.now(),
    )
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="ledger.assigned_to_factor",
        object_type="invoice",
        object_id=invoice.id,
        summary={
            "number": invoice.number,
            "factor_id": factor.id,
            "factor": factor.name,
            "with_recourse": with_recourse,
            "on": on.isoformat(),
        },
    )


def assign_to_factor(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    invoice_number: str,
    factor_id: str | None = None,
    factor: str | None = None,
    on: date,
    with_recourse: bool = True,
) -> FactorAssignment:
    """Assign an invoice to a factor organisation (by id, or by its exact name): the indemnity on it then goes
    to the factor (DOMAIN.md §3 délégation), which needs the policy's delegation to it in force on ``on``."""
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    invoice = _invoice_by_number(uow, policy, buyer.id, invoice_number)
    if invoice.id in uow.ledger.factor_assignments(policy.id):
        raise Conflict(f"invoice {invoice_number} is already assigned", code="ledger.already_assigned", field="invoice")
    assignee = factoring.factor_for_assignment(uow, policy, factor_id=factor_id, name=factor, on=on)
    _assign(uow, clock, actor, policy, invoice, assignee, on, with_recourse)
    return uow.ledger.factor_assignments(policy.id)[invoice.id]


DEFAULT_ORDER_VALIDITY_DAYS = 30


def order_expiry(on: date, days: int = DEFAULT_ORDER_VALIDITY_DAYS) -> date:
    return on + timedelta(days=days)


def add_exchange_rates(uow: UnitOfWork, clock: Clock, actor: Actor, rates: Sequence[tuple[str, str, date, str]]) -> int:
    """Reference rates (one ``currency`` = ``rate`` ``quote``); staff only. Existing dates are kept as they were."""
    from decimal import Decimal, InvalidOperation

    from tradecover.services.authorization import Permission, require

    require(actor, Permission.FINANCIALS_RECORD)
    parsed: list[tuple[str, str, date, Decimal]] = []
    given: set[tuple[str, str, date]] = set()
    for index, (cur, quote, on, raw) in enumerate(rates, start=1):
        try:
            rate = Decimal(raw)
        except InvalidOperation:
            raise InvalidInput(f"rate {index}: {raw!r} is not a number", code="rate.invalid", field="rate") from None
        if not rate.is_finite() or rate <= 0:
            raise InvalidInput(f"rate {index}: a rate must be positive", code="rate.invalid", field="rate")
        key = (checked_currency(cur), checked_currency(quote), on)
        if key in given:  # two rates for one day in one batch: which one is meant?
            raise InvalidInput(f"rate {index}: {cur} in {quote} on {on} is given twice", code="rate.duplicate",
                               field="rate")  # fmt: skip
        given.add(key)
        parsed.append((*key, rate))
    added = uow.ledger.add_rates(parsed)
    record(
        uow,
        clock,
        actor,
        tenant="insurer",
        action="ledger.rates_added",
        object_type="exchange_rates",
        object_id=clock.today().isoformat(),
        summary={"rates": len(parsed), "added": added},
    )
    return added


def list_invoices(
    uow: UnitOfWork, actor: Actor, policy_id: str, *, buyer_id: str | None, limit: int, offset: int
) -> tuple[list[Invoice], int, frozenset[str]]:
    policy = get_policy(uow, actor, policy_id)
    items, total = uow.ledger.list_invoices(policy.id, buyer_id, limit, offset)
    return items, total, uow.ledger.reversed_ids(policy.id)


def list_payments(
    uow: UnitOfWork, actor: Actor, policy_id: str, *, buyer_id: str | None, limit: int, offset: int
) -> tuple[list[Payment], int, frozenset[str]]:
    policy = get_policy(uow, actor, policy_id)
    items, total = uow.ledger.list_payments(policy.id, buyer_id, limit, offset)
    return items, total, uow.ledger.reversed_ids(policy.id)


def list_disputes(uow: UnitOfWork, actor: Actor, policy_id: str, *, buyer_id: str | None) -> list[Dispute]:
    policy = get_policy(uow, actor, policy_id)
    return uow.ledger.disputes(policy.id, buyer_id)
