"""The buyer register: one buyer per legal entity, shared by every insured's book."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from stdnum import luhn

from tradecover.domain.buyers import Buyer, LegalStatus
from tradecover.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tradecover.domain.identifiers import IdentifierKind, generate_siren
from tradecover.domain.parties import MandateScope, Organisation, OrganisationKind
from tradecover.domain.periods import FixedClock
from tradecover.services import buyers
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page

if TYPE_CHECKING:
    from fakes import FakeUnitOfWork

    from conftest import GrantMandate, MakeActor, MakeOrg

SIREN = generate_siren(1)
OTHER_SIREN = generate_siren(2)


def siret_of(siren: str, establishment: str = "0001") -> str:
    body = siren + establishment
    return body + luhn.calc_check_digit(body)


def vat_of(siren: str) -> str:
    """DOMAIN.md §4: FR + key + SIREN, key = (12 + 3 × (SIREN mod 97)) mod 97."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


@pytest.fixture
def holder_a(make_org: MakeOrg) -> Organisation:
    return make_org(OrganisationKind.POLICYHOLDER, "Assuré A")


@pytest.fixture
def holder_b(make_org: MakeOrg) -> Organisation:
    return make_org(OrganisationKind.POLICYHOLDER, "Assuré B")


@pytest.fixture
def insured_a(holder_a: Organisation, make_actor: MakeActor) -> Actor:
    return make_actor(holder_a)


@pytest.fixture
def insured_b(holder_b: Organisation, make_actor: MakeActor) -> Actor:
    return make_actor(holder_b)


def add(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    actor: Actor,
    identifiers: list[tuple[str, str]],
    name: str = "Négoce Martin SAS",
    **options: Any,
) -> tuple[Buyer, bool]:
    with uow:
        return buyers.add_buyer(
            uow,
            clock,
            actor,
            identifiers=identifiers,
            legal_name=name,
            country="FR",
            **options,
        )


# ----------------------------------------------------------- deduplication


def test_two_insureds_naming_one_siren_share_one_buyer(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, insured_b: Actor
) -> None:
    first, first_created = add(uow, clock, insured_a, [("siren", SIREN)], customer_reference="C-001")
    spaced = f"{SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}"
    second, second_created = add(uow, clock, insured_b, [("siren", spaced)], name="MARTIN (négoce)")

    assert first_created
    assert not second_created
    assert second.id == first.id
    assert second.legal_name == "Négoce Martin SAS"  # the register keeps the first record
    with uow:
        assert uow.buyers.count() == 1
        assert uow.buyers.books_of(first.id) == {insured_a.organisation_id, insured_b.organisation_id}
        entry = uow.buyers.book_entry(insured_a.organisation_id, first.id)
        assert buyers.get_buyer(uow, insured_b, first.id).id == first.id
    assert entry is not None
    assert entry.customer_reference == "C-001"


def test_a_new_buyer_is_recorded_with_its_details(uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor) -> None:
    buyer, _ = add(
        uow,
        clock,
        insured_a,
        [("siren", SIREN)],
        name="  Négoce   Martin SAS ",
        naf_code="4669b",
        legal_form="SAS",
        city="Lyon",
    )

    with uow:
        stored = buyers.get_buyer(uow, insured_a, buyer.id)
    assert stored.legal_name == "Négoce Martin SAS"
    assert stored.country == "FR"
    assert stored.naf_code == "46.69B"
    assert stored.legal_form == "SAS"
    assert stored.city == "Lyon"
    assert stored.legal_status is LegalStatus.ACTIVE
    assert stored.risk_grade is None
    assert stored.probability_of_default is None
    assert stored.created_at == clock.now()


def test_a_siret_implies_the_siren_and_the_french_vat_number(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, insured_b: Actor
) -> None:
    buyer, _ = add(uow, clock, insured_a, [("siret", siret_of(SIREN))])

    assert buyer.identifier(IdentifierKind.SIRET) == siret_of(SIREN)
    assert buyer.identifier(IdentifierKind.SIREN) == SIREN
    assert buyer.identifier(IdentifierKind.VAT_FR) == vat_of(SIREN)

    # Another insured typing the VAT number, or another establishment's SIRET, finds the same buyer.
    by_vat, created = add(uow, clock, insured_b, [("vat", vat_of(SIREN))])
    by_other_siret, created_again = add(uow, clock, insured_b, [("siret", siret_of(SIREN, "0002"))])
    assert (by_vat.id, created) == (buyer.id, False)
    assert (by_other_siret.id, created_again) == (buyer.id, False)
    with uow:
        assert uow.buyers.count() == 1


def test_identifiers_of_two_different_buyers_conflict(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, insured_b: Actor
) -> None:
    french, _ = add(uow, clock, insured_a, [("siren", SIREN)])
    other, _ = add(uow, clock, insured_a, [("duns", "150483782")], name="Export Partner")

    with pytest.raises(Conflict) as caught:
        add(uow, clock, insured_b, [("siren", SIREN), ("duns", "150483782")])

    assert caught.value.code == "buyer.identifiers_conflict"
    assert caught.value.field == "identifiers"
    with uow:
        assert uow.buyers.count() == 2
        assert uow.buyers.books_of(french.id) == {insured_a.organisation_id}
        assert uow.buyers.books_of(other.id) == {insured_a.organisation_id}


