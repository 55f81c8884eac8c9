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
    digest: Mapped[str] = mapped_column(
        String(64), doc="SHA-256 of prefix and secret; the secret is never stored"
    )
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
    city: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
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


metadata = Base.metadata
