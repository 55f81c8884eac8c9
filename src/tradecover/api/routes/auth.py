"""Authentication: the OAuth2 password flow and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from tradecover.api.deps import ActorDep, ContainerDep
from tradecover.api.schemas import MeOut, OrganisationOut, TokenOut
from tradecover.api.tokens import issue_access_token
from tradecover.domain.parties import User
from tradecover.services import accounts

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, summary="Exchange e-mail and password for an access token")
def token(container: ContainerDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    client = request.client.host if request.client is not None else "unknown"
    with container.uow() as uow:

        def check() -> User:
            return accounts.authenticate(uow, form.username, form.password)

        user = container.login_throttle.attempt(form.username, client, container.clock.now(), check)
    minutes = container.settings.access_token_minutes
    access = issue_access_token(user.id, container.settings.secret_key, container.clock.now(), minutes)
    return TokenOut(access_token=access, expires_in=minutes * 60)


@router.get("/me", response_model=MeOut, summary="Who the credentials stand for")
def me(container: ContainerDep, actor: ActorDep) -> MeOut:
    with container.uow() as uow:
        organisation = accounts.get_organisation(uow, actor, actor.organisation_id)
    return MeOut(
        user_id=actor.user_id,
        email=actor.label,
        role=actor.role,
        organisation=OrganisationOut.of(organisation),
        mandates=dict(actor.mandates),
        via_api_key=actor.api_key_id,
    )
