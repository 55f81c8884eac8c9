"""Quotes: the application, its buyers and loss years, the versions of the quote's terms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tradecover.domain.money import Money
from tradecover.domain.quotes import (
    LossYear,
    Quote,
    QuoteApplication,
    QuoteLine,
    QuoteVersion,
    SubmittedBuyer,
    terms_from_json,
)
from tradecover.persistence import tables as t


def _version(row: t.QuoteVersionRow) -> QuoteVersion:
    return QuoteVersion(
        quote_id=row.quote_id,
        version=row.version,
        created_on=row.created_on,
        valid_until=row.valid_until,
        terms=terms_from_json(json.loads(row.terms)),
        expected_premium=Money.from_minor(row.expected_premium_minor, row.currency),
        lines=tuple(QuoteLine(**line) for line in json.loads(row.lines)),
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class QuotesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_sequence(self, year: int) -> int:
        row = self.session.get(t.QuoteNumberRow, year, with_for_update=True)
        if row is None:
            row = t.QuoteNumberRow(year=year, last=0)
            self.session.add(row)
        row.last += 1
        self.session.flush()
        return row.last

    def add_quote(self, quote: Quote) -> None:
        app = quote.application
        self.session.add(
            t.QuoteRow(
                id=quote.id,
                reference=quote.reference,
                policyholder_id=quote.policyholder_id,
                currency=app.currency,
                sector=app.sector,
                turnover_domestic_minor=app.domestic_turnover.to_minor(),
                turnover_export_minor=app.export_turnover.to_minor(),
                requested_on=quote.requested_on,
                created_by=quote.created_by,
                created_at=quote.created_at,
            )
        )
        self.session.flush()
        self.session.add_all(
            t.QuoteBuyerRow(
                quote_id=quote.id,
                position=position,
                name=buyer.name,
                identifier=buyer.identifier,
                country=buyer.country,
                currency=buyer.outstanding_amount.currency,
                outstanding_minor=buyer.outstanding_amount.to_minor(),
                risk_grade=buyer.risk_grade,
            )
            for position, buyer in enumerate(app.buyers, start=1)
        )
        self.session.add_all(
            t.QuoteLossYearRow(
                quote_id=quote.id, year=y.year, currency=y.losses.currency, losses_minor=y.losses.to_minor()
            )
            for y in app.loss_history
        )
        self.session.flush()

    def add_version(self, version: QuoteVersion) -> None:
        terms = version.terms
        self.session.add(
            t.QuoteVersionRow(
                quote_id=version.quote_id,
                version=version.version,
                created_on=version.created_on,
                valid_until=version.valid_until,
                reason=version.reason,
                created_by=version.created_by,
                created_at=version.created_at,
                currency=terms.currency,
                domestic_rate=terms.premium_rates.domestic_rate,
                export_rate=terms.premium_rates.export_rate,
                expected_premium_minor=version.expected_premium.to_minor(),
                minimum_premium_minor=(terms.minimum_premium or Money.zero(terms.currency)).to_minor(),
                terms=json.dumps(terms.to_dict(), sort_keys=True),
                lines=json.dumps([line.to_json() for line in version.lines], ensure_ascii=False),
            )
        )
        self.session.flush()

    def _quotes(self, rows: Sequence[t.QuoteRow]) -> list[Quote]:
        ids = [r.id for r in rows]
        buyers: dict[str, list[SubmittedBuyer]] = {i: [] for i in ids}
        losses: dict[str, list[LossYear]] = {i: [] for i in ids}
        if ids:
            q_buyers = (
                select(t.QuoteBuyerRow)
                .where(t.QuoteBuyerRow.quote_id.in_(ids))
                .order_by(t.QuoteBuyerRow.quote_id, t.QuoteBuyerRow.position)
            )
            for b in self.session.scalars(q_buyers):
                buyers[b.quote_id].append(
                    SubmittedBuyer(
                        b.name, b.country, Money.from_minor(b.outstanding_minor, b.currency), b.identifier, b.risk_grade
                    )
                )
            q_losses = (
                select(t.QuoteLossYearRow)
                .where(t.QuoteLossYearRow.quote_id.in_(ids))
                .order_by(t.QuoteLossYearRow.quote_id, t.QuoteLossYearRow.year)
            )
            for y in self.session.scalars(q_losses):
                losses[y.quote_id].append(LossYear(y.year, Money.from_minor(y.losses_minor, y.currency)))
        return [
            Quote(
                id=row.id,
                reference=row.reference,
                policyholder_id=row.policyholder_id,
                application=QuoteApplication(
                    currency=row.currency,
                    domestic_turnover=Money.from_minor(row.turnover_domestic_minor, row.currency),
                    export_turnover=Money.from_minor(row.turnover_export_minor, row.currency),
                    sector=row.sector,
                    buyers=tuple(buyers[row.id]),
                    loss_history=tuple(losses[row.id]),
                ),
                requested_on=row.requested_on,
                created_by=row.created_by,
                created_at=row.created_at,
                issued_policy_id=row.issued_policy_id,
                issued_version=row.issued_version,
                issued_on=row.issued_on,
                issued_by=row.issued_by,
                issued_at=row.issued_at,
            )
            for row in rows
        ]

    def get_quote(self, quote_id: str, *, lock: bool = False) -> Quote | None:
        q = select(t.QuoteRow).where(t.QuoteRow.id == quote_id)
        if lock:
            q = q.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalars(q).one_or_none()
        return None if row is None else self._quotes([row])[0]

    def by_reference(self, reference: str) -> str | None:
        return self.session.scalar(select(t.QuoteRow.id).where(t.QuoteRow.reference == reference))

    def versions_of(self, quote_id: str) -> list[QuoteVersion]:
        rows = self.session.scalars(
            select(t.QuoteVersionRow).where(t.QuoteVersionRow.quote_id == quote_id).order_by(t.QuoteVersionRow.version)
        )
        return [_version(r) for r in rows]

    def list_quotes(
        self, policyholder_ids: frozenset[str] | None, *, offset: int, limit: int
    ) -> tuple[list[tuple[Quote, QuoteVersion]], int]:
        q = select(t.QuoteRow)
        if policyholder_ids is not None:
            q = q.where(t.QuoteRow.policyholder_id.in_(sorted(policyholder_ids)))
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = list(
            self.session.scalars(q.order_by(t.QuoteRow.created_at.desc(), t.QuoteRow.id).limit(limit).offset(offset))
        )
        quotes = self._quotes(rows)
        latest: dict[str, QuoteVersion] = {}
        if rows:
            newest = (
                select(t.QuoteVersionRow.quote_id, func.max(t.QuoteVersionRow.version).label("version"))
                .where(t.QuoteVersionRow.quote_id.in_([r.id for r in rows]))
                .group_by(t.QuoteVersionRow.quote_id)
                .subquery()
            )
            q_versions = select(t.QuoteVersionRow).join(
                newest,
                (t.QuoteVersionRow.quote_id == newest.c.quote_id) & (t.QuoteVersionRow.version == newest.c.version),
            )
            for row in self.session.scalars(q_versions):
                latest[row.quote_id] = _version(row)
        return [(quote, latest[quote.id]) for quote in quotes], total

    def mark_issued(self, quote_id: str, *, policy_id: str, version: int, on: date, by: str, at: datetime) -> None:
        self.session.execute(
            update(t.QuoteRow)
            .where(t.QuoteRow.id == quote_id)
            .values(issued_policy_id=policy_id, issued_version=version, issued_on=on, issued_by=by, issued_at=at)
        )
