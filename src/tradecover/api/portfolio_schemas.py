"""Bodies of the portfolio endpoints: accumulation (concentrations, HHI, caps, breaches) and the live book.

Amounts are ``{"amount", "currency"}`` with decimal strings; shares, indices and rates are decimal strings
too (shares and HHI 0..1 to six decimals, HHI points 0..10 000 to two).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from tradecover.api.schemas import MoneyBody
from tradecover.domain.accumulation import Breach, Cap, Concentration, DimensionTotals, Measure
from tradecover.domain.money import Money
from tradecover.services.portfolio import LiveObligor, PortfolioAccumulation

_SIX = Decimal("0.000001")
_TWO = Decimal("0.01")


def _fraction(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_SIX, ROUND_HALF_UP))


def _points(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_TWO, ROUND_HALF_UP))


class CapOut(BaseModel):
    dimension: str
    key: str = Field(description='a key of the dimension, or "*" for every key')
    measure: str = Field(description="covered_exposure or limit")
    max_share: str | None = Field(description="at most this fraction of the currency's total")
    max_amount: MoneyBody | None = Field(description="at most this amount (its currency's book only)")
    description: str

    @classmethod
    def of(cls, cap: Cap) -> CapOut:
        return cls(
            dimension=cap.dimension.value,
            key=cap.key,
            measure=cap.measure.value,
            max_share=None if cap.max_share is None else str(cap.max_share),
            max_amount=None if cap.max_amount is None else MoneyBody.of(cap.max_amount),
            description=cap.describe(),
        )


class ConcentrationOut(BaseModel):
    rank: int
    key: str = Field(description="buyer or group head id, ISO country, NAF section letter, or policy id")
    name: str = Field(description="buyer or group head name, country, section letter, or policy number")
    limit: MoneyBody = Field(description="granted limits in force")
    covered_exposure: MoneyBody
    limit_share: str | None = Field(description="of the currency's total limits, 0..1")
    covered_exposure_share: str | None = Field(description="of the currency's total covered exposure, 0..1")
    lines: int = Field(description="(policy, buyer) pairs summed")
    breached: bool = Field(description="the key breaches at least one cap")

    @classmethod
    def of(cls, rank: int, item: Concentration, breached: bool) -> ConcentrationOut:
        return cls(
            rank=rank,
            key=item.key,
            name=item.name,
            limit=MoneyBody.of(item.limit_amount),
            covered_exposure=MoneyBody.of(item.covered_exposure_amount),
            limit_share=_fraction(item.limit_share),
            covered_exposure_share=_fraction(item.covered_exposure_share),
            lines=item.lines,
            breached=breached,
        )


class HhiOut(BaseModel):
    """Herfindahl-Hirschman index Σ share² of the dimension's keys: 0..1, and in points 0..10 000."""

    covered_exposure: str | None
    limit: str | None
    covered_exposure_points: str | None
    limit_points: str | None

    @classmethod
    def of(cls, book: DimensionTotals) -> HhiOut:
        return cls(
            covered_exposure=_fraction(book.hhi(Measure.COVERED_EXPOSURE)),
            limit=_fraction(book.hhi(Measure.LIMIT)),
            covered_exposure_points=_points(book.hhi_points(Measure.COVERED_EXPOSURE)),
            limit_points=_points(book.hhi_points(Measure.LIMIT)),
        )


class CurrencyBookOut(BaseModel):
    currency: str
    total_limit: MoneyBody
    total_covered_exposure: MoneyBody
    keys: int = Field(description="keys of the dimension in this currency's book")
    hhi: HhiOut
    top: list[ConcentrationOut]


class BreachOut(BaseModel):
    dimension: str
    key: str
    name: str
    measure: str
    amount: MoneyBody
    cap: CapOut
    cap_amount: MoneyBody = Field(description="the cap as an amount in this book")
    excess: MoneyBody
    share: str | None

    @classmethod
    def of(cls, breach: Breach) -> BreachOut:
        return cls(
            dimension=breach.dimension.value,
            key=breach.key,
            name=breach.name,
            measure=breach.measure.value,
            amount=MoneyBody.of(breach.amount),
            cap=CapOut.of(breach.cap),
            cap_amount=MoneyBody.of(breach.cap_amount),
            excess=MoneyBody.of(breach.excess),
            share=_fraction(breach.share),
        )


class AccumulationOut(BaseModel):
    as_of: date
    dimension: str
    top: int
    lines: int = Field(description="(policy, buyer) pairs with a limit in force or covered exposure")
    books: list[CurrencyBookOut] = Field(description="one per currency: amounts are never converted nor mixed")
    caps: list[CapOut]
    breaches: list[BreachOut] = Field(
        description="every cap breached, on any dimension: buyer, group, country, sector, policy, each largest "
        "excess first"
    )

    @classmethod
    def of(cls, result: PortfolioAccumulation) -> AccumulationOut:
        books: list[CurrencyBookOut] = []
        for book in result.books:
            breached = {b.key for b in result.breaches_of(book.dimension) if b.currency == book.currency}
            books.append(
                CurrencyBookOut(
                    currency=book.currency,
                    total_limit=MoneyBody.of(book.total_limit_amount),
                    total_covered_exposure=MoneyBody.of(book.total_covered_exposure_amount),
                    keys=len(book.concentrations),
                    hhi=HhiOut.of(book),
                    top=[
                        ConcentrationOut.of(rank, item, item.key in breached)
                        for rank, item in enumerate(book.top(result.top_n), start=1)
                    ],
                )
            )
        return cls(
            as_of=result.as_of,
            dimension=result.dimension.value,
            top=result.top_n,
            lines=result.lines,
            books=books,
            caps=[CapOut.of(c) for c in result.caps],
            breaches=[BreachOut.of(b) for b in result.breaches],
        )


class ObligorOut(BaseModel):
    obligor_id: str = Field(description="the buyer's id")
    name: str
    ead: str = Field(description="exposure at default: covered exposure over every policy, book currency")
    pd: str = Field(description="one-year probability of default")
    lgd: str
    sector: str = Field(description='NAF section letter, "?" when unknown')
    country: str
    limit: str = Field(description="granted limits in force over every policy, book currency")
    graded: bool = Field(description="false: not graded, the PD of the worst coverable grade is used")

    @classmethod
    def of(cls, row: LiveObligor) -> ObligorOut:
        return cls(
            obligor_id=row.obligor_id,
            name=row.name,
            ead=f"{row.ead:f}",
            pd=f"{row.pd:f}",
            lgd=f"{row.lgd:f}",
            sector=row.sector,
            country=row.country,
            limit=f"{row.limit_amount:f}",
            graded=row.graded,
        )


class LiveBookOut(BaseModel):
    """The live book's figures (over every obligor) and one page of its obligors, by obligor id."""

    as_of: date
    currency: str
    obligors: int
    total_ead: MoneyBody
    expected_loss: MoneyBody = Field(description="Σ EAD × PD × LGD")
    items: list[ObligorOut]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, as_of: date, currency: str, rows: list[LiveObligor], *, limit: int, offset: int) -> LiveBookOut:
        total = sum((r.ead for r in rows), Decimal(0))
        expected = sum((r.expected_loss for r in rows), Decimal(0))
        return cls(
            as_of=as_of,
            currency=currency,
            obligors=len(rows),
            total_ead=MoneyBody.of(Money(total, currency)),
            expected_loss=MoneyBody.of(Money(expected, currency)),
            items=[ObligorOut.of(r) for r in rows[offset : offset + limit]],
            total=len(rows),
            limit=limit,
            offset=offset,
        )
