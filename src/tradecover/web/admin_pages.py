"""The portal's pages for the administrator: organisations and their users, broker mandates, API keys.

``/admin/users`` lists the organisations (the insurer, insureds, brokers, factors; filtered by kind, paged)
with their first users, and holds the form creating an organisation (``POST /admin/organisations``).
``/admin/organisations/{id}`` lists one organisation's users and creates one
(``POST /admin/organisations/{id}/users``) with a role among those its kind allows; each user's row disables or
re-enables the account (``POST .../users/{user_id}/active``) and changes its role
(``POST .../users/{user_id}/role``), each with a reason kept in the audit log. ``/admin/mandates`` lists
and creates brokers' mandates on insureds. ``/admin/api-keys`` lists the API keys, creates one (its token is
shown on the answer to that POST and never again) and revokes one. The audit chain's verification is the
staff page ``/audit``; these pages link to it.

The pages are the administrator's alone (anyone else gets 403); the services check the permission again and
apply every rule: a refusal is shown in its form (422, the typed values kept but the password, nothing
stored).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tradecover.domain.parties import (
    MIN_PASSWORD_LENGTH,
    ROLES_BY_KIND,
    MandateScope,
    Organisation,
    OrganisationKind,
    Role,
)
from tradecover.services import accounts
from tradecover.services.authorization import ROLE_PERMISSIONS, Actor, Permission
from tradecover.services.ports import Page, UnitOfWork
from tradecover.web.access import logged_in, posted
from tradecover.web.context import PageContext
from tradecover.web.paging import pager

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]
IdQuery = Annotated[str, Query(max_length=100)]

ORGANISATION_PAGE_SIZE = 20
USERS_SHOWN = 10  # per organisation on the overview; its own page lists them all
USER_PAGE_SIZE = 50
MANDATE_PAGE_SIZE = 50
KEY_PAGE_SIZE = 50
MAX_CHOICES = 1000  # brokers and insureds offered in the mandate form
MAX_TEXT = 320
MAX_REASON = 600  # the service refuses more than 500; the typed text is kept to show the refusal

KIND_ORDER = (OrganisationKind.INSURER, OrganisationKind.POLICYHOLDER, OrganisationKind.BROKER, OrganisationKind.FACTOR)
ROLE_ORDER = tuple(Role)


def is_administrator(actor: Actor) -> bool:
    """The insurer's administrators, who manage accounts (the navigation offers them these pages)."""
    return actor.is_staff and actor.role in ROLE_PERMISSIONS[Permission.USER_CREATE]


def _admin(request: Request, build: Callable[[PageContext, Actor], Response]) -> Response:
    return logged_in(request, build, allow=is_administrator)


def _admin_form(request: Request, csrf_token: str, build: Callable[[PageContext, Actor], Response]) -> Response:
    return posted(request, csrf_token, build, allow=is_administrator)


def _refused(error: DomainError) -> bool:
    """A refusal to show in the form: neither an unknown object (404) nor a forbidden action (403)."""
    return not isinstance(error, NotFound | Forbidden)


def _kind(value: str) -> OrganisationKind | None:
    try:
        return OrganisationKind(value)
    except ValueError:
        return None


def _names(uow: UnitOfWork, ids: set[str]) -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    for organisation_id in ids:
        organisation = uow.organisations.get(organisation_id)
        if organisation is not None:
            found[organisation_id] = organisation
    return found


# --- Organisations and their users ----------------------------------------------------------------------------


