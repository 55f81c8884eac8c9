"""The portal's claim pages: an insured's claim file and the claims handler's instruction and approval.

``/claims`` lists the claims the user may read (the insurer's staff all, an insured its own, a broker its
mandates'), each row opening the claim; a claims handler filters it to the claims to instruct or to approve,
and the insured (or a broker acting for it) files a new claim there (``POST /claims``) on a buyer whose overdue
invoices were accepted in a notification. ``/claims/{id}`` is the claim file: its state and history, the buyer
and policy, the invoices of the claim with the amounts declared, the documents received (each downloadable at
``/claims/{id}/documents/{doc}``) and those still missing, the deadlines, an upload form
(``POST /claims/{id}/documents``) and, once settled, the settlement statement (``/claims/{id}/statement.pdf``).
A claims handler also sees the indemnity computed line by line, instructs the settlement
(``POST /claims/{id}/settlement``) and a second one approves it (``POST /claims/{id}/settlement/approval``).

Every rule — who may read or act, the documents' types and sizes, the documents required, the indemnity, the
four-eyes approval — is the services'; what they refuse is shown on the page with the typed values kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from tradecover.documents.settlement_statement import StatementLine, line_label, line_rule
from tradecover.domain.claims import ClaimCause, ClaimStatus, DocumentKind, SettlementStatus
from tradecover.domain.deadlines import administrator_claim_filing_deadline
from tradecover.domain.errors import Conflict, DomainError, Forbidden, NotFound
from tradecover.domain.money import Money
from tradecover.services import claim_statements, claims, overdues, policies, portal
from tradecover.services.authorization import ROLE_PERMISSIONS, Actor, Permission
from tradecover.services.claim_statements import INSURED_PAYEE
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import insured_form, logged_in, posted
from tradecover.web.context import PageContext
from tradecover.web.paging import pager

router = APIRouter(include_in_schema=False)

MAX_ID_LENGTH = 100

LIST_PAGE_SIZE = 50
MAX_POLICIES = 100
MAX_NOTIFICATIONS = 500
MAX_REASON = 500
CLOSED = (ClaimStatus.SETTLED, ClaimStatus.REFUSED)

FormText = Annotated[str, Form()]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]
ShortQuery = Annotated[str, Query(max_length=100)]
Language = Literal["fr", "en"]


def _may_settle(actor: Actor) -> bool:
    """Whether the page offers the claims handler's buttons (the service checks again)."""
    return actor.is_staff and actor.role in ROLE_PERMISSIONS[Permission.CLAIM_SETTLE]


def _may_file(actor: Actor) -> bool:
    return actor.role in ROLE_PERMISSIONS[Permission.CLAIM_FILE]


def _language(page: PageContext) -> Language:
    return "fr" if page.language == "fr" else "en"


# --- The list, and filing a claim -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fileable:
    """A buyer on which the insured may file a claim: its overdue invoices were accepted, no claim is open."""

    value: str  # "<policy id>|<buyer id>", the form's choice
    policy_number: str
    buyer_name: str
    first_notified: date


def _fileable(uow: UnitOfWork, actor: Actor) -> list[Fileable]:
    held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
    first: dict[tuple[str, str], date] = {}
    for policy in held:
        notifications, _ = overdues.list_notifications(
            uow, actor, policy_id=policy.id, buyer_id=None, page=Page(limit=MAX_NOTIFICATIONS)
        )
        for notification in notifications:
            if notification.accepted:
                key = (policy.id, notification.buyer_id)
                first[key] = min(first.get(key, notification.notified_on), notification.notified_on)
    # A claim already open on the buyer is reached from its row; a refused one may be filed again.
    candidates = [
        key
        for key in first
        if (latest := claims.claim_of_buyer(uow, *key)) is None or latest.status is ClaimStatus.REFUSED
    ]
    names = uow.buyers.get_many(sorted({buyer_id for _, buyer_id in candidates}))
    numbers = {p.id: p.number for p in held}
    found = [
        Fileable(
            f"{policy_id}|{buyer_id}",
            numbers[policy_id],
            names[buyer_id].legal_name if buyer_id in names else buyer_id,
            first[(policy_id, buyer_id)],
        )
        for policy_id, buyer_id in candidates
    ]
    return sorted(found, key=lambda f: (f.buyer_name.casefold(), f.policy_number))


