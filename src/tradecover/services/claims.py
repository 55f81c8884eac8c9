"""Claims, their documents, the indemnity and its settlement statement (DOMAIN.md §8): use cases."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tradecover.domain.claims import (
    Claim,
    ClaimDocument,
    ClaimMovement,
    ClaimRecovery,
    ClaimSettlement,
    ClaimStatus,
    DocumentKind,
    LossEvent,
    SettlementStatus,
    check_can_open,
    check_claim_move,
    check_document,
    loss_event,
    missing_documents,
    paired,
    safe_filename,
)
from tradecover.domain.credit_limits import LimitDecision
from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.indemnity import (
    CREDIT_NOTES,
    PAYMENTS,
    RECOVERIES,
    ClaimInvoice,
    Indemnity,
    IndemnityTerms,
    compute_indemnity,
)
from tradecover.domain.money import Money
from tradecover.domain.overdues import OverdueNotification
from tradecover.domain.periods import Clock, Period
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import CREDIT_NOTE_SOURCE, Invoice, net_part, settle
from tradecover.domain.terms import PolicyTerms
from tradecover.services import premium as premium_service
from tradecover.services.authorization import Actor, Permission, require, visible_organisations
from tradecover.services.exposure import RateBook, book_of, cover_periods
from tradecover.services.ledger import buyer_of_policy, policy_to_act_on
from tradecover.services.overdues import insolvency_dates, policy_today
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record

#: Payment sources that are recoveries (cash the collectors obtained), not the buyer paying of itself.
RECOVERY_SOURCES = frozenset({"collection", "recovery"})
DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
INSURER_ACCOUNT = "insurer"


def insured_account(policy: Policy) -> str:
    return f"insured:{policy.policyholder_id}"


def _not_found(claim_id: str) -> NotFound:
    return NotFound(f"claim {claim_id} not found", code="claim.not_found", context={"id": claim_id})


def claim_and_policy(uow: UnitOfWork, actor: Actor, claim_id: str) -> tuple[Claim, Policy]:
    claim = uow.claims.get_claim(claim_id)
    if claim is None:
        raise _not_found(claim_id)
    try:
        policy = get_policy(uow, actor, claim.policy_id)
    except NotFound:
        raise _not_found(claim_id) from None
    return claim, policy


def _notifications(uow: UnitOfWork, policy_id: str, buyer_id: str) -> list[OverdueNotification]:
    return uow.claims.notifications_of(policy_id, buyer_id)


def _loss_event(
    uow: UnitOfWork, policy: Policy, buyer_id: str, notifications: Sequence[OverdueNotification]
) -> LossEvent:
    accepted = [n for n in notifications if n.accepted]
    if not accepted:
        raise RuleBroken(
            "no overdue notification with an accepted invoice precedes this claim: notify the overdue invoices first",
            code="claim.no_accepted_notification",
        )
    first = min(n.notified_on for n in accepted)
    terms = book_of(uow, policy, first).terms
    _, judgment = insolvency_dates(uow, buyer_id)
    return loss_event(
        notified_on=first, waiting_period_days=terms.waiting_period_days, insolvency_judgment_date=judgment
    )


# --- Filing ------------------------------------------------------------------------------------------------


def file_claim(uow: UnitOfWork, clock: Clock, actor: Actor, *, policy_id: str, buyer_id: str) -> Claim:
    """Open the claim of a buyer under a policy: on the insolvency judgment, or once the waiting period ran."""
    require(actor, Permission.CLAIM_FILE)
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    on = policy_today(uow, clock, policy)
    for existing in uow.claims.claims_of(policy.id, buyer.id):
        if existing.status is not ClaimStatus.REFUSED:
            raise Conflict(
                f"claim {existing.reference} is already open on this buyer under this policy",
                code="claim.already_open",
                context={"claim_id": existing.id},
            )
    notifications = _notifications(uow, policy.id, buyer.id)
    event = _loss_event(uow, policy, buyer.id, notifications)
    check_can_open(event, on)
    first = min((n for n in notifications if n.accepted), key=lambda n: n.notified_on)
    year = on.year
    claim = Claim(
        id=new_id(),
        reference=f"CLM-{year}-{uow.claims.next_claim_sequence(year):06d}",
        policy_id=policy.id,
        buyer_id=buyer.id,
        notification_id=first.id,
        cause=event.cause,
        date_of_loss=event.date_of_loss,
        opened_on=on,
        opened_at=clock.now(),
        opened_by=actor.audit_label(policy.policyholder_id),
        status=ClaimStatus.PENDING,
    )
    uow.claims.add_claim(claim)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.filed",
        object_type="claim",
        object_id=claim.id,
        summary={
            "reference": claim.reference,
            "policy": policy.number,
            "buyer_id": buyer.id,
            "cause": claim.cause.value,
            "date_of_loss": claim.date_of_loss.isoformat(),
        },
    )
    return claim


def add_document(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    claim_id: str,
    *,
    kind: str,
    filename: str,
    content_type: str | None,
    content: bytes,
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
) -> ClaimDocument:
    """File one document with a claim (type and size checked); a claim whose documents are complete moves on."""
    require(actor, Permission.CLAIM_FILE)
    claim, policy = claim_and_policy(uow, actor, claim_id)
    policy_to_act_on(uow, actor, policy.id)
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown document kind {kind!r}",
            code="claim.document_kind",
            field="kind",
            context={"accepted": [k.value for k in DocumentKind]},
        ) from None
    if claim.status in (ClaimStatus.SETTLED, ClaimStatus.REFUSED):
        raise RuleBroken(f"claim {claim.reference} is {claim.status.value}", code="claim.closed")
    checked_type = check_document(filename, content_type, content, max_bytes=max_bytes)
    document = ClaimDocument(
        id=new_id(),
        claim_id=claim.id,
        kind=document_kind,
        filename=safe_filename(filename),
        content_type=checked_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor.audit_label(policy.policyholder_id),
        uploaded_at=clock.now(),
    )
    uow.claims.add_document(document, content)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.document_added",
        object_type="claim",
        object_id=claim.id,
        summary={"kind": document_kind.value, "filename": document.filename, "sha256": document.sha256},
    )
    if claim.status is ClaimStatus.PENDING and not missing_documents(
        claim.cause, [d.kind for d in uow.claims.documents_of(claim.id)]
    ):
        _move(uow, clock, actor, claim, policy, ClaimStatus.COMPLETE, "documents complete")
    return document


def _move(
    uow: UnitOfWork, clock: Clock, actor: Actor, claim: Claim, policy: Policy, new: ClaimStatus, why: str
) -> None:
    check_claim_move(claim.status, new)
    uow.claims.set_claim_status(claim.id, new)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.status_changed",
        object_type="claim",
        object_id=claim.id,
        summary={"from": claim.status.value, "to": new.value},
        reason=why,
    )


# --- The indemnity -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Computation:
    claim: Claim
    policy: Policy
    on: date
    event: LossEvent
    year: Period
    terms: PolicyTerms
    invoices: tuple[ClaimInvoice, ...]
    indemnity: Indemnity
    notified: tuple[tuple[Invoice, str | None], ...]  # every accepted invoice with its factor


def year_premium(uow: UnitOfWork, policy: Policy, terms: PolicyTerms, year: Period) -> Money | None:
    """The premium of the policy year that the maximum liability multiplies.

    A closed year's premium; before the year end, max(minimum premium, premium earned by the turnover
    declared so far). With neither, no premium is known and the multiple gives no cap.
    """
    premium = premium_service.year_premium_of(uow, policy, year)
    return premium if premium.is_positive() else None


def _max_liability(uow: UnitOfWork, policy: Policy, terms: PolicyTerms, year: Period) -> tuple[Money | None, str]:
    if terms.max_liability_amount is not None:
        return terms.max_liability_amount, "fixed amount of the policy"
    premium = year_premium(uow, policy, terms, year)
    if premium is None or terms.max_liability_multiple is None:
        return None, "no premium known for the policy year"
    return (premium * terms.max_liability_multiple).round(), (
        f"{terms.max_liability_multiple.normalize():f} × premium {premium.quantize_str()}"
    )


def claim_invoices(
    uow: UnitOfWork,
    claim: Claim,
    policy: Policy,
    on: date,
    notifications: Sequence[OverdueNotification],
    *,
    excluding_payment: str | None = None,
) -> tuple[list[ClaimInvoice], list[tuple[Invoice, str | None]]]:
    """The claim's invoices (accepted in a notification) as the ledger settles them on ``on``."""
    accepted_ids = {line.invoice_id for n in notifications for line in n.accepted}
    invoices, payments = uow.ledger.entries(policy.id, [claim.buyer_id])
    reversed_ids = uow.ledger.reversed_ids(policy.id)
    if excluding_payment is not None:
        reversed_ids = reversed_ids | {excluding_payment}
    settlements = settle(
        invoices.get(claim.buyer_id, []), payments.get(claim.buyer_id, []), on=on, reversed_ids=reversed_ids
    )
    factors = uow.ledger.factor_assignments(policy.id)
    first_notified = min(n.notified_on for n in notifications if n.accepted)
    rates = RateBook(uow, policy.currency, first_notified)
    out: list[ClaimInvoice] = []
    notified: list[tuple[Invoice, str | None]] = []
    for settlement in settlements.values():
        by_invoice: dict[str, list[tuple[int, str]]] = {}
        for invoice_id, used, source in settlement.applications:
            by_invoice.setdefault(invoice_id, []).append((used, source))
        for item in settlement.items:
            invoice = item.invoice
            if invoice.id not in accepted_ids:
                continue
            total_gross = invoice.amount_incl_vat.to_minor()
            net_open = invoice.amount_excl_vat.to_minor()
            paid = 0
            reductions: dict[str, int] = {}
            for used, source in by_invoice.get(invoice.id, []):
                paid += used
                now_open = net_part(total_gross - paid, invoice)
                kind = (
                    CREDIT_NOTES
                    if source == CREDIT_NOTE_SOURCE
                    else RECOVERIES
                    if source in RECOVERY_SOURCES
                    else PAYMENTS
                )
                reductions[kind] = reductions.get(kind, 0) + net_open - now_open
                net_open = now_open

            def convert(minor: int, invoice: Invoice = invoice) -> Money:
                converted = rates.convert_minor(minor, invoice.currency)
                if converted is None:
                    raise RuleBroken(
                        f"no {invoice.currency}/{policy.currency} rate on or before {first_notified} to convert "
                        f"invoice {invoice.number}",
                        code="claim.no_exchange_rate",
                        context={"currency": invoice.currency},
                    )
                return Money.from_minor(converted, policy.currency)

            factor = factors.get(invoice.id)
            out.append(
                ClaimInvoice(
                    invoice_id=invoice.id,
                    number=invoice.number,
                    issue_date=invoice.issue_date,
                    delivery_date=invoice.delivery_date,
                    due_date=invoice.due_date,
                    amount_excl_vat=convert(invoice.amount_excl_vat.to_minor()),
                    reductions=tuple((k, convert(v)) for k, v in reductions.items() if v),
                    factor=None if factor is None else factor.factor,
                    factor_id=None if factor is None else factor.factor_id,
                )
            )
            notified.append((invoice, None if factor is None else factor.factor))
    return out, notified