def _users_page(
    page: PageContext,
    actor: Actor,
    *,
    offset: int = 0,
    kind: str = "",
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    chosen = _kind(kind)
    with page.container.uow() as uow:
        organisations, total = accounts.list_organisations(
            uow, actor, kind=chosen, page=Page(limit=ORGANISATION_PAGE_SIZE, offset=offset)
        )
        rows = []
        for organisation in organisations:
            users, count = accounts.list_users(uow, actor, organisation.id, Page(limit=USERS_SHOWN))
            rows.append({"organisation": organisation, "users": users, "count": count})
    values = {
        "rows": rows,
        "kinds": KIND_ORDER,
        "creatable_kinds": [k for k in KIND_ORDER if k is not OrganisationKind.INSURER],
        "kind": chosen.value if chosen else "",
        "pager": pager(offset, total, ORGANISATION_PAGE_SIZE),
        "query": f"&kind={chosen.value}" if chosen else "",
        "form": form or {"kind": OrganisationKind.POLICYHOLDER.value, "name": "", "country": "FR", "siren": ""},
        "error": error,
        "error_field": (error.field or "name") if error else "",
        "users_shown": USERS_SHOWN,
        "current": "admin",
        "section": "users",
    }
    return page.render("admin_users.html", values, status_code=422 if error else 200)


@router.get("/admin/users")
def users(request: Request, offset: OffsetQuery = 0, kind: IdQuery = "") -> Response:
    """The organisations with their users, and the form creating an organisation."""
    return _admin(request, lambda page, actor: _users_page(page, actor, offset=offset, kind=kind))


@router.post("/admin/organisations")
def create_organisation(
    request: Request,
    kind: FormText = "",
    name: FormText = "",
    country: FormText = "",
    siren: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Create an organisation, then go to its page to add its users."""
    form = {"kind": kind[:40], "name": name[:MAX_TEXT], "country": country[:40], "siren": siren[:40]}

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            chosen = _kind(form["kind"])
            if chosen is None:
                raise InvalidInput("choose a kind of organisation", code="organisation.invalid_kind", field="kind")
            with page.container.uow() as uow:
                organisation = accounts.create_organisation(
                    uow,
                    page.container.clock,
                    actor,
                    kind=chosen,
                    name=form["name"],
                    country=form["country"],
                    siren=form["siren"].strip() or None,
                )
        except DomainError as error:
            if not _refused(error):
                raise
            return _users_page(page, actor, form=form, error=error)
        return page.redirect(f"/admin/organisations/{organisation.id}?created=1")

    return _admin_form(request, csrf_token, build)


def _organisation_page(
    page: PageContext,
    actor: Actor,
    organisation_id: str,
    *,
    offset: int = 0,
    created: bool = False,
    added: str = "",
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
    changed: str = "",
    change: str = "",
    change_form: dict[str, str] | None = None,
    change_error: DomainError | None = None,
) -> Response:
    with page.container.uow() as uow:
        organisation = accounts.get_organisation(uow, actor, organisation_id)
        users, total = accounts.list_users(uow, actor, organisation.id, Page(limit=USER_PAGE_SIZE, offset=offset))
        added_user = uow.users.get(added) if added else None
        changed_user = uow.users.get(changed) if changed and change in USER_CHANGES else None
    allowed = [r for r in ROLE_ORDER if r in ROLES_BY_KIND[organisation.kind]]
    values = {
        "organisation": organisation,
        "users": users,
        "pager": pager(offset, total, USER_PAGE_SIZE),
        "created": created,
        "added": added_user if added_user is not None and added_user.organisation_id == organisation.id else None,
        "roles": allowed,
        "form": form or {"full_name": "", "email": "", "role": allowed[0].value},
        "error": error,
        "error_field": (error.field or "email") if error else "",
        "min_password": MIN_PASSWORD_LENGTH,
        "changed": changed_user
        if changed_user is not None and changed_user.organisation_id == organisation.id
        else None,
        "change": change,
        "change_form": change_form or {},
        "change_error": change_error,
        "current": "admin",
        "section": "users",
    }
    refused = error is not None or change_error is not None
    return page.render("admin_organisation.html", values, status_code=422 if refused else 200)


@router.get("/admin/organisations/{organisation_id}")
def organisation(
    request: Request,
    organisation_id: str,
    offset: OffsetQuery = 0,
    created: IdQuery = "",
    user: IdQuery = "",
    changed: IdQuery = "",
    change: IdQuery = "",
) -> Response:
    """One organisation's users with the forms changing each, and the form adding one."""

    def build(page: PageContext, actor: Actor) -> Response:
        return _organisation_page(
            page,
            actor,
            organisation_id[:100],
            offset=offset,
            created=bool(created),
            added=user,
            changed=changed,
            change=change,
        )

    return _admin(request, build)


@router.post("/admin/organisations/{organisation_id}/users")
def create_user(
    request: Request,
    organisation_id: str,
    full_name: FormText = "",
    email: FormText = "",
    role: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Create a user of the organisation; the password is never sent back, even when the form is refused."""
    organisation_id = organisation_id[:100]
    form = {"full_name": full_name[:MAX_TEXT], "email": email[:MAX_TEXT], "role": role[:40]}

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            try:
                chosen = Role(form["role"])
            except ValueError:
                raise InvalidInput("choose a role", code="user.role_not_allowed", field="role") from None
            with page.container.uow() as uow:
                user = accounts.create_user(
                    uow,
                    page.container.clock,
                    actor,
                    organisation_id=organisation_id,
                    email=form["email"],
                    full_name=form["full_name"],
                    role=chosen,
                    password=password[:1000],
                )
        except DomainError as error:
            if not _refused(error):
                raise
            return _organisation_page(page, actor, organisation_id, form=form, error=error)
        return page.redirect(f"/admin/organisations/{organisation_id}?user={user.id}#user-added")

    return _admin_form(request, csrf_token, build)


USER_CHANGES = ("enabled", "disabled", "role")


def _change_user(
    request: Request,
    organisation_id: str,
    user_id: str,
    csrf_token: str,
    form: dict[str, str],
    apply: Callable[[PageContext, Actor, UnitOfWork], str],
) -> Response:
    """Apply one change to a user and go back to its organisation's page saying what changed; a refusal is
    shown in that user's form (422, nothing changed)."""
    organisation_id = organisation_id[:100]
    user_id = user_id[:100]
    form = {**form, "user_id": user_id}

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            with page.container.uow() as uow:
                change = apply(page, actor, uow)
        except DomainError as error:
            if not _refused(error):
                raise
            return _organisation_page(page, actor, organisation_id, change_form=form, change_error=error)
        return page.redirect(f"/admin/organisations/{organisation_id}?changed={user_id}&change={change}#user-changed")

    return _admin_form(request, csrf_token, build)


@router.post("/admin/organisations/{organisation_id}/users/{user_id}/active")
def set_user_active(
    request: Request,
    organisation_id: str,
    user_id: str,
    active: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Disable an account (its sessions and API keys stop working at once) or enable it again."""
    form = {"form": "active", "active": active[:10], "reason": reason[:MAX_REASON]}

    def apply(page: PageContext, actor: Actor, uow: UnitOfWork) -> str:
        if form["active"] not in ("true", "false"):
            raise InvalidInput("choose to enable or disable the account", code="input.invalid", field="active")
        enabled = form["active"] == "true"
        accounts.set_user_active(
            uow,
            page.container.clock,
            actor,
            user_id[:100],
            active=enabled,
            reason=form["reason"],
            organisation_id=organisation_id[:100],
        )
        return "enabled" if enabled else "disabled"

    return _change_user(request, organisation_id, user_id, csrf_token, form, apply)


@router.post("/admin/organisations/{organisation_id}/users/{user_id}/role")
def change_role(
    request: Request,
    organisation_id: str,
    user_id: str,
    role: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Give a user another role among those its organisation's kind allows."""
    form = {"form": "role", "role": role[:40], "reason": reason[:MAX_REASON]}

    def apply(page: PageContext, actor: Actor, uow: UnitOfWork) -> str:
        try:
            chosen = Role(form["role"])
        except ValueError:
            raise InvalidInput("choose a role", code="user.role_not_allowed", field="role") from None
        accounts.change_role(
            uow,
            page.container.clock,
            actor,
            user_id[:100],
            role=chosen,
            reason=form["reason"],
            organisation_id=organisation_id[:100],
        )
        return "role"

    return _change_user(request, organisation_id, user_id, csrf_token, form, apply)


# --- Mandates ----------------------------------------------------------------------------------------------


def _mandates_page(
    page: PageContext,
    actor: Actor,
    *,
    offset: int = 0,
    created: str = "",
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    today = page.container.clock.today()
    with page.container.uow() as uow:
        mandates, total = accounts.list_mandates(uow, actor, Page(limit=MANDATE_PAGE_SIZE, offset=offset))
        named = _names(uow, {m.broker_id for m in mandates} | {m.insured_id for m in mandates})
        brokers, _ = accounts.list_organisations(uow, actor, kind=OrganisationKind.BROKER, page=Page(MAX_CHOICES))
        insureds, _ = accounts.list_organisations(
            uow, actor, kind=OrganisationKind.POLICYHOLDER, page=Page(MAX_CHOICES)
        )
    rows = [
        {
            "mandate": m,
            "broker": named[m.broker_id].name if m.broker_id in named else m.broker_id,
            "insured": named[m.insured_id].name if m.insured_id in named else m.insured_id,
            "state": "in_force" if m.terms.in_force(today) else "future" if m.terms.start_date > today else "ended",
        }
        for m in mandates
    ]
    values = {
        "rows": rows,
        "pager": pager(offset, total, MANDATE_PAGE_SIZE),
        "created": created,
        "brokers": brokers,
        "insureds": insureds,
        "scopes": list(MandateScope),
        "form": form
        or {"broker_id": "", "insured_id": "", "start_date": today.isoformat(), "end_date": "", "scope": "read"},
        "error": error,
        "error_field": (error.field or "broker_id") if error else "",
        "current": "admin",
        "section": "mandates",
    }
    return page.render("admin_mandates.html", values, status_code=422 if error else 200)


@router.get("/admin/mandates")
def mandates(request: Request, offset: OffsetQuery = 0, created: IdQuery = "") -> Response:
    """The brokers' mandates on insureds, and the form creating one."""
    return _admin(request, lambda page, actor: _mandates_page(page, actor, offset=offset, created=created))


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{name} is not a date: {text!r}", code="mandate.invalid_date", field=name) from None


@router.post("/admin/mandates")
def create_mandate(
    request: Request,
    broker_id: FormText = "",
    insured_id: FormText = "",
    start_date: FormText = "",
    end_date: FormText = "",
    scope: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Record a broker's mandate on an insured, in force from its start date (to its end date, if any)."""
    form = {
        "broker_id": broker_id[:100],
        "insured_id": insured_id[:100],
        "start_date": start_date[:40],
        "end_date": end_date[:40],
        "scope": scope[:20],
    }

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            start = _date(form["start_date"], "start_date")
            end = _date(form["end_date"], "end_date") if form["end_date"].strip() else None
            try:
                chosen = MandateScope(form["scope"])
            except ValueError:
                raise InvalidInput("choose a scope", code="mandate.invalid_scope", field="scope") from None
            if not form["broker_id"] or not form["insured_id"]:
                field = "broker_id" if not form["broker_id"] else "insured_id"
                raise InvalidInput("choose a broker and an insured", code="mandate.missing_party", field=field)
            with page.container.uow() as uow:
                mandate = accounts.create_mandate(
                    uow,
                    page.container.clock,
                    actor,
                    broker_id=form["broker_id"],
                    insured_id=form["insured_id"],
                    start_date=start,
                    end_date=end,
                    scope=chosen,
                )
        except DomainError as error:
            if not _refused(error):
                raise
            return _mandates_page(page, actor, form=form, error=error)
        return page.redirect(f"/admin/mandates?created={mandate.id}#mandate-created")

    return _admin_form(request, csrf_token, build)


# --- API keys ----------------------------------------------------------------------------------------------


def _keys_page(
    page: PageContext,
    actor: Actor,
    *,
    offset: int = 0,
    revoked: str = "",
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    with page.container.uow() as uow:
        keys, total = accounts.list_api_keys(uow, actor, Page(limit=KEY_PAGE_SIZE, offset=offset))
        owners = {user_id: uow.users.get(user_id) for user_id in {k.user_id for k in keys}}
        named = _names(uow, {k.organisation_id for k in keys})
    rows = []
    for key in keys:
        owner = owners.get(key.user_id)
        organisation = named.get(key.organisation_id)
        rows.append(
            {
                "key": key,
                "owner": owner.email if owner is not None else key.user_id,
                "organisation": organisation.name if organisation is not None else key.organisation_id,
            }
        )
    values = {
        "rows": rows,
        "pager": pager(offset, total, KEY_PAGE_SIZE),
        "revoked": next((k for k in keys if k.id == revoked and not k.active), None) if revoked else None,
        "form": form or {"name": ""},
        "error": error,
        "error_field": "name" if error else "",
        "current": "admin",
        "section": "api_keys",
    }
    return page.render("admin_api_keys.html", values, status_code=422 if error else 200)


@router.get("/admin/api-keys")
def api_keys(request: Request, offset: OffsetQuery = 0, revoked: IdQuery = "") -> Response:
    """The API keys, active and revoked; the form creating one."""
    return _admin(request, lambda page, actor: _keys_page(page, actor, offset=offset, revoked=revoked))


@router.post("/admin/api-keys")
def create_api_key(request: Request, name: FormText = "", csrf_token: FormText = "") -> Response:
    """Create a key for the administrator's account and show its token, this once (no redirect: a reload of
    a GET page must never show it again; the response is not cached)."""
    form = {"name": name[:MAX_TEXT]}

    def build(page: PageContext, actor: Actor) -> Response:
        try:
            with page.container.uow() as uow:
                key, token = accounts.create_api_key(uow, page.container.clock, actor, name=form["name"])
        except DomainError as error:
            if not _refused(error):
                raise
            return _keys_page(page, actor, form=form, error=error)
        values: dict[str, Any] = {"key": key, "token": token, "current": "admin", "section": "api_keys"}
        return page.render("admin_api_key_created.html", values)

    return _admin_form(request, csrf_token, build)


@router.post("/admin/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: str, csrf_token: FormText = "") -> Response:
    """Revoke a key: the API refuses its token from the next request on."""
    key_id = key_id[:100]

    def build(page: PageContext, actor: Actor) -> Response:
        with page.container.uow() as uow:
            accounts.revoke_api_key(uow, page.container.clock, actor, key_id)
        return page.redirect(f"/admin/api-keys?revoked={key_id}#key-revoked")

    return _admin_form(request, csrf_token, build)
