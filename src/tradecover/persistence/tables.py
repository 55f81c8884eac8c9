"""The database schema. Money is integer minor units plus an ISO 4217 code."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradecover.persistence.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ID = String(36)


class OrganisationRow(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    siren: Mapped[str | None] = mapped_column(String(9))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MandateRow(Base):
    __tablename__ = "mandates"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    broker_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    digest: Mapped[str] = mapped_column(String(64), doc="SHA-256 of prefix and secret; the secret is never stored")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PortalSessionRow(Base):
    """A portal login: the cookie's ``sid`` is live until it expires or the user logs out (``ended_at``)."""

    __tablename__ = "portal_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BuyerRow(Base):
    __tablename__ = "buyers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    search_name: Mapped[str] = mapped_column(String(300), index=True, doc="upper case, accents removed")
    country: Mapped[str] = mapped_column(String(2))
    naf_code: Mapped[str | None] = mapped_column(String(6))
    legal_form: Mapped[str | None] = mapped_column(String(10))
    legal_status: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("buyers.id"), index=True)
    risk_grade: Mapped[int | None] = mapped_column(Integer)
    probability_of_default: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    city: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inputs_version: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1", doc="bumped whenever a grading input changes"
    )
    graded_version: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="the inputs_version the current grade was computed from"
    )


class BuyerIdentifierRow(Base):
    """One identifier of one buyer; the primary key makes a SIREN name one buyer only."""

    __tablename__ = "buyer_identifiers"
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)


class BookEntryRow(Base):
    __tablename__ = "book_entries"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), primary_key=True, index=True)
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PolicyRow(Base):
    __tablename__ = "policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    policyholder_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Termination (DOMAIN.md §3): from termination_date no new delivery is covered; null: not terminated.
    termination_date: Mapped[date | None] = mapped_column(Date)
    termination_kind: Mapped[str | None] = mapped_column(String(20), doc="notice | insurer_decision")
    termination_reason: Mapped[str | None] = mapped_column(String(500))
    # The notice of non-renewal, if one was given: who, when, why, the deadline it was judged against and
    # the termination date it gave (a later insurer decision may bring termination_date forward).
    notice_given_by: Mapped[str | None] = mapped_column(String(20), doc="insured | insurer")
    notice_given_on: Mapped[date | None] = mapped_column(Date)
    notice_reason: Mapped[str | None] = mapped_column(String(500))
    notice_deadline: Mapped[date | None] = mapped_column(Date)
    notice_effective_date: Mapped[date | None] = mapped_column(Date)


class PolicyPeriodRow(Base):
    """A 12-month policy year, half-open ``[start_date, end_date)``."""

    __tablename__ = "policy_periods"
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)


class PolicyNumberRow(Base):
    __tablename__ = "policy_number_sequences"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class PolicyTermsRow(Base):
    """One version of a policy's terms. Amounts: minor units of ``currency``, insurer's terms, ≥ 0."""

    __tablename__ = "policy_terms_versions"
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    covered_countries: Mapped[str] = mapped_column(String(600), doc="comma-separated ISO 3166 codes")
    indemnity_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    deductible_minor: Mapped[int] = mapped_column(BigInteger)
    deductible_kind: Mapped[str] = mapped_column(String(20))
    non_qualifying_loss_minor: Mapped[int] = mapped_column(BigInteger)
    max_credit_period_days: Mapped[int] = mapped_column(Integer)
    overdue_notification_days: Mapped[int] = mapped_column(Integer)
    insolvency_notification_days: Mapped[int] = mapped_column(Integer)
    waiting_period_days: Mapped[int] = mapped_column(Integer)
    max_liability_multiple: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    max_liability_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    discretionary_limit_minor: Mapped[int] = mapped_column(BigInteger)
    premium_domestic_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    premium_export_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    minimum_premium_minor: Mapped[int] = mapped_column(BigInteger)
    request_fee_minor: Mapped[int] = mapped_column(BigInteger)
    monitoring_fee_minor: Mapped[int] = mapped_column(BigInteger)
    no_claims_bonus_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    no_claims_bonus_threshold: Mapped[Decimal] = mapped_column(ExactDecimal())
    reduction_notice_days: Mapped[int] = mapped_column(Integer)
    max_extension_days: Mapped[int] = mapped_column(Integer)
    renewal_notice_days: Mapped[int] = mapped_column(Integer)
    declaration_frequency: Mapped[str] = mapped_column(String(10), server_default="quarterly")
    declaration_days: Mapped[int] = mapped_column(Integer, server_default="30")
    premium_instalments: Mapped[int] = mapped_column(Integer, server_default="4")


class AuditEventRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the first migration)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenant", "sequence", name="uq_audit_events_tenant_sequence"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(36))
    sequence: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, doc="canonical JSON of the before/after summary")
    reason: Mapped[str | None] = mapped_column(String(500))
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_audit_events_object", AuditEventRow.object_type, AuditEventRow.object_id)


class AuditHeadRow(Base):
    """The last link of each tenant's chain, locked while appending."""

    __tablename__ = "audit_heads"
    tenant: Mapped[str] = mapped_column(String(36), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FinancialStatementRow(Base):
    """A buyer's yearly statement, one row per version. Amounts: minor units of ``currency``; NULL unknown."""

    __tablename__ = "financial_statements"
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), primary_key=True)
    fiscal_year_end: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_assets_minor: Mapped[int | None] = mapped_column(BigInteger)
    equity_minor: Mapped[int | None] = mapped_column(BigInteger)
    turnover_minor: Mapped[int | None] = mapped_column(BigInteger)
    ebit_minor: Mapped[int | None] = mapped_column(BigInteger)
    net_income_minor: Mapped[int | None] = mapped_column(BigInteger)
    working_capital_minor: Mapped[int | None] = mapped_column(BigInteger)
    retained_earnings_minor: Mapped[int | None] = mapped_column(BigInteger)
    current_assets_minor: Mapped[int | None] = mapped_column(BigInteger)
    current_liabilities_minor: Mapped[int | None] = mapped_column(BigInteger)
    total_liabilities_minor: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegalEventRow(Base):
    __tablename__ = "legal_events"
    __table_args__ = (UniqueConstraint("buyer_id", "reference", name="uq_legal_events_buyer_reference"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    nature: Mapped[str] = mapped_column(String(500))
    judgment_date: Mapped[date | None] = mapped_column(Date)
    publication_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    resulting_status: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InsolvencyClockRow(Base):
    __tablename__ = "insolvency_clocks"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    legal_event_id: Mapped[str] = mapped_column(ForeignKey("legal_events.id"), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    publication_date: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date, doc="last day to notify the buyer's invoices")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GradeHistoryRow(Base):
    """Append-only: every grade given, with its factors; one per buyer per grading run."""

    __tablename__ = "grade_history"
    __table_args__ = (UniqueConstraint("buyer_id", "run_id", name="uq_grade_history_buyer_run"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(36))
    grade: Mapped[int] = mapped_column(Integer)
    previous_grade: Mapped[int | None] = mapped_column(Integer)
    probability_of_default: Mapped[Decimal] = mapped_column(ExactDecimal())
    factors: Mapped[str] = mapped_column(Text, doc="JSON: factor name -> log-odds contribution")
    model_version: Mapped[str] = mapped_column(String(80))
    inputs_version: Mapped[int] = mapped_column(Integer)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, doc="raising the same alert twice is a no-op")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    buyer_id: Mapped[str | None] = mapped_column(ForeignKey("buyers.id"), index=True)
    message: Mapped[str] = mapped_column(String(1000))
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    policy_id: Mapped[str | None] = mapped_column(ForeignKey("policies.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), server_default="new", doc="new, seen, closed")
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobRunRow(Base):
    """A batch job's progress: ``cursor`` is committed with each batch, so a killed run resumes."""

    __tablename__ = "job_runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str] = mapped_column(String(80))
    cursor: Mapped[str] = mapped_column(String(36), doc="last buyer id processed")
    processed: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LimitRequestRow(Base):
    """An insured's request (or the engine's referral) and how it was decided. Amounts: minor units of ``currency``."""

    __tablename__ = "limit_requests"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    request_type: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    temporary_until: Mapped[date | None] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(300))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(30), index=True, doc="decided, referred, awaiting_second_approval")
    response: Mapped[str | None] = mapped_column(String(30))
    granted_minor: Mapped[int | None] = mapped_column(BigInteger)
    suggestion_minor: Mapped[int | None] = mapped_column(BigInteger)
    reasons: Mapped[str] = mapped_column(Text, doc="JSON list of reason codes")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_approver: Mapped[str | None] = mapped_column(String(36))
    proposed_response: Mapped[str | None] = mapped_column(String(30))
    proposed_minor: Mapped[int | None] = mapped_column(BigInteger)
    proposed_reason: Mapped[str | None] = mapped_column(String(500))


class LimitDecisionRow(Base):
    """Append-only history of a (policy, buyer) limit: each row is the amount in force from its effective date."""

    __tablename__ = "limit_decisions"
    __table_args__ = (UniqueConstraint("policy_id", "buyer_id", "sequence", name="uq_limit_decisions_sequence"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    request_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    requested_minor: Mapped[int | None] = mapped_column(BigInteger)
    granted_minor: Mapped[int] = mapped_column(BigInteger, doc="the limit in force from effective_date, insurer's view")
    effective_date: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)
    reasons: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(300))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str | None] = mapped_column(ForeignKey("limit_requests.id"))


class CapacityOverrideRow(Base):
    """An underwriter's explicit capacity for a buyer; the latest row wins, earlier ones stay."""

    __tablename__ = "capacity_overrides"
    __table_args__ = (UniqueConstraint("buyer_id", "sequence", name="uq_capacity_overrides_sequence"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer, doc="1, 2, … per buyer: the highest is in force")
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, doc="NULL: back to the capacity function")
    reason: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(300))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProspectQueryRow(Base):
    """When an insured asked what it would get: only to rate-limit limit shopping."""

    __tablename__ = "prospect_queries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(String(36))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# --- Receivables (issue 5) -------------------------------------------------------------------------------