def compute(uow: UnitOfWork, claim: Claim, policy: Policy, on: date) -> Computation:
    """The indemnity of a claim as of ``on`` (the settlement date), with every line of the statement."""
    notifications = _notifications(uow, policy.id, claim.buyer_id)
    event = _loss_event(uow, policy, claim.buyer_id, notifications)
    year = policy.period_on(event.date_of_loss) or policy.periods[-1]
    book = book_of(uow, policy, event.date_of_loss)
    terms = book.terms
    buyer = uow.buyers.get(claim.buyer_id)
    assert buyer is not None
    invoices, notified = claim_invoices(uow, claim, policy, on, notifications)
    history: list[LimitDecision] = uow.limits.history(policy.id, claim.buyer_id)
    all_invoices, payments = uow.ledger.entries(policy.id, [claim.buyer_id])
    periods, _ = cover_periods(
        book,
        buyer,
        all_invoices.get(claim.buyer_id, []),
        payments.get(claim.buyer_id, []),
        uow.ledger.reversed_ids(policy.id),
        history,
        max(event.date_of_loss, min(n.notified_on for n in notifications)),
    )
    cur = policy.currency
    paid_in_year, deductible_used = uow.claims.year_totals(policy.id, year.start, cur, excluding_claim=claim.id)
    max_liability, rule = _max_liability(uow, policy, terms, year)
    indemnity_terms = IndemnityTerms(
        currency=cur,
        indemnity_rate=terms.indemnity_rate,
        non_qualifying_loss=terms.non_qualifying_loss or Money.zero(cur),
        deductible=terms.deductible or Money.zero(cur),
        deductible_kind=terms.deductible_kind,
        aggregate_deductible_used=deductible_used,
        max_liability=max_liability,
        max_liability_rule=rule,
        indemnities_of_year=paid_in_year,
    )
    result = compute_indemnity(invoices, periods, indemnity_terms)
    return Computation(claim, policy, on, event, year, terms, tuple(invoices), result, tuple(notified))


