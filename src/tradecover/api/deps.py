"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from tradecover.api.tokens import subject_of
from tradecover.bootstrap import Container
from tradecover.domain.errors import NotAuthenticated
from tradecover.services import accounts
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page
from tradecover.services.security import API_KEY_MARK


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]

_bearer = HTTPBearer(auto_error=False, description="A JWT from /api/v1/auth/token, or an API key")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key for ERP integrations")


def get_actor(
    container: ContainerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Actor:
    with container.uow() as uow:
        if api_key:
            return accounts.actor_for_api_key(uow, container.clock, api_key)
        if bearer is None:
            raise NotAuthenticated("authentication required", code="auth.not_authenticated")
        if bearer.credentials.startswith(f"{API_KEY_MARK}_"):
            return accounts.actor_for_api_key(uow, container.clock, bearer.credentials)
        user_id = subject_of(bearer.credentials, container.settings.secret_key, container.clock.now())
        return accounts.actor_for_user(uow, container.clock, user_id)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_page(
    request: Request,
    limit: Annotated[int, Query(ge=1, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, description="items to skip")] = 0,
) -> Page:
    maximum = request.app.state.container.settings.page_size_max
    return Page(limit=min(limit, maximum), offset=offset)


PageDep = Annotated[Page, Depends(get_page)]