def test_identifiers_naming_two_companies_are_refused(uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(uow, clock, insured_a, [("siren", SIREN), ("siret", siret_of(OTHER_SIREN))])

    assert caught.value.code == "buyer.identifiers_disagree"
    with uow:
        assert uow.buyers.count() == 0


def test_a_bad_check_digit_is_refused_and_nothing_is_stored(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor
) -> None:
    wrong = SIREN[:-1] + str((int(SIREN[-1]) + 1) % 10)

    with pytest.raises(InvalidInput) as caught:
        add(uow, clock, insured_a, [("siren", wrong)])

    assert caught.value.code == "identifier.invalid_siren"
    assert caught.value.field == "siren"
    with uow:
        assert uow.buyers.count() == 0


def test_a_buyer_needs_an_identifier(uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(uow, clock, insured_a, [])

    assert caught.value.code == "buyer.no_identifier"


def test_adding_a_buyer_twice_to_one_book_keeps_one_entry(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor
) -> None:
    first, _ = add(uow, clock, insured_a, [("siren", SIREN)], customer_reference="C-1")
    with uow:
        events_before = len(uow.audit.all_records())

    again, created = add(uow, clock, insured_a, [("siren", SIREN)], customer_reference="C-2")

    assert (again.id, created) == (first.id, False)
    with uow:
        entry = uow.buyers.book_entry(insured_a.organisation_id, first.id)
        assert len(uow.audit.all_records()) == events_before
    assert entry is not None
    assert entry.customer_reference == "C-1"


# ---------------------------------------------------------------- visibility


def test_an_insured_cannot_see_a_buyer_of_another_book(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, insured_b: Actor
) -> None:
    buyer, _ = add(uow, clock, insured_a, [("siren", SIREN)])

    with uow:
        with pytest.raises(NotFound) as hidden:
            buyers.get_buyer(uow, insured_b, buyer.id)
        with pytest.raises(NotFound) as missing:
            buyers.get_buyer(uow, insured_b, "no-such-buyer")
        listed, total = buyers.list_buyers(uow, insured_b, search=None, page=Page())

    assert hidden.value.code == missing.value.code == "buyer.not_found"
    assert (listed, total) == ([], 0)


def test_staff_see_every_buyer(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, insured_a: Actor, insured_b: Actor
) -> None:
    a, _ = add(uow, clock, insured_a, [("siren", SIREN)], name="Alpha")
    b, _ = add(uow, clock, insured_b, [("siren", OTHER_SIREN)], name="Bravo")

    with uow:
        listed, total = buyers.list_buyers(uow, admin, search=None, page=Page())
        own, own_total = buyers.list_buyers(uow, insured_a, search=None, page=Page())

    assert [x.id for x in listed] == [a.id, b.id]
    assert total == 2
    assert ([x.id for x in own], own_total) == ([a.id], 1)


def test_staff_may_register_a_buyer_outside_any_book(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, insured_a: Actor
) -> None:
    buyer, created = add(uow, clock, admin, [("siren", SIREN)])

    assert created
    with uow:
        assert uow.buyers.books_of(buyer.id) == set()
        with pytest.raises(NotFound):
            buyers.get_buyer(uow, insured_a, buyer.id)


def test_an_insured_cannot_add_to_another_insureds_book(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, holder_b: Organisation
) -> None:
    with pytest.raises(NotFound):
        add(uow, clock, insured_a, [("siren", SIREN)], organisation_id=holder_b.id)

    with uow:
        assert uow.buyers.count() == 0


def test_buyers_belong_to_a_policyholders_book(
    uow: FakeUnitOfWork, clock: FixedClock, admin: Actor, make_org: MakeOrg
) -> None:
    broker = make_org(OrganisationKind.BROKER, "Courtage Durand")

    with pytest.raises(InvalidInput) as caught:
        add(uow, clock, admin, [("siren", SIREN)], organisation_id=broker.id)

    assert caught.value.code == "buyer.not_a_policyholder"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [(MandateScope.ACT, None), (MandateScope.READ, Forbidden), (None, NotFound)],
)
def test_a_broker_adds_buyers_for_insureds_that_let_it_act(
    grant_mandate: GrantMandate,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    make_org: MakeOrg,
    make_actor: MakeActor,
    holder_a: Organisation,
    scope: MandateScope | None,
    expected: type[Exception] | None,
) -> None:
    broker = make_org(OrganisationKind.BROKER, "Courtage Durand")
    if scope is not None:
        grant_mandate(broker, holder_a, scope)
    broker_user = make_actor(broker)

    if expected is None:
        buyer, _ = add(uow, clock, broker_user, [("siren", SIREN)], organisation_id=holder_a.id)
        with uow:
            assert uow.buyers.books_of(buyer.id) == {holder_a.id}
    else:
        with pytest.raises(expected):
            add(uow, clock, broker_user, [("siren", SIREN)], organisation_id=holder_a.id)
        with uow:
            assert uow.buyers.count() == 0


# ------------------------------------------------------------------ details


def test_a_parent_must_exist(uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor) -> None:
    parent, _ = add(uow, clock, insured_a, [("siren", SIREN)], name="Groupe Martin")

    child, _ = add(uow, clock, insured_a, [("siren", OTHER_SIREN)], name="Martin Sud", parent_id=parent.id)
    with pytest.raises(InvalidInput) as caught:
        add(uow, clock, insured_a, [("siren", generate_siren(3))], parent_id="no-such-buyer")

    assert child.parent_id == parent.id
    assert caught.value.code == "buyer.unknown_parent"


@pytest.mark.parametrize(("naf", "code"), [("46-69", "buyer.invalid_naf"), ("99.99Z", "buyer.unknown_naf")])
def test_a_bad_naf_code_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, insured_a: Actor, naf: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(
            uow,
            clock,
            insured_a,
            [("siren", SIREN)],
            naf_code=naf,
            known_naf_codes=frozenset({"46.69B"}),
        )

    assert caught.value.code == code
    assert caught.value.field == "naf_code"
