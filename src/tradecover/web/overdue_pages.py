"""The portal's overdue pages: the insured notifies overdue invoices and reads its notifications.

``/overdues/new`` lists the insured's unpaid invoices past due (per policy and buyer) as a form of checkboxes;
``POST /overdues`` files the chosen ones through :func:`tradecover.services.overdues.declare_overdue`, one
notification per policy and buyer, and shows each invoice accepted or refused with its reason; ``/overdues``
lists the insured's notifications. The services check who may act: another insured's invoice is not found.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from tradecover.domain.errors import DomainError, Forbidden, NotFound
from tradecover.domain.money import Money
from tradecover.services import overdues, policies
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import insured_form, insured_screen
from tradecover.web.context import PageContext
from tradecover.web.insured_pages import MAX_POLICIES
from tradecover.web.paging import pager
from tradecover.web.problems import problem_text

router = APIRouter(include_in_schema=False)

LIST_PAGE_SIZE = 50
MAX_CHOSEN = 500

OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


def _form_page(page: PageContext, actor: Actor, *, error: str | None = None, status_code: int = 200) -> Response:
    with page.container.uow() as uow:
        held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
        candidates = overdues.notifiable_invoices(uow, page.container.clock, actor, overdue_only=True)
    values = {
        "candidates": candidates,
        "several_policies": len(held) > 1,
        "error": error,
        "outcomes": [],
        "accepted": 0,
        "refused": 0,
        "current": "overdues",
    }
    return page.render("overdue_new.html", values, status_code=status_code)


@router.get("/overdues/new")
def overdue_form(request: Request) -> Response:
    """The insured's unpaid invoices past due, to choose those to notify."""
    return insured_screen(request, lambda page, actor: _form_page(page, actor))


@dataclass(frozen=True)
class OutcomeLine:
    number: str
    unpaid: Money | None
    accepted: bool
    code: str | None  # the refusal's stable code
    detail: str | None  # the service's words
    due_date: date | None
    deadline: date | None


@dataclass(frozen=True)
class Outcome:
    policy_number: str
    buyer_name: str
    notified: bool  # a notification was recorded (else refused whole, nothing written)
    lines: tuple[OutcomeLine, ...]


def _file(
    page: PageContext, actor: Actor, uow: UnitOfWork, group: list[overdues.NotifiableInvoice], numbers: list[str]
) -> Outcome:
    """One notification for one policy and buyer; a notification refused whole names each invoice's reason."""
    first = group[0]
    try:
        result = overdues.declare_overdue(
            uow, page.container.clock, actor, policy_id=first.policy_id, buyer_id=first.buyer_id, invoices=numbers
        )
    except (NotFound, Forbidden):
        raise
    except DomainError as problem:
        reasons: dict[str, Any] = problem.context.get("invoices") or {}
        lines = tuple(
            OutcomeLine(
                c.number,
                c.item.open_gross,
                False,
                str(reasons.get(c.number) or problem.code),
                problem_text(problem, page.language),
                None,
                None,
            )
            for c in group
        )
        return Outcome(first.policy_number, first.buyer_name, False, lines)
    judged = tuple(
        OutcomeLine(
            j.invoice.number,
            j.unpaid_gross,
            j.refusal is None,
            None if j.refusal is None else j.refusal.value,
            j.detail,
            j.due_date,
            j.deadline,
        )
        for j in result.judged
    )
    return Outcome(first.policy_number, first.buyer_name, True, judged)


@router.post("/overdues")
def file_overdue(
    request: Request, invoices: Annotated[list[str] | None, Form()] = None, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """File the chosen invoices: one notification per policy and buyer, each invoice accepted or refused."""

    def build(page: PageContext, actor: Actor) -> Response:
        wanted = list(dict.fromkeys(i[:100] for i in (invoices or []) if i))[:MAX_CHOSEN]
        if not wanted:
            return _form_page(page, actor, error="nothing_chosen", status_code=422)
        with page.container.uow() as uow:
            known = {
                c.invoice_id: c
                for c in overdues.notifiable_invoices(uow, page.container.clock, actor, overdue_only=False)
            }
            missing = [i for i in wanted if i not in known]
            if missing:
                raise NotFound(f"invoice {missing[0]} not found", code="invoice.not_found", context={"id": missing[0]})
            groups: dict[tuple[str, str], list[overdues.NotifiableInvoice]] = defaultdict(list)
            for invoice_id in wanted:
                chosen = known[invoice_id]
                groups[(chosen.policy_id, chosen.buyer_id)].append(chosen)
            outcomes = [_file(page, actor, uow, group, [c.number for c in group]) for group in groups.values()]
            if any(o.notified for o in outcomes):
                uow.commit()
        return _outcome_page(page, actor, outcomes)

    return insured_form(request, csrf_token, build)


def _outcome_page(page: PageContext, actor: Actor, outcomes: list[Outcome]) -> Response:
    with page.container.uow() as uow:
        held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
        candidates = overdues.notifiable_invoices(uow, page.container.clock, actor, overdue_only=True)
    values = {
        "outcomes": outcomes,
        "accepted": sum(1 for o in outcomes for line in o.lines if line.accepted),
        "refused": sum(1 for o in outcomes for line in o.lines if not line.accepted),
        "candidates": candidates,
        "several_policies": len(held) > 1,
        "error": None,
        "current": "overdues",
    }
    return page.render("overdue_new.html", values)


@router.get("/overdues")
def overdue_list(request: Request, offset: OffsetQuery = 0) -> Response:
    """The insured's notifications, latest first: date, buyer, amount notified, state."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            items, total = overdues.list_notifications(
                uow, actor, policy_id=None, buyer_id=None, page=Page(limit=LIST_PAGE_SIZE, offset=offset)
            )
            held, _ = policies.list_policies(uow, actor, Page(limit=MAX_POLICIES))
            numbers = {p.id: p.number for p in held}
            names: dict[str, str] = {}
            rows = []
            for notification in items:
                if notification.buyer_id not in names:
                    buyer = uow.buyers.get(notification.buyer_id)
                    names[notification.buyer_id] = buyer.legal_name if buyer is not None else notification.buyer_id
                totals: dict[str, Money] = {}
                for line in notification.lines:
                    currency = line.unpaid_gross.currency
                    totals[currency] = totals.get(currency, Money.zero(currency)) + line.unpaid_gross
                rows.append(
                    {
                        "notification": notification,
                        "buyer_name": names[notification.buyer_id],
                        "policy_number": numbers.get(notification.policy_id, ""),
                        "amounts": list(totals.values()),
                    }
                )
        values = {
            "rows": rows,
            "several_policies": len(held) > 1,
            "pager": pager(offset, total, LIST_PAGE_SIZE),
            "query": "",
            "current": "overdues",
        }
        return page.render("overdue_list.html", values)

    return insured_screen(request, build)
