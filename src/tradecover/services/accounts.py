"""Organisations, users, broker mandates, API keys and authentication."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from tradecover.domain.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from tradecover.domain.identifiers import IdentifierKind, parse_identifier
from tradecover.domain.parties import (
    ApiKey,
    Mandate,
    MandateScope,
    MandateTerms,
    Organisation,
    OrganisationKind,
    Role,
    User,
    check_password_strength,
    check_role_fits,
    normalise_email,
)
from tradecover.domain.periods import Clock
from tradecover.domain.terms import country_code
from tradecover.services import security
from tradecover.services.authorization import (
    Actor,
    Permission,
    ensure_can_read,
    not_found,
    require,
    system_actor,
    visible_organisations,
)
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import INSURER_TENANT, new_id, record

LAST_USED_RESOLUTION = timedelta(minutes=1)


def tenant_of(organisation: Organisation) -> str:
    """The audit chain an organisation's events go to."""
    return INSURER_TENANT if organisation.kind is OrganisationKind.INSURER else organisation.id


def ensure_insurer(uow: UnitOfWork, clock: Clock, name: str = "tradecover Assurance-Crédit") -> Organisation:
    """The insurer's organisation, created on first use (there is exactly one)."""
    insurer = uow.organisations.insurer()
    if insurer is not None:
        return insurer
    insurer = Organisation(new_id(), OrganisationKind.INSURER, name, "FR", None, clock.now())
    uow.organisations.add(insurer)
    record(
        uow,
        clock,
        system_actor(insurer.id),
        tenant=INSURER_TENANT,
        action="organisation.created",
        object_type="organisation",
        object_id=insurer.id,
        summary={"after": {"kind": insurer.kind.value, "name": insurer.name}},
    )
    uow.commit()
    return insurer


def create_organisation(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    kind: OrganisationKind,
    name: str,
    country: str,
    siren: str | None = None,
) -> Organisation:
    require(actor, Permission.ORGANISATION_CREATE)
    if kind is OrganisationKind.INSURER:
        raise Conflict("the insurer's organisation already exists", code="organisation.insurer_exists", field="kind")
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > 200:
        raise InvalidInput("name must have 1 to 200 characters", code="organisation.invalid_name", field="name")
    if uow.organisations.find_by_name(clean_name) is not None:
        raise Conflict(f"an organisation named {clean_name!r} exists", code="organisation.name_taken", field="name")
    siren_value = parse_identifier(IdentifierKind.SIREN, siren).value if siren else None
    organisation = Organisation(new_id(), kind, clean_name, country_code(country), siren_value, clock.now())
    uow.organisations.add(organisation)
    record(
        uow,
        clock,
        actor,
        tenant=tenant_of(organisation),
        action="organisation.created",
        object_type="organisation",
        object_id=organisation.id,
        summary={
            "after": {
                "kind": kind.value,
                "name": clean_name,
                "country": organisation.country,
                "siren": siren_value,
            }
        },
    )
    uow.commit()
    return organisation


def get_organisation(uow: UnitOfWork, actor: Actor, organisation_id: str) -> Organisation:
    organisation = uow.organisations.get(organisation_id)
    if organisation is None:
        raise not_found("organisation", organisation_id)
    ensure_can_read(actor, organisation.id, "organisation", organisation_id)
    return organisation


def list_organisations(
    uow: UnitOfWork, actor: Actor, *, kind: OrganisationKind | None, page: Page
) -> tuple[list[Organisation], int]:
    return uow.organisations.list_page(ids=visible_organisations(actor), kind=kind, page=page)


def create_user(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    organisation_id: str,
    email: str,
    full_name: str,
    role: Role,
    password: str,
) -> User:
    require(actor, Permission.USER_CREATE)
    organisation = get_organisation(uow, actor, organisation_id)
    check_role_fits(organisation.kind, role)
    address = normalise_email(email)
    check_password_strength(password)
    if uow.users.by_email(address) is not None:
        raise Conflict(f"a user with e-mail {address} exists", code="user.email_taken", field="email")
    name = " ".join(full_name.split()) or address
    user = User(new_id(), organisation.id, address, name, role, security.hash_password(password), True, clock.now())
    uow.users.add(user)
    record(
        uow,
        clock,
        actor,
        tenant=tenant_of(organisation),
        action="user.created",
        object_type="user",
        object_id=user.id,
        summary={"after": {"email": address, "role": role.value, "organisation_id": organisation.id}},
    )
    uow.commit()
    return user


def list_users(uow: UnitOfWork, actor: Actor, organisation_id: str, page: Page) -> tuple[list[User], int]:
    organisation = get_organisation(uow, actor, organisation_id)
    return uow.users.list_page(organisation_id=organisation.id, page=page)


MAX_USER_CHANGE_REASON = 500


