"""Schemas of insurers' offers and of their comparison on the insured's history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from tradecover.api.schemas import DecimalText, MoneyBody, Strict, TermsIn
from tradecover.services.offers_ports import Offer


class OfferedLimitIn(Strict):
    identifier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="the buyer's SIREN, SIRET, VAT number, LEI or D-U-N-S"
    )
    amount: DecimalText = Field(description="the limit the insurer would grant, in the offer's currency")


class OfferFeesIn(Strict):
    annual_fee: DecimalText | None = Field(default=None, description="per policy year, on top of the premium")
    per_buyer_fee: DecimalText | None = Field(default=None, description="per year and buyer with a limit")


class OfferIn(Strict):
    insurer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "EUR"
    terms: TermsIn = Field(default_factory=TermsIn)
    fees: OfferFeesIn = Field(default_factory=OfferFeesIn)
    limits: list[OfferedLimitIn] = Field(default_factory=list, max_length=10_000)

    def limit_pairs(self) -> list[tuple[str, Decimal]]:
        return [(limit.identifier, Decimal(limit.amount)) for limit in self.limits]

    def fee_values(self) -> dict[str, Decimal]:
        return {k: Decimal(v) for k, v in self.fees.model_dump(exclude_none=True).items()}


class OfferedLimitOut(BaseModel):
    buyer_id: str
    identifier: str
    amount: MoneyBody


class OfferOut(BaseModel):
    id: str
    organisation_id: str
    insurer: str
    currency: str
    terms: dict[str, Any]
    annual_fee: MoneyBody
    per_buyer_fee: MoneyBody
    limits: list[OfferedLimitOut]
    limits_version: int
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        return cls(
            id=offer.id,
            organisation_id=offer.organisation_id,
            insurer=offer.insurer_name,
            currency=offer.currency,
            terms=dict(offer.terms),
            annual_fee=MoneyBody.of(offer.annual_fee),
            per_buyer_fee=MoneyBody.of(offer.per_buyer_fee),
            limits=[
                OfferedLimitOut(buyer_id=limit.buyer_id, identifier=limit.identifier, amount=MoneyBody.of(limit.amount))
                for limit in offer.limits
            ],
            limits_version=offer.limits_version,
            created_by=offer.created_by,
            created_at=offer.created_at,
        )


class OffersOut(BaseModel):
    items: list[OfferOut]


class ComparisonOut(BaseModel):
    """The comparison document of docs/COMPARE.md (amounts as decimal strings), the chart, the scenarios."""

    comparison: dict[str, Any]
    chart_png_base64: str | None = None
    scenarios: dict[str, str] = Field(description="each offer's generated scenario, SCENARIOS.md YAML")
