"""The portal's factor pages: the invoices assigned to the factor, with their cover, and the claims on them.

A factor sees the cover and the claims of the invoices assigned to it, nothing else (issue 10).
``/factor/invoices`` lists its invoices, every insured's, with their cover status and covered amount today
(filtered by cover status, paged, totals per currency over every page); ``/factor/claims`` the claims
involving its invoices, with its share of the indemnity and a link to its own settlement statement,
``/factor/claims/{id}/statement.pdf``. Everything is read through
:mod:`tradecover.services.factoring_views`, which also checks that the user is a factor's: only a
``factor_user`` opens these pages (anyone else gets 403), and a claim on none of its invoices is not found.
:func:`factor_summary` gives the factor's home page its two counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tradecover.domain.money import Money
from tradecover.domain.parties import Role
from tradecover.domain.periods import Clock
from tradecover.services import claim_statements, factoring_views
from tradecover.services.authorization import Actor
from tradecover.services.factoring_views import CoverStatus
from tradecover.services.ports import UnitOfWork
from tradecover.web.access import Build, logged_in
from tradecover.web.context import PageContext
from tradecover.web.paging import pager

router = APIRouter(include_in_schema=False)

LIST_PAGE_SIZE = 50
COVER_STATUSES = (CoverStatus.COVERED, CoverStatus.PARTLY_COVERED, CoverStatus.NOT_COVERED, CoverStatus.SETTLED)

OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]
StatusQuery = Annotated[str, Query(max_length=40)]


def _factor_page(request: Request, build: Build) -> Response:
    # The services refuse anyone but a factor's user too; checking the role first gives the 403 page at once.
    return logged_in(request, build, role=Role.FACTOR_USER)


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    unpaid: Money
    covered: Money


def currency_totals(views: list[factoring_views.AssignedInvoiceView]) -> list[CurrencyTotal]:
    """Unpaid and covered per currency: policies in different currencies are never added together."""
    sums: dict[str, tuple[Money, Money]] = {}
    for view in views:
        currency = view.unpaid.currency
        unpaid, covered = sums.get(currency, (Money.zero(currency), Money.zero(currency)))
        sums[currency] = (unpaid + view.unpaid, covered + view.covered)
    return [CurrencyTotal(c, u, v) for c, (u, v) in sorted(sums.items())]


@dataclass(frozen=True)
class FactorSummary:
    """What the factor's home page shows: how many invoices are assigned to it, and how many claims."""

    invoices: int
    claims: int


def factor_summary(uow: UnitOfWork, clock: Clock, actor: Actor) -> FactorSummary:
    return FactorSummary(
        len(factoring_views.assigned_invoices(uow, clock, actor)), len(factoring_views.claims_of_factor(uow, actor))
    )


@router.get("/factor/invoices")
def factor_invoices(request: Request, status: StatusQuery = "", offset: OffsetQuery = 0) -> Response:
    """The invoices assigned to the factor with their cover today; an unknown status filter shows them all."""

    def build(page: PageContext, actor: Actor) -> Response:
        chosen = status if status in COVER_STATUSES else ""
        with page.container.uow() as uow:
            views = factoring_views.assigned_invoices(uow, page.container.clock, actor)
        if chosen:
            views = [v for v in views if v.cover_status == chosen]
        values = {
            "rows": views[offset : offset + LIST_PAGE_SIZE],
            "totals": currency_totals(views),
            "statuses": COVER_STATUSES,
            "status": chosen,
            "pager": pager(offset, len(views), LIST_PAGE_SIZE),
            "query": "&status=" + quote(chosen, safe="") if chosen else "",
            "current": "factor_invoices",
        }
        return page.render("factor_invoices.html", values)

    return _factor_page(request, build)


@router.get("/factor/claims")
def factor_claims(request: Request, offset: OffsetQuery = 0) -> Response:
    """The claims involving the factor's invoices: its invoices in each, its share, its statement."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            views = factoring_views.claims_of_factor(uow, actor)
        values = {
            "rows": views[offset : offset + LIST_PAGE_SIZE],
            "pager": pager(offset, len(views), LIST_PAGE_SIZE),
            "query": "",
            "current": "factor_claims",
        }
        return page.render("factor_claims.html", values)

    return _factor_page(request, build)


def _attachment(content: bytes, name: str) -> Response:
    """A PDF to save, with an ASCII fallback name and the real one UTF-8 encoded (RFC 6266); never sniffed."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    headers = {
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type="application/pdf", headers=headers)


@router.get("/factor/claims/{claim_id}/statement.pdf")
def factor_statement(request: Request, claim_id: str) -> Response:
    """The factor's own settlement statement of a claim (its invoices and share), in the page's language."""

    def build(page: PageContext, actor: Actor) -> Response:
        language: Literal["fr", "en"] = "fr" if page.language == "fr" else "en"
        with page.container.uow() as uow:
            content, name = claim_statements.factor_statement_pdf(
                uow, page.container.clock, actor, claim_id[:100], language=language
            )
        return _attachment(content, name)

    return _factor_page(request, build)
