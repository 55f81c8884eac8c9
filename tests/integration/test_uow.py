"""The unit of work: rolled back unless committed; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tradecover.bootstrap import Container
from tradecover.domain.parties import Organisation, OrganisationKind
from tradecover.domain.periods import FixedClock


def _organisation(clock: FixedClock, name: str = "Rollback SAS") -> Organisation:
    return Organisation(
        "11111111-1111-1111-1111-111111111111", OrganisationKind.POLICYHOLDER, name, "FR", None, clock.now()
    )


def test_uncommitted_work_is_rolled_back(container: Container, clock: FixedClock) -> None:
    with container.uow() as uow:
        uow.organisations.add(_organisation(clock))
    with container.uow() as uow:
        assert uow.organisations.get("11111111-1111-1111-1111-111111111111") is None


def test_committed_work_persists(container: Container, clock: FixedClock) -> None:
    with container.uow() as uow:
        uow.organisations.add(_organisation(clock))
        uow.commit()
    with container.uow() as uow:
        stored = uow.organisations.get("11111111-1111-1111-1111-111111111111")
    assert stored == _organisation(clock)


def test_error_inside_the_block_rolls_back(container: Container, clock: FixedClock) -> None:
    with pytest.raises(RuntimeError), container.uow() as uow:
        uow.organisations.add(_organisation(clock))
        raise RuntimeError("boom")
    with container.uow() as uow:
        assert uow.organisations.get("11111111-1111-1111-1111-111111111111") is None


def test_constraints_hold_in_the_database(container: Container, clock: FixedClock) -> None:
    with container.uow() as uow:
        uow.organisations.add(_organisation(clock))
        uow.commit()
    with pytest.raises(IntegrityError), container.uow() as uow:
        duplicate = _organisation(clock)
        duplicate.id = "22222222-2222-2222-2222-222222222222"
        uow.organisations.add(duplicate)  # same name: unique