def _user_to_change(
    uow: UnitOfWork, actor: Actor, user_id: str, organisation_id: str | None, reason: str
) -> tuple[User, Organisation, str]:
    """The user an administrator changes, its organisation (for the audit chain) and the cleaned reason."""
    require(actor, Permission.USER_CREATE)
    user = uow.users.get(user_id)
    if user is None or (organisation_id is not None and user.organisation_id != organisation_id):
        raise not_found("user", user_id)
    organisation = get_organisation(uow, actor, user.organisation_id)
    text = " ".join(reason.split())
    if not text or len(text) > MAX_USER_CHANGE_REASON:
        raise InvalidInput(
            f"a reason of 1 to {MAX_USER_CHANGE_REASON} characters is required",
            code="user.reason_required",
            field="reason",
        )
    return user, organisation, text


def set_user_active(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    user_id: str,
    *,
    active: bool,
    reason: str,
    organisation_id: str | None = None,
) -> User:
    """Disable or re-enable an account; a disabled account's sessions and API keys stop working at once,
    since every request rebuilds its actor from the account. ``organisation_id``, when given, must be the
    user's (the API's path names both)."""
    user, organisation, text = _user_to_change(uow, actor, user_id, organisation_id, reason)
    if user.id == actor.user_id:
        raise InvalidInput(
            "an administrator cannot disable its own account", code="user.cannot_disable_self", field="active"
        )
    if user.active is active:
        return user  # nothing to change, nothing to record
    changed = replace(user, active=active)
    uow.users.save(changed)
    record(
        uow,
        clock,
        actor,
        tenant=tenant_of(organisation),
        action="user.enabled" if active else "user.disabled",
        object_type="user",
        object_id=user.id,
        summary={"before": {"active": user.active}, "after": {"active": active}},
        reason=text,
    )
    uow.commit()
    return changed


def change_role(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    user_id: str,
    *,
    role: Role,
    reason: str,
    organisation_id: str | None = None,
) -> User:
    """Give an account another role among those its organisation's kind allows."""
    user, organisation, text = _user_to_change(uow, actor, user_id, organisation_id, reason)
    if user.id == actor.user_id:
        raise InvalidInput(
            "an administrator cannot change its own role", code="user.cannot_change_own_role", field="role"
        )
    check_role_fits(organisation.kind, role)
    if user.role is role:
        return user
    changed = replace(user, role=role)
    uow.users.save(changed)
    record(
        uow,
        clock,
        actor,
        tenant=tenant_of(organisation),
        action="user.role_changed",
        object_type="user",
        object_id=user.id,
        summary={"before": {"role": user.role.value}, "after": {"role": role.value}},
        reason=text,
    )
    uow.commit()
    return changed


def authenticate(uow: UnitOfWork, email: str, password: str) -> User:
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    user = uow.users.by_email(address) if address else None
    if user is None or not user.active:
        security.burn_password_check(password)
        raise NotAuthenticated("wrong e-mail or password", code="auth.invalid_credentials")
    if not security.verify_password(user.password_hash, password):
        raise NotAuthenticated("wrong e-mail or password", code="auth.invalid_credentials")
    return user


def actor_for_user(uow: UnitOfWork, clock: Clock, user_id: str, api_key_id: str | None = None) -> Actor:
    """The actor a valid credential stands for, with the mandates in force today."""
    user = uow.users.get(user_id)
    if user is None or not user.active:
        raise NotAuthenticated("the account is unknown or disabled", code="auth.invalid_credentials")
    organisation = uow.organisations.get(user.organisation_id)
    if organisation is None:
        raise NotAuthenticated("the account's organisation is gone", code="auth.invalid_credentials")
    mandates: dict[str, MandateScope] = {}
    if organisation.kind is OrganisationKind.BROKER:
        today = clock.today()
        for mandate in uow.mandates.for_broker(organisation.id):
            if mandate.terms.in_force(today):
                previous = mandates.get(mandate.insured_id)
                if previous is not MandateScope.ACT:
                    mandates[mandate.insured_id] = mandate.terms.scope
    return Actor(
        user_id=user.id,
        label=user.email,
        organisation_id=organisation.id,
        organisation_kind=organisation.kind,
        role=user.role,
        mandates=mandates,
        api_key_id=api_key_id,
    )


def create_mandate(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    broker_id: str,
    insured_id: str,
    start_date: date,
    end_date: date | None,
    scope: MandateScope,
) -> Mandate:
    require(actor, Permission.MANDATE_CREATE)
    broker = get_organisation(uow, actor, broker_id)
    insured = get_organisation(uow, actor, insured_id)
    if broker.kind is not OrganisationKind.BROKER:
        raise InvalidInput("broker_id must name a broker", code="mandate.not_a_broker", field="broker_id")
    if insured.kind is not OrganisationKind.POLICYHOLDER:
        raise InvalidInput("insured_id must name a policyholder", code="mandate.not_an_insured", field="insured_id")
    mandate = Mandate(new_id(), broker.id, insured.id, MandateTerms(start_date, end_date, scope), clock.now())
    uow.mandates.add(mandate)
    summary = {
        "after": {
            "broker_id": broker.id,
            "insured_id": insured.id,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat() if end_date else None,
            "scope": scope.value,
        }
    }
    for tenant in (insured.id, broker.id):
        record(
            uow,
            clock,
            actor,
            tenant=tenant,
            action="mandate.created",
            object_type="mandate",
            object_id=mandate.id,
            summary=summary,
        )
    uow.commit()
    return mandate


