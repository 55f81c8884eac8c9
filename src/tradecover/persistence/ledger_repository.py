"""The invoice ledger: entries, disputes, reversals, factor assignments, balances, open orders, rates."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    Table,
    any_,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session

from tradecover.domain.money import CURRENCY_MINOR_UNITS, Money
from tradecover.domain.receivables import Dispute, EntryKind, Invoice, Payment
from tradecover.persistence import tables as t
from tradecover.services.ledger_ports import BuyerBalance, FactorAssignment, ImportRecord, OpenOrder

_CHUNK = 5_000
#: From this many rows on, PostgreSQL gets them through COPY rather than INSERT (a large import).
_COPY_FROM = 2_000

INVOICES: Table = t.LedgerInvoiceRow.__table__  # type: ignore[assignment]
PAYMENTS: Table = t.LedgerPaymentRow.__table__  # type: ignore[assignment]
BALANCES: Table = t.BuyerBalanceRow.__table__  # type: ignore[assignment]
BOOK: Table = t.BookEntryRow.__table__  # type: ignore[assignment]

_INVOICE_COLUMNS = (
    "id",
    "policy_id",
    "buyer_id",
    "kind",
    "number",
    "issue_date",
    "delivery_date",
    "due_date",
    "currency",
    "net_minor",
    "vat_minor",
    "invoice_reference",
    "order_reference",
    "source",
    "recorded_by",
    "recorded_at",
)
_PAYMENT_COLUMNS = (
    "id",
    "policy_id",
    "buyer_id",
    "received_on",
    "currency",
    "amount_minor",
    "reference",
    "invoices",
    "dedupe_key",
    "source",
    "recorded_by",
    "recorded_at",
)
_BALANCE_COLUMNS = (
    "policy_id",
    "buyer_id",
    "currency",
    "unpaid_gross_minor",
    "unpaid_net_minor",
    "on_account_minor",
    "oldest_due_date",
    "open_disputes",
    "invoices_paid",
    "invoices_paid_late",
    "days_beyond_terms",
    "max_days_overdue",
    "trading_since",
    "updated_at",
)
_ENTRY_KINDS = {kind.value: kind for kind in EntryKind}
_Column = ColumnElement[str] | InstrumentedAttribute[str]


def _money(units: int, currency: str) -> Money:
    """``Money.from_minor`` for values read back from the ledger (hundreds of thousands on a large policy)."""
    minor = CURRENCY_MINOR_UNITS.get(currency)
    if minor is None or type(units) is not int:
        return Money.from_minor(units, currency)  # its checks and errors
    return Money(Decimal(units).scaleb(-minor), currency)


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
        amount_excl_vat=_money(r.net_minor, cur),
        vat_amount=_money(r.vat_minor, cur),
        recorded_at=r.recorded_at,
        recorded_by=r.recorded_by,
        invoice_reference=r.invoice_reference,
        order_reference=r.order_reference,
        source=r.source,
    )


def _invoices(rows: Iterable[Any]) -> Iterable[Invoice]:
    """Invoices from rows of ``_INVOICE_COLUMNS``, in order (the bulk reads: no attribute lookups)."""
    kinds = _ENTRY_KINDS
    for (
        id_,
        policy_id,
        buyer_id,
        kind,
        number,
        issue_date,
        delivery_date,
        due_date,
        cur,
        net_minor,
        vat_minor,
        invoice_reference,
        order_reference,
        source,
        recorded_by,
        recorded_at,
    ) in rows:
        yield Invoice(
            id=id_,
            policy_id=policy_id,
            buyer_id=buyer_id,
            kind=kinds.get(kind) or EntryKind(kind),
            number=number,
            issue_date=issue_date,
            delivery_date=delivery_date,
            due_date=due_date,
            amount_excl_vat=_money(net_minor, cur),
            vat_amount=_money(vat_minor, cur),
            recorded_at=recorded_at,
            recorded_by=recorded_by,
            invoice_reference=invoice_reference,
            order_reference=order_reference,
            source=source,
        )


def _payment(r: Any) -> Payment:
    return Payment(
        id=r.id,
        policy_id=r.policy_id,
        buyer_id=r.buyer_id,
        received_on=r.received_on,
        amount=_money(r.amount_minor, r.currency),
        recorded_at=r.recorded_at,
        recorded_by=r.recorded_by,
        reference=r.reference,
        invoices=_numbers(r.invoices),
        source=r.source,
    )


def _payments(rows: Iterable[Any]) -> Iterable[Payment]:
    """Payments from rows of ``_PAYMENT_COLUMNS``, in order."""
    for (
        id_,
        policy_id,
        buyer_id,
        received_on,
        cur,
        amount_minor,
        reference,
        invoices,
        _dedupe_key,
        source,
        recorded_by,
        recorded_at,
    ) in rows:
        yield Payment(
            id=id_,
            policy_id=policy_id,
            buyer_id=buyer_id,
            received_on=received_on,
            amount=_money(amount_minor, cur),
            recorded_at=recorded_at,
            recorded_by=recorded_by,
            reference=reference,
            invoices=_numbers(invoices),
            source=source,
        )


def _numbers(stored: str) -> tuple[str, ...]:
    return () if stored == "[]" else tuple(json.loads(stored))


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


def _invoice_row(i: Invoice) -> tuple[Any, ...]:
    """The values of ``_INVOICE_COLUMNS``."""
    return (
        i.id,
        i.policy_id,
        i.buyer_id,
        i.kind.value,
        i.number,
        i.issue_date,
        i.delivery_date,
        i.due_date,
        i.currency,
        i.amount_excl_vat.to_minor(),
        i.vat_amount.to_minor(),
        i.invoice_reference,
        i.order_reference,
        None if i.source is None else i.source[:300],
        i.recorded_by,
        i.recorded_at,
    )


def _payment_row(p: Payment, dedupe_key: str) -> tuple[Any, ...]:
    """The values of ``_PAYMENT_COLUMNS``."""
    return (
        p.id,
        p.policy_id,
        p.buyer_id,
        p.received_on,
        p.amount.currency,
        p.amount.to_minor(),
        p.reference,
        json.dumps(list(p.invoices)),
        dedupe_key[:300],
        None if p.source is None else p.source[:300],
        p.recorded_by,
        p.recorded_at,
    )


def _balance_row(policy_id: str, buyer_id: str, b: BuyerBalance, at: datetime) -> tuple[Any, ...]:
    """The values of ``_BALANCE_COLUMNS``."""
    return (
        policy_id,
        buyer_id,
        b.currency,
        b.unpaid_gross_minor,
        b.unpaid_net_minor,
        b.on_account_minor,
        b.oldest_due_date,
        b.open_disputes,
        b.invoices_paid,
        b.invoices_paid_late,
        b.days_beyond_terms,
        b.max_days_overdue,
        b.trading_since,
        at,
    )


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Many buyers at once --------------------------------------------------------------------------
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _groups(self, ids: Sequence[str]) -> Iterable[Sequence[str]]:
        """Buyer ids by query: 999 parameters at most on SQLite, one array on PostgreSQL.

        A whole book's 100,000 ids in one array read as fast as the whole policy; in ten queries, a third slower.
        """
        return _chunks(ids, 100_000 if self._postgres() else 900)

    def _among(self, column: _Column, ids: Sequence[str]) -> ColumnElement[bool]:
        """``column IN ids``, written ``column = ANY(array)`` on PostgreSQL.

        With ``IN ($2, …, $901)`` the generic plan of the prepared statement compares every row with each
        parameter in turn: seconds per query on a ledger just filled, whose statistics say it is empty. One
        array parameter goes through the (policy, buyer) index whatever the statistics.
        """
        if self._postgres():
            return column == any_(literal(list(ids), ARRAY(String)))
        return column.in_(ids)

    # Entries --------------------------------------------------------------------------------------
    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        self._insert(INVOICES, _INVOICE_COLUMNS, [_invoice_row(i) for i in invoices])

    def add_payments(self, payments: Sequence[tuple[Payment, str]]) -> None:
        self._insert(PAYMENTS, _PAYMENT_COLUMNS, [_payment_row(p, key) for p, key in payments])

    def _insert(self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Many rows at once: executemany in chunks, or PostgreSQL's COPY when there are many."""
        if not rows:
            return
        connection = self.session.connection()
        if connection.dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
            self._copy(connection, table, columns, rows)
            return
        statement = insert(table)
        for chunk in _chunks(rows):
            connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in chunk])

    def _copy(
        self, connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """``COPY table (columns) FROM STDIN`` on the session's own connection (same transaction).

        Values go through the columns' own bind processing first (UTC instants stored without zone).
        """
        self.session.flush()
        processors = [
            (n, p) for n, p in enumerate(table.c[c].type.bind_processor(connection.dialect) for c in columns) if p
        ]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                write = copy.write_row
                if not processors:
                    for row in rows:
                        write(row)
                    return
                for row in rows:
                    values = list(row)
                    for position, process in processors:
                        values[position] = process(values[position])
                    write(values)
        except psycopg.Error as error:  # what an INSERT would raise: IntegrityError for a duplicate, ...
            raise DBAPIError.instance(statement.as_string(driver), None, error, psycopg.Error) from error

    def invoice_keys(self, policy_id: str) -> dict[tuple[str, str, str], Invoice]:
        """(buyer, kind, number) -> invoice, for every entry of the policy (duplicate detection on import)."""
        rows = self.session.execute(
            select(*(INVOICES.c[c] for c in _INVOICE_COLUMNS)).where(INVOICES.c.policy_id == policy_id)
        )
        return {(i.buyer_id, i.kind.value, i.number): i for i in _invoices(rows)}

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
        iq = select(*(INVOICES.c[c] for c in _INVOICE_COLUMNS)).where(INVOICES.c.policy_id == policy_id)
        pq = select(*(PAYMENTS.c[c] for c in _PAYMENT_COLUMNS)).where(PAYMENTS.c.policy_id == policy_id)
        groups: list[Sequence[str] | None] = [None] if buyer_ids is None else list(self._groups(list(buyer_ids)))
        for group in groups:
            gi, gp = iq, pq
            if group is not None:
                gi = iq.where(self._among(INVOICES.c.buyer_id, group))
                gp = pq.where(self._among(PAYMENTS.c.buyer_id, group))
            for invoice in _invoices(self.session.execute(gi)):
                invoices[invoice.buyer_id].append(invoice)
            for payment in _payments(self.session.execute(gp)):
                payments[payment.buyer_id].append(payment)
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
                factor_id=assignment.factor_id,
                with_recourse=assignment.with_recourse,
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
            r.invoice_id: FactorAssignment(r.id, r.invoice_id, r.factor, r.assigned_on, r.factor_id, r.with_recourse)
            for r in self.session.scalars(q)
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
        # Only the buyers that have a balance row already need a delete (none on a policy's first import).
        stored = set(self.session.scalars(select(BALANCES.c.buyer_id).where(BALANCES.c.policy_id == policy_id)))
        replaced = [buyer_id for buyer_id in balances if buyer_id in stored]
        for chunk in self._groups(replaced):
            self.session.execute(
                delete(t.BuyerBalanceRow).where(
                    t.BuyerBalanceRow.policy_id == policy_id, self._among(t.BuyerBalanceRow.buyer_id, chunk)
                )
            )
        rows = [_balance_row(policy_id, buyer_id, b, at) for buyer_id, items in balances.items() for b in items]
        self._insert(BALANCES, _BALANCE_COLUMNS, rows)

    def in_book(self, organisation_id: str, buyer_ids: Sequence[str]) -> set[str]:
        """Those of ``buyer_ids`` in the organisation's book (one query per 900 buyers, not one per buyer)."""
        found: set[str] = set()
        for chunk in self._groups(sorted(set(buyer_ids))):
            found.update(
                self.session.scalars(
                    select(BOOK.c.buyer_id).where(
                        BOOK.c.organisation_id == organisation_id, self._among(BOOK.c.buyer_id, chunk)
                    )
                )
            )
        return found

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
        """How many insureds (policyholders, not policies) report experience with the buyer."""
        q = (
            select(func.count(func.distinct(t.PolicyRow.policyholder_id)))
            .select_from(t.BuyerBalanceRow)
            .join(t.PolicyRow, t.PolicyRow.id == t.BuyerBalanceRow.policy_id)
            .where(t.BuyerBalanceRow.buyer_id == buyer_id)
        )
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
