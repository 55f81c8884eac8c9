"""The portal's premium pages: declare turnover, see each year's premium figures and the premium documents.

``/premium`` shows, per policy of the insured (a staff member names one with ``?policy=``), the declaration
calendar of each begun policy year with due dates and the turnover declared (latest versions), the year's
figures, the premium documents and the statement; the insured declares a period's turnover there
(``POST /premium/declarations``). ``/premium/documents/{id}.pdf`` and ``/premium/statement.pdf`` give the
files. Each route reads or acts through the services, which check who may see what: another insured's
policy or document is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from tradecover.domain.errors import DomainError, Forbidden, NotFound
from tradecover.domain.policies import Policy, terms_in_force
from tradecover.domain.premium import (
    TurnoverDeclaration,
    declaration_calendar,
    declaration_due_date,
    latest_versions,
    periods_to_declare,
)
from tradecover.services import policies, premium, premium_documents
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import error_page, insured_form, insured_only, logged_in
from tradecover.web.context import PageContext
from tradecover.web.insured_pages import AMOUNT

router = APIRouter(include_in_schema=False)

MAX_POLICIES = 100
FormText = Annotated[str, Form()]
IdQuery = Annotated[str, Query(max_length=100)]


_error = error_page


def _reader(request: Request, build: Callable[[PageContext, Actor], Response], *, staff: bool = True) -> Response:
    """An insured's page (its user, or a broker acting for it) or, with ``staff``, a staff member's."""
    return logged_in(request, insured_only(build, staff=staff))


def _policies(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[Policy]:
    """The policy named (staff must name one), else every policy the insured holds."""
    if policy_id:
        return [policies.get_policy(uow, actor, policy_id)]
    if actor.is_staff:
        raise NotFound("name a policy with ?policy=", code="policy.not_found")
    held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    return held


def _period_value(start: date, last_day: date) -> str:
    return f"{start.isoformat()}_{last_day.isoformat()}"


def _policy_view(uow: UnitOfWork, actor: Actor, policy: Policy, today: date) -> dict[str, Any]:
    versions = uow.policies.terms_versions(policy.id)
    latest = {d.period: d for d in latest_versions(premium.declarations(uow, actor, policy.id))}
    years = []
    for view in premium.years(uow, actor, policy.id):
        year = view.figures.year
        if year.start > today:
            continue
        terms = terms_in_force(versions, year.start).terms
        calendar = declaration_calendar(year, terms.declaration_frequency)
        owed = periods_to_declare(year, terms.declaration_frequency, policy.termination_date)
        periods = [
            {
                "period": period,
                "value": _period_value(period.start, period.last_day),
                "due_on": declaration_due_date(calendar_period, terms.declaration_days),
                "declared": latest.get(period),
                "open": period.start <= today,
            }
            for calendar_period, period in zip(calendar, owed, strict=False)
        ]
        years.append({"figures": view.figures, "closed": view.closed, "periods": periods})
    return {"policy": policy, "years": years, "documents": premium.documents(uow, actor, policy.id)}


def _premium_page(
    page: PageContext,
    actor: Actor,
    *,
    policy_id: str = "",
    declared: str = "",
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    today = page.container.clock.today()
    with page.container.uow() as uow:
        views = [_policy_view(uow, actor, p, today) for p in _policies(uow, actor, policy_id)]
    recorded: TurnoverDeclaration | None = None
    recorded_policy: Policy | None = None
    if declared:
        with page.container.uow() as uow:
            for view in views:
                found = next((d for d in premium.declarations(uow, actor, view["policy"].id) if d.id == declared), None)
                if found is not None:
                    recorded, recorded_policy = found, view["policy"]
    values = {
        "views": views,
        "policy_id": policy_id,
        "may_declare": page.insured_side,
        "recorded": recorded,
        "recorded_policy": recorded_policy,
        "form": form or {"policy": "", "period": "", "domestic": "", "export": ""},
        "error": error,
        "error_field": _field_of(error),
        "current": "premium",
    }
    return page.render("premium_overview.html", values, status_code=status_code)


def _field_of(error: DomainError | None) -> str:
    """The form field an error of the service names: period, domestic or export."""
    if error is None:
        return ""
    name = (error.field or "").split(".")[0]
    return "period" if name.startswith("period") or name not in {"domestic", "export"} else name


@router.get("/premium")
def premium_overview(request: Request, policy: IdQuery = "", declared: IdQuery = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        return _premium_page(page, actor, policy_id=policy, declared=declared)

    return _reader(request, build)


def _parse_period(value: str) -> tuple[date, date] | None:
    start, _, end = value.partition("_")
    try:
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return None


@router.post("/premium/declarations")
def declare(
    request: Request,
    policy: FormText = "",
    period: FormText = "",
    domestic: FormText = "",
    export: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Declare a period's turnover; the record is shown at once on the premium page (303 there)."""

    def build(page: PageContext, actor: Actor) -> Response:
        form = {"policy": policy[:100], "period": period[:40], "domestic": domestic[:40], "export": export[:40]}
        amounts = {"domestic": "".join(domestic.split()), "export": "".join(export.split())}
        problem: DomainError | None = None
        dates = _parse_period(period)
        if dates is None:
            problem = DomainError("choose a period to declare", code="turnover.invalid", field="period_start")
        for name, typed in amounts.items():
            if problem is None and not AMOUNT.match(typed):
                problem = DomainError(f"{name} is not an amount: {typed!r}", code="turnover.invalid", field=name)
        if problem is not None or dates is None:
            return _premium_page(page, actor, form=form, error=problem, status_code=422)
        with page.container.uow() as uow:
            policy_id = policy or next(iter(p.id for p in _policies(uow, actor, "")), "")
            if not policy_id:
                raise NotFound("the insured holds no policy", code="policy.not_found")
            try:
                outcome = premium.declare_turnover(
                    uow,
                    page.container.clock,
                    actor,
                    policy_id,
                    period_start=dates[0],
                    period_end=dates[1],
                    domestic=amounts["domestic"].replace(",", "."),
                    export=amounts["export"].replace(",", "."),
                )
            except (NotFound, Forbidden):
                raise
            except DomainError as refused:
                uow.rollback()
                return _premium_page(page, actor, form=form, error=refused, status_code=422)
        return page.redirect(f"/premium?declared={outcome.declaration.id}#declaration")

    return insured_form(request, csrf_token, build)


# --- Files ------------------------------------------------------------------------------------------------


def _pdf(content: bytes, name: str) -> Response:
    """Inline, with an ASCII fallback name and the real one UTF-8 encoded (RFC 6266)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    disposition = f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/premium/documents/{document_id}.pdf")
def document_pdf(request: Request, document_id: str) -> Response:
    """A premium invoice or credit note; another insured's is not found."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            document = uow.premium.get_document(document_id)
            if document is None:
                raise NotFound(f"premium document {document_id} not found", code="premium_document.not_found")
            content, name = premium_documents.document_pdf(uow, actor, document.policy_id, document.id)
        return _pdf(content, name)

    return _reader(request, build)


@router.get("/premium/statement.pdf")
def statement_pdf(request: Request, policy: IdQuery = "") -> Response:
    """A policy's premium statement (every document and payment, the running balance, the years)."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            policy_id = next(iter(p.id for p in _policies(uow, actor, policy)), "")
            if not policy_id:
                raise NotFound("the insured holds no policy", code="policy.not_found")
            content, name = premium_documents.statement_pdf(uow, page.container.clock, actor, policy_id)
        return _pdf(content, name)

    return _reader(request, build)
