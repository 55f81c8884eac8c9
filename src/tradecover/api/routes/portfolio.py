"""The insurer's portfolio: accumulation (JSON and CSV) and the live book for the loss model (JSON and CSV).

Staff only: every insured's limits and exposure are in these reports.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.portfolio_schemas import AccumulationOut, LiveBookOut
from tradecover.api.routes.claims import content_disposition
from tradecover.api.schemas import DecimalText
from tradecover.domain.accumulation import Dimension
from tradecover.services import portfolio

router = APIRouter(tags=["portfolio"])

DimensionQuery = Annotated[Dimension, Query(description="what the book is summed by")]
AsOfQuery = Annotated[date | None, Query(description="as of this date (default: today)")]
TopQuery = Annotated[int, Query(ge=1, le=portfolio.MAX_TOP, description="how many of the largest keys to list")]
LgdQuery = Annotated[DecimalText, Query(description="loss given default, 0..1")]
CurrencyQuery = Annotated[str, Query(min_length=3, max_length=3, description="the book's currency")]


def _csv(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("attachment", name)},
    )


@router.get("/portfolio/accumulation", response_model=AccumulationOut)
def accumulation(
    container: ContainerDep,
    actor: ActorDep,
    dimension: DimensionQuery = Dimension.BUYER,
    top: TopQuery = 10,
    as_of: AsOfQuery = None,
) -> AccumulationOut:
    """Limits and covered exposure summed per buyer, group, country, sector or policy, per currency: the
    largest keys with their shares, the Herfindahl-Hirschman index, and every cap breached (any dimension).

    The caps are the setting ``TRADECOVER_ACCUMULATION_CAPS``.
    """
    day = as_of or container.clock.today()
    with container.uow() as uow:
        result = portfolio.accumulation(uow, actor, day, container.settings.caps, top, dimension=dimension)
    return AccumulationOut.of(result)


@router.get("/portfolio/accumulation.csv", responses={200: {"content": {"text/csv": {}}}})
def accumulation_csv(
    container: ContainerDep, actor: ActorDep, dimension: DimensionQuery = Dimension.BUYER, as_of: AsOfQuery = None
) -> Response:
    """Every key of the dimension, one row each: dimension, key, name, limit_amount, covered_exposure_amount,
    currency, share (of covered exposure), cap (the caps bounding it), breach (the largest excess, if any).
    UTF-8 with BOM, ``;``-separated, as French spreadsheets open it."""
    day = as_of or container.clock.today()
    with container.uow() as uow:
        result = portfolio.accumulation(
            uow, actor, day, container.settings.caps, portfolio.MAX_TOP, dimension=dimension
        )
    return _csv(portfolio.accumulation_csv(result), f"accumulation-{dimension.value}-{day.isoformat()}.csv")


@router.get("/portfolio/book", response_model=LiveBookOut)
def live_book(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    as_of: AsOfQuery = None,
    lgd: LgdQuery = str(portfolio.DEFAULT_LGD_RATE),
    currency: CurrencyQuery = "EUR",
) -> LiveBookOut:
    """The live book, one obligor per buyer with a limit in force or covered exposure: EAD (covered
    exposure = limit × usage), PD of its current grade, LGD, NAF section, country, a page at a time (by
    obligor id); the totals (EAD, Σ EAD × PD × LGD) are over the whole book."""
    day = as_of or container.clock.today()
    with container.uow() as uow:
        rows = portfolio.live_book(uow, actor, day, Decimal(lgd), currency=currency)
    return LiveBookOut.of(day, currency, rows, limit=page.limit, offset=page.offset)


@router.get("/portfolio/book.csv", responses={200: {"content": {"text/csv": {}}}})
def live_book_csv(
    container: ContainerDep,
    actor: ActorDep,
    as_of: AsOfQuery = None,
    lgd: LgdQuery = str(portfolio.DEFAULT_LGD_RATE),
    currency: CurrencyQuery = "EUR",
) -> Response:
    """The live book as the loss model reads it (``tradecover portfolio loss --book FILE``): exactly the
    columns obligor_id,ead,pd,lgd,sector,country; UTF-8, ``,``-separated."""
    day = as_of or container.clock.today()
    with container.uow() as uow:
        rows = portfolio.live_book(uow, actor, day, Decimal(lgd), currency=currency)
    return _csv(portfolio.live_book_csv(rows), f"book-{day.isoformat()}.csv")