def _problem_date(problem: DomainError | None) -> date | None:
    """The date a refusal names (the end of the waiting period), to show it in the reader's format."""
    value = problem.context.get("date_of_loss") if problem is not None else None
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _list_page(
    page: PageContext,
    actor: Actor,
    *,
    offset: int = 0,
    status: str = "",
    choice: str = "",
    problem: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    chosen = ClaimStatus(status) if status in set(ClaimStatus) else None
    with page.container.uow() as uow:
        lines, total = portal.claim_lines(uow, actor, status=chosen, page=Page(limit=LIST_PAGE_SIZE, offset=offset))
        fileable = _fileable(uow, actor) if page.insured_side else []
    values = {
        "lines": lines,
        "pager": pager(offset, total, LIST_PAGE_SIZE),
        "status": chosen.value if chosen else "",
        "statuses": [s.value for s in ClaimStatus],
        "may_settle": _may_settle(actor),
        "may_file_new": page.insured_side,
        "fileable": fileable,
        "choice": choice,
        "refusal": problem,
        "refusal_date": _problem_date(problem),
        "current": "claims",
    }
    return page.render("claims.html", values, status_code=status_code)


@router.get("/claims")
def claims_list(
    request: Request, offset: OffsetQuery = 0, status: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """The claims the user may read: the insurer's staff all, an insured its own, a broker its mandates'."""
    return logged_in(request, lambda page, actor: _list_page(page, actor, offset=offset, status=status))


@router.post("/claims")
def file_claim(request: Request, choice: FormText = "", csrf_token: FormText = "") -> Response:
    """File a claim on a buyer under a policy; the claim file opens (303 there), or the refusal is shown."""

    def build(page: PageContext, actor: Actor) -> Response:
        policy_id, _, buyer_id = choice[:210].partition("|")
        if not policy_id or not buyer_id:
            problem = DomainError("choose the buyer of the claim", code="claim.choose_buyer", field="choice")
            return _list_page(page, actor, problem=problem, status_code=422)
        with page.container.uow() as uow:
            try:
                claim = claims.file_claim(uow, page.container.clock, actor, policy_id=policy_id, buyer_id=buyer_id)
            except (NotFound, Forbidden):
                raise
            except DomainError as refused:
                uow.rollback()
                code = 409 if isinstance(refused, Conflict) else 422
                return _list_page(page, actor, choice=choice[:210], problem=refused, status_code=code)
            uow.commit()
        return page.redirect(f"/claims/{quote(claim.id, safe='')}?filed=1")

    return insured_form(request, csrf_token, build)


# --- The claim file -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedInvoice:
    number: str
    notified_on: date
    due_date: date
    unpaid_gross: Money
    unpaid_net: Money


@dataclass(frozen=True)
class Event:
    """One step of the claim's history: ``kind`` names it for the template's wording."""

    at: datetime
    kind: str  # filed | document | settlement_<status> | approved | withdrawn | recovery
    detail: str = ""
    amount: Money | None = None


@dataclass(frozen=True)
class Line:
    """A line of the indemnity computation, worded in the page's language."""

    code: str
    label: str
    rule: str
    amount: Money | None
    emphasis: bool


EMPHASISED = frozenset({"loss", "covered_loss", "indemnity"})


def _worded(lines: Iterable[StatementLine], language: Language) -> list[Line]:
    return [
        Line(line.code, line_label(line, language), line_rule(line, language), line.amount, line.emphasis)
        for line in lines
    ]


def _preview_lines(preview: claims.Computation | None, language: Language) -> list[Line]:
    if preview is None:
        return []
    return _worded(
        (StatementLine(x.code, x.label, x.rule, x.amount, x.emphasis, x.params) for x in preview.indemnity.lines),
        language,
    )


def _statement_lines(statement: Mapping[str, Any], language: Language) -> list[Line]:
    """The lines a settlement recorded (its statement as computed then)."""
    currency = str(statement.get("currency") or "EUR")
    raw = statement.get("lines") or []
    return _worded(
        (
            StatementLine(
                code=str(line["code"]),
                label=str(line["label"]),
                rule=str(line["rule"]),
                amount=None if line.get("amount") is None else Money.of(str(line["amount"]), currency),
                emphasis=line["code"] in EMPHASISED,
                params=tuple(sorted((str(k), str(v)) for k, v in (line.get("params") or {}).items())),
            )
            for line in raw
        ),
        language,
    )


def _history(view: claims.ClaimView) -> list[Event]:
    claim = view.claim
    events = [Event(claim.opened_at, "filed")]
    events += [Event(d.uploaded_at, "document", d.kind.value) for d in view.documents]
    for settlement in view.settlements:
        events.append(Event(settlement.computed_at, "computed", settlement.status.value, settlement.indemnity))
        if settlement.approved_at is not None:
            kind = "withdrawn" if settlement.status is SettlementStatus.WITHDRAWN else "approved"
            events.append(Event(settlement.approved_at, kind, "", settlement.indemnity))
    events += [Event(r.recorded_at, "recovery", r.id, r.amount) for r in view.recoveries]
    return sorted(events, key=lambda e: e.at)


def _claim_page(
    page: PageContext,
    actor: Actor,
    claim_id: str,
    *,
    problem: DomainError | None = None,
    problem_at: str = "",  # which form the problem is about: upload | settle | approve
    kind: str = "",
    reason: str = "",
    outcome: claims.SettlementOutcome | None = None,
    status_code: int = 200,
) -> Response:
    language = _language(page)
    received = page.request.query_params.get("received", "")[:100]
    with page.container.uow() as uow:
        view = claims.get_claim(uow, actor, claim_id)
        claim = view.claim
        policy = policies.get_policy(uow, actor, claim.policy_id)
        buyer = uow.buyers.get(claim.buyer_id)
        holder = uow.organisations.get(policy.policyholder_id)
        notifications, _ = overdues.list_notifications(
            uow, actor, policy_id=policy.id, buyer_id=claim.buyer_id, page=Page(limit=MAX_NOTIFICATIONS)
        )
        publication, judgment = overdues.insolvency_dates(uow, claim.buyer_id)
        may_settle = _may_settle(actor)
        preview: claims.Computation | None = None
        preview_problem: DomainError | None = None
        if may_settle and claim.status in (ClaimStatus.PENDING, ClaimStatus.COMPLETE):
            try:
                preview = claims.preview(uow, page.container.clock, actor, claim.id)
            except (NotFound, Forbidden):
                raise
            except DomainError as cannot:  # e.g. no exchange rate yet: the handler reads why
                preview_problem = cannot
    invoices = sorted(
        (
            ClaimedInvoice(line.invoice_number, n.notified_on, line.due_date, line.unpaid_gross, line.unpaid_net)
            for n in notifications
            for line in n.accepted
        ),
        key=lambda i: (i.due_date, i.number),
    )
    filing_deadline = None
    if claim.cause is ClaimCause.INSOLVENCY and publication is not None:
        abroad = holder is not None and buyer is not None and holder.country != buyer.country
        filing_deadline = administrator_claim_filing_deadline(publication, creditor_abroad=abroad)
    latest = view.settlements[-1] if view.settlements else None
    kinds = {d.id: d for d in view.documents}
    values = {
        "claim": claim,
        "view": view,
        "policy": policy,
        "buyer_name": buyer.legal_name if buyer is not None else claim.buyer_id,
        "invoices": invoices,
        "declared_gross": _total(i.unpaid_gross for i in invoices),
        "declared_net": _total(i.unpaid_net for i in invoices),
        "history": _history(view),
        "judgment": judgment,
        "filing_deadline": filing_deadline,
        "document_kinds": [k.value for k in DocumentKind],
        "max_kilobytes": page.container.settings.max_document_bytes // 1024,
        "may_upload": _may_file(actor) and claim.status not in CLOSED,
        "may_settle": may_settle,
        "may_approve": may_settle and claim.status is ClaimStatus.AWAITING_APPROVAL,
        "may_instruct": may_settle and claim.status in (ClaimStatus.PENDING, ClaimStatus.COMPLETE),
        "preview": preview,
        "preview_lines": _preview_lines(preview, language),
        "preview_refusal": preview_problem,
        "latest": latest,
        "paid": latest if latest is not None and latest.status is SettlementStatus.SETTLED else None,
        "latest_lines": _statement_lines(latest.statement, language) if latest is not None else [],
        "has_statement": latest is not None
        and latest.status in (SettlementStatus.SETTLED, SettlementStatus.REFUSED)
        and claim.status in CLOSED,
        "payees": _payees(latest.statement) if latest is not None else [],
        "received": kinds.get(received),
        "filed": page.request.query_params.get("filed") == "1",
        "done": page.request.query_params.get("done", "")[:40],
        "outcome": outcome,
        "refusal": problem,
        "refusal_at": problem_at,
        "kind": kind,
        "reason": reason,
        "current": "claims",
    }
    return page.render("claim_file.html", values, status_code=status_code)


def _total(amounts: Iterable[Money]) -> Money | None:
    total: Money | None = None
    for amount in amounts:
        total = amount if total is None else total + amount
    return total


@router.get("/claims/{claim_id}")
def claim_file(request: Request, claim_id: str) -> Response:
    """The claim file, for whoever may read the claim (another insured's is not found)."""
    return logged_in(request, lambda page, actor: _claim_page(page, actor, claim_id))


@router.post("/claims/{claim_id}/documents")
def upload_document(
    request: Request,
    claim_id: str,
    kind: FormText = "",
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: FormText = "",
) -> Response:
    """File a document with the claim: the service checks its type, its content and its size."""

    def build(page: PageContext, actor: Actor) -> Response:
        limit = page.container.settings.max_document_bytes
        # One byte over the limit is enough for the service to refuse it: the rest is never read.
        content = file.file.read(limit + 1) if file is not None else b""
        filename = (file.filename or "") if file is not None else ""
        with page.container.uow() as uow:
            try:
                document = claims.add_document(
                    uow,
                    page.container.clock,
                    actor,
                    claim_id,
                    kind=kind[:60],
                    filename=filename[:255] or "document",
                    content_type=file.content_type if file is not None else None,
                    content=content,
                    max_bytes=limit,
                )
            except (NotFound, Forbidden):
                raise
            except DomainError as refused:
                uow.rollback()
                return _claim_page(
                    page, actor, claim_id, problem=refused, problem_at="upload", kind=kind[:60], status_code=422
                )
            uow.commit()
        return page.redirect(f"/claims/{quote(claim_id, safe='')}?received={quote(document.id, safe='')}#documents")

    return posted(request, csrf_token, build)


@dataclass(frozen=True)
class PayeeLink:
    key: str  # "insured", or the factor organisation's id: the statement's address
    name: str
    role: str
    amount: str


def _payees(statement: Mapping[str, Any]) -> list[PayeeLink]:
    """Who the indemnity is paid to, when it is shared (a factor loss payee): each has its own statement."""
    payees = [p for p in statement.get("payees", []) if isinstance(p, Mapping)]
    if len(payees) < 2:
        return []
    return [
        PayeeLink(
            INSURED_PAYEE if p.get("role") == "insured" else str(p.get("id") or ""),
            str(p.get("name", "")),
            str(p.get("role", "")),
            str(p.get("amount", "")),
        )
        for p in payees
        if p.get("role") == "insured" or p.get("id")
    ]


def _attachment(content: bytes, media_type: str, name: str, disposition: str) -> Response:
    """A file with an ASCII fallback name and the real one UTF-8 encoded (RFC 6266); never sniffed."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=media_type, headers=headers)


@router.get("/claims/{claim_id}/documents/{document_id}")
def download_document(request: Request, claim_id: str, document_id: str) -> Response:
    """A document of the claim, as it was received."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            document, content = claims.document_content(uow, actor, claim_id, document_id)
        return _attachment(content, document.content_type, document.filename, "attachment")

    return logged_in(request, build)


@router.get("/claims/{claim_id}/statement.pdf")
def statement_pdf(request: Request, claim_id: str) -> Response:
    """The settlement statement (décompte) in the page's language."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            content, name = claim_statements.settlement_statement_pdf(
                uow, page.container.clock, actor, claim_id, language=_language(page)
            )
        return _attachment(content, "application/pdf", name, "inline")

    return logged_in(request, build)


@router.get("/claims/{claim_id}/payees/{payee}/statement.pdf")
def payee_statement_pdf(request: Request, claim_id: str, payee: str) -> Response:
    """One payee's statement (the insured's, or a factor loss payee's): its invoices and its share."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            content, name = claim_statements.payee_statement_pdf(
                uow, page.container.clock, actor, claim_id, payee[:MAX_ID_LENGTH], language=_language(page)
            )
        return _attachment(content, "application/pdf", name, "inline")

    return logged_in(request, build)


@router.get("/claims/{claim_id}/recoveries/{recovery_id}/statement.pdf")
def recovery_statement_pdf(request: Request, claim_id: str, recovery_id: str) -> Response:
    """The statement of a recovery after the settlement: the insurer's share and the insured's."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            content, name = claim_statements.recovery_statement_pdf(
                uow, actor, claim_id, recovery_id[:MAX_ID_LENGTH], language=_language(page)
            )
        return _attachment(content, "application/pdf", name, "inline")

    return logged_in(request, build)


# --- The claims handler -------------------------------------------------------------------------------------


def _refused_status(problem: DomainError) -> int:
    if isinstance(problem, Forbidden):
        return 403
    return 409 if isinstance(problem, Conflict) else 422


@router.post("/claims/{claim_id}/settlement")
def settle(request: Request, claim_id: str, csrf_token: FormText = "") -> Response:
    """Instruct the settlement: paid at once, sent to a second handler above the approval amount, refused when
    nothing is due, or left pending with the reason (documents missing, before the date of loss)."""

    def build(page: PageContext, actor: Actor) -> Response:
        container = page.container
        with container.uow() as uow:
            try:
                outcome = claims.settle_claim(
                    uow,
                    container.clock,
                    actor,
                    claim_id,
                    approval_threshold=container.settings.indemnity_approval_amount,
                )
            except (NotFound, Forbidden):
                raise
            except DomainError as refused:
                uow.rollback()
                return _claim_page(page, actor, claim_id, problem=refused, problem_at="settle", status_code=422)
            if outcome.settlement is None:  # nothing written: the page says why
                uow.rollback()
                return _claim_page(page, actor, claim_id, outcome=outcome, status_code=422)
            uow.commit()
        return page.redirect(f"/claims/{quote(claim_id, safe='')}?done={outcome.status}#settlement")

    return posted(request, csrf_token, build)


@router.post("/claims/{claim_id}/settlement/approval")
def approve(
    request: Request, claim_id: str, decision: FormText = "", reason: FormText = "", csrf_token: FormText = ""
) -> Response:
    """A second claims handler approves the indemnity (paid then) or sends it back; whoever computed it may not."""

    def build(page: PageContext, actor: Actor) -> Response:
        typed = reason.strip()[:MAX_REASON]
        if decision not in ("approve", "withdraw") or (decision == "withdraw" and not typed):
            problem = DomainError("approve, or give the reason to send it back", code="claim.approval_form")
            return _claim_page(
                page, actor, claim_id, problem=problem, problem_at="approve", reason=typed, status_code=422
            )
        with page.container.uow() as uow:
            try:
                outcome = claims.approve_settlement(
                    uow,
                    page.container.clock,
                    actor,
                    claim_id,
                    approve=decision == "approve",
                    reason=typed or "approved",
                )
            except NotFound:
                raise
            except DomainError as refused:
                # The four-eyes refusal is the service's Forbidden: the handler reads it on the claim, not on
                # a bare 403 page.
                if isinstance(refused, Forbidden) and refused.code != "claim.same_approver":
                    raise
                uow.rollback()
                return _claim_page(
                    page,
                    actor,
                    claim_id,
                    problem=refused,
                    problem_at="approve",
                    reason=typed,
                    status_code=_refused_status(refused),
                )
            uow.commit()
        return page.redirect(f"/claims/{quote(claim_id, safe='')}?done={outcome.status}#settlement")

    return posted(request, csrf_token, build)
