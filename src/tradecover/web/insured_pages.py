"""The portal's insured pages: its buyers, a buyer's grade and limits, limit requests, prospect queries and the
ledger import.

``/buyers`` lists the insured's buyers (search by name or SIREN) with grade, limit in force and outstanding,
and adds a buyer by its identifier (``POST /buyers``, then the buyer's page); ``/buyers/{id}`` shows a buyer's
grade and its reasons, the limit history on each policy, the form of a limit request (new, increase or
reduction) and, where a limit is in force, its cancellation: the engine's decision is shown at once with its
reasons. ``/buyers/prospect`` asks what the engine would grant a company before quoting it: an indication
only, no limit is stored. ``/invoices/import`` uploads a ledger file (CSV, FEC, Factur-X); the import runs in
a background job (:mod:`tradecover.web.jobs`) and ``/invoices/import/{job}`` refreshes itself until the report
is there, line by line. Each route reads or acts through the services, which check who may see what: another
insured's buyer, or another user's import, is not found.

Every screen is the insured's: its own user, or a broker acting for it (:func:`access.insured_screen`).
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

from tradecover.domain.buyers import Buyer, buyer_identifiers
from tradecover.domain.credit_limits import Decision
from tradecover.domain.errors import Conflict, InvalidInput, NotFound, RateLimited, RuleBroken
from tradecover.domain.identifiers import IdentifierKind, parse_identifier
from tradecover.domain.money import Money
from tradecover.domain.receco import RequestType
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import buyers, credit_limits, ledger, policies, portal
from tradecover.services.authorization import Actor
from tradecover.services.ledger_import import ImportReport, import_ledger
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import error_page, insured_form, insured_screen
from tradecover.web.context import PageContext
from tradecover.web.jobs import JOBS, Job
from tradecover.web.paging import pager

router = APIRouter(include_in_schema=False)

BUYERS_PAGE_SIZE = 50
MAX_POLICIES = 100
MAX_SEARCH_LENGTH = 100
MAX_FIELD_LENGTH = 300
CURRENCIES = ("EUR",)
# Up to twelve digits, then cents; spaces (as French figures carry them) and a decimal comma are accepted.
AMOUNT = re.compile(r"^\d{1,12}(?:[.,]\d{1,2})?$")
# The identifiers a buyer is added by; a VAT number with the FR prefix is read as a French one by the domain.
IDENTIFIER_KINDS = ("siren", "siret", "vat", "lei", "duns")
IDENTIFIER_FIELDS = frozenset({*(kind.value for kind in IdentifierKind), "identifiers", "kind"})
# What the request form may ask for; a cancellation has its own form (and confirmation).
REQUEST_TYPES = {"new": RequestType.NEW, "increase": RequestType.INCREASE, "reduction": RequestType.REDUCTION}
IMPORT_JOB = "ledger_import"
# How long the upload's request waits for the import: a small file's report is then there on the first page.
QUICK_IMPORT_SECONDS = 1.0

FormText = Annotated[str, Form()]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


_error = error_page


def _held(uow: UnitOfWork, actor: Actor) -> list[Any]:
    held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    return held


def _policy_id(held: list[Any], chosen: str) -> str:
    """The chosen policy, or the insured's only one; the services refuse one that is not the insured's."""
    policy_id = chosen or (held[0].id if held else "")
    if not policy_id:
        raise NotFound("the insured holds no policy", code="policy.not_found")
    return policy_id


def _typed_amount(amount: str, currency: str) -> Money | None:
    """The amount typed in a form (French or English figures), or None when it is not an amount."""
    typed = "".join(amount.split())
    if not AMOUNT.match(typed) or currency not in CURRENCIES:
        return None
    return Money.of(Decimal(typed.replace(",", ".")), currency)


def _company_form(kind: str, identifier: str, legal_name: str, country: str) -> dict[str, str]:
    return {
        "kind": kind[:10] or IDENTIFIER_KINDS[0],
        "identifier": identifier[:40],
        "legal_name": legal_name[:MAX_FIELD_LENGTH],
        "country": country[:10] or "FR",
    }


def _company_error(problem: InvalidInput | Conflict) -> str:
    """Which field of the company form a service's refusal is about (the page words it)."""
    if problem.field in IDENTIFIER_FIELDS:
        return "identifier"
    if problem.field in ("legal_name", "country"):
        return problem.field
    raise problem


def _already_in_book(uow: UnitOfWork, actor: Actor, kind: str, identifier: str) -> Buyer | None:
    """The buyer of the insured's book this identifier names, if any (another insured's is none of its business)."""
    if kind not in IDENTIFIER_KINDS:
        raise InvalidInput("choose the kind of identifier", code="buyer.unknown_identifier_kind", field="kind")
    named = buyer_identifiers([parse_identifier(kind, identifier)])
    for found in uow.buyers.find_by_identifiers(named):
        try:
            return buyers.get_buyer(uow, actor, found.id)
        except NotFound:
            continue
    return None


