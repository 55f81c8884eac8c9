"""What a factor sees: the cover of the invoices assigned to it and the claims on them, nothing else.

A factor's user reads only through these use cases; every other use case keeps treating it as a
tenant with no policy, no buyer and no claim of its own (it sees nothing of the insureds).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from tradecover.domain.claims import Claim, SettlementStatus
from tradecover.domain.errors import NotFound
from tradecover.domain.money import Money
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import Invoice
from tradecover.services.authorization import Actor
from tradecover.services.exposure import exposures_of_policy
from tradecover.services.factoring import require_factor
from tradecover.services.factoring_ports import FactoredInvoice
from tradecover.services.ledger_ports import FactorAssignment
from tradecover.services.overdues import policy_today
from tradecover.services.ports import UnitOfWork


class CoverStatus:
    COVERED = "covered"
    PARTLY_COVERED = "partly_covered"
    NOT_COVERED = "not_covered"
    SETTLED = "settled"  # nothing remains unpaid (paid, credited or reversed)


@dataclass(frozen=True)
class AssignedInvoiceView:
    """One invoice assigned to the factor, with its cover on ``on`` (policy currency, excluding VAT)."""

    assignment: FactorAssignment
    policy_id: str
    policy_number: str
    insured_name: str
    buyer_id: str
    buyer_name: str
    invoice: Invoice
    on: date
    unpaid: Money
    covered: Money
    cover_status: str
    reason: str | None  # why it is not covered, when it is not


def _names(uow: UnitOfWork, policy: Policy) -> str:
    holder = uow.organisations.get(policy.policyholder_id)
    return holder.name if holder is not None else policy.policyholder_id


def assigned_invoices(uow: UnitOfWork, clock: Clock, actor: Actor) -> list[AssignedInvoiceView]:
    """The factor's invoices, every insured's, with their cover status and covered amount today.

    The buyer's covered exposure (DOMAIN.md §6) is shared over its covered unpaid invoices in proportion
    to what remains unpaid of each (the rule the indemnity split follows): an assigned invoice's covered
    amount is its part.
    """
    factor_id = require_factor(actor)
    by_policy: dict[str, list[FactoredInvoice]] = defaultdict(list)
    for item in uow.factoring.assigned_to(factor_id):
        by_policy[item.policy_id].append(item)
    out: list[AssignedInvoiceView] = []
    for policy_id, items in by_policy.items():
        policy = uow.policies.get(policy_id)
        if policy is None:
            continue
        on = policy_today(uow, clock, policy)
        buyer_ids = sorted({i.buyer_id for i in items})
        exposure = exposures_of_policy(uow, policy, on=on, buyer_ids=buyer_ids)
        insured = _names(uow, policy)
        per_invoice: dict[str, tuple[Money, Money, str | None]] = {}
        buyer_names: dict[str, str] = {}
        invoices: dict[str, Invoice] = {}
        for buyer, buyer_exposure in exposure.buyers:
            buyer_names[buyer.id] = buyer.legal_name
            eligible = [line for line in buyer_exposure.lines if line.reason is None]
            weights = [max(line.open_net.to_minor(), 0) for line in eligible]
            covered = buyer_exposure.covered
            parts = (
                covered.allocate(weights)
                if covered.is_positive() and any(weights)
                else [Money.zero(policy.currency)] * len(eligible)
            )
            for line, part in zip(eligible, parts, strict=True):
                per_invoice[line.invoice_id] = (line.open_net, part, None)
            for line in buyer_exposure.lines:
                if line.reason is not None:
                    per_invoice[line.invoice_id] = (line.open_net, Money.zero(policy.currency), line.reason.value)
        for buyer_invoices in exposure.invoices.values():
            for invoice in buyer_invoices:
                invoices[invoice.id] = invoice
        for item in items:
            found = invoices.get(item.assignment.invoice_id)
            if found is None:
                continue
            invoice = found
            zero = Money.zero(policy.currency)
            unpaid, covered_part, reason = per_invoice.get(invoice.id, (zero, zero, None))
            if not unpaid.is_positive():
                status = CoverStatus.SETTLED
            elif reason is not None or not covered_part.is_positive():
                status = CoverStatus.NOT_COVERED
            elif covered_part == unpaid:
                status = CoverStatus.COVERED
            else:
                status = CoverStatus.PARTLY_COVERED
            out.append(
                AssignedInvoiceView(
                    assignment=item.assignment,
                    policy_id=policy.id,
                    policy_number=policy.number,
                    insured_name=insured,
                    buyer_id=item.buyer_id,
                    buyer_name=buyer_names.get(item.buyer_id, item.buyer_id),
                    invoice=invoice,
                    on=on,
                    unpaid=unpaid,
                    covered=covered_part,
                    cover_status=status,
                    reason=reason,
                )
            )
    out.sort(key=lambda v: (v.policy_number, v.buyer_name, v.invoice.issue_date, v.invoice.number))
    return out


@dataclass(frozen=True)
class FactorClaimView:
    """A claim on a buyer some of whose claimed invoices are assigned to the factor, from the factor's side."""

    claim: Claim
    policy_number: str
    insured_name: str
    buyer_name: str
    invoice_numbers: tuple[str, ...]  # the factor's invoices in the claim
    settlement_status: str | None  # the latest settlement's, if any
    share: Money | None  # what the factor is paid under the latest settlement (None before one)


