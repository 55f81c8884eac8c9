"""Organisations, users, authentication, broker mandates and API keys."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from tradecover.domain.parties import (
    MandateScope,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts, security
from tradecover.services.authorization import Actor, ensure_can_act, ensure_can_read, system_actor
from tradecover.services.ports import Page

if TYPE_CHECKING:
    from fakes import FakeUnitOfWork

    from conftest import MakeActor, MakeOrg


# ------------------------------------------------------------- unit of work


def test_work_that_is_not_committed_is_rolled_back(
    uow: FakeUnitOfWork, clock: FixedClock, insurer: Organisation
) -> None:
    with uow:
        uow.organisations.add(
            Organisation("org-x", OrganisationKind.BROKER, "Never Committed", "FR", None, clock.now())
        )
        assert uow.organisations.get("org-x") is not None

    with uow:
        assert uow.organisations.get("org-x") is None
        assert uow.organisations.get(insurer.id) == insurer


def test_committed_work_survives_the_block(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> None:
    with uow:
        created = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.BROKER, name="Courtage Durand", country="FR"
        )
        assert uow.committed

    with uow:
        assert uow.organisations.get(created.id) == created


# ------------------------------------------------------------ organisations


def test_the_insurer_is_created_once(uow: FakeUnitOfWork, clock: FixedClock) -> None:
    with uow:
        first = accounts.ensure_insurer(uow, clock)
    with uow:
        second = accounts.ensure_insurer(uow, clock)

    assert first == second
    with uow:
        organisations, total = uow.organisations.list_page(ids=None, kind=OrganisationKind.INSURER, page=Page())
    assert total == 1
    assert organisations == [first]


def test_an_admin_creates_a_policyholder(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> None:
    with uow:
        created = accounts.create_organisation(
            uow,
            clock,
            admin,
            kind=OrganisationKind.POLICYHOLDER,
            name="  Métallerie   Dupont  ",
            country="fr",
            siren="732 829 320",
        )

    with uow:
        stored = accounts.get_organisation(uow, admin, created.id)
    assert stored.name == "Métallerie Dupont"
    assert stored.country == "FR"
    assert stored.siren == "732829320"
    assert stored.kind is OrganisationKind.POLICYHOLDER
    assert stored.created_at == clock.now()


def test_organisation_names_are_unique(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg) -> None:
    make_org(OrganisationKind.POLICYHOLDER, "Acme Industrie")

    with uow, pytest.raises(Conflict) as caught:
        accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.BROKER, name="Acme  Industrie", country="FR"
        )

    assert caught.value.code == "organisation.name_taken"
    assert caught.value.field == "name"
    with uow:
        _, total = uow.organisations.list_page(ids=None, kind=None, page=Page())
    assert total == 2  # the insurer and the first Acme


def test_a_second_insurer_is_refused(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> None:
    with uow, pytest.raises(Conflict) as caught:
        accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.INSURER, name="Another Insurer", country="FR"
        )

    assert caught.value.code == "organisation.insurer_exists"
    with uow:
        _, total = uow.organisations.list_page(ids=None, kind=OrganisationKind.INSURER, page=Page())
    assert total == 1


def test_an_organisation_with_a_bad_siren_is_refused(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> None:
    with uow, pytest.raises(InvalidInput) as caught:
        accounts.create_organisation(
            uow,
            clock,
            admin,
            kind=OrganisationKind.POLICYHOLDER,
            name="Bad Siren SA",
            country="FR",
            siren="732829321",
        )

    assert caught.value.code == "identifier.invalid_siren"
    with uow:
        assert uow.organisations.find_by_name("Bad Siren SA") is None


def test_only_an_admin_creates_organisations(
    uow: FakeUnitOfWork, clock: FixedClock, insurer: Organisation, make_actor: MakeActor
) -> None:
    underwriter = make_actor(insurer, Role.UNDERWRITER)

    with uow, pytest.raises(Forbidden):
        accounts.create_organisation(
            uow, clock, underwriter, kind=OrganisationKind.BROKER, name="Courtage", country="FR"
        )

    with uow:
        assert uow.organisations.find_by_name("Courtage") is None


def test_an_insured_lists_only_its_own_organisation(
    uow: FakeUnitOfWork, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    mine = make_org(OrganisationKind.POLICYHOLDER, "Mine SARL")
    make_org(OrganisationKind.POLICYHOLDER, "Theirs SARL")
    insured = make_actor(mine)

    with uow:
        organisations, total = accounts.list_organisations(uow, insured, kind=None, page=Page())

    assert organisations == [mine]
    assert total == 1


# -------------------------------------------------------------------- users


def test_a_user_is_created_with_a_hashed_password(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")

    with uow:
        user = accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=holder.id,
            email="  Claire.Martin@Dupont.FR ",
            full_name="Claire   Martin",
            role=Role.INSURED_USER,
            password=password,
        )

    with uow:
        stored = uow.users.get(user.id)
    assert stored is not None
    assert stored.email == "claire.martin@dupont.fr"
    assert stored.full_name == "Claire Martin"
    assert stored.organisation_id == holder.id
    assert stored.active
    assert password not in stored.password_hash
    assert stored.password_hash.startswith("$argon2id$")
    assert security.verify_password(stored.password_hash, password)


def test_a_role_must_fit_the_organisation_kind(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")

    with uow, pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=holder.id,
            email="arbitre@dupont.fr",
            full_name="Not An Underwriter",
            role=Role.UNDERWRITER,
            password=password,
        )

    assert caught.value.code == "user.role_not_allowed"
    assert caught.value.field == "role"
    with uow:
        assert uow.users.by_email("arbitre@dupont.fr") is None


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrganisationKind.BROKER, Role.INSURED_USER),
        (OrganisationKind.FACTOR, Role.ADMIN),
        (OrganisationKind.INSURER, Role.BROKER_USER),
    ],
)
def test_other_misplaced_roles_are_refused(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    insurer: Organisation,
    make_org: MakeOrg,
    password: str,
    kind: OrganisationKind,
    role: Role,
) -> None:
    organisation = insurer if kind is OrganisationKind.INSURER else make_org(kind, f"Org {kind.value}")

    with uow, pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=organisation.id,
            email="misplaced@example.com",
            full_name="",
            role=role,
            password=password,
        )

    assert caught.value.code == "user.role_not_allowed"


def test_a_weak_password_is_refused(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")

    with uow, pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=holder.id,
            email="weak@dupont.fr",
            full_name="Weak",
            role=Role.INSURED_USER,
            password="short",
        )

    assert caught.value.code == "user.weak_password"
    assert caught.value.field == "password"
    with uow:
        assert uow.users.by_email("weak@dupont.fr") is None


def test_an_email_is_used_once(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    first = make_org(OrganisationKind.POLICYHOLDER, "First SAS")
    second = make_org(OrganisationKind.POLICYHOLDER, "Second SAS")
    _create_user(uow, clock, admin, first, "dup@example.com", password)

    with pytest.raises(Conflict) as caught:
        _create_user(uow, clock, admin, second, "DUP@example.com", password)

    assert caught.value.code == "user.email_taken"
    with uow:
        users, total = uow.users.list_page(organisation_id=second.id, page=Page())
    assert (users, total) == ([], 0)


def test_an_invalid_email_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")

    with pytest.raises(InvalidInput) as caught:
        _create_user(uow, clock, admin, holder, "not-an-address", password)

    assert caught.value.code == "user.invalid_email"


def test_a_user_of_an_unknown_organisation_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, password: str
) -> None:
    with pytest.raises(NotFound) as caught:
        _create_user(uow, clock, admin, _ghost_org(clock), "ghost@example.com", password)

    assert caught.value.code == "organisation.not_found"


# ---------------------------------------------------------- authentication


def test_the_right_password_authenticates(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    user = _create_user(uow, clock, admin, holder, "claire@dupont.fr", password)

    with uow:
        authenticated = accounts.authenticate(uow, " Claire@Dupont.fr", password)

    assert authenticated.id == user.id


@pytest.mark.parametrize(
    ("email", "typed"),
    [
        ("claire@dupont.fr", "wrong password!"),
        ("nobody@dupont.fr", "correct horse battery staple"),
        ("not an e-mail", "correct horse battery staple"),
    ],
)
def test_wrong_credentials_are_not_authenticated(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_org: MakeOrg,
    password: str,
    email: str,
    typed: str,
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    _create_user(uow, clock, admin, holder, "claire@dupont.fr", password)

    with uow, pytest.raises(NotAuthenticated) as caught:
        accounts.authenticate(uow, email, typed)

    # The same answer whether the account exists or not.
    assert caught.value.code == "auth.invalid_credentials"


def test_a_disabled_user_is_not_authenticated(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    user = _create_user(uow, clock, admin, holder, "claire@dupont.fr", password)
    with uow:
        uow.working.users[user.id].active = False
        uow.commit()

    with uow, pytest.raises(NotAuthenticated):
        accounts.authenticate(uow, "claire@dupont.fr", password)
    with uow, pytest.raises(NotAuthenticated):
        accounts.actor_for_user(uow, clock, user.id)


def test_the_actor_of_a_user_carries_its_organisation_and_role(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, password: str
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    user = _create_user(uow, clock, admin, holder, "claire@dupont.fr", password)

    with uow:
        actor = accounts.actor_for_user(uow, clock, user.id)

    assert actor.user_id == user.id
    assert actor.organisation_id == holder.id
    assert actor.organisation_kind is OrganisationKind.POLICYHOLDER
    assert actor.role is Role.INSURED_USER
    assert not actor.is_staff
    assert actor.mandates == {}


def test_an_unknown_user_id_is_not_an_actor(uow: FakeUnitOfWork, clock: FixedClock) -> None:
    with uow, pytest.raises(NotAuthenticated):
        accounts.actor_for_user(uow, clock, "no-such-user")


# ----------------------------------------------------------------- mandates


@pytest.fixture
def broker_world(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg
) -> tuple[Organisation, Organisation, Organisation]:
    """A broker, an insured that mandates it, and an insured that does not."""
    broker = make_org(OrganisationKind.BROKER, "Courtage Durand")
    mandated = make_org(OrganisationKind.POLICYHOLDER, "Mandated SAS")
    other = make_org(OrganisationKind.POLICYHOLDER, "Other SAS")
    return broker, mandated, other


def _mandate(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    broker: Organisation,
    insured: Organisation,
    *,
    scope: MandateScope,
    start: date = date(2026, 1, 1),
    end: date | None = None,
) -> None:
    with uow:
        accounts.create_mandate(
            uow,
            clock,
            admin,
            broker_id=broker.id,
            insured_id=insured.id,
            start_date=start,
            end_date=end,
            scope=scope,
        )


def test_a_broker_sees_the_insureds_that_mandated_it(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, other = broker_world
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.ACT)
    broker_user = make_actor(broker)

    assert broker_user.mandates == {mandated.id: MandateScope.ACT}
    with uow:
        seen = accounts.get_organisation(uow, broker_user, mandated.id)
        organisations, _ = accounts.list_organisations(uow, broker_user, kind=None, page=Page())
        with pytest.raises(NotFound):
            accounts.get_organisation(uow, broker_user, other.id)
    assert seen == mandated
    assert {o.id for o in organisations} == {broker.id, mandated.id}
    ensure_can_act(broker_user, mandated.id, "organisation", mandated.id)


def test_a_read_mandate_reads_but_does_not_act(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, _ = broker_world
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.READ)
    broker_user = make_actor(broker)

    ensure_can_read(broker_user, mandated.id, "organisation", mandated.id)
    with uow:
        assert accounts.get_organisation(uow, broker_user, mandated.id) == mandated
    with pytest.raises(Forbidden) as caught:
        ensure_can_act(broker_user, mandated.id, "organisation", mandated.id)
    assert caught.value.code == "auth.mandate_read_only"


def test_an_act_mandate_wins_over_a_read_one(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, _ = broker_world
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.ACT)
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.READ)

    assert make_actor(broker).mandates == {mandated.id: MandateScope.ACT}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 1, 1), date(2026, 3, 15)),  # ended today: half-open, so no longer in force
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2026, 3, 16), None),  # not started yet
    ],
)
def test_a_mandate_out_of_force_gives_no_access(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
    start: date,
    end: date | None,
) -> None:
    broker, mandated, _ = broker_world
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.ACT, start=start, end=end)
    broker_user = make_actor(broker)

    assert broker_user.mandates == {}
    with uow, pytest.raises(NotFound):
        accounts.get_organisation(uow, broker_user, mandated.id)


def test_a_mandate_is_recomputed_as_the_clock_moves(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, _ = broker_world
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.ACT, end=date(2026, 4, 1))
    broker_user = make_actor(broker)
    assert mandated.id in broker_user.mandates

    clock.advance(timedelta(days=17))  # 2026-04-01: the last day was yesterday
    with uow:
        later = accounts.actor_for_user(uow, clock, broker_user.user_id)
    assert later.mandates == {}


@pytest.mark.parametrize(
    ("broker_index", "insured_index", "code"),
    [
        (1, 2, "mandate.not_a_broker"),  # a policyholder named as the broker
        (0, 0, "mandate.not_an_insured"),  # a broker named as the insured
    ],
)
def test_a_mandate_links_a_broker_to_a_policyholder(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    broker_world: tuple[Organisation, Organisation, Organisation],
    broker_index: int,
    insured_index: int,
    code: str,
) -> None:
    with uow, pytest.raises(InvalidInput) as caught:
        accounts.create_mandate(
            uow,
            clock,
            admin,
            broker_id=broker_world[broker_index].id,
            insured_id=broker_world[insured_index].id,
            start_date=date(2026, 1, 1),
            end_date=None,
            scope=MandateScope.READ,
        )

    assert caught.value.code == code
    with uow:
        _, total = uow.mandates.list_page(organisation_ids=None, page=Page())
    assert total == 0


def test_a_mandate_must_end_after_it_starts(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, _ = broker_world

    with pytest.raises(InvalidInput) as caught:
        _mandate(
            uow,
            clock,
            admin,
            broker,
            mandated,
            scope=MandateScope.READ,
            start=date(2026, 1, 1),
            end=date(2026, 1, 1),
        )

    assert caught.value.code == "mandate.invalid_period"


def test_a_broker_lists_its_own_mandates_only(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_org: MakeOrg,
    make_actor: MakeActor,
    broker_world: tuple[Organisation, Organisation, Organisation],
) -> None:
    broker, mandated, other = broker_world
    rival = make_org(OrganisationKind.BROKER, "Rival Courtage")
    _mandate(uow, clock, admin, broker, mandated, scope=MandateScope.READ)
    _mandate(uow, clock, admin, rival, mandated, scope=MandateScope.READ)
    _mandate(uow, clock, admin, rival, other, scope=MandateScope.READ)

    broker_user = make_actor(broker)
    with uow:
        mandates, total = accounts.list_mandates(uow, broker_user, Page())

    assert total == 1
    assert [(m.broker_id, m.insured_id) for m in mandates] == [(broker.id, mandated.id)]


# ----------------------------------------------------------------- API keys


def test_an_api_key_token_is_shown_once_and_resolves_to_its_actor(
    uow: FakeUnitOfWork, clock: FixedClock, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    insured = make_actor(holder)

    with uow:
        key, token = accounts.create_api_key(uow, clock, insured, name="  ERP   Sage ")

    assert key.name == "ERP Sage"
    assert key.active
    assert token.startswith(f"tck_{key.prefix}_")
    with uow:
        stored = uow.api_keys.get(key.id)
    assert stored is not None
    # Only a digest is kept: the secret part of the token is nowhere in storage.
    secret = token.split("_", 2)[2]
    assert secret not in repr(stored)
    assert stored.digest != secret

    with uow:
        actor = accounts.actor_for_api_key(uow, clock, token)
    assert actor.user_id == insured.user_id
    assert actor.organisation_id == holder.id
    assert actor.api_key_id == key.id
    with uow:
        used = uow.api_keys.get(key.id)
    assert used is not None
    assert used.last_used_at == clock.now()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # wrong secret
        lambda token: "tck_000000000000_" + token.split("_", 2)[2],  # unknown prefix
        lambda token: "xyz" + token[3:],  # not our mark
        lambda token: "tck_",
        lambda token: "",
    ],
)
def test_a_wrong_api_key_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, make_org: MakeOrg, make_actor: MakeActor, mangle: object
) -> None:
    insured = make_actor(make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS"))
    with uow:
        _, token = accounts.create_api_key(uow, clock, insured, name="ERP")

    assert callable(mangle)
    with uow, pytest.raises(NotAuthenticated) as caught:
        accounts.actor_for_api_key(uow, clock, mangle(token))
    assert caught.value.code == "auth.invalid_api_key"


def test_a_revoked_api_key_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    insured = make_actor(make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS"))
    with uow:
        key, token = accounts.create_api_key(uow, clock, insured, name="ERP")
    clock.advance(timedelta(hours=1))

    with uow:
        revoked = accounts.revoke_api_key(uow, clock, insured, key.id)

    assert revoked.revoked_at == clock.now()
    assert not revoked.active
    with uow, pytest.raises(NotAuthenticated):
        accounts.actor_for_api_key(uow, clock, token)
    with uow, pytest.raises(Conflict) as caught:
        accounts.revoke_api_key(uow, clock, insured, key.id)
    assert caught.value.code == "api_key.already_revoked"


def test_revoking_another_users_key_is_not_found(
    uow: FakeUnitOfWork, clock: FixedClock, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    owner, colleague = make_actor(holder), make_actor(holder)
    with uow:
        key, token = accounts.create_api_key(uow, clock, owner, name="ERP")

    with uow, pytest.raises(NotFound) as caught:
        accounts.revoke_api_key(uow, clock, colleague, key.id)
    with uow, pytest.raises(NotFound) as unknown:
        accounts.revoke_api_key(uow, clock, colleague, "no-such-key")

    assert caught.value.code == unknown.value.code == "api_key.not_found"
    with uow:
        still = accounts.actor_for_api_key(uow, clock, token)
    assert still.user_id == owner.user_id


def test_an_admin_may_revoke_any_key(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    insured = make_actor(make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS"))
    with uow:
        key, _ = accounts.create_api_key(uow, clock, insured, name="ERP")

    with uow:
        revoked = accounts.revoke_api_key(uow, clock, admin, key.id)

    assert not revoked.active


def test_users_list_their_own_keys_and_the_admin_all(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg, make_actor: MakeActor
) -> None:
    holder = make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")
    first, second = make_actor(holder), make_actor(holder)
    with uow:
        mine, _ = accounts.create_api_key(uow, clock, first, name="mine")
        accounts.create_api_key(uow, clock, second, name="theirs")

    with uow:
        own, own_total = accounts.list_api_keys(uow, first, Page())
        _, all_total = accounts.list_api_keys(uow, admin, Page())

    assert [k.id for k in own] == [mine.id]
    assert own_total == 1
    assert all_total == 2


def test_an_api_key_needs_a_name_and_a_user_account(
    uow: FakeUnitOfWork, clock: FixedClock, insurer: Organisation, admin: Actor
) -> None:
    with uow, pytest.raises(InvalidInput) as unnamed:
        accounts.create_api_key(uow, clock, admin, name="   ")
    with uow, pytest.raises(InvalidInput) as userless:
        accounts.create_api_key(uow, clock, system_actor(insurer.id), name="cli")

    assert unnamed.value.code == "api_key.invalid_name"
    assert userless.value.code == "api_key.no_user"


# ------------------------------------------------------------------ helpers


def _create_user(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    organisation: Organisation,
    email: str,
    password: str,
) -> User:
    with uow:
        return accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=organisation.id,
            email=email,
            full_name="Claire Martin",
            role=Role.INSURED_USER,
            password=password,
        )


def _ghost_org(clock: FixedClock) -> Organisation:
    return Organisation("ghost", OrganisationKind.POLICYHOLDER, "Ghost", "FR", None, clock.now())