class LedgerInvoiceRow(Base):
    """An invoice or a credit note: immutable once recorded (corrections are credit notes or reversals)."""

    __tablename__ = "ledger_invoices"
    __table_args__ = (
        UniqueConstraint("policy_id", "buyer_id", "kind", "number", name="uq_ledger_invoices_number"),
        Index("ix_ledger_invoices_policy_buyer", "policy_id", "buyer_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), doc="invoice or credit_note")
    number: Mapped[str] = mapped_column(String(100))
    issue_date: Mapped[date] = mapped_column(Date)
    delivery_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger, doc="amount excluding VAT")
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    invoice_reference: Mapped[str | None] = mapped_column(String(100))
    order_reference: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerPaymentRow(Base):
    """Cash received, including VAT; ``dedupe_key`` makes re-sending the same payment a no-op."""

    __tablename__ = "ledger_payments"
    __table_args__ = (
        UniqueConstraint("policy_id", "buyer_id", "dedupe_key", name="uq_ledger_payments_dedupe"),
        Index("ix_ledger_payments_policy_buyer", "policy_id", "buyer_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200))
    invoices: Mapped[str] = mapped_column(Text, doc="JSON list of invoice numbers it pays first")
    dedupe_key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerDisputeRow(Base):
    __tablename__ = "ledger_disputes"
    __table_args__ = (Index("ix_ledger_disputes_policy_buyer", "policy_id", "buyer_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    invoice_number: Mapped[str] = mapped_column(String(100))
    opened_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))
    resolved_on: Mapped[date | None] = mapped_column(Date, doc="set once, by the resolution")
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerReversalRow(Base):
    """An explicit reversal of a recorded invoice, credit note or payment (the entry itself stays)."""

    __tablename__ = "ledger_reversals"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    entry_id: Mapped[str] = mapped_column(String(36), unique=True)
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FactorAssignmentRow(Base):
    __tablename__ = "factor_assignments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoices.id"), unique=True)
    factor: Mapped[str] = mapped_column(String(200), doc="the factor's name as it was when assigned")
    factor_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id"), index=True, doc="the factor organisation; none on assignments made by name only"
    )
    with_recourse: Mapped[bool] = mapped_column(
        Boolean, server_default=text("true"), doc="factoring with recourse: the factor may turn back to the insured"
    )
    assigned_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BuyerBalanceRow(Base):
    """What a buyer owes under a policy, kept up to date on every ledger change (the order check reads it)."""

    __tablename__ = "buyer_balances"
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    unpaid_gross_minor: Mapped[int] = mapped_column(BigInteger)
    unpaid_net_minor: Mapped[int] = mapped_column(BigInteger)
    on_account_minor: Mapped[int] = mapped_column(BigInteger)
    oldest_due_date: Mapped[date | None] = mapped_column(Date)
    open_disputes: Mapped[int] = mapped_column(Integer)
    invoices_paid: Mapped[int] = mapped_column(Integer, doc="payment experience over twelve months")
    invoices_paid_late: Mapped[int] = mapped_column(Integer)
    days_beyond_terms: Mapped[Decimal] = mapped_column(ExactDecimal(), doc="average, weighted by amount")
    max_days_overdue: Mapped[int] = mapped_column(Integer)
    trading_since: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OpenOrderRow(Base):
    """An order the ERP announced with an order check; open until invoiced, cancelled or expired."""

    __tablename__ = "open_orders"
    __table_args__ = (
        UniqueConstraint("policy_id", "buyer_id", "reference", name="uq_open_orders_reference"),
        Index("ix_open_orders_policy_buyer", "policy_id", "buyer_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    reference: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="excluding VAT")
    expires_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExchangeRateRow(Base):
    """One unit of ``currency`` is worth ``rate`` units of ``quote`` on ``on`` (ECB reference rates)."""

    __tablename__ = "exchange_rates"
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    on: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())


class OverdueNotificationRow(Base):
    """An overdue notification on a buyer: deliveries after it are not covered (stop-ship)."""

    __tablename__ = "overdue_notifications"
    __table_args__ = (Index("ix_overdue_notifications_policy_buyer", "policy_id", "buyer_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    notified_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OverdueNotificationLineRow(Base):
    """One invoice of an overdue notification, accepted or refused with its reason (never edited)."""

    __tablename__ = "overdue_notification_lines"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("overdue_notifications.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoices.id"), index=True)
    invoice_number: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(20), doc="accepted | refused")
    refusal_code: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date, doc="after extensions of payment terms")
    deadline: Mapped[date | None] = mapped_column(Date, doc="last day to notify it")
    currency: Mapped[str] = mapped_column(String(3), doc="the invoice's")
    unpaid_gross_minor: Mapped[int] = mapped_column(BigInteger, doc="unpaid including VAT on the notification date")
    unpaid_net_minor: Mapped[int] = mapped_column(BigInteger, doc="unpaid excluding VAT on the notification date")


