"""Bodies of the overdue-notification, claim and settlement endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from tradecover.api.schemas import MoneyBody, Strict
from tradecover.domain.claims import Claim, ClaimDocument, ClaimMovement, ClaimRecovery, ClaimSettlement
from tradecover.domain.overdues import NotificationLine, OverdueNotification, PaymentTermExtension
from tradecover.services.claims import ClaimView, Computation

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class NotificationIn(Strict):
    buyer_id: str
    invoices: list[Text100] | None = Field(
        default=None, max_length=10_000, description="invoice numbers; none: every overdue unpaid invoice"
    )


class NotificationLineOut(BaseModel):
    invoice_id: str
    number: str
    status: str = Field(description="accepted | refused")
    code: str | None = Field(description="why it was refused, e.g. overdue.deadline_passed (the cover is lost)")
    detail: str | None
    due_date: date
    deadline: date | None
    unpaid_incl_vat: MoneyBody
    unpaid_excl_vat: MoneyBody

    @classmethod
    def of(cls, line: NotificationLine) -> NotificationLineOut:
        return cls(
            invoice_id=line.invoice_id,
            number=line.invoice_number,
            status=line.verdict.value,
            code=line.refusal_code,
            detail=line.detail,
            due_date=line.due_date,
            deadline=line.deadline,
            unpaid_incl_vat=MoneyBody.of(line.unpaid_gross),
            unpaid_excl_vat=MoneyBody.of(line.unpaid_net),
        )


class NotificationOut(BaseModel):
    id: str
    policy_id: str
    buyer_id: str
    notified_on: date
    status: str = Field(description="accepted | partially_accepted | refused")
    recorded_by: str
    recorded_at: datetime
    invoices: list[NotificationLineOut]
    collection_case_id: str | None = None

    @classmethod
    def of(cls, n: OverdueNotification, case_id: str | None = None) -> NotificationOut:
        return cls(
            id=n.id,
            policy_id=n.policy_id,
            buyer_id=n.buyer_id,
            notified_on=n.notified_on,
            status=n.status.value,
            recorded_by=n.recorded_by,
            recorded_at=n.recorded_at,
            invoices=[NotificationLineOut.of(line) for line in n.lines],
            collection_case_id=case_id,
        )


class ExtensionIn(Strict):
    buyer_id: str
    invoice_number: Text100
    new_due_date: date
    reason: str | None = Field(default=None, max_length=500)


class ExtensionOut(BaseModel):
    id: str
    policy_id: str
    buyer_id: str
    invoice_number: str
    original_due_date: date
    new_due_date: date
    granted_on: date
    within_allowance: bool = Field(description="false: beyond the allowed extension, the invoice is not covered")
    reason: str | None

    @classmethod
    def of(cls, e: PaymentTermExtension) -> ExtensionOut:
        return cls(
            id=e.id,
            policy_id=e.policy_id,
            buyer_id=e.buyer_id,
            invoice_number=e.invoice_number,
            original_due_date=e.original_due_date,
            new_due_date=e.new_due_date,
            granted_on=e.granted_on,
            within_allowance=e.within_allowance,
            reason=e.reason,
        )


class ClaimIn(Strict):
    policy_id: str
    buyer_id: str


class DocumentOut(BaseModel):
    id: str
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def of(cls, d: ClaimDocument) -> DocumentOut:
        return cls(
            id=d.id,
            kind=d.kind.value,
            filename=d.filename,
            content_type=d.content_type,
            size=d.size,
            sha256=d.sha256,
            uploaded_by=d.uploaded_by,
            uploaded_at=d.uploaded_at,
        )


class SettlementOut(BaseModel):
    id: str
    status: str
    computed_on: date
    computed_by: str
    approved_by: str | None
    cause: str
    date_of_loss: date
    loss: MoneyBody
    covered_loss: MoneyBody
    indemnity: MoneyBody
    statement: dict[str, Any]

    @classmethod
    def of(cls, s: ClaimSettlement) -> SettlementOut:
        return cls(
            id=s.id,
            status=s.status.value,
            computed_on=s.computed_on,
            computed_by=s.computed_by,
            approved_by=s.approved_by,
            cause=s.cause.value,
            date_of_loss=s.date_of_loss,
            loss=MoneyBody.of(s.loss),
            covered_loss=MoneyBody.of(s.covered_loss),
            indemnity=MoneyBody.of(s.indemnity),
            statement=dict(s.statement),
        )


class RecoveryOut(BaseModel):
    id: str
    received_on: date
    amount: MoneyBody
    insurer_share: MoneyBody
    insured_share: MoneyBody
    rule: str
    source: str

    @classmethod
    def of(cls, r: ClaimRecovery) -> RecoveryOut:
        return cls(
            id=r.id,
            received_on=r.received_on,
            amount=MoneyBody.of(r.amount),
            insurer_share=MoneyBody.of(r.insurer_share),
            insured_share=MoneyBody.of(r.insured_share),
            rule=r.rule,
            source=r.source,
        )


class MovementOut(BaseModel):
    transaction_id: str
    kind: str
    account: str
    amount: MoneyBody = Field(description="signed, from the account's point of view; a transaction sums to zero")
    on: date
    reference: str

    @classmethod
    def of(cls, m: ClaimMovement) -> MovementOut:
        return cls(
            transaction_id=m.transaction_id,
            kind=m.kind,
            account=m.account,
            amount=MoneyBody.of(m.amount),
            on=m.on,
            reference=m.reference,
        )


class ClaimOut(BaseModel):
    id: str
    reference: str
    policy_id: str
    buyer_id: str
    notification_id: str
    cause: str
    date_of_loss: date
    opened_on: date
    opened_by: str
    status: str

    @classmethod
    def of(cls, c: Claim) -> ClaimOut:
        return cls(
            id=c.id,
            reference=c.reference,
            policy_id=c.policy_id,
            buyer_id=c.buyer_id,
            notification_id=c.notification_id,
            cause=c.cause.value,
            date_of_loss=c.date_of_loss,
            opened_on=c.opened_on,
            opened_by=c.opened_by,
            status=c.status.value,
        )


class ClaimDetailOut(ClaimOut):
    documents: list[DocumentOut]
    missing_documents: list[str]
    settlements: list[SettlementOut]
    recoveries: list[RecoveryOut]
    movements: list[MovementOut]

    @classmethod
    def of_view(cls, v: ClaimView) -> ClaimDetailOut:
        base = ClaimOut.of(v.claim).model_dump()
        return cls(
            **base,
            documents=[DocumentOut.of(d) for d in v.documents],
            missing_documents=[m.value for m in v.missing],
            settlements=[SettlementOut.of(s) for s in v.settlements],
            recoveries=[RecoveryOut.of(r) for r in v.recoveries],
            movements=[MovementOut.of(m) for m in v.movements],
        )


class StatementLineOut(BaseModel):
    code: str
    label: str
    rule: str
    amount: str | None


class ComputationOut(BaseModel):
    claim_id: str
    status: str = Field(description="settled | awaiting_approval | refused | pending | preview")
    code: str | None = None
    message: str | None = None
    missing_documents: list[str] = []
    cause: str | None = None
    date_of_loss: date | None = None
    loss: MoneyBody | None = None
    covered_loss: MoneyBody | None = None
    indemnity: MoneyBody | None = None
    lines: list[StatementLineOut] = []
    payees: list[dict[str, str]] = []
    settlement_id: str | None = None

    @classmethod
    def of(
        cls,
        claim_id: str,
        status: str,
        c: Computation | None,
        *,
        code: str | None = None,
        message: str | None = None,
        missing: list[str] | None = None,
        settlement_id: str | None = None,
    ) -> ComputationOut:
        if c is None:
            return cls(claim_id=claim_id, status=status, code=code, message=message, missing_documents=missing or [])
        i = c.indemnity
        return cls(
            claim_id=claim_id,
            status=status,
            code=code,
            message=message,
            missing_documents=missing or [],
            cause=c.event.cause.value,
            date_of_loss=c.event.date_of_loss,
            loss=MoneyBody.of(i.loss),
            covered_loss=MoneyBody.of(i.covered_loss),
            indemnity=MoneyBody.of(i.indemnity),
            lines=[
                StatementLineOut(
                    code=line.code,
                    label=line.label,
                    rule=line.rule,
                    amount=None if line.amount is None else line.amount.quantize_str(),
                )
                for line in i.lines
            ],
            payees=[{"name": p.name, "role": p.role, "amount": p.amount.quantize_str()} for p in i.payees],
            settlement_id=settlement_id,
        )


class ApprovalIn(Strict):
    approve: bool
    reason: str = Field(min_length=1, max_length=500)
