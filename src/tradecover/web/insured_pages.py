"""The portal's insured pages: its buyers, a buyer's grade and limits, a limit request, a ledger import.

``/buyers`` lists the insured's buyers (search by name or SIREN) with grade, limit in force and outstanding;
``/buyers/{id}`` shows a buyer's grade and its reasons, the limit history on each policy and the form of a
limit request, whose decision the engine gives at once; ``/invoices/import`` uploads a ledger file (CSV, FEC,
Factur-X) and shows the import report line by line. Each route reads or acts through the services, which
check who may see what: another insured's buyer is not found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from tradecover.domain.errors import InvalidInput, NotFound
from tradecover.domain.money import Money
from tradecover.domain.parties import Role
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import buyers, credit_limits, ledger, policies, portal
from tradecover.services.authorization import Actor
from tradecover.services.ledger_import import import_ledger
from tradecover.services.ports import Page
from tradecover.web.access import error_page, logged_in, posted
from tradecover.web.context import PageContext

router = APIRouter(include_in_schema=False)

BUYERS_PAGE_SIZE = 50
MAX_POLICIES = 100
MAX_SEARCH_LENGTH = 100
CURRENCIES = ("EUR",)
# Up to twelve digits, then cents; spaces (as French figures carry them) and a decimal comma are accepted.
AMOUNT = re.compile(r"^\d{1,12}(?:[.,]\d{1,2})?$")

FormText = Annotated[str, Form()]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


_error = error_page


def _insured(request: Request, build: Callable[[PageContext, Actor], Response]) -> Response:
    """The page for a logged-in insured user; anyone else logged in is refused, a visitor sent to log in."""
    return logged_in(request, build, role=Role.INSURED_USER)


def _pager(offset: int, total: int) -> dict[str, int | None]:
    return {
        "offset": offset,
        "total": total,
        "previous": max(offset - BUYERS_PAGE_SIZE, 0) if offset > 0 else None,
        "next": offset + BUYERS_PAGE_SIZE if offset + BUYERS_PAGE_SIZE < total else None,
    }


# --- Buyers -----------------------------------------------------------------------------------------------


@router.get("/buyers")
def buyer_list(
    request: Request, q: Annotated[str, Query(max_length=MAX_SEARCH_LENGTH)] = "", offset: OffsetQuery = 0
) -> Response:
    """The insured's buyers, each with its grade and, per policy, its limit in force and outstanding."""

    def build(page: PageContext, actor: Actor) -> Response:
        container = page.container
        today = container.clock.today()
        search = q.strip()
        with container.uow() as uow:
            found, total = buyers.list_buyers(
                uow, actor, search=search or None, page=Page(limit=BUYERS_PAGE_SIZE, offset=offset)
            )
            held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
            figures: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for policy in held:
                limits = {
                    b: amount for b, amount, _ in credit_limits.limits_of_policy(uow, container.clock, actor, policy.id)
                }
                lines = {line.buyer_id: line for line in portal.policy_overview(uow, actor, policy.id, on=today).buyers}
                for buyer in found:
                    line = lines.get(buyer.id)
                    limit = limits.get(buyer.id)
                    if line is None and limit is None:
                        continue
                    zero = Money.zero(policy.currency)
                    figures[buyer.id].append(
                        {
                            "policy_number": policy.number,
                            "limit": line.limit_in_force if line is not None else (limit or zero),
                            "outstanding": line.outstanding if line is not None else zero,
                        }
                    )
        query = f"&q={quote(search)}" if search else ""
        values = {
            "buyers": found,
            "figures": figures,
            "several_policies": len(held) > 1,
            "search": search,
            "pager": _pager(offset, total),
            "query": query,
            "on": today,
            "current": "buyers",
        }
        return page.render("insured_buyers.html", values)

    return _insured(request, build)


