"""Ports of the receivables use cases: the ledger store and the alert store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from tradecover.domain.money import Money
from tradecover.domain.monitoring import Alert, AlertState
from tradecover.domain.receivables import Dispute, EntryKind, Invoice, Payment


@dataclass(frozen=True)
class BuyerBalance:
    """What a buyer owes under a policy in one currency, kept current on every ledger change."""

    currency: str
    unpaid_gross_minor: int
    unpaid_net_minor: int
    on_account_minor: int
    oldest_due_date: date | None
    open_disputes: int
    invoices_paid: int = 0
    invoices_paid_late: int = 0
    days_beyond_terms: Decimal = Decimal(0)
    max_days_overdue: int = 0
    trading_since: date | None = None


@dataclass(frozen=True)
class FactorAssignment:
    id: str
    invoice_id: str
    factor: str  # the factor's name when assigned
    assigned_on: date
    factor_id: str | None = None  # the factor organisation (none on assignments made by name only)
    with_recourse: bool = True


@dataclass(frozen=True)
class OpenOrder:
    id: str
    policy_id: str
    buyer_id: str
    reference: str
    amount: Money  # excluding VAT
    expires_on: date
    closed_on: date | None = None


@dataclass(frozen=True)
class ImportRecord:
    id: str
    policy_id: str
    file_name: str
    format: str
    sha256: str
    created: int
    duplicates: int
    refused: int
    report: dict[str, Any]
    imported_by: str
    imported_at: datetime


class LedgerStore(Protocol):
    def add_invoices(self, invoices: Sequence[Invoice]) -> None: ...
    def add_payments(self, payments: Sequence[tuple[Payment, str]]) -> None: ...
    def invoice_keys(self, policy_id: str) -> dict[tuple[str, str, str], Invoice]: ...
    def find_invoice(self, policy_id: str, buyer_id: str, kind: EntryKind, number: str) -> Invoice | None: ...
    def get_invoice(self, invoice_id: str) -> Invoice | None: ...
    def payment_keys(self, policy_id: str) -> set[tuple[str, str]]: ...
    def get_payment(self, payment_id: str) -> Payment | None: ...
    def find_payment(self, policy_id: str, buyer_id: str, dedupe_key: str) -> Payment | None: ...
    def entries(
        self, policy_id: str, buyer_ids: Sequence[str] | None = None
    ) -> tuple[dict[str, list[Invoice]], dict[str, list[Payment]]]: ...
    def list_invoices(
        self, policy_id: str, buyer_id: str | None, limit: int, offset: int
    ) -> tuple[list[Invoice], int]: ...
    def list_payments(
        self, policy_id: str, buyer_id: str | None, limit: int, offset: int
    ) -> tuple[list[Payment], int]: ...
    def buyers_with_entries(self, policy_id: str) -> list[str]: ...
    def policies_with_entries(self) -> list[str]: ...
    def experience_by_buyer(self, buyer_ids: Sequence[str]) -> dict[str, list[BuyerBalance]]: ...
    def entries_of_buyer(self, buyer_id: str) -> tuple[list[Invoice], list[Payment]]: ...
    def add_reversal(
        self, *, id: str, policy_id: str, buyer_id: str, entry_id: str, reason: str, by: str, at: datetime
    ) -> None: ...
    def reversed_ids(self, policy_id: str) -> frozenset[str]: ...
    def add_dispute(self, dispute: Dispute, *, by: str, at: datetime) -> None: ...
    def resolve_dispute(self, dispute_id: str, on: date) -> None: ...
    def disputes(self, policy_id: str, buyer_id: str | None = None) -> list[Dispute]: ...
    def assign_to_factor(self, assignment: FactorAssignment, *, by: str, at: datetime) -> None: ...
    def factor_assignments(self, policy_id: str) -> dict[str, FactorAssignment]: ...
    def save_balances(self, policy_id: str, buyer_id: str, balances: Sequence[BuyerBalance], at: datetime) -> None: ...
    def save_many_balances(self, policy_id: str, balances: dict[str, list[BuyerBalance]], at: datetime) -> None: ...
    def balances(self, policy_id: str, buyer_id: str) -> list[BuyerBalance]: ...
    def add_order(self, order: OpenOrder, at: datetime) -> None: ...
    def find_order(self, policy_id: str, buyer_id: str, reference: str) -> OpenOrder | None: ...
    def open_orders_minor(self, policy_id: str, buyer_id: str, currency: str, on: date) -> int: ...
    def close_orders(self, policy_id: str, buyer_id: str, references: Sequence[str], on: date) -> int: ...
    def add_rates(self, rates: Sequence[tuple[str, str, date, Decimal]]) -> int: ...
    def rate(self, currency: str, quote: str, on: date) -> tuple[date, Decimal] | None: ...
    def add_overdue_notification(
        self, *, id: str, policy_id: str, buyer_id: str, notified_on: date, by: str, at: datetime
    ) -> None: ...
    def first_overdue_notifications(self, policy_id: str) -> dict[str, date]: ...
    def first_overdue_notifications_of(self, policy_id: str, buyer_id: str) -> date | None: ...
    def count_overdue_notifications(self, buyer_id: str) -> int: ...
    def count_reporting_policies(self, buyer_id: str) -> int: ...
    def add_import(self, record: ImportRecord) -> None: ...


@dataclass(frozen=True)
class AlertPreferences:
    utilisation_threshold: Decimal = Decimal("0.80")
    deadline_warning_days: int = 15


@dataclass(frozen=True)
class AlertSubscription:
    id: str
    policy_id: str
    organisation_id: str
    channel: str  # "email" or "webhook"
    target: str
    secret: str | None
    kinds: tuple[str, ...]  # empty: every kind
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class AlertDelivery:
    id: str
    alert_id: str
    subscription_id: str
    channel: str
    target: str
    status: str  # pending, delivered, failed
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class AlertStore(Protocol):
    def preferences(self, policy_id: str) -> AlertPreferences: ...
    def set_preferences(self, policy_id: str, preferences: AlertPreferences, *, by: str, at: datetime) -> None: ...
    def add_subscription(self, subscription: AlertSubscription, *, by: str) -> None: ...
    def subscriptions(self, policy_id: str) -> list[AlertSubscription]: ...
    def get_subscription(self, subscription_id: str) -> AlertSubscription | None: ...
    def deactivate_subscription(self, subscription_id: str) -> None: ...
    def get(self, alert_id: str) -> Alert | None: ...
    def find(
        self,
        *,
        organisation_ids: frozenset[str] | None,
        policy_id: str | None,
        states: Sequence[AlertState] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Alert], int]: ...
    def set_state(self, alert_id: str, state: AlertState, at: datetime) -> None: ...
    def enqueue(self, alert: Alert, at: datetime) -> int:
        """Outbox rows for the alert's active subscriptions; the number queued."""
        ...

    def due_deliveries(self, now: datetime, limit: int) -> list[AlertDelivery]: ...
    def record_attempt(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None,
        error: str | None,
        delivered_at: datetime | None,
    ) -> None: ...
    def deliveries(self, alert_id: str) -> list[AlertDelivery]: ...
    def deliveries_of_policy(self, policy_id: str, limit: int, offset: int) -> tuple[list[AlertDelivery], int]: ...
