"""Fixtures for the use-case tests: a fake unit of work, a fixed clock, actors.

The fakes live in ``fakes.py`` beside this file. The tests folders have no
``__init__.py``, so the module is loaded from its path under a name no other
test module can shadow; test modules reach the fakes through the fixtures.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import argon2
import pytest

from tradecover.domain.parties import Mandate, MandateScope, Organisation, OrganisationKind, Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts, security
from tradecover.services.authorization import Actor, system_actor

if TYPE_CHECKING:
    from fakes import FakeUnitOfWork


def _load_fakes() -> ModuleType:
    name = "tradecover_unit_service_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"

DEFAULT_ROLE: dict[OrganisationKind, Role] = {
    OrganisationKind.INSURER: Role.UNDERWRITER,
    OrganisationKind.POLICYHOLDER: Role.INSURED_USER,
    OrganisationKind.BROKER: Role.BROKER_USER,
    OrganisationKind.FACTOR: Role.FACTOR_USER,
}


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the smallest cost the library accepts: tests stay fast."""
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(security, "_HASHER", hasher)
    monkeypatch.setattr(security, "_DUMMY_HASH", hasher.hash("tradecover-timing-equaliser"))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    unit: FakeUnitOfWork = fakes.FakeUnitOfWork()
    return unit


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def insurer(uow: FakeUnitOfWork, clock: FixedClock) -> Organisation:
    with uow:
        return accounts.ensure_insurer(uow, clock)


@pytest.fixture
def admin(uow: FakeUnitOfWork, clock: FixedClock, insurer: Organisation) -> Actor:
    """An administrator of the insurer, with a real user account."""
    with uow:
        user = accounts.create_user(
            uow,
            clock,
            system_actor(insurer.id),
            organisation_id=insurer.id,
            email="admin@insurer.test",
            full_name="Ada Admin",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        return accounts.actor_for_user(uow, clock, user.id)


MakeOrg = Callable[..., Organisation]
MakeActor = Callable[..., Actor]
GrantMandate = Callable[..., Mandate]


@pytest.fixture
def make_org(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> MakeOrg:
    """``make_org(kind, name, country="FR")`` creates an organisation as the admin."""

    def make(kind: OrganisationKind, name: str, country: str = "FR") -> Organisation:
        with uow:
            return accounts.create_organisation(uow, clock, admin, kind=kind, name=name, country=country)

    return make


@pytest.fixture
def make_actor(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> MakeActor:
    """``make_actor(organisation, role=None, email=None)``: a new user there, as an actor."""
    counter = iter(range(1, 10_000))

    def make(organisation: Organisation, role: Role | None = None, email: str | None = None) -> Actor:
        with uow:
            user = accounts.create_user(
                uow,
                clock,
                admin,
                organisation_id=organisation.id,
                email=email or f"user{next(counter)}@{organisation.kind.value}.test",
                full_name="Test User",
                role=role or DEFAULT_ROLE[organisation.kind],
                password=PASSWORD,
            )
            return accounts.actor_for_user(uow, clock, user.id)

    return make


@pytest.fixture
def grant_mandate(uow: FakeUnitOfWork, clock: FixedClock, admin: Actor) -> GrantMandate:
    """``grant_mandate(broker, insured, scope)``: a mandate in force from 2026-01-01, open-ended."""

    def grant(broker: Organisation, insured: Organisation, scope: MandateScope) -> Mandate:
        with uow:
            return accounts.create_mandate(
                uow,
                clock,
                admin,
                broker_id=broker.id,
                insured_id=insured.id,
                start_date=date(2026, 1, 1),
                end_date=None,
                scope=scope,
            )

    return grant