def _buyer_page(
    page: PageContext,
    actor: Actor,
    buyer_id: str,
    *,
    request_id: str | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    container = page.container
    with container.uow() as uow:
        buyer = buyers.get_buyer(uow, actor, buyer_id)
        grades = uow.buyers.grade_history(buyer.id)
        held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
        limits = []
        for policy in held:
            in_force = next(
                (
                    a
                    for b, a, _ in credit_limits.limits_of_policy(uow, container.clock, actor, policy.id)
                    if b == buyer.id
                ),
                Money.zero(policy.currency),
            )
            history = credit_limits.limit_history(uow, actor, policy.id, buyer.id)
            limits.append({"policy": policy, "in_force": in_force, "history": list(reversed(history))})
        decision = None
        if request_id:
            try:
                found = credit_limits.get_request(uow, actor, request_id)
            except NotFound:
                found = None
            if found is not None and found.buyer_id == buyer.id:
                decision = found
    latest = grades[-1] if grades else None
    values = {
        "buyer": buyer,
        "grade": latest,
        "grade_reasons": latest.reasons() if latest is not None else [],
        "limits": limits,
        "policies": held,
        "decision": decision,
        "form": form or {"amount": "", "currency": CURRENCIES[0], "policy": held[0].id if held else ""},
        "currencies": CURRENCIES,
        "error": error,
        "current": "buyers",
    }
    return page.render("insured_buyer.html", values, status_code=status_code)


@router.get("/buyers/{buyer_id}")
def buyer_detail(request: Request, buyer_id: str, decision: Annotated[str, Query(max_length=100)] = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        return _buyer_page(page, actor, buyer_id, request_id=decision or None)

    return _insured(request, build)


@router.post("/buyers/{buyer_id}/limit-requests")
def request_limit(
    request: Request,
    buyer_id: str,
    amount: FormText = "",
    currency: FormText = "EUR",
    policy: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """A limit request: the engine's answer is shown at once on the buyer's page (303 there)."""

    def build(page: PageContext, actor: Actor) -> Response:
        form = {"amount": amount[:40], "currency": currency[:3], "policy": policy[:100]}
        typed = "".join(amount.split())
        if not AMOUNT.match(typed) or currency not in CURRENCIES:
            return _buyer_page(page, actor, buyer_id, form=form, error="amount", status_code=422)
        with page.container.uow() as uow:
            held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
            policy_id = policy or (held[0].id if held else "")
            if not policy_id:
                raise NotFound("the insured holds no policy", code="policy.not_found")
            try:
                outcome = credit_limits.request_limit(
                    uow,
                    page.container.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=Money.of(Decimal(typed.replace(",", ".")), currency),
                )
            except InvalidInput as problem:
                if problem.field != "amount":
                    raise
                return _buyer_page(page, actor, buyer_id, form=form, error="amount", status_code=422)
        return page.redirect(f"/buyers/{outcome.request.buyer_id}?decision={outcome.request.id}#decision")

    return posted(request, csrf_token, build, role=Role.INSURED_USER)


# --- Ledger import ----------------------------------------------------------------------------------------


def _import_page(
    page: PageContext, actor: Actor, *, report: Any = None, error: str | None = None, status_code: int = 200
) -> Response:
    with page.container.uow() as uow:
        held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    values = {
        "policies": held,
        "report": report,
        "refused_lines": [line for line in report.lines if line.outcome == "refused"] if report else [],
        "error": error,
        "max_megabytes": page.container.settings.max_upload_bytes // 1_048_576,
        "current": "import",
    }
    return page.render("insured_import.html", values, status_code=status_code)


@router.get("/invoices/import")
def import_form(request: Request) -> Response:
    return _insured(request, lambda page, actor: _import_page(page, actor))


@router.post("/invoices/import")
def import_upload(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    policy: FormText = "",
    partial: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Upload a ledger file; the report names each refused line (file, line, field, message)."""

    def build(page: PageContext, actor: Actor) -> Response:
        limit = page.container.settings.max_upload_bytes
        data = file.file.read(limit + 1) if file is not None else b""
        if not data:
            return _import_page(page, actor, error="file", status_code=422)
        if len(data) > limit:
            return _import_page(page, actor, error="too_large", status_code=413)
        name = PurePath(file.filename or "upload").name if file is not None else "upload"
        container = page.container
        with container.uow() as uow:
            held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
            policy_id = policy or (held[0].id if held else "")
            if not policy_id:
                raise NotFound("the insured holds no policy", code="policy.not_found")
            currency = ledger.policy_to_act_on(uow, actor, policy_id).currency
        parsed = parse_ledger_file(data, name or "upload", file_format="auto", currency=currency)
        with container.uow() as uow:
            report = import_ledger(
                uow, container.clock, actor, policy_id=policy_id, parsed=parsed, content=data, partial=bool(partial)
            )
            if report.applied:
                uow.commit()
        return _import_page(page, actor, report=report)

    return posted(request, csrf_token, build, role=Role.INSURED_USER)
