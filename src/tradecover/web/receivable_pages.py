"""The portal's pages for the insured's aged balance, with its export.

``/aged-balance?policy=...&on=YYYY-MM-DD`` shows, for one of the insured's policies (the first by default),
the unpaid amounts of each buyer by days past due on a date (today by default), the policy's totals and its
DSO, and the amounts in other currencies apart. ``/aged-balance.csv`` and ``/aged-balance.xlsx`` give the same
figures as a file, built by :mod:`tradecover.services.aged_export` exactly as the API's export. A date that is
not one is shown in the form (422); another insured's policy is not found, as the services answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tradecover.domain.errors import NotFound
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import AGE_BUCKETS
from tradecover.services import exposure, policies
from tradecover.services.aged_export import ExportFormat, aged_export
from tradecover.services.authorization import Actor
from tradecover.services.exposure import AgedReport
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import insured_screen
from tradecover.web.context import PageContext

router = APIRouter(include_in_schema=False)

MAX_POLICIES = 100
IdQuery = Annotated[str, Query(max_length=100)]
DateQuery = Annotated[str, Query()]  # shortened below: a wrong date is shown in the form, not refused


def _parse_day(typed: str, today: date) -> date | None:
    """The day asked for (today when none); None when what was typed is no ISO date."""
    typed = typed.strip()
    if not typed:
        return today
    try:
        return date.fromisoformat(typed)
    except ValueError:
        return None


def _chosen(uow: UnitOfWork, actor: Actor, policy_id: str) -> tuple[list[Policy], str]:
    """The insured's policies and the one to show: the one named (the service checks it is the insured's)."""
    held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    if policy_id:
        return held, policies.get_policy(uow, actor, policy_id).id
    return held, held[0].id if held else ""


def _aged_page(page: PageContext, actor: Actor, policy: str, on: str) -> Response:
    on = on[:40]
    day = _parse_day(on, page.container.clock.today())
    report: AgedReport | None = None
    with page.container.uow() as uow:
        held, policy_id = _chosen(uow, actor, policy)
        if day is not None and policy_id:
            report = exposure.aged_report(uow, actor, policy_id, on=day)
    query = urlencode({"policy": policy_id, "on": day.isoformat()}) if report is not None and day else ""
    values = {
        "policies": held,
        "policy_id": policy_id,
        "typed_on": on if day is None else day.isoformat(),
        "date_error": day is None,
        "report": report,
        "buckets": [name for name, _, _ in AGE_BUCKETS],
        "export_query": query,
        "current": "aged",
    }
    return page.render("receivable_aged.html", values, status_code=422 if day is None else 200)


@router.get("/aged-balance")
def aged_balance(request: Request, policy: IdQuery = "", on: DateQuery = "") -> Response:
    """One policy's aged balance per buyer on a date, with the totals, the DSO and other currencies apart."""
    return insured_screen(request, lambda page, actor: _aged_page(page, actor, policy, on))


def _export(request: Request, policy: str, on: str, export_format: ExportFormat) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        day = _parse_day(on[:40], page.container.clock.today())
        if day is None:
            return _aged_page(page, actor, policy, on)  # the form, with the date shown wrong
        with page.container.uow() as uow:
            _, policy_id = _chosen(uow, actor, policy)
            if not policy_id:
                raise NotFound("the insured holds no policy", code="policy.not_found")
            report = exposure.aged_report(uow, actor, policy_id, on=day)
        file = aged_export(report, export_format)
        return Response(
            file.content,
            media_type=file.media_type,
            headers={"Content-Disposition": file.disposition, "X-Content-Type-Options": "nosniff"},
        )

    return insured_screen(request, build)


@router.get("/aged-balance.csv")
def aged_balance_csv(request: Request, policy: IdQuery = "", on: DateQuery = "") -> Response:
    return _export(request, policy, on, "csv")


@router.get("/aged-balance.xlsx")
def aged_balance_xlsx(request: Request, policy: IdQuery = "", on: DateQuery = "") -> Response:
    return _export(request, policy, on, "xlsx")
