"""Collection cases (DOMAIN.md §7): opening on an overdue notification, actions, receipts, costs, closure,
late-payment penalties and the formal notice.

Who may do what: the insurer's collectors act on cases (``collector``; ``claims_handler`` and ``admin``
too); every other staff role reads them; an insured reads its own cases, and so do its brokers with a
mandate. Opening a case is part of the insured's overdue notification, so whoever may act on the policy
opens it. None of the use cases here commits: the caller (a route, a command, the overdue notification)
does.

Cash the collector receives goes three ways, in one transaction: the ledger (a payment of source
``collection``, naming the debts it settles, so that exposure and a later claim's loss see it), the case
(allocated to its debts oldest first, with the commission on non-guaranteed ones), and the recoveries
after a settled claim (:func:`tradecover.services.recoveries.apply_recovery`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from tradecover.documents.formal_notice import FormalNoticeView, NoticeInvoice, Party, render_formal_notice
from tradecover.documents.pdf_layout import Language, check_language
from tradecover.domain.buyers import Buyer
from tradecover.domain.collection import (
    DEFAULT_COMMISSION_RATE,
    ActionKind,
    CaseAction,
    CaseBalance,
    CaseCost,
    CaseDebt,
    CaseStage,
    ClosureOutcome,
    CollectionCase,
    CostKind,
    Receipt,
    allocate_receipt,
    case_balance,
    case_reference,
    check_action_allowed,
    check_case_date,
    check_commission_rate,
    check_debts,
    check_outcome,
    debt_order,
    stage_after,
)
from tradecover.domain.deadlines import administrator_claim_filing_deadline
from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, RuleBroken
from tradecover.domain.late_payment import (
    FIXED_COLLECTION_INDEMNITY,
    LATE_PAYMENT_MARGIN,
    BaseRate,
    BaseRateTable,
    Penalty,
    default_base_rates,
)
from tradecover.domain.late_payment import late_payment_penalty as compute_penalty
from tradecover.domain.money import Money
from tradecover.domain.monitoring import LegalEvent, LegalEventKind
from tradecover.domain.parties import Role
from tradecover.domain.periods import Clock
from tradecover.domain.receivables import EntryKind, settle
from tradecover.services import ledger
from tradecover.services.authorization import Actor, ensure_can_act, ensure_can_read, not_found, visible_organisations
from tradecover.services.collection_ports import CaseLetter, ConfiguredBaseRate
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import INSURER_TENANT, new_id, record
from tradecover.services.recoveries import apply_recovery

__all__ = [
    "COLLECTION_ROLES",
    "ActionKind",
    "BaseRateLine",
    "CaseDebt",
    "CaseView",
    "ClaimFiling",
    "ClosureOutcome",
    "CostKind",
    "SentNotice",
    "add_base_rate",
    "balance_of",
    "base_rate_table",
    "case_view",
    "close_case",
    "find_case",
    "formal_notice_pdf",
    "formal_notice_view",
    "get_case",
    "get_letter",
    "latest_insolvency",
    "list_base_rates",
    "list_cases",
    "open_case",
    "open_on_ledger",
    "penalties_of_case",
    "receive_payment",
    "record_action",
    "record_cost",
    "require_collector",
    "send_formal_notice",
]

#: Roles that act on collection cases; the other staff roles read them.
COLLECTION_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.COLLECTOR, Role.CLAIMS_HANDLER})
#: The formal notice's media type, and the letter kind it is stored under.
PDF = "application/pdf"
FORMAL_NOTICE_LETTER = "formal_notice"
#: Legal events that open an insolvency procedure, whose publication starts the claim-filing period.
INSOLVENCY_OPENINGS: frozenset[LegalEventKind] = frozenset(
    {LegalEventKind.SAFEGUARD, LegalEventKind.RECEIVERSHIP, LegalEventKind.LIQUIDATION}
)
MAX_NOTE = 2000
MAX_REASON = 500


# --- Access -------------------------------------------------------------------------------------------------


def require_collector(actor: Actor) -> None:
    """Collectors, claims handlers and administrators of the insurer act on cases."""
    if not actor.is_staff or actor.role not in COLLECTION_ROLES:
        raise Forbidden(
            f"role {actor.role.value!r} may not act on collection cases",
            code="auth.forbidden",
            context={"permission": "collection.act"},
        )


def get_case(uow: UnitOfWork, actor: Actor, case_id: str, *, lock: bool = False) -> CollectionCase:
    """A case the actor may read; another tenant's is *not found*, as a nonexistent one."""
    case = uow.collection.get_case(case_id, lock=lock)
    if case is None:
        raise not_found("collection_case", case_id)
    ensure_can_read(actor, case.organisation_id, "collection_case", case_id)
    return case


