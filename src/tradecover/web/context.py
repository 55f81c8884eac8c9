"""What every portal request knows: the container, the language, the CSRF nonce, the logged-in user.

The session cookie is read here and nowhere else; the user it names is loaded through
:func:`tradecover.services.accounts.actor_for_user`, exactly as an API token's, so a disabled account or an
ended mandate takes effect on the next page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tradecover.bootstrap import Container
from tradecover.config import Environment
from tradecover.domain.errors import NotAuthenticated
from tradecover.domain.parties import Organisation, OrganisationKind, Role
from tradecover.services import accounts, portal, portal_sessions
from tradecover.services.authorization import ROLE_PERMISSIONS, Actor, Permission
from tradecover.services.ports import UnitOfWork
from tradecover.web import csrf
from tradecover.web.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_SECONDS, LANGUAGES, choose_language
from tradecover.web.rendering import redirect, render_html
from tradecover.web.session import ACTING_COOKIE, SESSION_COOKIE, PortalSession, issue_session, read_session


@dataclass
class PageContext:
    request: Request
    container: Container
    language: str
    remember_language: bool  # ?lang= named a language: keep it in the cookie
    csrf_cookie: str | None  # the nonce the browser sent, if any
    csrf_nonce: str  # the nonce this response's forms are signed with
    session: PortalSession | None = None
    actor: Actor | None = None
    me: portal.Identity | None = None
    stale_session: bool = False  # a session cookie that no longer stands for anyone: cleared
    new_session: str | None = None  # a session cookie to set (after logging in)
    end_session: bool = False
    send_nonce: bool = False  # the nonce is new: the cookie is (re)set
    acting: Organisation | None = None  # the insured a broker acts for: the insured's screens show it alone
    new_acting: str | None = None  # the acting cookie to set ("" clears it)

    @property
    def secret(self) -> str:
        return self.container.settings.secret_key

    @property
    def binding(self) -> str:
        """What this browser's forms act for: its session, or nobody yet."""
        return self.session.session_id if self.session is not None else csrf.ANONYMOUS

    def csrf_token(self, binding: str | None = None) -> str:
        return csrf.token_for(self.csrf_nonce, self.binding if binding is None else binding, self.secret)

    def csrf_valid(self, submitted: str | None, binding: str | None = None) -> bool:
        """Whether a posted form carries the token of this browser's cookie (the cookie sent, not a new one)."""
        return csrf.is_valid(submitted, self.csrf_cookie, self.binding if binding is None else binding, self.secret)

    def rotate_csrf(self) -> None:
        """A fresh nonce, when who the forms act for changes (logging in or out)."""
        self.csrf_nonce = csrf.new_nonce()
        self.send_nonce = True

    def log_in(self, user_id: str) -> None:
        clock = self.container.clock
        token, session = issue_session(user_id, self.secret, clock.now())
        with self.container.uow() as uow:
            actor = accounts.actor_for_user(uow, clock, user_id)
            portal_sessions.start_session(uow, clock, actor, session.session_id, session.expires_at)
            uow.commit()
        self.session, self.new_session = session, token
        self.rotate_csrf()

    def log_out(self) -> None:
        if self.session is not None and self.actor is not None:
            with self.container.uow() as uow:
                portal_sessions.end_session(uow, self.container.clock, self.actor, self.session.session_id)
                uow.commit()
        self.session = self.actor = self.me = None
        self.end_session = True
        self.rotate_csrf()

    # --- Responses ---------------------------------------------------------------------------------------

    def render(self, template: str, values: Mapping[str, Any] | None = None, status_code: int = 200) -> Response:
        context: dict[str, Any] = {
            "language": self.language,
            "languages": LANGUAGES,
            "me": self.me,
            "actor": self.actor,
            "csrf_token": self.csrf_token(),
            "may": permissions_of(self.actor, acting=self.acting is not None),
            "acting": self.acting,
            "today": self.container.clock.today(),
            "current": "",
        }
        context.update(values or {})
        return self._finish(render_html(self.language, template, context, status_code))

    def redirect(self, url: str) -> Response:
        return self._finish(redirect(url))

    def _finish(self, response: Response) -> Response:
        secure = self.request.url.scheme == "https" or self.container.settings.environment is Environment.PRODUCTION
        if self.remember_language:
            response.set_cookie(
                LANGUAGE_COOKIE, self.language, max_age=LANGUAGE_COOKIE_SECONDS, samesite="lax", secure=secure
            )
        if self.send_nonce:
            response.set_cookie(csrf.CSRF_COOKIE, self.csrf_nonce, httponly=True, samesite="lax", secure=secure)
        if self.new_session is not None and self.session is not None:
            max_age = int((self.session.expires_at - self.container.clock.now()).total_seconds())
            response.set_cookie(
                SESSION_COOKIE, self.new_session, max_age=max_age, httponly=True, samesite="lax", secure=secure
            )
        elif self.end_session or self.stale_session:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)
        if self.new_acting:
            response.set_cookie(ACTING_COOKIE, self.new_acting, httponly=True, samesite="lax", secure=secure)
        elif self.new_acting is not None or self.end_session:
            response.delete_cookie(ACTING_COOKIE, httponly=True, samesite="lax", secure=secure)
        return response

    @property
    def insured_side(self) -> bool:
        """Whether the insured's screens are open to this user: an insured, or a broker acting for one."""
        if self.actor is None:
            return False
        return self.actor.role is Role.INSURED_USER or (self.actor.role is Role.BROKER_USER and self.acting is not None)


