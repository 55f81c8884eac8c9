"""Offers: an insurer's terms and fees for an insured, and the versions of the limits it would grant."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradecover.domain.money import Money
from tradecover.persistence import tables as t
from tradecover.services.offers_ports import Offer, OfferedLimit


class OffersRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, offer: Offer) -> None:
        self.session.add(
            t.OfferRow(
                id=offer.id,
                organisation_id=offer.organisation_id,
                insurer_name=offer.insurer_name,
                currency=offer.currency,
                terms=json.dumps(offer.terms, sort_keys=True),
                annual_fee_minor=offer.annual_fee.to_minor(),
                per_buyer_fee_minor=offer.per_buyer_fee.to_minor(),
                created_by=offer.created_by,
                created_at=offer.created_at,
            )
        )
        self.session.flush()
        if offer.limits:
            self.add_limits(offer.id, 1, offer.limits, by=offer.created_by, at=offer.created_at)

    def add_limits(self, offer_id: str, version: int, limits: Sequence[OfferedLimit], *, by: str, at: datetime) -> None:
        self.session.add_all(
            t.OfferLimitRow(
                offer_id=offer_id,
                version=version,
                buyer_id=limit.buyer_id,
                identifier=limit.identifier,
                currency=limit.amount.currency,
                amount_minor=limit.amount.to_minor(),
                created_by=by,
                created_at=at,
            )
            for limit in limits
        )
        self.session.flush()

    def _offer(self, row: t.OfferRow) -> Offer:
        version = self.session.scalar(
            select(func.max(t.OfferLimitRow.version)).where(t.OfferLimitRow.offer_id == row.id)
        )
        limits: tuple[OfferedLimit, ...] = ()
        if version is not None:
            rows = self.session.scalars(
                select(t.OfferLimitRow)
                .where(t.OfferLimitRow.offer_id == row.id, t.OfferLimitRow.version == version)
                .order_by(t.OfferLimitRow.identifier, t.OfferLimitRow.buyer_id)
            )
            limits = tuple(
                OfferedLimit(r.buyer_id, r.identifier, Money.from_minor(r.amount_minor, r.currency)) for r in rows
            )
        return Offer(
            id=row.id,
            organisation_id=row.organisation_id,
            insurer_name=row.insurer_name,
            currency=row.currency,
            terms=json.loads(row.terms),
            annual_fee=Money.from_minor(row.annual_fee_minor, row.currency),
            per_buyer_fee=Money.from_minor(row.per_buyer_fee_minor, row.currency),
            created_by=row.created_by,
            created_at=row.created_at,
            limits=limits,
            limits_version=version or 0,
        )

    def get(self, offer_id: str) -> Offer | None:
        row = self.session.get(t.OfferRow, offer_id)
        return None if row is None else self._offer(row)

    def offers_of(self, organisation_id: str) -> list[Offer]:
        rows = self.session.scalars(
            select(t.OfferRow)
            .where(t.OfferRow.organisation_id == organisation_id)
            .order_by(t.OfferRow.created_at, t.OfferRow.insurer_name, t.OfferRow.id)
        )
        return [self._offer(row) for row in rows]
