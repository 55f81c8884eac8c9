"""Who may do what (roles) and whose data an actor sees (tenancy, mandates)."""

from __future__ import annotations

import pytest

from tradecover.domain.errors import Forbidden, NotFound
from tradecover.domain.parties import STAFF_ROLES, MandateScope, OrganisationKind, Role
from tradecover.services.authorization import (
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    can_read,
    ensure_can_act,
    ensure_can_read,
    require,
    system_actor,
    visible_organisations,
)

INSURER = "org-insurer"
HOLDER_A = "org-holder-a"
HOLDER_B = "org-holder-b"
BROKER = "org-broker"


def actor(
    role: Role,
    kind: OrganisationKind,
    organisation_id: str,
    mandates: dict[str, MandateScope] | None = None,
    api_key_id: str | None = None,
) -> Actor:
    return Actor(
        user_id=f"user-{role.value}",
        label=f"{role.value}@example.com",
        organisation_id=organisation_id,
        organisation_kind=kind,
        role=role,
        mandates=mandates or {},
        api_key_id=api_key_id,
    )


def staff(role: Role = Role.UNDERWRITER) -> Actor:
    return actor(role, OrganisationKind.INSURER, INSURER)


def insured(organisation_id: str = HOLDER_A) -> Actor:
    return actor(Role.INSURED_USER, OrganisationKind.POLICYHOLDER, organisation_id)


def broker(mandates: dict[str, MandateScope]) -> Actor:
    return actor(Role.BROKER_USER, OrganisationKind.BROKER, BROKER, mandates)


# -------------------------------------------------------------------- roles


def test_every_permission_has_a_rule() -> None:
    assert set(ROLE_PERMISSIONS) == set(Permission)


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_require_follows_the_permission_table(permission: Permission, role: Role) -> None:
    kind = OrganisationKind.INSURER if role in STAFF_ROLES else OrganisationKind.POLICYHOLDER
    subject = actor(role, kind, INSURER if role in STAFF_ROLES else HOLDER_A)

    if role in ROLE_PERMISSIONS[permission]:
        require(subject, permission)
    else:
        with pytest.raises(Forbidden) as caught:
            require(subject, permission)
        assert caught.value.code == "auth.forbidden"
        assert caught.value.context["permission"] == permission.value


@pytest.mark.parametrize(
    ("role", "permission"),
    [
        (Role.INSURED_USER, Permission.POLICY_ISSUE),
        (Role.INSURED_USER, Permission.AUDIT_READ),
        (Role.BROKER_USER, Permission.MANDATE_CREATE),
        (Role.UNDERWRITER, Permission.ORGANISATION_CREATE),
        (Role.CLAIMS_HANDLER, Permission.POLICY_ENDORSE),
        (Role.FACTOR_USER, Permission.BUYER_ADD),
    ],
)
def test_some_roles_are_refused_some_actions(role: Role, permission: Permission) -> None:
    kind = OrganisationKind.INSURER if role in STAFF_ROLES else OrganisationKind.POLICYHOLDER
    with pytest.raises(Forbidden):
        require(actor(role, kind, "org"), permission)


def test_a_staff_role_outside_the_insurer_is_forbidden() -> None:
    impostor = actor(Role.ADMIN, OrganisationKind.POLICYHOLDER, HOLDER_A)

    assert not impostor.is_staff
    with pytest.raises(Forbidden):
        require(impostor, Permission.ORGANISATION_CREATE)


def test_the_command_line_acts_as_an_insurer_admin() -> None:
    cli = system_actor(INSURER)

    assert cli.is_staff
    assert cli.role is Role.ADMIN
    for permission in Permission:
        require(cli, permission)


# ------------------------------------------------------------------ tenancy


def test_insurer_staff_see_everything() -> None:
    for role in STAFF_ROLES:
        assert visible_organisations(staff(role)) is None
        assert can_read(staff(role), HOLDER_B)


def test_an_insured_sees_only_itself() -> None:
    assert visible_organisations(insured()) == frozenset({HOLDER_A})
    assert can_read(insured(), HOLDER_A)
    assert not can_read(insured(), HOLDER_B)


def test_a_broker_sees_itself_and_its_mandators() -> None:
    subject = broker({HOLDER_A: MandateScope.READ})

    assert visible_organisations(subject) == frozenset({BROKER, HOLDER_A})
    assert not can_read(subject, HOLDER_B)


def test_another_tenants_object_is_not_found_not_forbidden() -> None:
    with pytest.raises(NotFound) as caught:
        ensure_can_read(insured(HOLDER_B), HOLDER_A, "policy", "pol-1")

    assert caught.value.code == "policy.not_found"
    assert caught.value.context == {"id": "pol-1"}


@pytest.mark.parametrize(
    ("mandates", "expected"),
    [
        ({HOLDER_A: MandateScope.ACT}, None),
        ({HOLDER_A: MandateScope.READ}, Forbidden),
        ({}, NotFound),
        ({HOLDER_B: MandateScope.ACT}, NotFound),
    ],
)
def test_a_broker_acts_only_with_an_act_mandate(
    mandates: dict[str, MandateScope], expected: type[Exception] | None
) -> None:
    subject = broker(mandates)

    if expected is None:
        ensure_can_act(subject, HOLDER_A, "organisation", HOLDER_A)
    else:
        with pytest.raises(expected):
            ensure_can_act(subject, HOLDER_A, "organisation", HOLDER_A)


def test_a_read_mandate_is_refused_with_its_own_code() -> None:
    with pytest.raises(Forbidden) as caught:
        ensure_can_act(broker({HOLDER_A: MandateScope.READ}), HOLDER_A, "organisation", HOLDER_A)

    assert caught.value.code == "auth.mandate_read_only"


def test_an_insured_and_staff_act_where_they_read() -> None:
    ensure_can_act(insured(), HOLDER_A, "organisation", HOLDER_A)
    ensure_can_act(staff(), HOLDER_B, "organisation", HOLDER_B)
    ensure_can_act(broker({}), BROKER, "organisation", BROKER)
    with pytest.raises(NotFound):
        ensure_can_act(insured(), HOLDER_B, "organisation", HOLDER_B)


# -------------------------------------------------------------- audit label


def test_the_audit_label_names_the_user_the_key_and_the_mandate() -> None:
    subject = actor(
        Role.BROKER_USER,
        OrganisationKind.BROKER,
        BROKER,
        {HOLDER_A: MandateScope.ACT},
        api_key_id="key-1",
    )

    assert insured().audit_label() == "user:user-insured_user"
    assert subject.audit_label(on_behalf_of=BROKER) == "user:user-broker_user via api_key:key-1"
    assert subject.audit_label(on_behalf_of=HOLDER_A) == (
        f"user:user-broker_user via api_key:key-1 for organisation:{HOLDER_A} (broker mandate)"
    )
