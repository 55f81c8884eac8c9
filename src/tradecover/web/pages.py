"""The portal's pages: thin routes over the services, rendered server-side.

``/`` sends to ``/login`` or ``/home``; ``/login`` and ``/logout`` open and close the session; ``/home`` shows
the dashboard of the user's role; ``/exposure`` a policy's exposure for every buyer; ``/referrals``, ``/claims``
and ``/accumulation`` the lists the dashboards link to. Each route reads through one use case of the services,
which check who may see what. Every form posts a CSRF token (:mod:`tradecover.web.csrf`); every page takes
``?lang=fr|en``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from tradecover.domain.accumulation import Dimension
from tradecover.domain.errors import NotAuthenticated, NotFound, RateLimited
from tradecover.domain.parties import Role
from tradecover.services import accounts, credit_limits, portal, portfolio
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page
from tradecover.web import (
    admin_pages,
    alert_pages,
    broker_pages,
    claim_pages,
    csrf,
    factor_pages,
    insured_pages,
    monitoring_pages,
    offer_pages,
    overdue_pages,
    premium_pages,
    receivable_pages,
    staff_pages,
)
from tradecover.web.access import error_page, logged_in
from tradecover.web.context import PageContext, page_context
from tradecover.web.paging import pager
from tradecover.web.rendering import STATIC_DIR

router = APIRouter(include_in_schema=False)

INSURED_TOP_BUYERS = 20
LIST_PAGE_SIZE = 50
ACCUMULATION_TOP = 20
MAX_EMAIL_LENGTH = 320

FormText = Annotated[str, Form()]


@cache
def _static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


@router.get("/static/{path:path}")
async def static_file(path: str, request: Request) -> Response:
    """The stylesheet and images (the app mounts no static directory: the portal serves its own)."""
    return await _static_files().get_response(path, request.scope)


@router.get("/")
def root(request: Request) -> Response:
    page = page_context(request)
    return page.redirect("/home" if page.actor is not None else "/login")


# --- Session ----------------------------------------------------------------------------------------------


def _login_page(
    page: PageContext, *, email: str = "", failed: bool = False, throttled: int = 0, status_code: int = 200
) -> Response:
    # The login form acts for nobody yet: its token is bound to no session, whatever the browser holds.
    values = {
        "email": email,
        "failed": failed,
        "throttled": throttled,
        "login_token": page.csrf_token(csrf.ANONYMOUS),
        "current": "login",
    }
    return page.render("login.html", values, status_code=status_code)


@router.get("/login")
def login_form(request: Request) -> Response:
    page = page_context(request)
    if page.actor is not None:
        return page.redirect("/home")
    return _login_page(page)


@router.post("/login")
def login(request: Request, email: FormText = "", password: FormText = "", csrf_token: FormText = "") -> Response:
    page = page_context(request)
    if not page.csrf_valid(csrf_token, csrf.ANONYMOUS):
        return _error(page, "csrf", 403)
    address = email[:MAX_EMAIL_LENGTH]
    client = request.client.host if request.client is not None else "unknown"
    try:
        with page.container.uow() as uow:
            user = page.container.login_throttle.attempt(
                address, client, page.container.clock.now(), lambda: accounts.authenticate(uow, address, password)
            )
    except NotAuthenticated:
        # The same answer whether the address has an account or not (and the same time: see authenticate).
        return _login_page(page, email=address, failed=True)
    except RateLimited as refused:
        minutes = int(refused.context.get("minutes", 15))
        return _login_page(page, email=address, throttled=minutes, status_code=429)
    page.log_in(user.id)
    return page.redirect("/home")


@router.post("/logout")
def logout(request: Request, csrf_token: FormText = "") -> Response:
    page = page_context(request)
    # Without a live session there is nothing to protect: the cookie is cleared all the same.
    if page.session is not None and not page.csrf_valid(csrf_token):
        return _error(page, "csrf", 403)
    page.log_out()
    return page.redirect("/login")


# --- Pages of a logged-in user ----------------------------------------------------------------------------


_error = error_page
_logged_in = logged_in


@router.get("/home")
def home(request: Request) -> Response:
    return _logged_in(request, _home)


def _home(page: PageContext, actor: Actor) -> Response:
    container = page.container
    today = container.clock.today()
    values: dict[str, object] = {"on": today, "current": "home"}
    with container.uow() as uow:
        if page.insured_side:  # an insured, or a broker acting for one
            template = "home_insured.html"
            acting = page.acting.id if page.acting is not None else None
            values["home"] = portal.insured_home(uow, actor, on=today, top=INSURED_TOP_BUYERS, organisation_id=acting)
        elif actor.role is Role.BROKER_USER:
            template = "home_broker.html"
            values["rows"] = portal.broker_home(uow, actor, on=today)
        elif actor.is_staff:
            template = "home_staff.html"
            values["home"] = portal.staff_home(uow, actor, on=today, caps=container.settings.caps)
        else:
            template = "home_other.html"
            values["alerts"] = portal.open_alerts(uow, actor, organisation_id=actor.organisation_id)
            values["factor"] = (
                factor_pages.factor_summary(uow, container.clock, actor) if actor.role is Role.FACTOR_USER else None
            )
    return page.render(template, values)


@router.get("/exposure")
def exposure(request: Request, policy: Annotated[str, Query(max_length=100)] = "") -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        if not policy:
            raise NotFound("no policy named", code="policy.not_found")
        today = page.container.clock.today()
        with page.container.uow() as uow:
            overview = portal.policy_overview(uow, actor, policy, on=today)
        return page.render("exposure.html", {"overview": overview, "on": today, "current": "exposure"})

    return _logged_in(request, build)


# --- The lists the dashboards link to ----------------------------------------------------------------------

OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/referrals")
def referrals(request: Request, offset: OffsetQuery = 0) -> Response:
    """The underwriters' queue (read-only here: decisions go through the API or ``tradecover limits decide``)."""

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            items, total = credit_limits.referrals(
                uow, page.container.clock, actor, Page(limit=LIST_PAGE_SIZE, offset=offset)
            )
        values = {"items": items, "pager": pager(offset, total, LIST_PAGE_SIZE), "current": "referrals"}
        return page.render("referrals.html", values)

    return _logged_in(request, build)


@router.get("/accumulation")
def accumulation(request: Request, by: Annotated[str, Query(max_length=20)] = Dimension.BUYER.value) -> Response:
    """The book summed per buyer, group, country, sector or policy: the largest keys, the caps breached."""

    def build(page: PageContext, actor: Actor) -> Response:
        dimension = Dimension(by) if by in set(Dimension) else Dimension.BUYER
        today = page.container.clock.today()
        with page.container.uow() as uow:
            result = portfolio.accumulation(
                uow, actor, today, page.container.settings.caps, ACCUMULATION_TOP, dimension=dimension
            )
        values = {
            "result": result,
            "dimensions": [d.value for d in Dimension],
            "on": today,
            "current": "accumulation",
        }
        return page.render("accumulation.html", values)

    return _logged_in(request, build)


# Each part of the portal keeps its own routes, templates and catalogue (messages-<part>.po).
router.include_router(insured_pages.router)
router.include_router(broker_pages.router)
router.include_router(staff_pages.router)
router.include_router(overdue_pages.router)
router.include_router(premium_pages.router)
router.include_router(claim_pages.router)
router.include_router(receivable_pages.router)
router.include_router(alert_pages.router)
router.include_router(monitoring_pages.router)
router.include_router(admin_pages.router)
router.include_router(factor_pages.router)
router.include_router(offer_pages.router)