def find_case(uow: UnitOfWork, actor: Actor, ref: str) -> CollectionCase:
    """A case by its id or its reference (``COL-2026-000123``)."""
    case_id = uow.collection.case_id_of(ref.strip().upper()) or ref.strip()
    return get_case(uow, actor, case_id)


def _case_to_act_on(uow: UnitOfWork, actor: Actor, case_id: str) -> CollectionCase:
    case = get_case(uow, actor, case_id)
    ensure_can_act(actor, case.organisation_id, "collection_case", case_id)
    require_collector(actor)
    return get_case(uow, actor, case_id, lock=True)  # serialised with other changes of the case until commit


def _author(actor: Actor, case: CollectionCase) -> str:
    return f"{actor.label} ({actor.audit_label(case.organisation_id)})"[:300]


def _text(value: str | None, limit: int, field: str) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", code="collection.text_too_long", field=field)
    return text


E = TypeVar("E", ActionKind, ClosureOutcome, CostKind, CaseStage)


def _enum(kind: type[E], value: E | str, field: str) -> E:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(k.value for k in kind)
        raise InvalidInput(
            f"{value!r} is not a {field.replace('_', ' ')} (one of {known})",
            code=f"collection.unknown_{field}",
            field=field,
            context={"known": known},
        ) from None


def _require_open(case: CollectionCase) -> None:
    if case.is_closed:
        raise Conflict(f"case {case.reference} is closed", code="collection.case_closed")


# --- Opening ------------------------------------------------------------------------------------------------


