"""Recoveries on a buyer: before a claim is settled they reduce the loss; after, they are shared (DOMAIN.md §8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tradecover.domain.claims import Claim, ClaimRecovery, ClaimStatus, SettlementStatus, paired
from tradecover.domain.errors import RuleBroken
from tradecover.domain.indemnity import share_recovery
from tradecover.domain.money import Money
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.services.authorization import Actor
from tradecover.services.claims import INSURER_ACCOUNT, claim_invoices, claim_of_buyer, insured_account
from tradecover.services.exposure import RateBook
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id, record


@dataclass(frozen=True)
class SharedRecovery:
    recovery: ClaimRecovery
    claim_reference: str


def apply_recovery(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money,
    received_on: date,
    source: str,
    reference: str,
    payment_id: str | None = None,
) -> SharedRecovery | None:
    """Share cash the buyer paid (the ledger payment ``payment_id``) with the insurer when a claim on it was
    settled.

    Before settlement nothing more is needed: the ledger payment settles the oldest invoices and so
    reduces the loss. After settlement the insurer takes recovery × indemnity ÷ loss (it is subrogated for
    that share) and the insured the rest; the insured, who holds the cash, owes the insurer its share:
    a paired movement records it. Does not commit.
    """
    claim = claim_of_buyer(uow, policy_id, buyer_id)
    if claim is None or claim.status is not ClaimStatus.SETTLED:
        return None
    settled = [s for s in uow.claims.settlements_of(claim.id) if s.status is SettlementStatus.SETTLED]
    if not settled:
        return None
    settlement = settled[-1]
    policy = uow.policies.get(policy_id)
    assert policy is not None
    if amount.currency != settlement.indemnity.currency:
        converted = RateBook(uow, settlement.indemnity.currency, received_on).convert_minor(
            amount.to_minor(), amount.currency
        )
        if converted is None:
            raise RuleBroken(
                f"no {amount.currency}/{settlement.indemnity.currency} rate on or before {received_on}: the "
                f"recovery on claim {claim.reference} cannot be shared; record the exchange rate first",
                code="recovery.no_exchange_rate",
                context={"currency": amount.currency},
            )
        amount = Money.from_minor(converted, settlement.indemnity.currency)
    reduced = None if payment_id is None else _reduced_loss(uow, claim, policy, payment_id)
    if reduced is not None and not reduced.is_positive():
        return None  # the cash paid debts outside the claim: nothing of the indemnified loss was recovered
    already = sum((r.insurer_share for r in uow.claims.recoveries_of(claim.id)), Money.zero(amount.currency))
    shares = share_recovery(
        amount,
        indemnity=settlement.indemnity,
        loss=settlement.loss,
        insurer_recovered=already,
        recovered_on_loss=reduced,
    )
    at = clock.now()
    recovery = ClaimRecovery(
        id=new_id(),
        claim_id=claim.id,
        received_on=received_on,
        amount=amount,
        insurer_share=shares.insurer,
        insured_share=shares.insured,
        rule=shares.rule,
        source=source,
        reference=reference,
        recorded_by=actor.audit_label(policy.policyholder_id),
        recorded_at=at,
    )
    uow.claims.add_recovery(recovery)
    if shares.insurer.is_positive():
        uow.claims.add_movements(
            paired(
                ids=(new_id(), new_id()),
                transaction_id=new_id(),
                claim_id=claim.id,
                kind="recovery_share",
                source=insured_account(policy),
                target=INSURER_ACCOUNT,
                amount=shares.insurer,
                on=received_on,
                reference=recovery.id,
                at=at,
            )
        )
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="claim.recovery_shared",
        object_type="claim",
        object_id=claim.id,
        summary={
            "recovery_id": recovery.id,
            "amount": amount.quantize_str(),
            "insurer_share": shares.insurer.quantize_str(),
            "insured_share": shares.insured.quantize_str(),
        },
        reason=shares.rule,
    )
    return SharedRecovery(recovery, claim.reference)


def _reduced_loss(uow: UnitOfWork, claim: Claim, policy: Policy, payment_id: str) -> Money:
    """How much the payment reduced what remains unpaid of the claim's invoices, excluding VAT."""
    notifications = uow.claims.notifications_of(policy.id, claim.buyer_id)
    after, _ = claim_invoices(uow, claim, policy, date.max, notifications)
    before, _ = claim_invoices(uow, claim, policy, date.max, notifications, excluding_payment=payment_id)
    zero = Money.zero(policy.currency)
    return sum((i.unpaid_excl_vat for i in before), zero) - sum((i.unpaid_excl_vat for i in after), zero)