def _assigned_by_ledger(uow: UnitOfWork, factor_id: str) -> dict[tuple[str, str], dict[str, FactoredInvoice]]:
    out: dict[tuple[str, str], dict[str, FactoredInvoice]] = defaultdict(dict)
    for item in uow.factoring.assigned_to(factor_id):
        out[(item.policy_id, item.buyer_id)][item.assignment.invoice_id] = item
    return out


def _claimed_invoices(uow: UnitOfWork, claim: Claim) -> set[str]:
    return {
        line.invoice_id
        for notification in uow.claims.notifications_of(claim.policy_id, claim.buyer_id)
        for line in notification.accepted
    }


def claim_of_factor(uow: UnitOfWork, actor: Actor, claim_id: str) -> tuple[Claim, Policy]:
    """The claim, if some of its invoices are assigned to the actor's factor; else *not found*."""
    factor_id = require_factor(actor)
    claim = uow.claims.get_claim(claim_id)
    missing = NotFound(f"claim {claim_id} not found", code="claim.not_found", context={"id": claim_id})
    if claim is None:
        raise missing
    assigned = _assigned_by_ledger(uow, factor_id).get((claim.policy_id, claim.buyer_id), {})
    if not assigned or not _claimed_invoices(uow, claim) & assigned.keys():
        raise missing
    policy = uow.policies.get(claim.policy_id)
    if policy is None:
        raise missing
    return claim, policy


def _share(statement: dict[str, Any], factor_id: str, currency: str) -> Money:
    amounts = [
        p["amount"] for p in statement.get("payees", []) if p.get("role") == "factor" and p.get("id") == factor_id
    ]
    return sum((Money.of(str(a), currency) for a in amounts), Money.zero(currency))


def claims_of_factor(uow: UnitOfWork, actor: Actor) -> list[FactorClaimView]:
    """Claims involving the factor's invoices, with its invoices and its share; nothing of the insured's."""
    factor_id = require_factor(actor)
    out: list[FactorClaimView] = []
    for (policy_id, buyer_id), assigned in _assigned_by_ledger(uow, factor_id).items():
        policy = uow.policies.get(policy_id)
        buyer = uow.buyers.get(buyer_id)
        if policy is None:
            continue
        for claim in uow.claims.claims_of(policy_id, buyer_id):
            mine = _claimed_invoices(uow, claim) & assigned.keys()
            if not mine:
                continue
            settlements = uow.claims.settlements_of(claim.id)
            latest = settlements[-1] if settlements else None
            share = None
            if latest is not None:
                share = (
                    _share(dict(latest.statement), factor_id, policy.currency)
                    if latest.status is SettlementStatus.SETTLED
                    else Money.zero(policy.currency)
                )
            invoices, _ = uow.ledger.entries(policy_id, [buyer_id])
            numbers = tuple(sorted(i.number for i in invoices.get(buyer_id, []) if i.id in mine))
            out.append(
                FactorClaimView(
                    claim=claim,
                    policy_number=policy.number,
                    insured_name=_names(uow, policy),
                    buyer_name=buyer.legal_name if buyer is not None else buyer_id,
                    invoice_numbers=numbers,
                    settlement_status=None if latest is None else latest.status.value,
                    share=share,
                )
            )
    out.sort(key=lambda v: v.claim.reference)
    return out