def open_case(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    notification_id: str,
    opened_on: date,
    debts: Sequence[CaseDebt],
    commission_rate: Decimal = DEFAULT_COMMISSION_RATE,
) -> CollectionCase:
    """Hand a notified buyer's debts over to collection; does not commit.

    If a case is open already on the (policy, buyer), the debts not on it yet are added to it (an
    invoice is handed over once) and that case is returned; otherwise a new case opens, amicable. Each
    debt names a ledger invoice of that policy and buyer.
    """
    policy = ledger.policy_to_act_on(uow, actor, policy_id)
    buyer = ledger.buyer_of_policy(uow, actor, policy, buyer_id)
    check_commission_rate(commission_rate)
    if opened_on > clock.today():
        raise InvalidInput(f"{opened_on} is in the future", code="collection.date_in_future", field="opened_on")
    debts = [d if d.notification_id else _with_notification(d, notification_id) for d in debts]
    currency = check_debts(debts)
    for debt in debts:
        invoice = uow.ledger.get_invoice(debt.invoice_id)
        if (
            invoice is None
            or invoice.policy_id != policy.id
            or invoice.buyer_id != buyer.id
            or invoice.kind is not EntryKind.INVOICE
        ):
            raise InvalidInput(
                f"invoice {debt.number} is not an invoice of this policy's ledger on this buyer",
                code="collection.unknown_invoice",
                field="debts",
                context={"invoice_id": debt.invoice_id},
            )
    uow.limits.lock_buyers([buyer.id])  # one open case per (policy, buyer), even when two notify at once
    now = clock.now()
    existing = uow.collection.open_case_of(policy.id, buyer.id)
    if existing is not None:
        added = existing.new_debts(debts)
        if added:
            check_debts(added, existing.currency)
            uow.collection.add_debts(existing.id, added, on=opened_on, at=now)
            existing.debts.extend(added)
            existing.debts.sort(key=debt_order)
            record(
                uow, clock, actor, tenant=existing.organisation_id, action="collection.debts_added",
                object_type="collection_case", object_id=existing.id,
                summary={"reference": existing.reference, "notification_id": notification_id,
                         "invoices": [d.number for d in added], "unpaid": str(_sum(added, existing.currency))},
            )  # fmt: skip
        return existing
    case = CollectionCase(
        id=new_id(),
        reference=case_reference(opened_on.year, uow.collection.next_case_number(opened_on.year)),
        policy_id=policy.id,
        buyer_id=buyer.id,
        organisation_id=policy.policyholder_id,
        currency=currency,
        stage=CaseStage.AMICABLE,
        opened_on=opened_on,
        opened_at=now,
        opened_by=actor.audit_label(policy.policyholder_id),
        commission_rate=commission_rate,
        debts=sorted(debts, key=debt_order),
    )
    uow.collection.add_case(case)
    record(
        uow, clock, actor, tenant=case.organisation_id, action="collection.case_opened", object_type="collection_case",
        object_id=case.id,
        summary={"reference": case.reference, "policy": policy.number, "buyer_id": buyer.id,
                 "notification_id": notification_id, "opened_on": opened_on.isoformat(),
                 "invoices": [d.number for d in case.debts], "unpaid": str(_sum(case.debts, currency)),
                 "guaranteed": [d.number for d in case.debts if d.guaranteed]},
    )  # fmt: skip
    return case


def _with_notification(debt: CaseDebt, notification_id: str) -> CaseDebt:
    return replace(debt, notification_id=notification_id)


def _sum(debts: Sequence[CaseDebt], currency: str) -> Money:
    total = Money.zero(currency)
    for debt in debts:
        total = total + debt.unpaid_amount
    return total


# --- Actions, costs, receipts, closure ----------------------------------------------------------------------


def record_action(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    case_id: str,
    kind: ActionKind | str,
    on: date,
    note: str | None = None,
) -> CaseAction:
    """A dated step of the case, authored by the actor; a judicial step moves an amicable case to judicial."""
    action_kind = _enum(ActionKind, kind, "action_kind")
    case = _case_to_act_on(uow, actor, case_id)
    return _add_action(uow, clock, actor, case, action_kind, on, _text(note, MAX_NOTE, "note"))


def _add_action(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    case: CollectionCase,
    kind: ActionKind,
    on: date,
    note: str | None,
    letter: CaseLetter | None = None,
) -> CaseAction:
    check_case_date(on, opened_on=case.opened_on, today=clock.today())
    stage = stage_after(case.stage, kind)
    action = CaseAction(
        new_id(), case.id, kind, on, _author(actor, case), note, clock.now(), None if letter is None else letter.id
    )
    uow.collection.add_action(action)
    if stage is not case.stage:
        uow.collection.set_stage(case.id, stage)
    summary: dict[str, object] = {"reference": case.reference, "kind": kind.value, "on": on.isoformat()}
    if stage is not case.stage:
        summary |= {"stage_before": case.stage.value, "stage_after": stage.value}
    if letter is not None:
        summary |= {"letter": letter.reference, "language": letter.language, "sha256": letter.sha256}
    record(
        uow, clock, actor, tenant=case.organisation_id, action="collection.action_recorded",
        object_type="collection_case", object_id=case.id, summary=summary, reason=note,
    )  # fmt: skip
    case.stage = stage
    return action


