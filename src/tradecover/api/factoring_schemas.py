"""Bodies of the factoring endpoints: delegation endorsements and what a factor sees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from tradecover.api.schemas import MoneyBody, Strict
from tradecover.services.factoring import DelegationView
from tradecover.services.factoring_views import AssignedInvoiceView, FactorClaimView


class DelegationIn(Strict):
    factor_id: str = Field(max_length=36, description="the factor organisation named loss payee")
    start_date: date
    end_date: date | None = Field(default=None, description="the first day it no longer applies; none: open-ended")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DelegationOut(BaseModel):
    id: str
    policy_id: str
    factor_id: str
    factor_name: str
    start_date: date
    end_date: date | None
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, v: DelegationView) -> DelegationOut:
        d = v.delegation
        return cls(
            id=d.id,
            policy_id=d.policy_id,
            factor_id=d.factor_id,
            factor_name=v.factor_name,
            start_date=d.start_date,
            end_date=d.end_date,
            reason=d.reason,
            created_at=d.created_at,
        )


class AssignedInvoiceOut(BaseModel):
    id: str = Field(description="the assignment")
    invoice_id: str
    number: str
    policy_number: str
    insured_name: str
    buyer_id: str
    buyer_name: str
    issue_date: date
    due_date: date
    assigned_on: date
    with_recourse: bool
    amount_excl_vat: MoneyBody
    on: date = Field(description="the date the cover is given for (today in the policy's time zone)")
    unpaid_amount: MoneyBody = Field(description="what remains unpaid, excluding VAT, policy currency")
    covered_amount: MoneyBody = Field(description="its part of the buyer's covered exposure")
    cover_status: str = Field(description="covered, partly_covered, not_covered or settled")
    reason: str | None = Field(description="why it is not covered")

    @classmethod
    def of(cls, v: AssignedInvoiceView) -> AssignedInvoiceOut:
        return cls(
            id=v.assignment.id,
            invoice_id=v.invoice.id,
            number=v.invoice.number,
            policy_number=v.policy_number,
            insured_name=v.insured_name,
            buyer_id=v.buyer_id,
            buyer_name=v.buyer_name,
            issue_date=v.invoice.issue_date,
            due_date=v.invoice.due_date,
            assigned_on=v.assignment.assigned_on,
            with_recourse=v.assignment.with_recourse,
            amount_excl_vat=MoneyBody.of(v.invoice.amount_excl_vat),
            on=v.on,
            unpaid_amount=MoneyBody.of(v.unpaid),
            covered_amount=MoneyBody.of(v.covered),
            cover_status=v.cover_status,
            reason=v.reason,
        )


class FactorClaimOut(BaseModel):
    id: str
    reference: str
    status: str
    cause: str
    date_of_loss: date
    policy_number: str
    insured_name: str
    buyer_name: str
    invoices: list[str] = Field(description="the factor's invoices in the claim")
    settlement_status: str | None
    share_amount: MoneyBody | None = Field(description="what the factor is paid under the latest settlement")
    statement_url: str

    @classmethod
    def of(cls, v: FactorClaimView, prefix: str) -> FactorClaimOut:
        c = v.claim
        return cls(
            id=c.id,
            reference=c.reference,
            status=c.status.value,
            cause=c.cause.value,
            date_of_loss=c.date_of_loss,
            policy_number=v.policy_number,
            insured_name=v.insured_name,
            buyer_name=v.buyer_name,
            invoices=list(v.invoice_numbers),
            settlement_status=v.settlement_status,
            share_amount=None if v.share is None else MoneyBody.of(v.share),
            statement_url=f"{prefix}/factor/claims/{c.id}/statement.pdf",
        )