def permissions_of(actor: Actor | None, *, acting: bool = False) -> dict[str, bool]:
    """Which of the portal's pages the navigation offers (the services check again on each)."""
    if actor is None:
        return {}
    role = actor.role
    return {
        "insured_screens": role is Role.INSURED_USER or (role is Role.BROKER_USER and acting),
        "factor_screens": role is Role.FACTOR_USER,
        "decide_limits": actor.is_staff and role in ROLE_PERMISSIONS[Permission.LIMIT_DECIDE],
        "read_portfolio": actor.is_staff and role in ROLE_PERMISSIONS[Permission.PORTFOLIO_READ],
        "read_claims": actor.organisation_kind is not OrganisationKind.FACTOR,
        "monitor": actor.is_staff and role in {Role.ADMIN, Role.UNDERWRITER, Role.RISK_MANAGER},
        "administer": actor.is_staff and role in ROLE_PERMISSIONS[Permission.USER_CREATE],
    }


def page_context(request: Request) -> PageContext:
    container: Container = request.app.state.container
    requested = request.query_params.get("lang")
    language = choose_language(requested, request.cookies.get(LANGUAGE_COOKIE))
    sent_nonce = request.cookies.get(csrf.CSRF_COOKIE) or None
    context = PageContext(
        request=request,
        container=container,
        language=language,
        remember_language=requested is not None and requested.strip().lower() == language,
        csrf_cookie=sent_nonce,
        csrf_nonce=sent_nonce or csrf.new_nonce(),
    )
    context.send_nonce = sent_nonce is None
    cookie = request.cookies.get(SESSION_COOKIE)
    session = read_session(cookie, context.secret, container.clock.now())
    if session is not None:
        try:
            with container.uow() as uow:
                if not portal_sessions.is_live(uow, container.clock, session.session_id, session.user_id):
                    raise NotAuthenticated("the session was ended", code="auth.session_ended")
                context.actor = accounts.actor_for_user(uow, container.clock, session.user_id)
                context.me = portal.identity(uow, context.actor)
                if context.actor.role is Role.BROKER_USER:
                    _act_for(context, uow, request.cookies.get(ACTING_COOKIE))
            context.session = session
        except NotAuthenticated:
            context.actor = context.me = None
            context.acting = None
    context.stale_session = cookie is not None and context.session is None
    return context


def _act_for(context: PageContext, uow: UnitOfWork, insured_id: str | None) -> None:
    """A broker acting for one insured under its mandate sees that insured's data alone, with the same scope.

    The cookie only narrows what the broker may already read: an insured not (or no longer) under its mandate
    is ignored and the cookie cleared.
    """
    actor = context.actor
    if actor is None or not insured_id:
        return
    scope = actor.mandates.get(insured_id)
    if scope is None:
        context.new_acting = ""
        return
    organisation = uow.organisations.get(insured_id)
    if organisation is None:
        context.new_acting = ""
        return
    context.actor = replace(actor, mandates={insured_id: scope})
    context.acting = organisation