def record_cost(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    case_id: str,
    kind: CostKind | str,
    amount: Money,
    incurred_on: date,
    description: str | None = None,
) -> CaseCost:
    """A cost of collecting (court fee, bailiff, lawyer), in the case's currency."""
    cost_kind = _enum(CostKind, kind, "cost_kind")
    case = _case_to_act_on(uow, actor, case_id)
    _require_open(case)
    if amount.currency != case.currency:
        raise InvalidInput(
            f"the case is in {case.currency}, the cost in {amount.currency}",
            code="collection.currency_mismatch",
            field="amount",
        )
    if not amount.is_positive() or amount.round() != amount:
        raise InvalidInput(
            "a cost is a positive amount with no more decimals than its currency allows",
            code="collection.bad_amount",
            field="amount",
        )
    check_case_date(incurred_on, opened_on=case.opened_on, today=clock.today(), field="incurred_on")
    cost = CaseCost(
        new_id(),
        case.id,
        cost_kind,
        amount,
        incurred_on,
        _text(description, MAX_REASON, "description"),
        actor.audit_label(case.organisation_id),
        clock.now(),
    )
    uow.collection.add_cost(cost)
    record(
        uow, clock, actor, tenant=case.organisation_id, action="collection.cost_recorded",
        object_type="collection_case", object_id=case.id,
        summary={"reference": case.reference, "kind": cost_kind.value, "amount": str(amount),
                 "on": incurred_on.isoformat()},
        reason=cost.description,
    )  # fmt: skip
    return cost


def receive_payment(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    case_id: str,
    amount: Money,
    received_on: date,
    reference: str | None = None,
) -> Receipt:
    """Cash the collector received from the buyer; does not commit.

    Refused, with nothing written, when larger than what remains due on the case
    (``collection.receipt_exceeds_debt``). Otherwise, in order: the ledger payment (source
    ``collection``, naming the debts it settles), the receipt with its allocation and commission, the
    audit event, then the recovery after a settled claim. A re-send with the same ``reference``,
    amount and date returns the recorded receipt.
    """
    case = _case_to_act_on(uow, actor, case_id)
    _require_open(case)
    check_case_date(received_on, opened_on=case.opened_on, today=clock.today(), field="received_on")
    ref = _text(reference, 200, "reference")
    if ref is not None:
        # ledger.payment_dedupe_key: a payment with a reference is known by it
        known = uow.ledger.find_payment(case.policy_id, case.buyer_id, f"ref:{ref}")
        earlier = None if known is None else uow.collection.receipt_of_payment(known.id)
        if earlier is not None:
            if earlier.case_id == case.id and earlier.amount == amount and earlier.received_on == received_on:
                return earlier
            raise Conflict(
                f"a receipt with reference {ref} was already recorded with another amount or date",
                code="collection.conflicting_resend",
                field="reference",
                context={"receipt_id": earlier.id},
            )
    receipts = uow.collection.receipts(case.id)
    balance = case_balance(case, receipts, [], open_on_ledger=open_on_ledger(uow, case))
    allocation = allocate_receipt(
        case.debts, amount, remaining=balance.remaining_by_debt, commission_rate=case.commission_rate
    )  # raises before anything is written
    recorded = ledger.record_payment(
        uow,
        clock,
        actor,
        policy_id=case.policy_id,
        buyer_id=case.buyer_id,
        amount=amount,
        received_on=received_on,
        # without a reference, equal payments on one day would be one payment to the ledger
        reference=ref or f"{case.reference}-R{len(receipts) + 1}",
        invoices=[line.number for line in allocation.lines],
        source="collection",
    )
    receipt = Receipt(
        id=new_id(),
        case_id=case.id,
        amount=amount,
        received_on=received_on,
        reference=ref,
        lines=allocation.lines,
        guaranteed_amount=allocation.guaranteed_amount,
        non_guaranteed_amount=allocation.non_guaranteed_amount,
        commission_rate=allocation.commission_rate,
        commission_amount=allocation.commission_amount,
        ledger_payment_id=recorded.entry.id,
        recorded_by=actor.audit_label(case.organisation_id),
        recorded_at=clock.now(),
    )
    uow.collection.add_receipt(receipt)
    record(
        uow, clock, actor, tenant=case.organisation_id, action="collection.payment_received",
        object_type="collection_case", object_id=case.id,
        summary={"reference": case.reference, "receipt_id": receipt.id, "amount": str(amount),
                 "received_on": received_on.isoformat(), "guaranteed": str(receipt.guaranteed_amount),
                 "non_guaranteed": str(receipt.non_guaranteed_amount), "commission": str(receipt.commission_amount),
                 "ledger_payment_id": receipt.ledger_payment_id, "ledger_payment_created": recorded.created},
    )  # fmt: skip
    apply_recovery(
        uow,
        clock,
        actor,
        policy_id=case.policy_id,
        buyer_id=case.buyer_id,
        amount=amount,
        received_on=received_on,
        source="collection",
        reference=receipt.id,
        payment_id=recorded.entry.id,
    )
    return receipt