class PaymentTermExtensionRow(Base):
    """A later due date the insured granted the buyer on one invoice (prorogation)."""

    __tablename__ = "payment_term_extensions"
    __table_args__ = (Index("ix_payment_term_extensions_policy_buyer", "policy_id", "buyer_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoices.id"), index=True)
    invoice_number: Mapped[str] = mapped_column(String(100))
    original_due_date: Mapped[date] = mapped_column(Date)
    new_due_date: Mapped[date] = mapped_column(Date)
    granted_on: Mapped[date] = mapped_column(Date)
    within_allowance: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimRow(Base):
    """A claim per buyer and policy; its settlements, documents and recoveries hang from it."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_policy_buyer", "policy_id", "buyer_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("overdue_notifications.id"))
    cause: Mapped[str] = mapped_column(String(30))
    date_of_loss: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(30), doc="the latest state; each move is an audit event")
    currency: Mapped[str] = mapped_column(String(3))


class ClaimDocumentRow(Base):
    """A document filed with a claim, checked (type, size) and kept with its SHA-256."""

    __tablename__ = "claim_documents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(300))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimSettlementRow(Base):
    """One computation of a claim's indemnity with its statement; approved once, never recomputed in place."""

    __tablename__ = "claim_settlements"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), doc="awaiting_approval | settled | refused | withdrawn")
    computed_on: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_by: Mapped[str] = mapped_column(String(300))
    cause: Mapped[str] = mapped_column(String(30))
    date_of_loss: Mapped[date] = mapped_column(Date)
    policy_year_start: Mapped[date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    loss_minor: Mapped[int] = mapped_column(BigInteger, doc="excluding VAT, policy currency")
    covered_loss_minor: Mapped[int] = mapped_column(BigInteger)
    indemnity_minor: Mapped[int] = mapped_column(BigInteger, doc="what the insurer pays, >= 0")
    aggregate_deductible_minor: Mapped[int] = mapped_column(BigInteger, doc="annual aggregate deductible consumed")
    statement: Mapped[str] = mapped_column(Text, doc="JSON: lines, invoices, payees")
    approved_by: Mapped[str | None] = mapped_column(String(300))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimRecoveryRow(Base):
    """Cash recovered from the buyer after a claim was settled, and how it was shared."""

    __tablename__ = "claim_recoveries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="cash recovered, as received")
    insurer_share_minor: Mapped[int] = mapped_column(BigInteger, doc="recovery × indemnity ÷ loss, to the insurer")
    insured_share_minor: Mapped[int] = mapped_column(BigInteger, doc="the rest, the insured's")
    rule: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimMovementRow(Base):
    """Money moved by a claim, as paired entries of one transaction summing to zero.

    ``amount_minor`` is signed from the account's point of view: an indemnity is -X on ``insurer`` and
    +X on its payee (``insured:<organisation id>`` or ``factor:<organisation id>``); the insurer's share of a
    recovery is -Y on ``insured:<id>`` (who received the cash) and +Y on ``insurer``.
    """

    __tablename__ = "claim_movements"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ID, index=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), doc="indemnity | recovery_share")
    account: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(ID, doc="the settlement or recovery it pays")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TurnoverDeclarationRow(Base):
    """One version of a period's turnover declaration; a correction is a new version, never an edit.

    Amounts: minor units of ``currency``, excluding VAT, the insured's declared figures, ≥ 0; the
    insurable turnover of a territory is turnover − cash sales − intra-group − public buyers.
    """

    __tablename__ = "turnover_declarations"
    __table_args__ = (
        UniqueConstraint("policy_id", "period_start", "version", name="uq_turnover_declarations_version"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date, doc="exclusive: the day after the last declared day")
    version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    domestic_turnover_minor: Mapped[int] = mapped_column(BigInteger)
    domestic_cash_sales_minor: Mapped[int] = mapped_column(BigInteger)
    domestic_intra_group_minor: Mapped[int] = mapped_column(BigInteger)
    domestic_public_buyers_minor: Mapped[int] = mapped_column(BigInteger)
    export_turnover_minor: Mapped[int] = mapped_column(BigInteger)
    export_cash_sales_minor: Mapped[int] = mapped_column(BigInteger)
    export_intra_group_minor: Mapped[int] = mapped_column(BigInteger)
    export_public_buyers_minor: Mapped[int] = mapped_column(BigInteger)
    declared_on: Mapped[date] = mapped_column(Date)
    declared_by: Mapped[str] = mapped_column(String(300))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(500))