def statement_json(c: Computation, status: str) -> dict[str, Any]:
    i = c.indemnity
    return {
        "claim_reference": c.claim.reference,
        "status": status,
        "computed_on": c.on.isoformat(),
        "cause": c.event.cause.value,
        "date_of_loss": c.event.date_of_loss.isoformat(),
        "policy_year": {"start": c.year.start.isoformat(), "end": c.year.end.isoformat()},
        "currency": c.policy.currency,
        "loss_amount": i.loss.quantize_str(),
        "covered_loss_amount": i.covered_loss.quantize_str(),
        "indemnity_amount": i.indemnity.quantize_str(),
        "lines": [
            {
                "code": line.code,
                "label": line.label,
                "rule": line.rule,
                "params": dict(line.params),
                "amount": None if line.amount is None else line.amount.quantize_str(),
            }
            for line in i.lines
        ],
        "invoices": [
            {
                "number": inv.number,
                "issue_date": inv.issue_date.isoformat(),
                "due_date": inv.due_date.isoformat(),
                "amount_excl_vat": inv.amount_excl_vat.quantize_str(),
                "unpaid_excl_vat": inv.unpaid_excl_vat.quantize_str(),
                "factor": inv.factor,
                "factor_id": inv.factor_id,
            }
            for inv in c.invoices
        ],
        "payees": [
            {"name": p.name, "role": p.role, "amount": p.amount.quantize_str()} | ({"id": p.id} if p.id else {})
            for p in i.payees
        ],
    }