def open_on_ledger(uow: UnitOfWork, case: CollectionCase) -> dict[str, Money]:
    """What the ledger says is still unpaid on each of the case's invoices, including VAT.

    It bounds what remains due on the case: since the hand-over the buyer may have paid the insured
    directly, or a credit note may have reduced a debt (DOMAIN.md §6: cash settles the oldest invoices).
    """
    invoices, payments = uow.ledger.entries(case.policy_id, [case.buyer_id])
    settlements = settle(
        invoices.get(case.buyer_id, []),
        payments.get(case.buyer_id, []),
        on=date.max,
        reversed_ids=uow.ledger.reversed_ids(case.policy_id),
    )
    wanted = {debt.invoice_id for debt in case.debts}
    return {
        item.invoice.id: item.open_gross for s in settlements.values() for item in s.items if item.invoice.id in wanted
    }


def balance_of(uow: UnitOfWork, case: CollectionCase) -> CaseBalance:
    """Where the case stands, with what the ledger says is still unpaid."""
    return case_balance(
        case, uow.collection.receipts(case.id), uow.collection.costs(case.id), open_on_ledger=open_on_ledger(uow, case)
    )


def close_case(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    case_id: str,
    outcome: ClosureOutcome | str,
    on: date,
    reason: str | None = None,
) -> CollectionCase:
    """Close the case: *paid* when nothing remains due, *partly paid* when something was received,
    *irrecoverable* at any time by decision (its reason required)."""
    closure = _enum(ClosureOutcome, outcome, "outcome")
    case = _case_to_act_on(uow, actor, case_id)
    _require_open(case)
    check_case_date(on, opened_on=case.opened_on, today=clock.today())
    text = _text(reason, MAX_REASON, "reason")
    if closure is ClosureOutcome.IRRECOVERABLE and text is None:
        raise InvalidInput(
            "closing a case as irrecoverable is a decision: give its reason",
            code="collection.reason_required",
            field="reason",
        )
    balance = balance_of(uow, case)
    # something was received: by the collector, or by the insured from the buyer since the hand-over
    check_outcome(closure, remaining=balance.remaining, received=balance.received + balance.settled_otherwise)
    by = actor.audit_label(case.organisation_id)
    uow.collection.close_case(case.id, outcome=closure, on=on, reason=text, by=by, at=clock.now())
    record(
        uow, clock, actor, tenant=case.organisation_id, action="collection.case_closed",
        object_type="collection_case", object_id=case.id,
        summary={"reference": case.reference, "outcome": closure.value, "on": on.isoformat(),
                 "received": str(balance.received), "remaining": str(balance.remaining)},
        reason=text,
    )  # fmt: skip
    case.stage, case.outcome, case.closed_on, case.closure_reason, case.closed_by = (
        CaseStage.CLOSED,
        closure,
        on,
        text,
        by,
    )
    return case


# --- Reading ------------------------------------------------------------------------------------------------


