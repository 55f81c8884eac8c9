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


metadata = Base.metadata