@dataclass(frozen=True)
class SettlementOutcome:
    claim: Claim
    settlement: ClaimSettlement | None
    computation: Computation | None
    status: str  # settled | awaiting_approval | refused | pending
    missing: tuple[DocumentKind, ...] = ()
    code: str | None = None
    message: str | None = None


def preview(uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: str) -> Computation:
    """What the settlement would be today; writes nothing."""
    claim, policy = claim_and_policy(uow, actor, claim_id)
    return compute(uow, claim, policy, policy_today(uow, clock, policy))


def settle_claim(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    claim_id: str,
    *,
    approval_threshold: Decimal | None = None,
) -> SettlementOutcome:
    """Compute the indemnity and pay it — or say why not: documents missing, before the date of loss,
    nothing to indemnify. Above ``approval_threshold`` a second claims handler must approve first."""
    require(actor, Permission.CLAIM_SETTLE)
    claim, policy = claim_and_policy(uow, actor, claim_id)
    on = policy_today(uow, clock, policy)
    if claim.status in (ClaimStatus.SETTLED, ClaimStatus.REFUSED, ClaimStatus.AWAITING_APPROVAL):
        raise RuleBroken(
            f"claim {claim.reference} is {claim.status.value}",
            code="claim.not_settleable",
            context={"status": claim.status.value},
        )
    c = compute(uow, claim, policy, on)
    # The cause may have changed since filing (an insolvency judged during the waiting period).
    missing = missing_documents(c.event.cause, [d.kind for d in uow.claims.documents_of(claim.id)])
    if missing:
        return SettlementOutcome(
            claim,
            None,
            c,
            "pending",
            missing,
            "claim.documents_missing",
            "documents missing: " + ", ".join(m.value for m in missing),
        )
    if on < c.event.date_of_loss:
        return SettlementOutcome(
            claim,
            None,
            c,
            "pending",
            (),
            "claim.before_date_of_loss",
            f"no indemnity before the date of loss {c.event.date_of_loss}",
        )
    i = c.indemnity
    if not i.qualifies:
        status = SettlementStatus.REFUSED
        code = "claim.no_covered_loss" if not i.covered_loss.is_positive() else "claim.non_qualifying_loss"
    elif approval_threshold is not None and i.indemnity.amount > approval_threshold:
        status, code = SettlementStatus.AWAITING_APPROVAL, None
    else:
        status, code = SettlementStatus.SETTLED, None
    settlement = ClaimSettlement(
        id=new_id(),
        claim_id=claim.id,
        policy_id=policy.id,
        status=status,
        computed_on=on,
        computed_at=clock.now(),
        computed_by=actor.audit_label(),
        cause=c.event.cause,
        date_of_loss=c.event.date_of_loss,
        policy_year_start=c.year.start,
        loss=i.loss,
        covered_loss=i.covered_loss,
        indemnity=i.indemnity,
        aggregate_deductible=i.aggregate_deductible_consumed,
        statement=statement_json(c, status.value),
    )
    uow.claims.add_settlement(settlement)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.indemnity_computed",
        object_type="claim",
        object_id=claim.id,
        summary={
            "settlement_id": settlement.id,
            "status": status.value,
            "loss": i.loss.quantize_str(),
            "covered_loss": i.covered_loss.quantize_str(),
            "indemnity": i.indemnity.quantize_str(),
        },
    )
    if status is not SettlementStatus.REFUSED:
        # A closed year's no-claims bonus and loss ratio counted the indemnities known then.
        premium_service.reclose_if_changed(uow, clock, actor, policy, c.year, f"indemnity of {claim.reference}")
    if status is SettlementStatus.REFUSED:
        _move(uow, clock, actor, claim, policy, ClaimStatus.REFUSED, code or "nothing to indemnify")
        return SettlementOutcome(claim, settlement, c, "refused", (), code, i.lines[-2].rule)
    if status is SettlementStatus.AWAITING_APPROVAL:
        _move(uow, clock, actor, claim, policy, ClaimStatus.AWAITING_APPROVAL, "above the approval amount")
        return SettlementOutcome(claim, settlement, c, "awaiting_approval")
    _pay(uow, clock, actor, claim, policy, settlement, c)
    return SettlementOutcome(claim, settlement, c, "settled")