def list_mandates(uow: UnitOfWork, actor: Actor, page: Page) -> tuple[list[Mandate], int]:
    visible = visible_organisations(actor)
    if visible is not None and actor.organisation_kind is OrganisationKind.BROKER:
        visible = frozenset({actor.organisation_id})
    return uow.mandates.list_page(organisation_ids=visible, page=page)


def get_mandate(uow: UnitOfWork, actor: Actor, mandate_id: str) -> Mandate:
    mandate = uow.mandates.get(mandate_id)
    if mandate is None:
        raise not_found("mandate", mandate_id)
    visible = visible_organisations(actor)
    if visible is not None and actor.organisation_id not in (mandate.broker_id, mandate.insured_id):
        raise not_found("mandate", mandate_id)
    return mandate


def create_api_key(uow: UnitOfWork, clock: Clock, actor: Actor, *, name: str) -> tuple[ApiKey, str]:
    """A new key for the actor's own account; the token is returned once and never stored."""
    require(actor, Permission.API_KEY_MANAGE)
    label = " ".join(name.split())
    if not label or len(label) > 100:
        raise InvalidInput("name must have 1 to 100 characters", code="api_key.invalid_name", field="name")
    if uow.users.get(actor.user_id) is None:
        raise InvalidInput("API keys belong to a user account", code="api_key.no_user", field="user")
    generated = security.generate_api_key()
    key = ApiKey(new_id(), actor.user_id, actor.organisation_id, label, generated.prefix, generated.digest, clock.now())
    uow.api_keys.add(key)
    record(
        uow,
        clock,
        actor,
        tenant=_tenant_of_org(uow, actor.organisation_id),
        action="api_key.created",
        object_type="api_key",
        object_id=key.id,
        summary={"after": {"name": label, "prefix": key.prefix}},
    )
    uow.commit()
    return key, generated.token


def list_api_keys(uow: UnitOfWork, actor: Actor, page: Page) -> tuple[list[ApiKey], int]:
    if actor.is_staff and actor.role is Role.ADMIN:
        return uow.api_keys.list_page(user_ids=None, organisation_ids=None, page=page)
    return uow.api_keys.list_page(user_ids=frozenset({actor.user_id}), organisation_ids=None, page=page)


def revoke_api_key(uow: UnitOfWork, clock: Clock, actor: Actor, key_id: str) -> ApiKey:
    key = uow.api_keys.get(key_id)
    is_admin = actor.is_staff and actor.role is Role.ADMIN
    if key is None or (key.user_id != actor.user_id and not is_admin):
        raise not_found("api_key", key_id)
    if key.revoked_at is not None:
        raise Conflict("the API key is already revoked", code="api_key.already_revoked")
    revoked = replace(key, revoked_at=clock.now())
    uow.api_keys.save(revoked)
    record(
        uow,
        clock,
        actor,
        tenant=_tenant_of_org(uow, key.organisation_id),
        action="api_key.revoked",
        object_type="api_key",
        object_id=key.id,
        summary={"before": {"active": True}, "after": {"active": False}},
    )
    uow.commit()
    return revoked


def verified_api_key(uow: UnitOfWork, token: str) -> ApiKey:
    """The active key this token is, checked against its digest; reads only."""
    parts = security.split_api_key(token)
    key = uow.api_keys.by_prefix(parts[0]) if parts else None
    if parts is None or key is None or not key.active:
        raise NotAuthenticated("unknown or revoked API key", code="auth.invalid_api_key")
    if not security.digests_match(key.digest, security.api_key_digest(*parts)):
        raise NotAuthenticated("unknown or revoked API key", code="auth.invalid_api_key")
    return key


def actor_for_api_key(uow: UnitOfWork, clock: Clock, token: str) -> Actor:
    key = verified_api_key(uow, token)
    now = clock.now()
    # Recorded to the minute: a write on every call would serialise an ERP's parallel requests on one row.
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        uow.api_keys.save(replace(key, last_used_at=now))
        uow.commit()
    return actor_for_user(uow, clock, key.user_id, api_key_id=key.id)


def _tenant_of_org(uow: UnitOfWork, organisation_id: str) -> str:
    organisation = uow.organisations.get(organisation_id)
    if organisation is None:
        raise NotFound("organisation not found", code="organisation.not_found")
    return tenant_of(organisation)