class PremiumDocumentNumberRow(Base):
    __tablename__ = "premium_document_numbers"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class PremiumDocumentRow(Base):
    """A premium invoice or credit note of a policy year.

    ``amount_minor``: minor units of ``currency``, > 0; ``kind`` gives the direction (an invoice is
    owed by the insured to the insurer, a credit note by the insurer to the insured).
    """

    __tablename__ = "premium_documents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(20), doc="invoice | credit_note")
    item: Mapped[str] = mapped_column(String(20), doc="instalment | adjustment | fees | no_claims_bonus")
    year_start: Mapped[date] = mapped_column(Date, doc="the policy year it belongs to")
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(300))
    source_key: Mapped[str] = mapped_column(String(200), unique=True, doc="issuing the same item twice is a no-op")
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremiumPaymentRow(Base):
    """Premium received from the insured; ``amount_minor`` in minor units of ``currency``, > 0."""

    __tablename__ = "premium_payments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremiumMovementRow(Base):
    """Premium money, as paired entries of one transaction summing to zero.

    ``amount_minor`` is signed from the account's point of view: a premium invoice of X is -X on
    ``insured:<organisation id>`` and +X on ``insurer``; a credit note or a payment the opposite.
    """

    __tablename__ = "premium_movements"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ID, index=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), doc="premium_invoice | premium_credit_note | premium_payment")
    account: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(36), doc="the document or payment it records")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremiumYearEndRow(Base):
    """A closed policy year; a correction after closing adds a version. Amounts: minor units, ≥ 0
    except ``adjustment_minor`` (premium − called: negative when too much was called)."""

    __tablename__ = "premium_year_ends"
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    year_start: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    year_end: Mapped[date] = mapped_column(Date, doc="exclusive")
    currency: Mapped[str] = mapped_column(String(3))
    minimum_minor: Mapped[int] = mapped_column(BigInteger)
    earned_minor: Mapped[int] = mapped_column(BigInteger)
    called_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger)
    premium_minor: Mapped[int] = mapped_column(BigInteger)
    adjustment_minor: Mapped[int] = mapped_column(BigInteger)
    fees_minor: Mapped[int] = mapped_column(BigInteger)
    request_count: Mapped[int] = mapped_column(Integer)
    buyers_monitored: Mapped[int] = mapped_column(Integer)
    indemnities_minor: Mapped[int] = mapped_column(BigInteger)
    bonus_minor: Mapped[int] = mapped_column(BigInteger)
    max_liability_minor: Mapped[int | None] = mapped_column(BigInteger)
    loss_ratio: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    declared_periods: Mapped[int] = mapped_column(Integer)
    expected_periods: Mapped[int] = mapped_column(Integer)
    closed_on: Mapped[date] = mapped_column(Date)
    closed_by: Mapped[str] = mapped_column(String(300))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500))


