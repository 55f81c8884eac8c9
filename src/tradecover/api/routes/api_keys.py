"""API keys for ERP integrations: created (shown once), listed, revoked."""

from __future__ import annotations

from fastapi import APIRouter, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, Paged
from tradecover.services import accounts

router = APIRouter(tags=["api keys"])


@router.get("/api-keys", response_model=Paged[ApiKeyOut])
def list_api_keys(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[ApiKeyOut]:
    with container.uow() as uow:
        items, total = accounts.list_api_keys(uow, actor, page)
    return Paged(items=[ApiKeyOut.of(k) for k in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(container: ContainerDep, actor: ActorDep, body: ApiKeyIn) -> ApiKeyCreated:
    with container.uow() as uow:
        key, token = accounts.create_api_key(uow, container.clock, actor, name=body.name)
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), token=token)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(container: ContainerDep, actor: ActorDep, key_id: str) -> ApiKeyOut:
    with container.uow() as uow:
        return ApiKeyOut.of(accounts.revoke_api_key(uow, container.clock, actor, key_id))
