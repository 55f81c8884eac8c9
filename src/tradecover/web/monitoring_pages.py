"""The portal's monitoring pages: buyers newly insolvent or downgraded, the limits they affect, re-grading.

For the insurer's staff who monitor the book (administrators, underwriters, risk managers: ``may.monitor``);
anyone else gets the 403 page.

* ``/monitoring?since=YYYY-MM-DD`` (30 days back by default) lists the buyers holding limits with a legal event
  or a downgrade since then, each with every policy's limit in force and covered exposure, and the totals
  (:func:`tradecover.services.watchlist.watchlist` holds the rules). It also finds any buyer's file by name or
  identifier, and starts a re-grading.
* ``/monitoring/buyers/{id}`` is the staff buyer file: grades with their reasons, legal events, the limit on
  every policy with a form to revise it. ``POST /monitoring/buyers/{id}/limits/{policy}`` calls
  :func:`tradecover.services.credit_limits.revise_limit`, which checks who may decide and applies the policy's
  reduction notice; its refusal is shown in that policy's form (422, the typed values kept).
* ``POST /monitoring/regrade`` starts :func:`tradecover.services.grading.regrade` in the background
  (:mod:`tradecover.web.jobs`) and sends to ``/monitoring/regrade/{job}``, which refreshes itself with the
  progress until the summary is there. A job is its starter's only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tradecover.domain.money import Money
from tradecover.services import credit_limits, grading, monitoring, watchlist
from tradecover.services.authorization import ROLE_PERMISSIONS, Actor, Permission, require
from tradecover.services.buyers import get_buyer, list_buyers
from tradecover.services.ports import Page
from tradecover.web.access import logged_in, posted
from tradecover.web.context import PageContext, permissions_of
from tradecover.web.jobs import JOBS, Job

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
DEFAULT_DAYS = 30
MAX_REASON_LENGTH = 2000
SEARCH_RESULTS = 20
REGRADE = "regrade"
REGRADE_BATCH = 2000  # small batches: the job's page shows progress, and the database stays free between them


def _monitors(actor: Actor) -> bool:
    return permissions_of(actor)["monitor"]


def _since(text: str | None, today: date) -> date:
    if text is None or not text.strip():
        return today - timedelta(days=DEFAULT_DAYS)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("the date is not a date", code="watchlist.invalid_since", field="since") from None


# --- The watch list --------------------------------------------------------------------------------------------


@router.get("/monitoring")
def watch_list(
    request: Request,
    since: str | None = None,
    search: str | None = None,
) -> Response:
    """Buyers with a legal event or a downgrade since the date, and the limits they affect."""
    # Cut, not refused: an overlong parameter is shown in the form like any other bad input.
    since = None if since is None else since[:40]
    search = None if search is None else search[:200]

    def build(page: PageContext, actor: Actor) -> Response:
        today = page.container.clock.today()
        values: dict[str, Any] = {
            "since_text": since if since and since.strip() else (today - timedelta(days=DEFAULT_DAYS)).isoformat(),
            "search": (search or "").strip(),
            "found": None,
            "watch": None,
            "error": "",
            "may_regrade": actor.role in ROLE_PERMISSIONS[Permission.GRADING_RUN],
            "current": "monitoring",
        }
        with page.container.uow() as uow:
            if values["search"]:
                values["found"], values["found_total"] = list_buyers(
                    uow, actor, search=values["search"], page=Page(limit=SEARCH_RESULTS)
                )
            try:
                values["watch"] = watchlist.watchlist(uow, actor, since=_since(since, today), on=today)
            except InvalidInput as error:
                values["error"] = error.code
                return page.render("monitoring_list.html", values, status_code=422)
        return page.render("monitoring_list.html", values)

    return logged_in(request, build, allow=_monitors)


# --- The staff buyer file and its limit revisions -----------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """A revision form as typed, and the service's refusal of it."""

    policy_id: str
    amount: str
    reason: str
    code: str = ""
    message: str = ""


