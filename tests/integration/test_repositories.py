"""Repositories round-trip domain objects exactly; money in minor units, rates exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tradecover.bootstrap import Container
from tradecover.domain.buyers import Buyer, LegalStatus
from tradecover.domain.identifiers import CompanyIdentifier, IdentifierKind
from tradecover.domain.money import Money
from tradecover.domain.periods import FixedClock
from tradecover.persistence import tables as t
from tradecover.services import accounts, buyers, policies
from tradecover.services.authorization import system_actor
from tradecover.services.ports import Page


def _insured(container: Container) -> tuple[str, str]:
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, container.clock)
        insured = accounts.create_organisation(
            uow,
            container.clock,
            system_actor(insurer.id),
            kind=accounts.OrganisationKind.POLICYHOLDER,
            name="Exact SAS",
            country="FR",
        )
    return insurer.id, insured.id


def test_terms_round_trip_exactly(container: Container) -> None:
    insurer_id, insured_id = _insured(container)
    overrides = {
        "indemnity_rate": "0.875",
        "premium_rates": {"domestic_rate": "0.00275", "export_rate": "0.0041"},
        "deductible": {"amount": "1234.56", "currency": "EUR"},
        "max_liability_amount": {"amount": "2500000.01", "currency": "EUR"},
        "covered_countries": ["FR", "DE", "IT"],
        "no_claims_bonus_rate": "0.15",
    }
    with container.uow() as uow:
        policy, issued = policies.issue_policy(
            uow,
            container.clock,
            system_actor(insurer_id),
            policyholder_id=insured_id,
            start_date=date(2026, 2, 29 - 1),
            terms=overrides,
        )
    with container.uow() as uow:
        [stored] = uow.policies.terms_versions(policy.id)
        row = uow.session.scalar(select(t.PolicyTermsRow).where(t.PolicyTermsRow.policy_id == policy.id))
        assert row is not None
        assert row.deductible_minor == 123456
        assert row.max_liability_amount_minor == 250000001
    assert stored.terms == issued.terms
    assert stored.terms.indemnity_rate == Decimal("0.875")
    assert stored.terms.premium_rates.domestic_rate == Decimal("0.00275")
    assert stored.terms.deductible == Money(Decimal("1234.56"), "EUR")
    assert stored.terms.max_liability_multiple is None
    assert stored.terms.covered_countries == ("FR", "DE", "IT")


def test_policy_numbers_are_sequential_per_year(container: Container) -> None:
    insurer_id, insured_id = _insured(container)
    numbers = []
    for start in (date(2026, 1, 1), date(2026, 7, 1), date(2027, 1, 1)):
        with container.uow() as uow:
            policy, _ = policies.issue_policy(
                uow, container.clock, system_actor(insurer_id), policyholder_id=insured_id, start_date=start
            )
        numbers.append(policy.number)
    assert numbers == ["TC-2026-000001", "TC-2026-000002", "TC-2027-000001"]


def test_one_identifier_names_one_buyer_in_the_database(container: Container, clock: FixedClock) -> None:
    def buyer(buyer_id: str) -> Buyer:
        return Buyer(
            buyer_id,
            "Same SIREN SAS",
            "FR",
            [CompanyIdentifier(IdentifierKind.SIREN, "732829320")],
            None,
            None,
            LegalStatus.ACTIVE,
            None,
            None,
            clock.now(),
        )

    with container.uow() as uow:
        uow.buyers.add(buyer("aaaaaaaa-0000-0000-0000-000000000001"))
        uow.commit()
    with pytest.raises(IntegrityError), container.uow() as uow:
        uow.buyers.add(buyer("aaaaaaaa-0000-0000-0000-000000000002"))


def test_buyer_search_is_prefix_and_accent_insensitive(container: Container) -> None:
    insurer_id, insured_id = _insured(container)
    actor = system_actor(insurer_id)
    names = [
        ("Électricité Générale de l'Ouest", "552100554"),
        ("Electroménager Durand", "542051180"),
        ("Boulangerie Lefèvre", "732829320"),
    ]
    with container.uow() as uow:
        for name, siren in names:
            buyers.add_buyer(
                uow,
                container.clock,
                actor,
                identifiers=[("siren", siren)],
                legal_name=name,
                country="FR",
                organisation_id=insured_id,
            )
    with container.uow() as uow:
        found, total = uow.buyers.list_page(organisation_ids=None, search="electr", page=Page())
        assert total == 2
        assert [b.legal_name for b in found] == ["Électricité Générale de l'Ouest", "Electroménager Durand"]
        found, _ = uow.buyers.list_page(organisation_ids=None, search="LEFEVRE", page=Page())
        assert found == []  # a prefix of the name, not a word inside it
        found, _ = uow.buyers.list_page(organisation_ids=None, search="boulangerie lefe", page=Page())
        assert [b.legal_name for b in found] == ["Boulangerie Lefèvre"]
        for typed in ("732 829 320", "73282932000074", "FR44732829320", "fr 44 732829320"):
            found, _ = uow.buyers.list_page(organisation_ids=None, search=typed, page=Page())
            assert [b.legal_name for b in found] == ["Boulangerie Lefèvre"], typed
        found, _ = uow.buyers.list_page(organisation_ids=frozenset({"nobody"}), search="electr", page=Page())
        assert found == []
        found, total = uow.buyers.list_page(organisation_ids=None, search=" _-' ", page=Page())
        assert (found, total) == ([], 0)


def test_instants_come_back_aware_utc(container: Container, clock: FixedClock) -> None:
    _, insured_id = _insured(container)
    with container.uow() as uow:
        organisation = uow.organisations.get(insured_id)
    assert organisation is not None
    assert organisation.created_at == clock.now()
    assert organisation.created_at.utcoffset() is not None
