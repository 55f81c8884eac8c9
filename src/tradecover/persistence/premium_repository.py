"""Turnover declarations, premium documents, payments, movements and closed years."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradecover.domain.money import Money
from tradecover.domain.periods import Period
from tradecover.domain.premium import (
    DocumentKind,
    PremiumDocument,
    PremiumItem,
    PremiumMovement,
    PremiumPayment,
    Territory,
    TerritoryTurnover,
    TurnoverDeclaration,
    YearEnd,
    YearFigures,
)
from tradecover.persistence import tables as t

_PARTS = ("turnover", "cash_sales", "intra_group", "public_buyers")


def _territory(row: t.TurnoverDeclarationRow, territory: Territory) -> TerritoryTurnover:
    cur = row.currency
    values = [Money.from_minor(getattr(row, f"{territory.value}_{name}_minor"), cur) for name in _PARTS]
    return TerritoryTurnover(territory, *values)


def _declaration(row: t.TurnoverDeclarationRow) -> TurnoverDeclaration:
    return TurnoverDeclaration(
        id=row.id,
        policy_id=row.policy_id,
        period=Period(row.period_start, row.period_end),
        version=row.version,
        domestic=_territory(row, Territory.DOMESTIC),
        export=_territory(row, Territory.EXPORT),
        declared_by=row.declared_by,
        declared_at=row.declared_at,
        declared_on=row.declared_on,
        reason=row.reason,
    )


def _document(row: t.PremiumDocumentRow) -> PremiumDocument:
    return PremiumDocument(
        id=row.id,
        policy_id=row.policy_id,
        number=row.number,
        kind=DocumentKind(row.kind),
        item=PremiumItem(row.item),
        year_start=row.year_start,
        issued_on=row.issued_on,
        due_on=row.due_on,
        amount=Money.from_minor(row.amount_minor, row.currency),
        label=row.label,
        source_key=row.source_key,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _year_end(row: t.PremiumYearEndRow) -> YearEnd:
    cur = row.currency

    def m(minor: int) -> Money:
        return Money.from_minor(minor, cur)

    figures = YearFigures(
        year=Period(row.year_start, row.year_end),
        currency=cur,
        minimum=m(row.minimum_minor),
        earned=m(row.earned_minor),
        called=m(row.called_minor),
        paid=m(row.paid_minor),
        premium=m(row.premium_minor),
        adjustment=m(row.adjustment_minor),
        fees=m(row.fees_minor),
        request_count=row.request_count,
        buyers_monitored=row.buyers_monitored,
        indemnities=m(row.indemnities_minor),
        bonus=m(row.bonus_minor),
        max_liability=None if row.max_liability_minor is None else m(row.max_liability_minor),
        loss_ratio=row.loss_ratio,
        declared_periods=row.declared_periods,
        expected_periods=row.expected_periods,
    )
    return YearEnd(
        policy_id=row.policy_id,
        year=figures.year,
        version=row.version,
        figures=figures,
        closed_on=row.closed_on,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        reason=row.reason,
    )


class PremiumRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Declarations ---------------------------------------------------------------------------------
    def add_declaration(self, declaration: TurnoverDeclaration) -> None:
        d = declaration
        values = {
            f"{part.territory.value}_{name}_minor": getattr(part, name).to_minor()
            for part in (d.domestic, d.export)
            for name in _PARTS
        }
        self.session.add(
            t.TurnoverDeclarationRow(
                id=d.id,
                policy_id=d.policy_id,
                period_start=d.period.start,
                period_end=d.period.end,
                version=d.version,
                currency=d.domestic.turnover.currency,
                declared_on=d.declared_on,
                declared_by=d.declared_by,
                declared_at=d.declared_at,
                reason=d.reason,
                **values,
            )
        )
        self.session.flush()

    def declarations_of(self, policy_id: str) -> list[TurnoverDeclaration]:
        rows = self.session.scalars(
            select(t.TurnoverDeclarationRow)
            .where(t.TurnoverDeclarationRow.policy_id == policy_id)
            .order_by(t.TurnoverDeclarationRow.period_start, t.TurnoverDeclarationRow.version)
        )
        return [_declaration(r) for r in rows]

    def get_declaration(self, declaration_id: str) -> TurnoverDeclaration | None:
        row = self.session.get(t.TurnoverDeclarationRow, declaration_id)
        return None if row is None else _declaration(row)

    # Documents ------------------------------------------------------------------------------------
    def next_document_sequence(self, year: int) -> int:
        row = self.session.get(t.PremiumDocumentNumberRow, year, with_for_update=True)
        if row is None:
            row = t.PremiumDocumentNumberRow(year=year, last=0)
            self.session.add(row)
        row.last += 1
        self.session.flush()
        return row.last

    def add_document(self, document: PremiumDocument) -> None:
        d = document
        self.session.add(
            t.PremiumDocumentRow(
                id=d.id,
                policy_id=d.policy_id,
                number=d.number,
                kind=d.kind.value,
                item=d.item.value,
                year_start=d.year_start,
                issued_on=d.issued_on,
                due_on=d.due_on,
                currency=d.amount.currency,
                amount_minor=d.amount.to_minor(),
                label=d.label[:300],
                source_key=d.source_key,
                created_by=d.created_by,
                created_at=d.created_at,
            )
        )
        self.session.flush()

    def has_source(self, source_key: str) -> bool:
        found = self.session.scalar(
            select(t.PremiumDocumentRow.id).where(t.PremiumDocumentRow.source_key == source_key)
        )
        return found is not None

    def documents_of(self, policy_id: str) -> list[PremiumDocument]:
        rows = self.session.scalars(
            select(t.PremiumDocumentRow)
            .where(t.PremiumDocumentRow.policy_id == policy_id)
            .order_by(t.PremiumDocumentRow.issued_on, t.PremiumDocumentRow.number)
        )
        return [_document(r) for r in rows]

    def get_document(self, document_id: str) -> PremiumDocument | None:
        row = self.session.get(t.PremiumDocumentRow, document_id)
        return None if row is None else _document(row)

    # Payments and movements -----------------------------------------------------------------------
    def add_payment(self, payment: PremiumPayment) -> None:
        p = payment
        self.session.add(
            t.PremiumPaymentRow(
                id=p.id,
                policy_id=p.policy_id,
                currency=p.amount.currency,
                amount_minor=p.amount.to_minor(),
                received_on=p.received_on,
                reference=p.reference,
                recorded_by=p.recorded_by,
                recorded_at=p.recorded_at,
            )
        )
        self.session.flush()

    def payments_of(self, policy_id: str) -> list[PremiumPayment]:
        rows = self.session.scalars(
            select(t.PremiumPaymentRow)
            .where(t.PremiumPaymentRow.policy_id == policy_id)
            .order_by(t.PremiumPaymentRow.received_on, t.PremiumPaymentRow.recorded_at)
        )
        return [
            PremiumPayment(
                r.id,
                r.policy_id,
                Money.from_minor(r.amount_minor, r.currency),
                r.received_on,
                r.reference,
                r.recorded_by,
                r.recorded_at,
            )
            for r in rows
        ]

    def add_movements(self, movements: Sequence[PremiumMovement]) -> None:
        self.session.add_all(
            t.PremiumMovementRow(
                id=m.id,
                transaction_id=m.transaction_id,
                policy_id=m.policy_id,
                kind=m.kind,
                account=m.account,
                currency=m.amount.currency,
                amount_minor=m.amount.to_minor(),
                on=m.on,
                reference=m.reference,
                recorded_at=m.recorded_at,
            )
            for m in movements
        )
        self.session.flush()

    def movements_of(self, policy_id: str) -> list[PremiumMovement]:
        rows = self.session.scalars(
            select(t.PremiumMovementRow)
            .where(t.PremiumMovementRow.policy_id == policy_id)
            .order_by(t.PremiumMovementRow.on, t.PremiumMovementRow.recorded_at, t.PremiumMovementRow.id)
        )
        return [
            PremiumMovement(
                r.id,
                r.transaction_id,
                r.policy_id,
                r.kind,
                r.account,
                Money.from_minor(r.amount_minor, r.currency),
                r.on,
                r.reference,
                r.recorded_at,
            )
            for r in rows
        ]

    # Closed years ---------------------------------------------------------------------------------
    def add_year_end(self, year_end: YearEnd) -> None:
        f = year_end.figures
        self.session.add(
            t.PremiumYearEndRow(
                policy_id=year_end.policy_id,
                year_start=year_end.year.start,
                version=year_end.version,
                year_end=year_end.year.end,
                currency=f.currency,
                minimum_minor=f.minimum.to_minor(),
                earned_minor=f.earned.to_minor(),
                called_minor=f.called.to_minor(),
                paid_minor=f.paid.to_minor(),
                premium_minor=f.premium.to_minor(),
                adjustment_minor=f.adjustment.to_minor(),
                fees_minor=f.fees.to_minor(),
                request_count=f.request_count,
                buyers_monitored=f.buyers_monitored,
                indemnities_minor=f.indemnities.to_minor(),
                bonus_minor=f.bonus.to_minor(),
                max_liability_minor=None if f.max_liability is None else f.max_liability.to_minor(),
                loss_ratio=f.loss_ratio,
                declared_periods=f.declared_periods,
                expected_periods=f.expected_periods,
                closed_on=year_end.closed_on,
                closed_by=year_end.closed_by,
                closed_at=year_end.closed_at,
                reason=year_end.reason,
            )
        )
        self.session.flush()

    def year_ends_of(self, policy_id: str, year_start: date | None = None) -> list[YearEnd]:
        query = select(t.PremiumYearEndRow).where(t.PremiumYearEndRow.policy_id == policy_id)
        if year_start is not None:
            query = query.where(t.PremiumYearEndRow.year_start == year_start)
        rows = self.session.scalars(query.order_by(t.PremiumYearEndRow.year_start, t.PremiumYearEndRow.version))
        return [_year_end(r) for r in rows]