class LedgerImportRow(Base):
    """One import of a file, with its report."""

    __tablename__ = "ledger_imports"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    report: Mapped[str] = mapped_column(Text, doc="JSON")
    imported_by: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertPreferenceRow(Base):
    """A policy's alert thresholds (DOMAIN.md §6 defaults when absent)."""

    __tablename__ = "alert_preferences"
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    utilisation_threshold: Mapped[Decimal] = mapped_column(ExactDecimal())
    deadline_warning_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertSubscriptionRow(Base):
    """Where a policy's alerts go besides the portal: an e-mail address or a signed webhook."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("policy_id", "channel", "target", name="uq_alert_subscriptions_target"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), doc="email or webhook")
    target: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(100), doc="webhook signing secret")
    kinds: Mapped[str] = mapped_column(Text, doc="JSON list of alert kinds; empty: all")
    active: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertDeliveryRow(Base):
    """The outbox and delivery log: one row per alert and channel target, retried with backoff."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "subscription_id", name="uq_alert_deliveries_target"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("alert_subscriptions.id"))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), doc="pending, delivered, failed")
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


metadata = Base.metadata


# --- Collection (issue 6) ---------------------------------------------------------------------------------


class CollectionCaseNumberRow(Base):
    """The last case number given in a year (``COL-2026-000123``)."""

    __tablename__ = "collection_case_numbers"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CollectionCaseRow(Base):
    """A collection case on a (policy, buyer): at most one is open at a time (the partial unique index)."""

    __tablename__ = "collection_cases"
    __table_args__ = (
        Index(
            "uq_collection_cases_open",
            "policy_id",
            "buyer_id",
            unique=True,
            sqlite_where=text("stage != 'closed'"),
            postgresql_where=text("stage != 'closed'"),
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True, doc="the insured")
    currency: Mapped[str] = mapped_column(String(3), doc="of every debt, receipt and cost of the case")
    stage: Mapped[str] = mapped_column(String(10), index=True, doc="amicable, judicial, closed")
    opened_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(300))
    commission_rate: Mapped[Decimal] = mapped_column(
        ExactDecimal(), doc="fraction of what is recovered on non-guaranteed debts taken by the insurer"
    )
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20), doc="paid, partly_paid, irrecoverable")
    closure_reason: Mapped[str | None] = mapped_column(String(500))
    closed_by: Mapped[str | None] = mapped_column(String(300))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CollectionCaseDebtRow(Base):
    """An invoice handed over to collection; added once, never edited (receipts are allocated apart)."""

    __tablename__ = "collection_case_debts"
    case_id: Mapped[str] = mapped_column(ForeignKey("collection_cases.id"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoices.id"), primary_key=True, index=True)
    number: Mapped[str] = mapped_column(String(100))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount_incl_vat_minor: Mapped[int] = mapped_column(BigInteger, doc="the invoice, including VAT, > 0")
    unpaid_minor: Mapped[int] = mapped_column(
        BigInteger, doc="what the buyer owed on it when handed over, including VAT, > 0; the insured's claim"
    )
    guaranteed: Mapped[bool] = mapped_column(Boolean, doc="covered and notified in time: collected free")
    notification_id: Mapped[str | None] = mapped_column(String(36), doc="the overdue notification that handed it over")
    added_on: Mapped[date] = mapped_column(Date)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionLetterRow(Base):
    """A letter sent on a case (the formal notice), kept as sent: proof of the collection attempt."""

    __tablename__ = "collection_letters"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), doc="formal_notice")
    reference: Mapped[str] = mapped_column(String(40), unique=True, doc="the case reference and a sequence")
    language: Mapped[str] = mapped_column(String(2))
    letter_date: Mapped[date] = mapped_column(Date)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionActionRow(Base):
    """Append-only: one dated step of a case, with its author."""

    __tablename__ = "collection_actions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    on: Mapped[date] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(2000))
    letter_id: Mapped[str | None] = mapped_column(ForeignKey("collection_letters.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionReceiptRow(Base):
    """Cash the collector received from the buyer; also a ledger payment (``ledger_payment_id``)."""

    __tablename__ = "collection_receipts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="cash received from the buyer, including VAT, > 0")
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(200))
    guaranteed_minor: Mapped[int] = mapped_column(BigInteger, doc="the part allocated to guaranteed debts, >= 0")
    non_guaranteed_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the part allocated to non-guaranteed debts, >= 0; with the above, sums to amount_minor"
    )
    commission_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    commission_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the insurer's commission on the non-guaranteed part, >= 0, owed by the insured"
    )
    ledger_payment_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_payments.id"))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionAllocationRow(Base):
    """The part of a receipt that settled one debt of the case."""

    __tablename__ = "collection_allocations"
    receipt_id: Mapped[str] = mapped_column(ForeignKey("collection_receipts.id"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoices.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="settles the debt, including VAT, > 0")
    guaranteed: Mapped[bool] = mapped_column(Boolean)


class CollectionCostRow(Base):
    """A cost of collecting: court fees, bailiff, lawyer."""

    __tablename__ = "collection_costs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), doc="court_fee, bailiff, lawyer, other")
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="spent on collecting, > 0")
    incurred_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LatePaymentBaseRateRow(Base):
    """An ECB base rate configured by staff; it extends the shipped table and wins on the same date."""

    __tablename__ = "late_payment_base_rates"
    effective_date: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal(), doc="a fraction: 0.0215 for 2.15 %")
    recorded_by: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Quotes (issue 7) -------------------------------------------------------------------------------------