def _add_company(page: PageContext, actor: Actor, uow: UnitOfWork, form: dict[str, str]) -> Buyer:
    """The company of the form, added to the insured's book (the service finds it if the register knows it).

    A broker names the insured it acts for: the service would otherwise take the broker's own organisation.
    """
    buyer, _ = buyers.add_buyer(
        uow,
        page.container.clock,
        actor,
        identifiers=[(form["kind"], form["identifier"])],
        legal_name=form["legal_name"],
        country=form["country"],
        customer_reference=form.get("reference") or None,
        organisation_id=page.acting.id if page.acting is not None else None,
    )
    return buyer


# --- Buyers -----------------------------------------------------------------------------------------------


def _buyers_page(
    page: PageContext,
    actor: Actor,
    *,
    q: str = "",
    offset: int = 0,
    form: dict[str, str] | None = None,
    error: str | None = None,
    duplicate: Buyer | None = None,
    status_code: int = 200,
) -> Response:
    container = page.container
    today = container.clock.today()
    search = q.strip()
    with container.uow() as uow:
        found, total = buyers.list_buyers(
            uow, actor, search=search or None, page=Page(limit=BUYERS_PAGE_SIZE, offset=offset)
        )
        held = _held(uow, actor)
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
        "pager": pager(offset, total, BUYERS_PAGE_SIZE),
        "query": query,
        "on": today,
        "form": form or {**_company_form("", "", "", ""), "reference": ""},
        "kinds": IDENTIFIER_KINDS,
        "error": error,
        "duplicate": duplicate,
        "current": "buyers",
    }
    return page.render("insured_buyers.html", values, status_code=status_code)


@router.get("/buyers")
def buyer_list(
    request: Request, q: Annotated[str, Query(max_length=MAX_SEARCH_LENGTH)] = "", offset: OffsetQuery = 0
) -> Response:
    """The insured's buyers, each with its grade and, per policy, its limit in force and outstanding."""
    return insured_screen(request, lambda page, actor: _buyers_page(page, actor, q=q, offset=offset))


