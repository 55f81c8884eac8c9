"""Factoring: the policies' delegation endorsements, per-payee statements, and what a factor sees."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.factoring_schemas import AssignedInvoiceOut, DelegationIn, DelegationOut, FactorClaimOut
from tradecover.api.routes.claims import content_disposition
from tradecover.api.schemas import Paged
from tradecover.services import claim_statements, factoring, factoring_views

router = APIRouter(tags=["factoring"])
Language = Literal["fr", "en"]
API_PREFIX = "/api/v1"


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": content_disposition("inline", name)}
    )


@router.post("/policies/{policy_id}/delegations", response_model=DelegationOut, status_code=status.HTTP_201_CREATED)
def create_delegation(container: ContainerDep, actor: ActorDep, policy_id: str, body: DelegationIn) -> DelegationOut:
    """Endorse the policy (délégation): the factor is loss payee of the invoices assigned to it, from a date."""
    with container.uow() as uow:
        view = factoring.create_delegation(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            factor_id=body.factor_id,
            start_date=body.start_date,
            end_date=body.end_date,
            reason=body.reason,
        )
        uow.commit()
    return DelegationOut.of(view)


@router.get("/policies/{policy_id}/delegations", response_model=Paged[DelegationOut])
def list_delegations(container: ContainerDep, actor: ActorDep, policy_id: str, page: PageDep) -> Paged[DelegationOut]:
    with container.uow() as uow:
        views = factoring.delegations_of_policy(uow, actor, policy_id)
    items = [DelegationOut.of(v) for v in views[page.offset : page.offset + page.limit]]
    return Paged(items=items, total=len(views), limit=page.limit, offset=page.offset)


@router.get("/claims/{claim_id}/payees/{payee}/statement.pdf")
def payee_statement_pdf(
    container: ContainerDep, actor: ActorDep, claim_id: str, payee: str, language: Language = "fr"
) -> Response:
    """One payee's settlement statement: ``insured``, or a factor organisation's id (its invoices and share)."""
    with container.uow() as uow:
        content, name = claim_statements.payee_statement_pdf(
            uow, container.clock, actor, claim_id, payee[:36], language=language
        )
    return _pdf(content, name)


@router.get("/factor/assignments", response_model=Paged[AssignedInvoiceOut])
def factor_assignments(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[AssignedInvoiceOut]:
    """A factor's invoices, every insured's, with their cover status and covered amount today."""
    with container.uow() as uow:
        views = factoring_views.assigned_invoices(uow, container.clock, actor)
    items = [AssignedInvoiceOut.of(v) for v in views[page.offset : page.offset + page.limit]]
    return Paged(items=items, total=len(views), limit=page.limit, offset=page.offset)


@router.get("/factor/claims", response_model=Paged[FactorClaimOut])
def factor_claims(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[FactorClaimOut]:
    """Claims on the factor's invoices, with its share of the indemnity and its statement."""
    with container.uow() as uow:
        views = factoring_views.claims_of_factor(uow, actor)
    items = [FactorClaimOut.of(v, API_PREFIX) for v in views[page.offset : page.offset + page.limit]]
    return Paged(items=items, total=len(views), limit=page.limit, offset=page.offset)


@router.get("/factor/claims/{claim_id}/statement.pdf")
def factor_statement_pdf(
    container: ContainerDep, actor: ActorDep, claim_id: str, language: Language = "fr"
) -> Response:
    """The factor's settlement statement of a claim: its invoices only, and its share."""
    with container.uow() as uow:
        content, name = claim_statements.factor_statement_pdf(uow, container.clock, actor, claim_id, language=language)
    return _pdf(content, name)