def list_cases(
    uow: UnitOfWork,
    actor: Actor,
    *,
    page: Page,
    policy_id: str | None = None,
    buyer_id: str | None = None,
    stage: CaseStage | str | None = None,
) -> tuple[list[CollectionCase], int]:
    """The cases the actor may read, newest first."""
    if policy_id is not None:
        get_policy(uow, actor, policy_id)
    return uow.collection.find_cases(
        organisation_ids=visible_organisations(actor),
        policy_id=policy_id,
        buyer_id=buyer_id,
        stage=None if stage is None else _enum(CaseStage, stage, "stage"),
        limit=page.limit,
        offset=page.offset,
    )


@dataclass(frozen=True)
class ClaimFiling:
    """The buyer's insolvency and the claim the collector files with the administrator (DOMAIN.md §7)."""

    publication_date: date  # of the opening judgment in the BODACC
    procedure: LegalEventKind
    creditor_abroad: bool
    deadline: date
    filed_on: date | None  # the first administrator_claim_filing action, if any

    def late(self, today: date) -> bool:
        return (self.filed_on or today) > self.deadline


@dataclass(frozen=True)
class CaseView:
    """A case with everything recorded on it and where it stands."""

    case: CollectionCase
    buyer: Buyer
    policy_number: str
    actions: list[CaseAction]
    receipts: list[Receipt]
    costs: list[CaseCost]
    balance: CaseBalance
    claim_filing: ClaimFiling | None


def latest_insolvency(events: Sequence[LegalEvent]) -> LegalEvent | None:
    """The latest published opening of an insolvency procedure (safeguard, receivership, liquidation)."""
    openings = [e for e in events if e.kind in INSOLVENCY_OPENINGS]
    return max(openings, key=lambda e: (e.publication_date, e.recorded_at)) if openings else None


def case_view(uow: UnitOfWork, actor: Actor, case_id: str) -> CaseView:
    case = get_case(uow, actor, case_id)
    buyer = uow.buyers.get(case.buyer_id)
    policy = uow.policies.get(case.policy_id)
    assert buyer is not None
    assert policy is not None
    actions = uow.collection.actions(case.id)
    receipts = uow.collection.receipts(case.id)
    costs = uow.collection.costs(case.id)
    filing: ClaimFiling | None = None
    insolvency = latest_insolvency(uow.monitoring.legal_events(buyer.id))
    if insolvency is not None:
        insured = uow.organisations.get(case.organisation_id)
        abroad = insured is not None and insured.country != buyer.country
        filed = [a.on for a in actions if a.kind is ActionKind.ADMINISTRATOR_CLAIM_FILING]
        filing = ClaimFiling(
            publication_date=insolvency.publication_date,
            procedure=insolvency.kind,
            creditor_abroad=abroad,
            deadline=administrator_claim_filing_deadline(insolvency.publication_date, creditor_abroad=abroad),
            filed_on=min(filed) if filed else None,
        )
    balance = case_balance(case, receipts, costs, open_on_ledger=open_on_ledger(uow, case))
    return CaseView(case, buyer, policy.number, actions, receipts, costs, balance, filing)


# --- Late-payment penalties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseRateLine:
    effective_date: date
    rate: Decimal
    source: str  # "ecb" (shipped with tradecover) or "configured"
    recorded_by: str | None = None


def base_rate_table(uow: UnitOfWork) -> BaseRateTable:
    """The shipped ECB rates, extended by the configured ones (which win on the same date)."""
    configured = uow.collection.base_rates()
    return default_base_rates().with_rates(BaseRate(r.effective_date, r.rate) for r in configured)


def list_base_rates(uow: UnitOfWork, actor: Actor) -> list[BaseRateLine]:
    """Every base rate in force from its date, newest first, saying where it comes from."""
    configured = {r.effective_date: r for r in uow.collection.base_rates()}
    lines = [BaseRateLine(r.effective_date, r.rate, "ecb") for r in default_base_rates()]
    merged = {line.effective_date: line for line in lines}
    for day, r in configured.items():
        merged[day] = BaseRateLine(day, r.rate, "configured", r.recorded_by)
    return sorted(merged.values(), key=lambda line: line.effective_date, reverse=True)


