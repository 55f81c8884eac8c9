"""Factoring: the policies' delegation endorsements and the invoices assigned to each factor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradecover.domain.factoring import Delegation
from tradecover.persistence import tables as t
from tradecover.services.factoring_ports import FactoredInvoice
from tradecover.services.ledger_ports import FactorAssignment


def _delegation(r: t.PolicyDelegationRow) -> Delegation:
    return Delegation(
        id=r.id,
        policy_id=r.policy_id,
        factor_id=r.factor_id,
        start_date=r.start_date,
        end_date=r.end_date,
        reason=r.reason,
        created_by=r.created_by,
        created_at=r.created_at,
    )


class FactoringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_delegation(self, delegation: Delegation) -> None:
        self.session.add(
            t.PolicyDelegationRow(
                id=delegation.id,
                policy_id=delegation.policy_id,
                factor_id=delegation.factor_id,
                start_date=delegation.start_date,
                end_date=delegation.end_date,
                reason=delegation.reason,
                created_by=delegation.created_by,
                created_at=delegation.created_at,
            )
        )
        self.session.flush()

    def delegations_of(self, policy_id: str, *, lock: bool = False) -> list[Delegation]:
        if lock:
            # The policy row is the lock: two endorsements of one policy are checked one after the other.
            self.session.execute(select(t.PolicyRow.id).where(t.PolicyRow.id == policy_id).with_for_update())
        q = (
            select(t.PolicyDelegationRow)
            .where(t.PolicyDelegationRow.policy_id == policy_id)
            .order_by(t.PolicyDelegationRow.start_date, t.PolicyDelegationRow.created_at, t.PolicyDelegationRow.id)
        )
        return [_delegation(r) for r in self.session.scalars(q)]

    def delegations_to(self, factor_id: str) -> list[Delegation]:
        q = (
            select(t.PolicyDelegationRow)
            .where(t.PolicyDelegationRow.factor_id == factor_id)
            .order_by(t.PolicyDelegationRow.start_date, t.PolicyDelegationRow.id)
        )
        return [_delegation(r) for r in self.session.scalars(q)]

    def assigned_to(self, factor_id: str) -> list[FactoredInvoice]:
        q = (
            select(t.FactorAssignmentRow, t.LedgerInvoiceRow.policy_id, t.LedgerInvoiceRow.buyer_id)
            .join(t.LedgerInvoiceRow, t.LedgerInvoiceRow.id == t.FactorAssignmentRow.invoice_id)
            .where(t.FactorAssignmentRow.factor_id == factor_id)
            .order_by(t.FactorAssignmentRow.assigned_on, t.LedgerInvoiceRow.number, t.FactorAssignmentRow.id)
        )
        return [
            FactoredInvoice(
                policy_id,
                buyer_id,
                FactorAssignment(r.id, r.invoice_id, r.factor, r.assigned_on, r.factor_id, r.with_recourse),
            )
            for r, policy_id, buyer_id in self.session.execute(q).all()
        ]
