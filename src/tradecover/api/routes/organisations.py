"""Organisations (insurer, policyholders, brokers, factors), their users, and mandates."""

from __future__ import annotations

from fastapi import APIRouter, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import (
    MandateIn,
    MandateOut,
    OrganisationIn,
    OrganisationOut,
    Paged,
    UserChangeIn,
    UserIn,
    UserOut,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.parties import OrganisationKind
from tradecover.services import accounts
from tradecover.services.authorization import Permission, require

router = APIRouter(tags=["organisations"])


@router.get("/organisations", response_model=Paged[OrganisationOut])
def list_organisations(
    container: ContainerDep, actor: ActorDep, page: PageDep, kind: OrganisationKind | None = None
) -> Paged[OrganisationOut]:
    with container.uow() as uow:
        items, total = accounts.list_organisations(uow, actor, kind=kind, page=page)
    return Paged(items=[OrganisationOut.of(o) for o in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/organisations", response_model=OrganisationOut, status_code=status.HTTP_201_CREATED)
def create_organisation(container: ContainerDep, actor: ActorDep, body: OrganisationIn) -> OrganisationOut:
    with container.uow() as uow:
        organisation = accounts.create_organisation(
            uow,
            container.clock,
            actor,
            kind=body.kind,
            name=body.name,
            country=body.country,
            siren=body.siren,
        )
    return OrganisationOut.of(organisation)


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut)
def get_organisation(container: ContainerDep, actor: ActorDep, organisation_id: str) -> OrganisationOut:
    with container.uow() as uow:
        return OrganisationOut.of(accounts.get_organisation(uow, actor, organisation_id))


@router.get("/organisations/{organisation_id}/users", response_model=Paged[UserOut])
def list_users(container: ContainerDep, actor: ActorDep, page: PageDep, organisation_id: str) -> Paged[UserOut]:
    with container.uow() as uow:
        items, total = accounts.list_users(uow, actor, organisation_id, page)
    return Paged(items=[UserOut.of(u) for u in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/organisations/{organisation_id}/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(container: ContainerDep, actor: ActorDep, organisation_id: str, body: UserIn) -> UserOut:
    with container.uow() as uow:
        user = accounts.create_user(
            uow,
            container.clock,
            actor,
            organisation_id=organisation_id,
            email=body.email,
            full_name=body.full_name,
            role=body.role,
            password=body.password,
        )
    return UserOut.of(user)


@router.patch("/organisations/{organisation_id}/users/{user_id}", response_model=UserOut)
def change_user(
    container: ContainerDep, actor: ActorDep, organisation_id: str, user_id: str, body: UserChangeIn
) -> UserOut:
    """Disable or re-enable a user, or change its role; each change is an audit event with its reason."""
    if body.active is None and body.role is None:
        require(actor, Permission.USER_CREATE)  # a forbidden caller learns nothing more than 403
        raise InvalidInput("give active or role", code="user.nothing_to_change", field="active")
    with container.uow() as uow:
        # The role first: its refusals (own role, a role the kind does not allow) cover the account itself,
        # so a refused request changes nothing.
        if body.role is not None:
            accounts.change_role(
                uow,
                container.clock,
                actor,
                user_id,
                role=body.role,
                reason=body.reason,
                organisation_id=organisation_id,
            )
        if body.active is not None:
            accounts.set_user_active(
                uow,
                container.clock,
                actor,
                user_id,
                active=body.active,
                reason=body.reason,
                organisation_id=organisation_id,
            )
        user = uow.users.get(user_id)
        assert user is not None
    return UserOut.of(user)


@router.get("/mandates", response_model=Paged[MandateOut])
def list_mandates(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[MandateOut]:
    with container.uow() as uow:
        items, total = accounts.list_mandates(uow, actor, page)
    return Paged(items=[MandateOut.of(m) for m in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/mandates", response_model=MandateOut, status_code=status.HTTP_201_CREATED)
def create_mandate(container: ContainerDep, actor: ActorDep, body: MandateIn) -> MandateOut:
    with container.uow() as uow:
        mandate = accounts.create_mandate(
            uow,
            container.clock,
            actor,
            broker_id=body.broker_id,
            insured_id=body.insured_id,
            start_date=body.start_date,
            end_date=body.end_date,
            scope=body.scope,
        )
    return MandateOut.of(mandate)


@router.get("/mandates/{mandate_id}", response_model=MandateOut)
def get_mandate(container: ContainerDep, actor: ActorDep, mandate_id: str) -> MandateOut:
    with container.uow() as uow:
        return MandateOut.of(accounts.get_mandate(uow, actor, mandate_id))
