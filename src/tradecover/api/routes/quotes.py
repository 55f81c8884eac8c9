"""Quotes: apply, read, list, revise (underwriters), issue the policy (underwriters)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.quote_schemas import (
    QuoteDetailOut,
    QuoteIn,
    QuoteIssuedOut,
    QuoteIssueIn,
    QuoteOut,
    QuoteRevisionIn,
)
from tradecover.api.schemas import Paged
from tradecover.bootstrap import Container
from tradecover.domain.quotes import DEFAULT_PRICING, PricingSettings
from tradecover.services import quotes

router = APIRouter(tags=["quotes"])


def _pricing(container: Container) -> PricingSettings:
    return replace(DEFAULT_PRICING, validity_days=container.settings.quote_validity_days)


@router.post("/quotes", response_model=QuoteDetailOut, status_code=status.HTTP_201_CREATED)
def request_quote(container: ContainerDep, actor: ActorDep, body: QuoteIn) -> QuoteDetailOut:
    """Apply for a policy: turnover by territory, sector, buyers with their outstanding, loss history.
    The engine answers with version 1 of the quote, each step of the price a line."""
    with container.uow() as uow:
        view = quotes.request_quote(
            uow,
            container.clock,
            actor,
            policyholder_id=body.policyholder_id,
            application=body.application(),
            pricing=_pricing(container),
        )
        uow.commit()
    return QuoteDetailOut.of_view(view)


@router.get("/quotes", response_model=Paged[QuoteOut])
def list_quotes(
    container: ContainerDep, actor: ActorDep, page: PageDep, policyholder_id: str | None = None
) -> Paged[QuoteOut]:
    with container.uow() as uow:
        items, total = quotes.list_quotes(uow, container.clock, actor, policyholder_id=policyholder_id, page=page)
    return Paged(items=[QuoteOut.of(s) for s in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/quotes/{quote_id}", response_model=QuoteDetailOut)
def get_quote(container: ContainerDep, actor: ActorDep, quote_id: str) -> QuoteDetailOut:
    with container.uow() as uow:
        return QuoteDetailOut.of_view(quotes.get_quote(uow, container.clock, actor, quote_id))


@router.post("/quotes/{quote_id}/versions", response_model=QuoteDetailOut, status_code=status.HTTP_201_CREATED)
def revise_quote(container: ContainerDep, actor: ActorDep, quote_id: str, body: QuoteRevisionIn) -> QuoteDetailOut:
    """An underwriter's adjustment: a new version with the changed terms and a reason."""
    with container.uow() as uow:
        view = quotes.revise_quote(
            uow,
            container.clock,
            actor,
            quote_id,
            changes=body.changes.overrides(),
            reason=body.reason,
            pricing=_pricing(container),
        )
        uow.commit()
    return QuoteDetailOut.of_view(view)


@router.post("/quotes/{quote_id}/issue", response_model=QuoteIssuedOut, status_code=status.HTTP_201_CREATED)
def issue_policy(container: ContainerDep, actor: ActorDep, quote_id: str, body: QuoteIssueIn) -> QuoteIssuedOut:
    """Issue the policy on the latest version's terms; refused once expired or already issued, while a
    referred quote is not revised (``quote.referral_unresolved``), or for a start date outside the
    version's date − 90 days … + 365 days (``quote.start_date_out_of_range``)."""
    with container.uow() as uow:
        issued = quotes.issue_policy_from_quote(
            uow, container.clock, actor, quote_id, start_date=body.start_date, version=body.version
        )
        uow.commit()
    return QuoteIssuedOut.of(issued)