class QuoteNumberRow(Base):
    """The last quote number given in a year (``QUO-2026-000123``)."""

    __tablename__ = "quote_numbers"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class QuoteRow(Base):
    """An application for a policy and its quote; the one quote table updated (once, when issued)."""

    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    policyholder_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3), doc="of the application, its quote and the policy")
    sector: Mapped[str] = mapped_column(String(10), doc="NAF/NACE code or section letter, as applied")
    turnover_domestic_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the insured's declared yearly domestic turnover excluding VAT, minor units, >= 0"
    )
    turnover_export_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the insured's declared yearly export turnover excluding VAT, minor units, >= 0"
    )
    requested_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_policy_id: Mapped[str | None] = mapped_column(ForeignKey("policies.id"), doc="set once, on issue")
    issued_version: Mapped[int | None] = mapped_column(Integer)
    issued_on: Mapped[date | None] = mapped_column(Date)
    issued_by: Mapped[str | None] = mapped_column(String(300))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuoteBuyerRow(Base):
    """Append-only: a buyer of the application's book, as the insured listed it."""

    __tablename__ = "quote_buyers"
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    identifier: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    outstanding_minor: Mapped[int] = mapped_column(
        BigInteger, doc="what the buyer owes the insured as declared (encours), minor units, >= 0"
    )
    risk_grade: Mapped[int | None] = mapped_column(Integer, doc="1..10 as declared; none: the ungraded PD")