def _buyer_page(
    page: PageContext, actor: Actor, buyer_id: str, *, revision: Revision | None = None, revised: str = ""
) -> Response:
    today = page.container.clock.today()
    with page.container.uow() as uow:
        buyer = get_buyer(uow, actor, buyer_id)
        limits = watchlist.limits_on_buyer(uow, actor, buyer.id, on=today)
        events, clocks = monitoring.legal_events_of(uow, actor, buyer.id)
        grades = list(reversed(uow.buyers.grade_history(buyer.id)))
    values = {
        "buyer": buyer,
        "limits": limits,
        "events": list(reversed(events)),
        "clocks": clocks,
        "grades": grades,
        "revision": revision,
        "revised": next((h for h in limits if h.policy_id == revised), None),
        "is_downgrade": watchlist.is_downgrade,
        "current": "monitoring",
    }
    status_code = 422 if revision is not None and revision.code else 200
    return page.render("monitoring_buyer.html", values, status_code=status_code)


@router.get("/monitoring/buyers/{buyer_id}")
def buyer_file(request: Request, buyer_id: str, revised: str = "") -> Response:
    return logged_in(
        request, lambda page, actor: _buyer_page(page, actor, buyer_id[:100], revised=revised[:100]), allow=_monitors
    )


def _new_amount(text: str, currency: str) -> Money:
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput("the amount is not a number", code="credit_limit.invalid_amount", field="amount") from None
    if not value.is_finite():
        raise InvalidInput("the amount is not a number", code="credit_limit.invalid_amount", field="amount")
    return Money.of(value, currency)


@router.post("/monitoring/buyers/{buyer_id}/limits/{policy_id}")
def revise(
    request: Request,
    buyer_id: str,
    policy_id: str,
    amount: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Reduce (or, with 0, cancel) the policy's limit on the buyer; the service applies the notice."""
    buyer_id, policy_id = buyer_id[:100], policy_id[:100]
    typed = Revision(policy_id, amount[:40], reason[:MAX_REASON_LENGTH])

    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.LIMIT_DECIDE)
        today = page.container.clock.today()
        with page.container.uow() as uow:
            held = {h.policy_id: h for h in watchlist.limits_on_buyer(uow, actor, buyer_id, on=today)}
        if policy_id not in held:
            raise NotFound("no limit of this policy on the buyer", code="credit_limit.not_found")
        try:
            new_amount = _new_amount(typed.amount, held[policy_id].currency)
            with page.container.uow() as uow:
                credit_limits.revise_limit(
                    uow,
                    page.container.clock,
                    actor,
                    policy_id=policy_id,
                    buyer_id=buyer_id,
                    amount=new_amount,
                    reason=typed.reason,
                )
        except (NotFound, Forbidden):
            raise
        except DomainError as error:
            refused = Revision(typed.policy_id, typed.amount, typed.reason, error.code, error.message)
            return _buyer_page(page, actor, buyer_id, revision=refused)
        return page.redirect(f"/monitoring/buyers/{buyer_id}?revised={policy_id}#limit-{policy_id}")

    return posted(request, csrf_token, build, allow=_monitors)


# --- Re-grading in the background -----------------------------------------------------------------------------


@router.post("/monitoring/regrade")
def regrade_start(request: Request, everything: FormText = "", csrf_token: FormText = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.GRADING_RUN)
        container = page.container
        whole = everything == "yes"

        def work(progress: Callable[[int, int], None]) -> grading.RegradeSummary:
            return grading.regrade(
                container.uow,
                container.clock,
                actor,
                everything=whole,
                batch_size=REGRADE_BATCH,
                on_progress=progress,
            )

        job = JOBS.start(REGRADE, actor.user_id, work, parameters={"everything": whole})
        return page.redirect(f"/monitoring/regrade/{job.id}")

    return posted(request, csrf_token, build, allow=_monitors)


@router.get("/monitoring/regrade/{job_id}")
def regrade_job(request: Request, job_id: str) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        require(actor, Permission.GRADING_RUN)
        job: Job[grading.RegradeSummary] = JOBS.get(job_id[:100], REGRADE, owner=actor.user_id)
        return page.render("monitoring_regrade.html", {"job": job, "current": "monitoring"})

    return logged_in(request, build, allow=_monitors)