def _pay(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    claim: Claim,
    policy: Policy,
    settlement: ClaimSettlement,
    c: Computation,
) -> None:
    """The indemnity leaves the insurer for each payee (paired entries), the insurer is subrogated."""
    at = clock.now()
    movements: list[ClaimMovement] = []
    transaction = new_id()
    for payee in c.indemnity.payees:
        target = insured_account(policy) if payee.role == "insured" else f"factor:{payee.id or payee.name}"
        movements.extend(
            paired(
                ids=(new_id(), new_id()),
                transaction_id=transaction,
                claim_id=claim.id,
                kind="indemnity",
                source=INSURER_ACCOUNT,
                target=target,
                amount=payee.amount,
                on=c.on,
                reference=settlement.id,
                at=at,
            )
        )
    uow.claims.add_movements(movements)
    _move(uow, clock, actor, claim, policy, ClaimStatus.SETTLED, "indemnity paid")
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.subrogated",
        object_type="claim",
        object_id=claim.id,
        summary={"indemnity": c.indemnity.indemnity.quantize_str(), "loss": c.indemnity.loss.quantize_str()},
        reason="the insurer is subrogated in the insured's rights up to the indemnity it paid",
    )


def approve_settlement(
    uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: str, *, approve: bool, reason: str
) -> SettlementOutcome:
    """The second claims handler's decision on an indemnity above the approval amount."""
    require(actor, Permission.CLAIM_SETTLE)
    claim, policy = claim_and_policy(uow, actor, claim_id)
    pending = [s for s in uow.claims.settlements_of(claim.id) if s.status is SettlementStatus.AWAITING_APPROVAL]
    if not pending:
        raise RuleBroken(
            f"claim {claim.reference} has no settlement awaiting approval", code="claim.nothing_to_approve"
        )
    settlement = pending[-1]
    if settlement.computed_by == actor.audit_label():
        raise Forbidden(
            "the claims handler who computed the indemnity cannot approve it",
            code="claim.same_approver",
        )
    at = clock.now()
    if not approve:
        uow.claims.set_settlement_status(
            settlement.id, SettlementStatus.WITHDRAWN, approved_by=actor.audit_label(), at=at
        )
        _move(uow, clock, actor, claim, policy, ClaimStatus.COMPLETE, reason)
        return SettlementOutcome(claim, settlement, None, "withdrawn")
    # Recomputed as of today: a payment or recovery received since the computation changes the loss.
    c = compute(uow, claim, policy, policy_today(uow, clock, policy))
    if c.indemnity.indemnity != settlement.indemnity or c.indemnity.loss != settlement.loss:
        raise Conflict(
            "the ledger changed since the indemnity was computed: withdraw it and settle again",
            code="claim.settlement_stale",
            context={"computed": settlement.indemnity.quantize_str(), "now": c.indemnity.indemnity.quantize_str()},
        )
    uow.claims.set_settlement_status(settlement.id, SettlementStatus.SETTLED, approved_by=actor.audit_label(), at=at)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.indemnity_approved",
        object_type="claim",
        object_id=claim.id,
        summary={"settlement_id": settlement.id, "indemnity": settlement.indemnity.quantize_str()},
        reason=reason,
    )
    claim = uow.claims.get_claim(claim.id) or claim
    _pay(uow, clock, actor, claim, policy, settlement, c)
    return SettlementOutcome(claim, settlement, c, "settled")