def add_base_rate(
    uow: UnitOfWork, clock: Clock, actor: Actor, *, effective_date: date, rate: Decimal
) -> ConfiguredBaseRate:
    """Configure the ECB rate in force from a date (a fraction: 0.0215 for 2.15 %); collectors and
    claims handlers, and administrators. A date configured once is not changed."""
    require_collector(actor)
    BaseRate(effective_date, rate)  # the same checks as the shipped table's
    configured = ConfiguredBaseRate(effective_date, rate, actor.audit_label(), clock.now())
    if not uow.collection.add_base_rate(configured):
        raise Conflict(
            f"a base rate is configured already from {effective_date}",
            code="collection.base_rate_exists",
            field="effective_date",
        )
    record(
        uow, clock, actor, tenant=INSURER_TENANT, action="collection.base_rate_added", object_type="base_rate",
        object_id=effective_date.isoformat(), summary={"effective_date": effective_date.isoformat(), "rate": str(rate)},
    )  # fmt: skip
    return configured


def _fixed_indemnity(uow: UnitOfWork, currency: str, on: date) -> Money | None:
    """The 40 EUR per invoice, in the case's currency (None: EUR, the penalty's own default)."""
    if currency == "EUR":
        return None
    found = uow.ledger.rate("EUR", currency, on)
    if found is None:
        raise RuleBroken(
            f"no EUR to {currency} exchange rate is known on {on}: load it to convert the 40 EUR indemnity",
            code="collection.no_exchange_rate",
            context={"currency": currency, "on": on.isoformat()},
        )
    return Money(FIXED_COLLECTION_INDEMNITY * found[1], currency).round()


def _penalties(uow: UnitOfWork, case: CollectionCase, on: date) -> list[tuple[CaseDebt, Penalty]]:
    balance = balance_of(uow, case)
    table = base_rate_table(uow)
    indemnity = _fixed_indemnity(uow, case.currency, on)
    out: list[tuple[CaseDebt, Penalty]] = []
    for debt in sorted(case.debts, key=debt_order):
        remaining = balance.remaining_by_debt[debt.invoice_id]
        if remaining.is_positive():
            out.append(
                (
                    debt,
                    compute_penalty(remaining, due_date=debt.due_date, on=on, table=table, fixed_indemnity=indemnity),
                )
            )
    return out


def penalties_of_case(uow: UnitOfWork, actor: Actor, case_id: str, on: date) -> list[tuple[CaseDebt, Penalty]]:
    """Late-payment interest (ECB rate + 10 points) and the 40 EUR indemnity on what remains unpaid of each
    debt, including VAT, as of ``on`` (DOMAIN.md §7)."""
    return _penalties(uow, get_case(uow, actor, case_id), on)


# --- The formal notice ---------------------------------------------------------------------------------------

DEFAULT_PLACE = "Paris"


def _party_of_buyer(buyer: Buyer) -> Party:
    siren = next((i.value for i in buyer.identifiers if i.kind.value == "siren"), None)
    return Party(
        buyer.legal_name,
        address_lines=(buyer.city,) if buyer.city else (),
        identifier=None if siren is None else f"SIREN {siren}",
    )


def formal_notice_view(
    uow: UnitOfWork, actor: Actor, case_id: str, *, on: date, place: str | None = DEFAULT_PLACE
) -> FormalNoticeView:
    """What the formal notice says on ``on``: the unpaid debts, their penalties, the total claimed."""
    case = get_case(uow, actor, case_id)
    return _notice_view(uow, case, on, place)