class QuoteLossYearRow(Base):
    """Append-only: one year of the application's loss history."""

    __tablename__ = "quote_loss_years"
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    losses_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the insured's credit losses of the year (indemnities or unpaid), minor units, >= 0"
    )


class QuoteVersionRow(Base):
    """Append-only: one version of a quote's terms (1: the engine's proposal; then adjustments)."""

    __tablename__ = "quote_versions"
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date, doc="the last day it may be issued")
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    domestic_rate: Mapped[Decimal] = mapped_column(ExactDecimal(), doc="a fraction of domestic turnover excl. VAT")
    export_rate: Mapped[Decimal] = mapped_column(ExactDecimal(), doc="a fraction of export turnover excl. VAT")
    expected_premium_minor: Mapped[int] = mapped_column(
        BigInteger, doc="premium the declared turnover pays at these rates, owed by the insured, minor units, >= 0"
    )
    minimum_premium_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the proposed minimum (provisional) premium, owed by the insured, minor units, >= 0"
    )
    terms: Mapped[str] = mapped_column(Text, doc="JSON: PolicyTerms.to_dict()")
    lines: Mapped[str] = mapped_column(Text, doc="JSON: how the price was built, [{code, label, figure, unit}]")


class PolicyDelegationRow(Base):
    """A delegation endorsement: from ``start_date`` (to ``end_date``, excluded) the policy names the factor
    loss payee of the invoices assigned to it. Written once."""

    __tablename__ = "policy_delegations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    factor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, doc="the first day it no longer applies; none: open-ended")
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ------------------------------------------------------------------ offers (issue 10): insurers' offers for an insured


class OfferRow(Base):
    """Append-only: an insurer's offer for an insured, as a broker (under its mandate) or the insurer's staff
    recorded it: the terms and fees offered; the limits per buyer in ``offer_limits``."""

    __tablename__ = "offers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True, doc="the insured")
    insurer_name: Mapped[str] = mapped_column(String(200), doc="the insurer making the offer, as named")
    currency: Mapped[str] = mapped_column(String(3), doc="of the terms, the fees and the limits")
    terms: Mapped[str] = mapped_column(Text, doc="JSON: the offered policy terms by code name, amounts as strings")
    annual_fee_minor: Mapped[int] = mapped_column(
        BigInteger, doc="a fee per policy year the insured would pay on top of the premium, minor units, >= 0"
    )
    per_buyer_fee_minor: Mapped[int] = mapped_column(
        BigInteger, doc="a fee per year and buyer with a limit the insured would pay, minor units, >= 0"
    )
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfferLimitRow(Base):
    """Append-only: a limit the insurer would grant on a buyer of the insured. Each entry or import of an
    offer's limits is a new ``version`` of the whole set; the latest version is the offer's."""

    __tablename__ = "offer_limits"
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(40), doc="the buyer's identifier as the offer named it")
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="the limit the insurer would grant on the buyer (its cover), minor units, >= 0"
    )
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