@router.post("/buyers")
def add_buyer(
    request: Request,
    kind: FormText = "",
    identifier: FormText = "",
    legal_name: FormText = "",
    country: FormText = "",
    reference: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Add a buyer by its identifier; its page follows. One already in the book is named in the form (422)."""
    form = {**_company_form(kind, identifier, legal_name, country), "reference": reference[:100]}

    def build(page: PageContext, actor: Actor) -> Response:
        # The form is shown again once the unit of work is closed: nothing of a refused buyer is kept.
        error: str | None = None
        buyer = known = None
        with page.container.uow() as uow:
            try:
                known = _already_in_book(uow, actor, form["kind"], form["identifier"])
                if known is None:
                    buyer = _add_company(page, actor, uow, form)
                else:
                    error = "duplicate"
            except (InvalidInput, Conflict) as problem:
                error = _company_error(problem)
        if buyer is None:
            duplicate = known if error == "duplicate" else None
            return _buyers_page(page, actor, form=form, error=error, duplicate=duplicate, status_code=422)
        return page.redirect(f"/buyers/{quote(buyer.id)}")

    return insured_form(request, csrf_token, build)


# --- Prospect query ---------------------------------------------------------------------------------------


def _prospect_page(
    page: PageContext,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    answer: Decision | None = None,
    buyer: Buyer | None = None,
    status_code: int = 200,
) -> Response:
    with page.container.uow() as uow:
        held = _held(uow, actor)
    values = {
        "policies": held,
        "form": form
        or {
            **_company_form("", "", "", ""),
            "amount": "",
            "currency": CURRENCIES[0],
            "policy": held[0].id if held else "",
        },
        "kinds": IDENTIFIER_KINDS,
        "currencies": CURRENCIES,
        "error": error,
        "answer": answer,
        "indicated": (answer.suggestion or answer.granted) if answer is not None else None,
        "buyer": buyer,
        "current": "buyers",
    }
    return page.render("insured_prospect.html", values, status_code=status_code)


@router.get("/buyers/prospect")
def prospect_form(request: Request) -> Response:
    return insured_screen(request, lambda page, actor: _prospect_page(page, actor))


@router.post("/buyers/prospect")
def prospect_query(
    request: Request,
    kind: FormText = "",
    identifier: FormText = "",
    legal_name: FormText = "",
    country: FormText = "",
    amount: FormText = "",
    currency: FormText = "EUR",
    policy: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """What the engine would grant the company now: an indication, no limit stored and the insurer bound to nothing.

    The engine answers on a buyer of the register: a company it does not know yet is added to the insured's
    book (as the API's ``POST /buyers`` then ``prospect-queries``), with no limit.
    """
    form = {
        **_company_form(kind, identifier, legal_name, country),
        "amount": amount[:40],
        "currency": currency[:3],
        "policy": policy[:100],
    }

    def build(page: PageContext, actor: Actor) -> Response:
        asked = _typed_amount(amount, currency)
        if asked is None:
            return _prospect_page(page, actor, form=form, error="amount", status_code=422)
        error: str | None = None
        status_code = 422
        buyer: Buyer | None = None
        answer: Decision | None = None
        with page.container.uow() as uow:
            policy_id = _policy_id(_held(uow, actor), policy)
            try:
                buyer = _already_in_book(uow, actor, form["kind"], form["identifier"])
                if buyer is None:
                    buyer = _add_company(page, actor, uow, form)
                answer = credit_limits.prospect_query(
                    uow, page.container.clock, actor, policy_id=policy_id, buyer_id=buyer.id, amount=asked
                )
            except RateLimited:
                error, status_code = "rate_limited", 429
            except (InvalidInput, Conflict) as problem:
                error = "amount" if problem.field == "amount" else _company_error(problem)
        if answer is None:
            return _prospect_page(page, actor, form=form, error=error, status_code=status_code)
        return _prospect_page(page, actor, form=form, answer=answer, buyer=buyer)

    return insured_form(request, csrf_token, build)


# --- A buyer and its limits -------------------------------------------------------------------------------


def _buyer_page(
    page: PageContext,
    actor: Actor,
    buyer_id: str,
    *,
    request_id: str | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
    error_policy: str | None = None,
    status_code: int = 200,
) -> Response:
    container = page.container
    with container.uow() as uow:
        buyer = buyers.get_buyer(uow, actor, buyer_id)
        grades = uow.buyers.grade_history(buyer.id)
        held = _held(uow, actor)
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
    any_in_force = any(not item["in_force"].is_zero() for item in limits)
    default_type = "increase" if any_in_force else "new"
    values = {
        "buyer": buyer,
        "grade": latest,
        "grade_reasons": latest.reasons() if latest is not None else [],
        "limits": limits,
        "policies": held,
        "any_in_force": any_in_force,
        "decision": decision,
        "form": form
        or {
            "amount": "",
            "currency": CURRENCIES[0],
            "policy": held[0].id if held else "",
            "request_type": default_type,
        },
        "currencies": CURRENCIES,
        "error": error,
        "error_policy": error_policy,
        "current": "buyers",
    }
    return page.render("insured_buyer.html", values, status_code=status_code)


@router.get("/buyers/{buyer_id}")
def buyer_detail(request: Request, buyer_id: str, decision: Annotated[str, Query(max_length=100)] = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        return _buyer_page(page, actor, buyer_id, request_id=decision or None)

    return insured_screen(request, build)


def _decided(page: PageContext, outcome: credit_limits.RequestOutcome) -> Response:
    return page.redirect(f"/buyers/{quote(outcome.request.buyer_id)}?decision={quote(outcome.request.id)}#decision")


@router.post("/buyers/{buyer_id}/limit-requests")
def request_limit(
    request: Request,
    buyer_id: str,
    amount: FormText = "",
    currency: FormText = "EUR",
    policy: FormText = "",
    request_type: FormText = "new",
    csrf_token: FormText = "",
) -> Response:
    """A limit request (new, increase, reduction): the engine's answer is shown at once on the buyer's page."""

    def build(page: PageContext, actor: Actor) -> Response:
        form = {
            "amount": amount[:40],
            "currency": currency[:3],
            "policy": policy[:100],
            "request_type": request_type[:20],
        }

        def again(error: str) -> Response:
            return _buyer_page(page, actor, buyer_id, form=form, error=error, status_code=422)

        asked = _typed_amount(amount, currency)
        wanted = REQUEST_TYPES.get(request_type)
        if asked is None:
            return again("amount")
        if wanted is None:
            return again("request_type")
        outcome: credit_limits.RequestOutcome | None = None
        error = "amount"
        with page.container.uow() as uow:
            policy_id = _policy_id(_held(uow, actor), policy)
            try:
                outcome = credit_limits.request_limit(
                    uow,
                    page.container.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=asked,
                    request_type=wanted,
                )
            except InvalidInput as problem:
                if problem.field != "amount":
                    raise
                if problem.code == "credit_limit.not_a_reduction":
                    error = "not_a_reduction"
            except RuleBroken as problem:
                if problem.code != "credit_limit.none_in_force":
                    raise
                error = "none_in_force"
        if outcome is None:
            return again(error)
        return _decided(page, outcome)

    return insured_form(request, csrf_token, build)


@router.post("/buyers/{buyer_id}/limit-cancellations")
def cancel_limit(
    request: Request, buyer_id: str, policy: FormText = "", confirm: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Cancel the limit in force on a policy (a cancellation request, decided at once); the box must be ticked."""

    def build(page: PageContext, actor: Actor) -> Response:
        outcome: credit_limits.RequestOutcome | None = None
        with page.container.uow() as uow:
            held = _held(uow, actor)
            policy_id = _policy_id(held, policy)
            currency = next((p.currency for p in held if p.id == policy_id), CURRENCIES[0])
            error = "confirm" if confirm != "1" else "none_in_force"
            try:
                if confirm == "1":
                    outcome = credit_limits.request_limit(
                        uow,
                        page.container.clock,
                        actor,
                        policy_id=policy_id,
                        buyer_id=buyer_id,
                        amount=Money.zero(currency),
                        request_type=RequestType.CANCELLATION,
                    )
            except RuleBroken as problem:
                if problem.code != "credit_limit.none_in_force":
                    raise
        if outcome is None:
            return _buyer_page(page, actor, buyer_id, error=error, error_policy=policy_id, status_code=422)
        return _decided(page, outcome)

    return insured_form(request, csrf_token, build)


# --- Ledger import ----------------------------------------------------------------------------------------


def _import_page(page: PageContext, actor: Actor, *, error: str | None = None, status_code: int = 200) -> Response:
    with page.container.uow() as uow:
        held = _held(uow, actor)
    values = {
        "policies": held,
        "error": error,
        "max_megabytes": page.container.settings.max_upload_bytes // 1_048_576,
        "current": "import",
    }
    return page.render("insured_import.html", values, status_code=status_code)


def _job_owner(page: PageContext, actor: Actor) -> str:
    """Whose import it is: the user and, for a broker, the insured it acts for (not shown for another insured)."""
    return actor.user_id if page.acting is None else f"{actor.user_id}@{page.acting.id}"


@router.get("/invoices/import")
def import_form(request: Request) -> Response:
    return insured_screen(request, lambda page, actor: _import_page(page, actor))


@router.post("/invoices/import")
def import_upload(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    policy: FormText = "",
    partial: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Upload a ledger file: the import runs in the background, its page shows the progress then the report."""

    def build(page: PageContext, actor: Actor) -> Response:
        limit = page.container.settings.max_upload_bytes
        data = file.file.read(limit + 1) if file is not None else b""
        if not data:
            return _import_page(page, actor, error="file", status_code=422)
        if len(data) > limit:
            return _import_page(page, actor, error="too_large", status_code=413)
        name = (PurePath(file.filename or "upload").name if file is not None else "") or "upload"
        container = page.container
        with container.uow() as uow:
            policy_id = _policy_id(_held(uow, actor), policy)
            currency = ledger.policy_to_act_on(uow, actor, policy_id).currency
        keep_valid = bool(partial)

        def work(progress: Callable[[int, int], None]) -> ImportReport:
            parsed = parse_ledger_file(data, name, file_format="auto", currency=currency)
            progress(0, len(parsed.records))
            with container.uow() as uow:
                report = import_ledger(
                    uow,
                    container.clock,
                    actor,
                    policy_id=policy_id,
                    parsed=parsed,
                    content=data,
                    partial=keep_valid,
                    progress=progress,
                )
                if report.applied:
                    uow.commit()
            return report

        job = JOBS.start(IMPORT_JOB, _job_owner(page, actor), work, parameters={"file": name})
        if job.thread is not None:
            job.thread.join(QUICK_IMPORT_SECONDS)
        return page.redirect(f"/invoices/import/{job.id}")

    return insured_form(request, csrf_token, build)


@router.get("/invoices/import/{job_id}")
def import_job(request: Request, job_id: str) -> Response:
    """An import's progress, then its report: refused lines with file, line, field and message."""

    def build(page: PageContext, actor: Actor) -> Response:
        job: Job[ImportReport] = JOBS.get(job_id[:100], IMPORT_JOB, _job_owner(page, actor))
        report = job.result
        values = {
            "job": job,
            "file": job.parameters["file"] if isinstance(job.parameters, dict) else "",
            "report": report,
            "refused_lines": [line for line in report.lines if line.outcome == "refused"] if report else [],
            "current": "import",
        }
        return page.render("insured_import_job.html", values)

    return insured_screen(request, build)
