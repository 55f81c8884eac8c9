"""Bodies of the receivables endpoints: ledger, imports, exposure, aged balance, order checks, alerts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from tradecover.api.schemas import MoneyBody, Strict
from tradecover.domain.buyers import Buyer
from tradecover.domain.exposure import BuyerExposure, OrderCheck
from tradecover.domain.monitoring import Alert
from tradecover.domain.receivables import AGE_BUCKETS, AgedBalance, Dispute, Invoice, Payment, PaymentBehaviour
from tradecover.services.ledger_ports import AlertDelivery, AlertPreferences, AlertSubscription

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class InvoiceIn(Strict):
    buyer_id: str
    kind: Literal["invoice", "credit_note"] = "invoice"
    number: Text100
    issue_date: date
    delivery_date: date | None = Field(default=None, description="the issue date when absent")
    due_date: date | None = Field(default=None, description="required for an invoice")
    amount_excl_vat: MoneyBody
    vat_amount: MoneyBody
    invoice: str | None = Field(default=None, max_length=100, description="a credit note's invoice number")
    order_reference: str | None = Field(default=None, max_length=100)
    factor: str | None = Field(
        default=None, max_length=200, description="the factor organisation's exact name the invoice is assigned to"
    )
    factor_id: str | None = Field(default=None, max_length=36, description="the factor organisation it is assigned to")
    with_recourse: bool = Field(default=True, description="when assigned: factoring with recourse")


class InvoiceOut(BaseModel):
    id: str
    policy_id: str
    buyer_id: str
    kind: str
    number: str
    issue_date: date
    delivery_date: date
    due_date: date
    amount_excl_vat: MoneyBody
    vat_amount: MoneyBody
    amount_incl_vat: MoneyBody
    invoice: str | None
    order_reference: str | None
    source: str | None
    recorded_at: datetime
    reversed: bool = False

    @classmethod
    def of(cls, i: Invoice, reversed_ids: frozenset[str] = frozenset()) -> InvoiceOut:
        return cls(
            id=i.id,
            policy_id=i.policy_id,
            buyer_id=i.buyer_id,
            kind=i.kind.value,
            number=i.number,
            issue_date=i.issue_date,
            delivery_date=i.delivery_date,
            due_date=i.due_date,
            amount_excl_vat=MoneyBody.of(i.amount_excl_vat),
            vat_amount=MoneyBody.of(i.vat_amount),
            amount_incl_vat=MoneyBody.of(i.amount_incl_vat),
            invoice=i.invoice_reference,
            order_reference=i.order_reference,
            source=i.source,
            recorded_at=i.recorded_at,
            reversed=i.id in reversed_ids,
        )


class PaymentIn(Strict):
    buyer_id: str
    amount: MoneyBody = Field(description="cash received, including VAT")
    received_on: date
    reference: str | None = Field(default=None, max_length=200, description="makes a re-send idempotent")
    invoices: list[Text100] = Field(default_factory=list, max_length=1000, description="settled first, in this order")


class PaymentOut(BaseModel):
    id: str
    policy_id: str
    buyer_id: str
    amount: MoneyBody
    received_on: date
    reference: str | None
    invoices: list[str]
    recorded_at: datetime
    reversed: bool = False

    @classmethod
    def of(cls, p: Payment, reversed_ids: frozenset[str] = frozenset()) -> PaymentOut:
        return cls(
            id=p.id,
            policy_id=p.policy_id,
            buyer_id=p.buyer_id,
            amount=MoneyBody.of(p.amount),
            received_on=p.received_on,
            reference=p.reference,
            invoices=list(p.invoices),
            recorded_at=p.recorded_at,
            reversed=p.id in reversed_ids,
        )


class DisputeIn(Strict):
    buyer_id: str
    invoice: Text100
    date: date
    reason: str | None = Field(default=None, max_length=500)


class DisputeOut(BaseModel):
    id: str
    buyer_id: str
    invoice: str
    opened_on: date
    resolved_on: date | None
    reason: str | None

    @classmethod
    def of(cls, d: Dispute) -> DisputeOut:
        return cls(
            id=d.id,
            buyer_id=d.buyer_id,
            invoice=d.invoice_number,
            opened_on=d.opened_on,
            resolved_on=d.resolved_on,
            reason=d.reason,
        )


class ReversalIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class FactorAssignmentIn(Strict):
    buyer_id: str
    invoice: Text100
    factor_id: str | None = Field(default=None, max_length=36, description="the factor organisation")
    factor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="the factor organisation's exact name (when factor_id is not given)"
    )
    with_recourse: bool = Field(default=True, description="factoring with recourse on the insured")
    date: date


class ImportLineOut(BaseModel):
    file: str
    line: int
    kind: str
    reference: str | None = None
    outcome: str
    code: str | None = None
    field: str | None = None
    message: str | None = None


class LedgerImportOut(BaseModel):
    file: str
    format: str
    policy_id: str
    dry_run: bool
    partial: bool
    applied: bool
    created: int
    duplicates: int
    refused: int
    warnings: int
    buyers_created: int
    unmapped_customers: list[dict[str, str | None]]
    reconciliation: list[dict[str, Any]]
    lines: list[ImportLineOut]
    import_id: str | None


class ExposureLineOut(BaseModel):
    invoice_id: str
    number: str
    delivery_date: date
    due_date: date
    currency: str
    open_excl_vat: MoneyBody
    eligible: bool = Field(
        description="meets the cover conditions; how much of it is covered depends on the buyer's limit periods "
        "(the buyer's covered amount)"
    )
    reason: str | None = Field(description="why it is outside the cover conditions")


class BuyerExposureOut(BaseModel):
    buyer_id: str
    buyer_name: str
    outstanding: MoneyBody
    covered: MoneyBody
    uncovered: MoneyBody
    limit_in_force: MoneyBody
    utilisation: Decimal | None = Field(description="outstanding ÷ limit in force")
    unconverted_invoices: list[str]
    lines: list[ExposureLineOut] | None = None

    @classmethod
    def of(cls, buyer: Buyer, e: BuyerExposure, *, with_lines: bool) -> BuyerExposureOut:
        return cls(
            buyer_id=buyer.id,
            buyer_name=buyer.legal_name,
            outstanding=MoneyBody.of(e.outstanding),
            covered=MoneyBody.of(e.covered),
            uncovered=MoneyBody.of(e.uncovered),
            limit_in_force=MoneyBody.of(e.limit_in_force),
            utilisation=e.utilisation,
            unconverted_invoices=list(e.unconverted),
            lines=None
            if not with_lines
            else [
                ExposureLineOut(
                    invoice_id=line.invoice_id,
                    number=line.number,
                    delivery_date=line.delivery_date,
                    due_date=line.due_date,
                    currency=line.currency,
                    open_excl_vat=MoneyBody.of(line.open_net),
                    eligible=line.reason is None,
                    reason=None if line.reason is None else line.reason.value,
                )
                for line in e.lines
            ],
        )


class PolicyExposureOut(BaseModel):
    policy_id: str
    policy_number: str
    on: date
    currency: str
    outstanding: MoneyBody
    covered: MoneyBody
    uncovered: MoneyBody
    buyers: list[BuyerExposureOut]


class AgedOut(BaseModel):
    not_due: MoneyBody
    days_1_30: MoneyBody
    days_31_60: MoneyBody
    days_61_90: MoneyBody
    over_90: MoneyBody
    total: MoneyBody
    unapplied_cash: MoneyBody

    @classmethod
    def of(cls, a: AgedBalance) -> AgedOut:
        b = a.buckets
        return cls(
            not_due=MoneyBody.of(b["not_due"]),
            days_1_30=MoneyBody.of(b["1_30"]),
            days_31_60=MoneyBody.of(b["31_60"]),
            days_61_90=MoneyBody.of(b["61_90"]),
            over_90=MoneyBody.of(b["over_90"]),
            total=MoneyBody.of(a.total),
            unapplied_cash=MoneyBody.of(a.on_account),
        )


AGE_COLUMNS = tuple(name for name, _, _ in AGE_BUCKETS)


class BuyerAgedOut(BaseModel):
    buyer_id: str
    buyer_name: str
    aged: AgedOut
    dso_days: Decimal | None


class AgedReportOut(BaseModel):
    policy_id: str
    policy_number: str
    on: date
    currency: str
    total: AgedOut
    dso_days: Decimal | None
    buyers: list[BuyerAgedOut]
    other_currencies: dict[str, AgedOut]


class BehaviourOut(BaseModel):
    trading_since: date | None
    invoices_paid: int
    invoices_paid_late: int
    share_paid_late: Decimal | None
    average_days_beyond_terms: Decimal
    max_days_overdue_12_months: int
    overdue_open: MoneyBody | None = None

    @classmethod
    def of(cls, b: PaymentBehaviour) -> BehaviourOut:
        return cls(
            trading_since=b.trading_since,
            invoices_paid=b.invoices_paid,
            invoices_paid_late=b.invoices_paid_late,
            share_paid_late=b.share_paid_late,
            average_days_beyond_terms=b.average_days_beyond_terms,
            max_days_overdue_12_months=b.max_days_overdue_12_months,
        )


class MarketOut(BaseModel):
    insureds_reporting: int
    invoices_paid: int
    invoices_paid_late: int
    average_days_beyond_terms: Decimal | None
    overdue_notifications: int


class PaymentExperienceOut(BaseModel):
    buyer_id: str
    on: date
    own: BehaviourOut
    market: MarketOut = Field(description="across every insured, anonymised: counts only")


class OrderCheckIn(Strict):
    buyer_id: str
    amount: MoneyBody = Field(description="the order, excluding VAT")
    reference: str | None = Field(
        default=None,
        max_length=100,
        description="keep the order open (until invoiced or 30 days) so later checks count it",
    )


class OrderCheckOut(BaseModel):
    status: str
    covered: MoneyBody
    headroom: MoneyBody
    limit_in_force: MoneyBody
    unpaid: MoneyBody
    open_orders: MoneyBody
    reasons: list[str]

    @classmethod
    def of(cls, c: OrderCheck) -> OrderCheckOut:
        return cls(
            status=c.status.value,
            covered=MoneyBody.of(c.covered),
            headroom=MoneyBody.of(c.headroom),
            limit_in_force=MoneyBody.of(c.limit_in_force),
            unpaid=MoneyBody.of(c.unpaid),
            open_orders=MoneyBody.of(c.open_orders),
            reasons=[r.value for r in c.reasons],
        )


class AlertOut(BaseModel):
    id: str
    organisation_id: str
    policy_id: str | None
    kind: str
    buyer_id: str | None
    message: str
    due_date: date | None
    state: str
    created_at: datetime

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            id=a.id,
            organisation_id=a.organisation_id,
            policy_id=a.policy_id,
            kind=a.kind.value,
            buyer_id=a.buyer_id,
            message=a.message,
            due_date=a.due_date,
            state=a.state.value,
            created_at=a.created_at,
        )


class AlertStateIn(Strict):
    state: Literal["seen", "closed"]


class PreferencesIn(Strict):
    utilisation_threshold: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$")
    ] = Field(description='share of the limit, e.g. "0.80"')
    deadline_warning_days: int = Field(ge=0, le=90)


class PreferencesOut(BaseModel):
    utilisation_threshold: Decimal
    deadline_warning_days: int

    @classmethod
    def of(cls, p: AlertPreferences) -> PreferencesOut:
        return cls(utilisation_threshold=p.utilisation_threshold, deadline_warning_days=p.deadline_warning_days)


class SubscriptionIn(Strict):
    channel: Literal["email", "webhook"]
    target: str = Field(max_length=500, description="an e-mail address or an http(s) URL")
    kinds: list[str] = Field(default_factory=list, max_length=20, description="alert kinds; empty: all")


class SubscriptionOut(BaseModel):
    id: str
    policy_id: str
    channel: str
    target: str
    kinds: list[str]
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="the webhook signing secret, shown once at creation")

    @classmethod
    def of(cls, s: AlertSubscription, *, with_secret: bool = False) -> SubscriptionOut:
        return cls(
            id=s.id,
            policy_id=s.policy_id,
            channel=s.channel,
            target=s.target,
            kinds=list(s.kinds),
            active=s.active,
            created_at=s.created_at,
            secret=s.secret if with_secret else None,
        )


class DeliveryOut(BaseModel):
    id: str
    alert_id: str
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, d: AlertDelivery) -> DeliveryOut:
        return cls(**d.__dict__)


class RateIn(Strict):
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    quote: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    on: date
    rate: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,12}(\.[0-9]{1,10})?$")]


class RatesIn(Strict):
    rates: list[RateIn] = Field(min_length=1, max_length=10_000)
