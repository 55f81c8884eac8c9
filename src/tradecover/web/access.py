"""Who may see a portal page, and the error pages: the same answer on every page.

A visitor goes to the login page; what the services refuse becomes an error page — 404 for what the
user may not know exists (another tenant's object looks exactly like a nonexistent one), 403 for what
it may see but not do, 400 for any other rule broken. Forms carry a CSRF token checked before any work.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from tradecover.domain.errors import DomainError, Forbidden, NotFound
from tradecover.domain.parties import Role
from tradecover.services.authorization import Actor
from tradecover.web.context import PageContext, page_context

Build = Callable[[PageContext, Actor], Response]


def error_page(page: PageContext, kind: str, status_code: int) -> Response:
    return page.render("error.html", {"kind": kind, "status_code": status_code}, status_code=status_code)


def logged_in(
    request: Request, build: Build, *, role: Role | None = None, allow: Callable[[Actor], bool] | None = None
) -> Response:
    """The page for a logged-in user (of `role`, or that `allow` accepts, if given; anyone else gets 403)."""
    page = page_context(request)
    if page.actor is None:
        return page.redirect("/login")
    if (role is not None and page.actor.role is not role) or (allow is not None and not allow(page.actor)):
        return error_page(page, "forbidden", 403)
    try:
        return build(page, page.actor)
    except NotFound:
        return error_page(page, "not_found", 404)
    except Forbidden:
        return error_page(page, "forbidden", 403)
    except DomainError:
        return error_page(page, "invalid", 400)


def posted(
    request: Request,
    csrf_token: str,
    build: Build,
    *,
    role: Role | None = None,
    allow: Callable[[Actor], bool] | None = None,
) -> Response:
    """As `logged_in`, for a form: refused with 403 unless its CSRF token is this session's."""

    def checked(page: PageContext, actor: Actor) -> Response:
        if not page.csrf_valid(csrf_token):
            return error_page(page, "csrf", 403)
        return build(page, actor)

    return logged_in(request, checked, role=role, allow=allow)


def insured_only(build: Build, *, staff: bool = False) -> Build:
    """`build` for an insured's user or a broker acting for one (and, with `staff`, the insurer's staff)."""

    def guarded(page: PageContext, actor: Actor) -> Response:
        if staff and actor.is_staff:
            return build(page, actor)
        if actor.role is Role.BROKER_USER and page.acting is None:
            return error_page(page, "choose_insured", 409)  # the broker chooses whom it acts for first
        if not page.insured_side:
            return error_page(page, "forbidden", 403)
        return build(page, actor)

    return guarded


def insured_screen(request: Request, build: Build) -> Response:
    """An insured's screen: for an insured user, or a broker acting for one of its mandated insureds.

    The broker's actor is narrowed to that insured (see :func:`tradecover.web.context.page_context`), so the
    screen shows exactly what the insured would see; acting needs an ``act`` mandate, which the services check.
    """
    return logged_in(request, insured_only(build))


def insured_form(request: Request, csrf_token: str, build: Build) -> Response:
    """As `insured_screen`, for a form (CSRF checked first)."""
    return posted(request, csrf_token, insured_only(build))