# --- Reading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    documents: list[ClaimDocument]
    missing: tuple[DocumentKind, ...]
    settlements: list[ClaimSettlement]
    recoveries: list[ClaimRecovery]
    movements: list[ClaimMovement]


def get_claim(uow: UnitOfWork, actor: Actor, claim_id: str) -> ClaimView:
    claim, _ = claim_and_policy(uow, actor, claim_id)
    documents = uow.claims.documents_of(claim.id)
    return ClaimView(
        claim,
        documents,
        missing_documents(claim.cause, [d.kind for d in documents]),
        uow.claims.settlements_of(claim.id),
        uow.claims.recoveries_of(claim.id),
        uow.claims.movements_of(claim.id),
    )


def list_claims(
    uow: UnitOfWork, actor: Actor, *, policy_id: str | None, status: ClaimStatus | None, page: Page
) -> tuple[list[Claim], int]:
    if policy_id is not None:
        policy_ids: list[str] | None = [get_policy(uow, actor, policy_id).id]
    else:
        visible = visible_organisations(actor)
        policy_ids = None
        if visible is not None:
            policies, _ = uow.policies.list_page(policyholder_ids=visible, page=Page(limit=100_000))
            policy_ids = [p.id for p in policies]
    return uow.claims.list_claims(policy_ids, status=status, offset=page.offset, limit=page.limit)


def document_content(uow: UnitOfWork, actor: Actor, claim_id: str, document_id: str) -> tuple[ClaimDocument, bytes]:
    claim, _ = claim_and_policy(uow, actor, claim_id)
    found = uow.claims.document_content(document_id)
    if found is None or found[0].claim_id != claim.id:
        raise NotFound(
            f"document {document_id} not found", code="claim_document.not_found", context={"id": document_id}
        )
    return found


def claim_of_buyer(uow: UnitOfWork, policy_id: str, buyer_id: str) -> Claim | None:
    """The latest claim of a buyer under a policy, whatever its state."""
    claims = uow.claims.claims_of(policy_id, buyer_id)
    return claims[-1] if claims else None