def _notice_view(uow: UnitOfWork, case: CollectionCase, on: date, place: str | None) -> FormalNoticeView:
    penalties = _penalties(uow, case, on)
    if not penalties:
        raise RuleBroken(
            f"nothing remains due on case {case.reference}: there is nothing to claim",
            code="collection.nothing_due",
        )
    insurer = uow.organisations.insurer()
    insured = uow.organisations.get(case.organisation_id)
    buyer = uow.buyers.get(case.buyer_id)
    assert insured is not None
    assert buyer is not None
    invoices: list[NoticeInvoice] = []
    cur = case.currency
    unpaid = interest = indemnity = Money.zero(cur)
    for debt, penalty in penalties:
        rate = penalty.segments[-1].annual_rate if penalty.segments else _rate_on(uow, debt.due_date)
        invoices.append(
            NoticeInvoice(
                number=debt.number,
                issue_date=debt.issue_date,
                due_date=debt.due_date,
                unpaid_amount=penalty.amount,
                days_late=penalty.days_late,
                annual_interest_rate=rate,
                penalty_interest=penalty.interest,
                fixed_indemnity=penalty.fixed_indemnity,
            )
        )
        unpaid = unpaid + penalty.amount
        interest = interest + penalty.interest
        indemnity = indemnity + penalty.fixed_indemnity
    return FormalNoticeView(
        reference=case.reference,
        letter_date=on,
        place=place,
        sender=Party(insurer.name if insurer is not None else "tradecover"),
        creditor=Party(insured.name, identifier=None if insured.siren is None else f"SIREN {insured.siren}"),
        debtor=_party_of_buyer(buyer),
        invoices=tuple(invoices),
        total_unpaid=unpaid,
        total_interest=interest,
        total_fixed_indemnity=indemnity,
        total_claimed=unpaid + interest + indemnity,
    )


def _rate_on(uow: UnitOfWork, day: date) -> Decimal:
    return base_rate_table(uow).rate_for_half_year(day) + LATE_PAYMENT_MARGIN


def formal_notice_pdf(uow: UnitOfWork, clock: Clock, actor: Actor, case_id: str, *, on: date, language: str) -> bytes:
    """A preview of the formal notice as of ``on``, as PDF, in French or English; records nothing."""
    return render_formal_notice(formal_notice_view(uow, actor, case_id, on=on), check_language(language))


@dataclass(frozen=True)
class SentNotice:
    action: CaseAction
    letter: CaseLetter


def send_formal_notice(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    case_id: str,
    *,
    on: date,
    language: str,
    note: str | None = None,
) -> SentNotice:
    """Send the formal notice: the letter is rendered, kept as sent, and a ``formal_notice`` action is
    recorded with it (dated, with its author). Does not commit."""
    lang: Language = check_language(language)
    case = _case_to_act_on(uow, actor, case_id)
    check_action_allowed(case.stage, ActionKind.FORMAL_NOTICE)
    check_case_date(on, opened_on=case.opened_on, today=clock.today())
    content = render_formal_notice(_notice_view(uow, case, on, DEFAULT_PLACE), lang)
    letter = CaseLetter(
        id=new_id(),
        case_id=case.id,
        kind=FORMAL_NOTICE_LETTER,
        reference=f"{case.reference}-MED-{uow.collection.count_letters(case.id) + 1}",
        language=lang,
        letter_date=on,
        media_type=PDF,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        created_by=actor.audit_label(case.organisation_id),
        created_at=clock.now(),
    )
    uow.collection.add_letter(letter)
    action = _add_action(uow, clock, actor, case, ActionKind.FORMAL_NOTICE, on, _text(note, MAX_NOTE, "note"), letter)
    return SentNotice(action, letter)


def get_letter(uow: UnitOfWork, actor: Actor, case_id: str, letter_id: str) -> CaseLetter:
    """A letter sent on a case, as it was sent."""
    case = get_case(uow, actor, case_id)
    letter = uow.collection.get_letter(letter_id)
    if letter is None or letter.case_id != case.id:
        raise not_found("collection_letter", letter_id)
    return letter
