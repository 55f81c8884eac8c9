"""The invoice ledger: entries, disputes, reversals, factor assignments, balances, open orders, rates."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from tradecover.domain.money import Money
from tradecover.domain.receivables import Dispute, EntryKind, Invoice, Payment
from tradecover.persistence import tables as t
from tradecover.services.ledger_ports import BuyerBalance, FactorAssignment, ImportRecord, OpenOrder

_CHUNK = 5_000


def _invoice(r: Any) -> Invoice:
    cur = r.currency
    return Invoice(
        id=r.id,
        policy_id=r.policy_id,
        buyer_id=r.buyer_id,
        kind=EntryKind(r.kind),
        number=r.number,
        issue_date=r.issue_date,
        delivery_date=r.delivery_date,
        due_date=r.due_date,
        amount_excl_vat=Money.from_minor(r.net_minor, cur),
        vat_amount=Money.from_minor(r.vat_minor, cur),
        recorded_at=r.recorded_at,
        recorded_by=r.recorded_by,
        invoice_reference=r.invoice_reference,
        order_reference=r.order_reference,
        source=r.source,
    )


def _payment(r: Any) -> Payment:
    return Payment(
        id=r.id,
        policy_id=r.policy_id,
        buyer_id=r.buyer_id,
        received_on=r.received_on,
        amount=Money.from_minor(r.amount_minor, r.currency),
        recorded_at=r.recorded_at,
        recorded_by=r.recorded_by,
        reference=r.reference,
        invoices=tuple(json.loads(r.invoices)),
        source=r.source,
    )


def _balance(r: t.BuyerBalanceRow) -> BuyerBalance:
    return BuyerBalance(
        currency=r.currency,
        unpaid_gross_minor=r.unpaid_gross_minor,
        unpaid_net_minor=r.unpaid_net_minor,
        on_account_minor=r.on_account_minor,
        oldest_due_date=r.oldest_due_date,
        open_disputes=r.open_disputes,
        invoices_paid=r.invoices_paid,
        invoices_paid_late=r.invoices_paid_late,
        days_beyond_terms=r.days_beyond_terms,
        max_days_overdue=r.max_days_overdue,
        trading_since=r.trading_since,
    )


def _invoice_values(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "policy_id": i.policy_id,
        "buyer_id": i.buyer_id,
        "kind": i.kind.value,
        "number": i.number,
        "issue_date": i.issue_date,
        "delivery_date": i.delivery_date,
        "due_date": i.due_date,
        "currency": i.currency,
        "net_minor": i.amount_excl_vat.to_minor(),
        "vat_minor": i.vat_amount.to_minor(),
        "invoice_reference": i.invoice_reference,
        "order_reference": i.order_reference,
        "source": None if i.source is None else i.source[:300],
        "recorded_by": i.recorded_by,
        "recorded_at": i.recorded_at,
    }


def _payment_values(p: Payment, dedupe_key: str) -> dict[str, Any]:
    return {
        "id": p.id,
        "policy_id": p.policy_id,
        "buyer_id": p.buyer_id,
        "received_on": p.received_on,
        "currency": p.amount.currency,
        "amount_minor": p.amount.to_minor(),
        "reference": p.reference,
        "invoices": json.dumps(list(p.invoices)),
        "dedupe_key": dedupe_key[:300],
        "source": None if p.source is None else p.source[:300],
        "recorded_by": p.recorded_by,
        "recorded_at": p.recorded_at,
    }


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Entries --------------------------------------------------------------------------------------
    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        for chunk in _chunks(invoices):
            self.session.execute(insert(t.LedgerInvoiceRow), [_invoice_values(i) for i in chunk])

    def add_payments(self, payments: Sequence[tuple[Payment, str]]) -> None:
        for chunk in _chunks(payments):
            self.session.execute(insert(t.LedgerPaymentRow), [_payment_values(p, key) for p, key in chunk])

    def invoice_keys(self, policy_id: str) -> dict[tuple[str, str, str], Invoice]:
        """(buyer, kind, number) -> invoice, for every entry of the policy (duplicate detection on import)."""
        rows = self.session.execute(select(t.LedgerInvoiceRow).where(t.LedgerInvoiceRow.policy_id == policy_id))
        return {(r.buyer_id, r.kind, r.number): _invoice(r) for r in rows.scalars()}

    def find_invoice(self, policy_id: str, buyer_id: str, kind: EntryKind, number: str) -> Invoice | None:
        row = self.session.scalars(
            select(t.LedgerInvoiceRow).where(
                t.LedgerInvoiceRow.policy_id == policy_id,
                t.LedgerInvoiceRow.buyer_id == buyer_id,
                t.LedgerInvoiceRow.kind == kind.value,
                t.LedgerInvoiceRow.number == number,
            )
        ).first()
        return None if row is None else _invoice(row)

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        row = self.session.get(t.LedgerInvoiceRow, invoice_id)
        return None if row is None else _invoice(row)

    def payment_keys(self, policy_id: str) -> set[tuple[str, str]]:
        rows = self.session.execute(
            select(t.LedgerPaymentRow.buyer_id, t.LedgerPaymentRow.dedupe_key).where(
                t.LedgerPaymentRow.policy_id == policy_id
            )
        )
        return {(b, k) for b, k in rows}

    def get_payment(self, payment_id: str) -> Payment | None:
        row = self.session.get(t.LedgerPaymentRow, payment_id)
        return None if row is None else _payment(row)

    def find_payment(self, policy_id: str, buyer_id: str, dedupe_key: str) -> Payment | None:
        row = self.session.scalars(
            select(t.LedgerPaymentRow).where(
                t.LedgerPaymentRow.policy_id == policy_id,
                t.LedgerPaymentRow.buyer_id == buyer_id,
                t.LedgerPaymentRow.dedupe_key == dedupe_key,
            )
        ).first()
        return None if row is None else _payment(row)

    def entries(
        self, policy_id: str, buyer_ids: Sequence[str] | None = None
    ) -> tuple[dict[str, list[Invoice]], dict[str, list[Payment]]]:
        """Invoices and payments of a policy grouped by buyer (all buyers when ``buyer_ids`` is None)."""
        invoices: dict[str, list[Invoice]] = defaultdict(list)
        payments: dict[str, list[Payment]] = defaultdict(list)
        iq = select(t.LedgerInvoiceRow).where(t.LedgerInvoiceRow.policy_id == policy_id)
        pq = select(t.LedgerPaymentRow).where(t.LedgerPaymentRow.policy_id == policy_id)
        groups: list[Sequence[str] | None] = [None] if buyer_ids is None else list(_chunks(list(buyer_ids), 900))
        for group in groups:
            gi, gp = iq, pq
            if group is not None:
                gi = iq.where(t.LedgerInvoiceRow.buyer_id.in_(group))
                gp = pq.where(t.LedgerPaymentRow.buyer_id.in_(group))
            for r in self.session.execute(gi).scalars():
                invoices[r.buyer_id].append(_invoice(r))
            for pr in self.session.execute(gp).scalars():
                payments[pr.buyer_id].append(_payment(pr))
        return invoices, payments

    def list_invoices(self, policy_id: str, buyer_id: str | None, limit: int, offset: int) -> tuple[list[Invoice], int]:
        q = select(t.LedgerInvoiceRow).where(t.LedgerInvoiceRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.LedgerInvoiceRow.buyer_id == buyer_id)
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        q = q.order_by(t.LedgerInvoiceRow.issue_date.desc(), t.LedgerInvoiceRow.number).limit(limit).offset(offset)
        return [_invoice(r) for r in self.session.scalars(q)], total

    def list_payments(self, policy_id: str, buyer_id: str | None, limit: int, offset: int) -> tuple[list[Payment], int]:
        q = select(t.LedgerPaymentRow).where(t.LedgerPaymentRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.LedgerPaymentRow.buyer_id == buyer_id)
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        q = q.order_by(t.LedgerPaymentRow.received_on.desc(), t.LedgerPaymentRow.id).limit(limit).offset(offset)
        return [_payment(r) for r in self.session.scalars(q)], total

    def buyers_with_entries(self, policy_id: str) -> list[str]:
        q1 = select(t.LedgerInvoiceRow.buyer_id).where(t.LedgerInvoiceRow.policy_id == policy_id).distinct()
        q2 = select(t.LedgerPaymentRow.buyer_id).where(t.LedgerPaymentRow.policy_id == policy_id).distinct()
        return sorted({*self.session.scalars(q1), *self.session.scalars(q2)})

    def experience_by_buyer(self, buyer_ids: Sequence[str]) -> dict[str, list[BuyerBalance]]:
        """Every policy's payment experience with these buyers (for grading: across insureds)."""
        found: dict[str, list[BuyerBalance]] = defaultdict(list)
        for chunk in _chunks(list(buyer_ids), 900):
            q = select(t.BuyerBalanceRow).where(t.BuyerBalanceRow.buyer_id.in_(chunk))
            for r in self.session.scalars(q):
                found[r.buyer_id].append(_balance(r))
        return found

    def entries_of_buyer(self, buyer_id: str) -> tuple[list[Invoice], list[Payment]]:
        """A buyer's entries under every policy (the payment experience across insureds)."""
        invoices = [
            _invoice(r)
            for r in self.session.scalars(select(t.LedgerInvoiceRow).where(t.LedgerInvoiceRow.buyer_id == buyer_id))
        ]
        payments = [
            _payment(r)
            for r in self.session.scalars(select(t.LedgerPaymentRow).where(t.LedgerPaymentRow.buyer_id == buyer_id))
        ]
        return invoices, payments

    def policies_with_entries(self) -> list[str]:
        return list(self.session.scalars(select(t.LedgerInvoiceRow.policy_id).distinct()))

    # Reversals ------------------------------------------------------------------------------------
    def add_reversal(
        self, *, id: str, policy_id: str, buyer_id: str, entry_id: str, reason: str, by: str, at: datetime
    ) -> None:
        self.session.add(
            t.LedgerReversalRow(
                id=id,
                policy_id=policy_id,
                buyer_id=buyer_id,
                entry_id=entry_id,
                reason=reason[:500],
                recorded_by=by,
                recorded_at=at,
            )
        )
        self.session.flush()

    def reversed_ids(self, policy_id: str) -> frozenset[str]:
        q = select(t.LedgerReversalRow.entry_id).where(t.LedgerReversalRow.policy_id == policy_id)
        return frozenset(self.session.scalars(q))

    # Disputes ---------------------------------------------------------------------------------------
    def add_dispute(self, dispute: Dispute, *, by: str, at: datetime) -> None:
        self.session.add(
            t.LedgerDisputeRow(
                id=dispute.id,
                policy_id=dispute.policy_id,
                buyer_id=dispute.buyer_id,
                invoice_number=dispute.invoice_number,
                opened_on=dispute.opened_on,
                reason=None if dispute.reason is None else dispute.reason[:500],
                resolved_on=None,
                recorded_by=by,
                recorded_at=at,
            )
        )
        self.session.flush()

    def resolve_dispute(self, dispute_id: str, on: date) -> None:
        self.session.execute(
            update(t.LedgerDisputeRow)
            .where(t.LedgerDisputeRow.id == dispute_id, t.LedgerDisputeRow.resolved_on.is_(None))
            .values(resolved_on=on)
        )

    def disputes(self, policy_id: str, buyer_id: str | None = None) -> list[Dispute]:
        q = select(t.LedgerDisputeRow).where(t.LedgerDisputeRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.LedgerDisputeRow.buyer_id == buyer_id)
        return [
            Dispute(r.id, r.policy_id, r.buyer_id, r.invoice_number, r.opened_on, r.reason, r.resolved_on)
            for r in self.session.scalars(q.order_by(t.LedgerDisputeRow.opened_on, t.LedgerDisputeRow.id))
        ]

    # Factor assignments -----------------------------------------------------------------------------
    def assign_to_factor(self, assignment: FactorAssignment, *, by: str, at: datetime) -> None:
        self.session.add(
            t.FactorAssignmentRow(
                id=assignment.id,
                invoice_id=assignment.invoice_id,
                factor=assignment.factor,
                assigned_on=assignment.assigned_on,
                recorded_by=by,
                recorded_at=at,
            )
        )
        self.session.flush()

    def factor_assignments(self, policy_id: str) -> dict[str, FactorAssignment]:
        q = (
            select(t.FactorAssignmentRow)
            .join(t.LedgerInvoiceRow, t.LedgerInvoiceRow.id == t.FactorAssignmentRow.invoice_id)
            .where(t.LedgerInvoiceRow.policy_id == policy_id)
        )
        return {
            r.invoice_id: FactorAssignment(r.id, r.invoice_id, r.factor, r.assigned_on) for r in self.session.scalars(q)
        }

    # Balances (the order check's index) -------------------------------------------------------------
    def save_balances(self, policy_id: str, buyer_id: str, balances: Sequence[BuyerBalance], at: datetime) -> None:
        self.session.execute(
            delete(t.BuyerBalanceRow).where(
                t.BuyerBalanceRow.policy_id == policy_id, t.BuyerBalanceRow.buyer_id == buyer_id
            )
        )
        if balances:
            self.session.execute(
                insert(t.BuyerBalanceRow),
                [
                    {
                        "policy_id": policy_id,
                        "buyer_id": buyer_id,
                        "currency": b.currency,
                        "unpaid_gross_minor": b.unpaid_gross_minor,
                        "unpaid_net_minor": b.unpaid_net_minor,
                        "on_account_minor": b.on_account_minor,
                        "oldest_due_date": b.oldest_due_date,
                        "open_disputes": b.open_disputes,
                        "invoices_paid": b.invoices_paid,
                        "invoices_paid_late": b.invoices_paid_late,
                        "days_beyond_terms": b.days_beyond_terms,
                        "max_days_overdue": b.max_days_overdue,
                        "trading_since": b.trading_since,
                        "updated_at": at,
                    }
                    for b in balances
                ],
            )

    def save_many_balances(self, policy_id: str, balances: dict[str, list[BuyerBalance]], at: datetime) -> None:
        buyer_ids = list(balances)
        for chunk in _chunks(buyer_ids, 900):
            self.session.execute(
                delete(t.BuyerBalanceRow).where(
                    t.BuyerBalanceRow.policy_id == policy_id, t.BuyerBalanceRow.buyer_id.in_(chunk)
                )
            )
        rows = [
            {
                "policy_id": policy_id,
                "buyer_id": buyer_id,
                "currency": b.currency,
                "unpaid_gross_minor": b.unpaid_gross_minor,
                "unpaid_net_minor": b.unpaid_net_minor,
                "on_account_minor": b.on_account_minor,
                "oldest_due_date": b.oldest_due_date,
                "open_disputes": b.open_disputes,
                "invoices_paid": b.invoices_paid,
                "invoices_paid_late": b.invoices_paid_late,
                "days_beyond_terms": b.days_beyond_terms,
                "max_days_overdue": b.max_days_overdue,
                "trading_since": b.trading_since,
                "updated_at": at,
            }
            for buyer_id, items in balances.items()
            for b in items
        ]
        for chunk in _chunks(rows):
            self.session.execute(insert(t.BuyerBalanceRow), list(chunk))

    def balances(self, policy_id: str, buyer_id: str) -> list[BuyerBalance]:
        q = select(t.BuyerBalanceRow).where(
            t.BuyerBalanceRow.policy_id == policy_id, t.BuyerBalanceRow.buyer_id == buyer_id
        )
        return [_balance(r) for r in self.session.scalars(q)]

    # Open orders ----------------------------------------------------------------------------------------
    def add_order(self, order: OpenOrder, at: datetime) -> None:
        self.session.add(
            t.OpenOrderRow(
                id=order.id,
                policy_id=order.policy_id,
                buyer_id=order.buyer_id,
                reference=order.reference,
                currency=order.amount.currency,
                amount_minor=order.amount.to_minor(),
                expires_on=order.expires_on,
                closed_on=None,
                created_at=at,
            )
        )
        self.session.flush()

    def find_order(self, policy_id: str, buyer_id: str, reference: str) -> OpenOrder | None:
        r = self.session.scalars(
            select(t.OpenOrderRow).where(
                t.OpenOrderRow.policy_id == policy_id,
                t.OpenOrderRow.buyer_id == buyer_id,
                t.OpenOrderRow.reference == reference,
            )
        ).first()
        if r is None:
            return None
        return OpenOrder(
            r.id,
            r.policy_id,
            r.buyer_id,
            r.reference,
            Money.from_minor(r.amount_minor, r.currency),
            r.expires_on,
            r.closed_on,
        )

    def open_orders_minor(self, policy_id: str, buyer_id: str, currency: str, on: date) -> int:
        q = select(func.coalesce(func.sum(t.OpenOrderRow.amount_minor), 0)).where(
            t.OpenOrderRow.policy_id == policy_id,
            t.OpenOrderRow.buyer_id == buyer_id,
            t.OpenOrderRow.currency == currency,
            t.OpenOrderRow.closed_on.is_(None),
            t.OpenOrderRow.expires_on > on,
        )
        return int(self.session.scalar(q) or 0)

    def close_orders(self, policy_id: str, buyer_id: str, references: Sequence[str], on: date) -> int:
        if not references:
            return 0
        result = self.session.execute(
            update(t.OpenOrderRow)
            .where(
                t.OpenOrderRow.policy_id == policy_id,
                t.OpenOrderRow.buyer_id == buyer_id,
                t.OpenOrderRow.reference.in_(list(references)),
                t.OpenOrderRow.closed_on.is_(None),
            )
            .values(closed_on=on)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # Exchange rates ---------------------------------------------------------------------------------------
    def add_rates(self, rates: Sequence[tuple[str, str, date, Decimal]]) -> int:
        added = 0
        for currency, quote, on, rate in rates:
            if self.session.get(t.ExchangeRateRow, (currency, quote, on)) is None:
                self.session.add(t.ExchangeRateRow(currency=currency, quote=quote, on=on, rate=rate))
                added += 1
        self.session.flush()
        return added

    def rate(self, currency: str, quote: str, on: date) -> tuple[date, Decimal] | None:
        """The latest rate published on or before ``on``."""
        row = self.session.scalars(
            select(t.ExchangeRateRow)
            .where(t.ExchangeRateRow.currency == currency, t.ExchangeRateRow.quote == quote, t.ExchangeRateRow.on <= on)
            .order_by(t.ExchangeRateRow.on.desc())
            .limit(1)
        ).first()
        return None if row is None else (row.on, row.rate)

    # Overdue notifications (stop-ship) ---------------------------------------------------------------------
    def add_overdue_notification(
        self, *, id: str, policy_id: str, buyer_id: str, notified_on: date, by: str, at: datetime
    ) -> None:
        self.session.add(
            t.OverdueNotificationRow(
                id=id, policy_id=policy_id, buyer_id=buyer_id, notified_on=notified_on, recorded_by=by, recorded_at=at
            )
        )
        self.session.flush()

    def first_overdue_notifications(self, policy_id: str) -> dict[str, date]:
        q = (
            select(t.OverdueNotificationRow.buyer_id, func.min(t.OverdueNotificationRow.notified_on))
            .where(t.OverdueNotificationRow.policy_id == policy_id)
            .group_by(t.OverdueNotificationRow.buyer_id)
        )
        return {b: d for b, d in self.session.execute(q)}

    def first_overdue_notifications_of(self, policy_id: str, buyer_id: str) -> date | None:
        q = select(func.min(t.OverdueNotificationRow.notified_on)).where(
            t.OverdueNotificationRow.policy_id == policy_id, t.OverdueNotificationRow.buyer_id == buyer_id
        )
        value: date | None = self.session.scalar(q)
        return value

    def count_overdue_notifications(self, buyer_id: str) -> int:
        q = select(func.count()).where(t.OverdueNotificationRow.buyer_id == buyer_id)
        return int(self.session.scalar(q) or 0)

    def count_reporting_policies(self, buyer_id: str) -> int:
        q = select(func.count(func.distinct(t.BuyerBalanceRow.policy_id))).where(t.BuyerBalanceRow.buyer_id == buyer_id)
        return int(self.session.scalar(q) or 0)

    # Imports -----------------------------------------------------------------------------------------------
    def add_import(self, record: ImportRecord) -> None:
        self.session.add(
            t.LedgerImportRow(
                id=record.id,
                policy_id=record.policy_id,
                file_name=record.file_name[:300],
                format=record.format,
                sha256=record.sha256,
                created=record.created,
                duplicates=record.duplicates,
                refused=record.refused,
                report=json.dumps(record.report),
                imported_by=record.imported_by,
                imported_at=record.imported_at,
            )
        )
        self.session.flush()
