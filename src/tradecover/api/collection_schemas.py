"""Bodies of the collection endpoints: cases, actions, costs, receipts, closure, penalties, base rates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from tradecover.api.schemas import MoneyBody, Strict
from tradecover.domain.collection import (
    ActionKind,
    CaseAction,
    CaseBalance,
    CaseCost,
    CaseStage,
    ClosureOutcome,
    CollectionCase,
    CostKind,
    Receipt,
)
from tradecover.domain.late_payment import Penalty
from tradecover.domain.money import Money
from tradecover.services.collection import BaseRateLine, CaseView, ClaimFiling

Kind = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


def _one_of(kind: type[ActionKind] | type[CostKind] | type[ClosureOutcome]) -> str:
    return "one of " + ", ".join(k.value for k in kind)


class CaseSummaryOut(BaseModel):
    id: str
    reference: str
    policy_id: str
    buyer_id: str
    organisation_id: str = Field(description="the insured")
    currency: str
    stage: CaseStage
    opened_on: date
    commission_rate: Decimal = Field(description="taken on what is recovered of non-guaranteed debts")
    handed_over: MoneyBody = Field(description="what the buyer owed on the debts when handed over, incl. VAT")
    debt_count: int
    closed_on: date | None
    outcome: ClosureOutcome | None

    @classmethod
    def of(cls, c: CollectionCase) -> CaseSummaryOut:
        handed = Money.zero(c.currency)
        for d in c.debts:
            handed = handed + d.unpaid_amount
        return cls(
            id=c.id,
            reference=c.reference,
            policy_id=c.policy_id,
            buyer_id=c.buyer_id,
            organisation_id=c.organisation_id,
            currency=c.currency,
            stage=c.stage,
            opened_on=c.opened_on,
            commission_rate=c.commission_rate,
            handed_over=MoneyBody.of(handed),
            debt_count=len(c.debts),
            closed_on=c.closed_on,
            outcome=c.outcome,
        )


class DebtOut(BaseModel):
    invoice_id: str
    number: str
    issue_date: date
    due_date: date
    amount_incl_vat: MoneyBody
    unpaid_at_hand_over: MoneyBody
    remaining: MoneyBody = Field(
        description="after the receipts allocated to it and what the ledger shows paid since, incl. VAT"
    )
    guaranteed: bool = Field(description="covered and notified in time: collected free of commission")
    notification_id: str | None


class ActionIn(Strict):
    kind: Kind = Field(description=_one_of(ActionKind))
    on: date = Field(description="when it was done: not in the future, not before the case opened")
    note: str | None = Field(default=None, max_length=2000)


class ActionOut(BaseModel):
    id: str
    kind: ActionKind
    on: date
    author: str
    note: str | None
    letter_id: str | None = Field(description="the letter sent with it (a formal notice)")
    created_at: datetime

    @classmethod
    def of(cls, a: CaseAction) -> ActionOut:
        return cls(
            id=a.id, kind=a.kind, on=a.on, author=a.author, note=a.note, letter_id=a.letter_id, created_at=a.created_at
        )


class CostIn(Strict):
    kind: Kind = Field(description=_one_of(CostKind))
    amount: MoneyBody = Field(description="in the case's currency")
    incurred_on: date
    description: str | None = Field(default=None, max_length=500)


class CostOut(BaseModel):
    id: str
    kind: CostKind
    amount: MoneyBody
    incurred_on: date
    description: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, c: CaseCost) -> CostOut:
        return cls(
            id=c.id,
            kind=c.kind,
            amount=MoneyBody.of(c.amount),
            incurred_on=c.incurred_on,
            description=c.description,
            recorded_at=c.recorded_at,
        )


class ReceiptIn(Strict):
    amount: MoneyBody = Field(description="cash received from the buyer, incl. VAT, at most what remains due")
    received_on: date
    reference: str | None = Field(
        default=None, max_length=200, description="the bank's or cheque's reference: a re-send returns the receipt"
    )


class AllocationOut(BaseModel):
    invoice_id: str
    number: str
    amount: MoneyBody
    guaranteed: bool


class ReceiptOut(BaseModel):
    id: str
    amount: MoneyBody
    received_on: date
    reference: str | None
    allocations: list[AllocationOut] = Field(description="oldest debts first")
    guaranteed: MoneyBody = Field(description="the part settling guaranteed debts: collected free")
    non_guaranteed: MoneyBody
    commission_rate: Decimal
    commission: MoneyBody = Field(description="the insurer's, on the non-guaranteed part")
    ledger_payment_id: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, r: Receipt) -> ReceiptOut:
        return cls(
            id=r.id,
            amount=MoneyBody.of(r.amount),
            received_on=r.received_on,
            reference=r.reference,
            allocations=[
                AllocationOut(
                    invoice_id=line.invoice_id,
                    number=line.number,
                    amount=MoneyBody.of(line.amount),
                    guaranteed=line.guaranteed,
                )
                for line in r.lines
            ],
            guaranteed=MoneyBody.of(r.guaranteed_amount),
            non_guaranteed=MoneyBody.of(r.non_guaranteed_amount),
            commission_rate=r.commission_rate,
            commission=MoneyBody.of(r.commission_amount),
            ledger_payment_id=r.ledger_payment_id,
            recorded_at=r.recorded_at,
        )


class ClosureIn(Strict):
    outcome: Kind = Field(description=_one_of(ClosureOutcome))
    on: date
    reason: str | None = Field(default=None, max_length=500, description="required to close as irrecoverable")


class BalanceOut(BaseModel):
    handed_over: MoneyBody
    received: MoneyBody
    remaining: MoneyBody
    remaining_guaranteed: MoneyBody
    remaining_non_guaranteed: MoneyBody
    received_guaranteed: MoneyBody
    received_non_guaranteed: MoneyBody
    commission: MoneyBody
    costs: MoneyBody
    settled_otherwise: MoneyBody = Field(
        description="settled since the hand-over by the buyer's own payments to the insured, or credit notes"
    )

    @classmethod
    def of(cls, b: CaseBalance) -> BalanceOut:
        return cls(
            handed_over=MoneyBody.of(b.handed_over),
            received=MoneyBody.of(b.received),
            remaining=MoneyBody.of(b.remaining),
            remaining_guaranteed=MoneyBody.of(b.remaining_guaranteed),
            remaining_non_guaranteed=MoneyBody.of(b.remaining_non_guaranteed),
            received_guaranteed=MoneyBody.of(b.received_guaranteed),
            received_non_guaranteed=MoneyBody.of(b.received_non_guaranteed),
            commission=MoneyBody.of(b.commission),
            costs=MoneyBody.of(b.costs),
            settled_otherwise=MoneyBody.of(b.settled_otherwise),
        )


class ClaimFilingOut(BaseModel):
    publication_date: date = Field(description="of the opening judgment, in the BODACC")
    procedure: str
    creditor_abroad: bool
    deadline: date = Field(description="last day to file the claim with the administrator")
    filed_on: date | None
    late: bool

    @classmethod
    def of(cls, f: ClaimFiling, today: date) -> ClaimFilingOut:
        return cls(
            publication_date=f.publication_date,
            procedure=f.procedure.value,
            creditor_abroad=f.creditor_abroad,
            deadline=f.deadline,
            filed_on=f.filed_on,
            late=f.late(today),
        )


class CaseOut(CaseSummaryOut):
    policy_number: str
    buyer_name: str
    closure_reason: str | None
    balance: BalanceOut
    debts: list[DebtOut] = Field(description="oldest first")
    actions: list[ActionOut]
    receipts: list[ReceiptOut]
    costs: list[CostOut]
    administrator_claim: ClaimFilingOut | None = Field(
        description="once the buyer's insolvency is published: the claim-filing deadline and whether it was filed"
    )

    @classmethod
    def of_view(cls, v: CaseView, today: date) -> CaseOut:
        c = v.case
        summary = CaseSummaryOut.of(c).model_dump()
        remaining = v.balance.remaining_by_debt
        return cls(
            **summary,
            policy_number=v.policy_number,
            buyer_name=v.buyer.legal_name,
            closure_reason=c.closure_reason,
            balance=BalanceOut.of(v.balance),
            debts=[
                DebtOut(
                    invoice_id=d.invoice_id,
                    number=d.number,
                    issue_date=d.issue_date,
                    due_date=d.due_date,
                    amount_incl_vat=MoneyBody.of(d.amount_incl_vat),
                    unpaid_at_hand_over=MoneyBody.of(d.unpaid_amount),
                    remaining=MoneyBody.of(remaining[d.invoice_id]),
                    guaranteed=d.guaranteed,
                    notification_id=d.notification_id,
                )
                for d in c.debts
            ],
            actions=[ActionOut.of(a) for a in v.actions],
            receipts=[ReceiptOut.of(r) for r in v.receipts],
            costs=[CostOut.of(x) for x in v.costs],
            administrator_claim=None if v.claim_filing is None else ClaimFilingOut.of(v.claim_filing, today),
        )


class SegmentOut(BaseModel):
    first_day: date
    last_day: date
    days: int
    annual_rate: Decimal = Field(description="ECB base rate of the half-year + 10 points, a fraction")


class PenaltyOut(BaseModel):
    invoice_id: str
    number: str
    due_date: date
    unpaid: MoneyBody = Field(description="what remains unpaid of the debt, incl. VAT: the interest runs on it")
    days_late: int
    segments: list[SegmentOut]
    interest: MoneyBody
    fixed_indemnity: MoneyBody = Field(description="40 EUR per invoice (art. D441-5 C. com.)")
    total: MoneyBody = Field(description="interest + fixed indemnity")


class PenaltiesOut(BaseModel):
    case_id: str
    reference: str
    on: date
    invoices: list[PenaltyOut]
    total_unpaid: MoneyBody
    total_interest: MoneyBody
    total_fixed_indemnity: MoneyBody
    total_claimed: MoneyBody

    @classmethod
    def of(cls, case: CollectionCase, on: date, lines: list[tuple[str, str, Penalty]]) -> PenaltiesOut:
        zero = Money.zero(case.currency)
        unpaid = interest = indemnity = zero
        out: list[PenaltyOut] = []
        for invoice_id, number, p in lines:
            unpaid, interest, indemnity = unpaid + p.amount, interest + p.interest, indemnity + p.fixed_indemnity
            out.append(
                PenaltyOut(
                    invoice_id=invoice_id,
                    number=number,
                    due_date=p.due_date,
                    unpaid=MoneyBody.of(p.amount),
                    days_late=p.days_late,
                    segments=[
                        SegmentOut(first_day=s.start, last_day=s.last_day, days=s.days, annual_rate=s.annual_rate)
                        for s in p.segments
                    ],
                    interest=MoneyBody.of(p.interest),
                    fixed_indemnity=MoneyBody.of(p.fixed_indemnity),
                    total=MoneyBody.of(p.total),
                )
            )
        return cls(
            case_id=case.id,
            reference=case.reference,
            on=on,
            invoices=out,
            total_unpaid=MoneyBody.of(unpaid),
            total_interest=MoneyBody.of(interest),
            total_fixed_indemnity=MoneyBody.of(indemnity),
            total_claimed=MoneyBody.of(unpaid + interest + indemnity),
        )


class FormalNoticeIn(Strict):
    on: date | None = Field(default=None, description="the letter's date; default: today")
    language: Annotated[str, StringConstraints(min_length=2, max_length=2)] = Field(
        default="fr", description="fr or en"
    )
    note: str | None = Field(default=None, max_length=2000)


class BaseRateIn(Strict):
    effective_date: date
    rate: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^-?[0-9]{1,3}(\.[0-9]{1,8})?$")] = Field(
        description='the ECB main refinancing rate as a fraction: "0.0215" for 2.15 %'
    )


class BaseRateOut(BaseModel):
    effective_date: date
    rate: Decimal = Field(description="a fraction: 0.0215 for 2.15 %")
    source: str = Field(description="ecb (shipped with tradecover) or configured")
    recorded_by: str | None = None

    @classmethod
    def of(cls, line: BaseRateLine) -> BaseRateOut:
        return cls(effective_date=line.effective_date, rate=line.rate, source=line.source, recorded_by=line.recorded_by)
