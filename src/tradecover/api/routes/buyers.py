"""The buyer register, as each insured sees it (its book) and as the insurer does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import BuyerIn, BuyerOut, Paged
from tradecover.services import buyers

router = APIRouter(tags=["buyers"])


@router.get("/buyers", response_model=Paged[BuyerOut])
def list_buyers(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    search: Annotated[str | None, Query(max_length=100, description="name prefix or identifier")] = None,
) -> Paged[BuyerOut]:
    with container.uow() as uow:
        items, total = buyers.list_buyers(uow, actor, search=search, page=page)
    return Paged(items=[BuyerOut.of(b) for b in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/buyers",
    response_model=BuyerOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the buyer already existed and was added to the book"}},
)
def add_buyer(container: ContainerDep, actor: ActorDep, body: BuyerIn, response: Response) -> BuyerOut:
    with container.uow() as uow:
        buyer, created = buyers.add_buyer(
            uow,
            container.clock,
            actor,
            identifiers=[(i.kind, i.value) for i in body.identifiers],
            legal_name=body.legal_name,
            country=body.country,
            organisation_id=body.organisation_id,
            naf_code=body.naf_code,
            legal_form=body.legal_form,
            parent_id=body.parent_id,
            city=body.city,
            customer_reference=body.customer_reference,
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return BuyerOut.of(buyer)


@router.get("/buyers/{buyer_id}", response_model=BuyerOut)
def get_buyer(container: ContainerDep, actor: ActorDep, buyer_id: str) -> BuyerOut:
    with container.uow() as uow:
        return BuyerOut.of(buyers.get_buyer(uow, actor, buyer_id))
