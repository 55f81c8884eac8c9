"""The buyer register: add (deduplicated by identifier), read, list."""

from __future__ import annotations

from collections.abc import Sequence

from tradecover.domain.buyers import (
    BookEntry,
    Buyer,
    LegalStatus,
    buyer_identifiers,
    check_legal_name,
    check_naf_code,
)
from tradecover.domain.errors import Conflict, InvalidInput
from tradecover.domain.identifiers import parse_identifier
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import Clock
from tradecover.domain.terms import country_code
from tradecover.services.accounts import get_organisation
from tradecover.services.authorization import (
    Actor,
    Permission,
    ensure_can_act,
    not_found,
    require,
    visible_organisations,
)
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import INSURER_TENANT, new_id, record


def add_buyer(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    identifiers: Sequence[tuple[str, str]],
    legal_name: str,
    country: str,
    organisation_id: str | None = None,
    naf_code: str | None = None,
    legal_form: str | None = None,
    parent_id: str | None = None,
    city: str | None = None,
    customer_reference: str | None = None,
    known_naf_codes: frozenset[str] | None = None,
    commit: bool = True,
) -> tuple[Buyer, bool]:
    """The buyer these identifiers name, created if new, added to the insured's book.

    Returns the buyer and whether it was created. Two insureds naming the same
    SIREN get the same buyer.
    """
    require(actor, Permission.BUYER_ADD)
    if organisation_id is None and not actor.is_staff:
        organisation_id = actor.organisation_id
    if organisation_id is not None:
        ensure_can_act(actor, organisation_id, "organisation", organisation_id)
        book_owner = get_organisation(uow, actor, organisation_id)
        if book_owner.kind is not OrganisationKind.POLICYHOLDER:
            raise InvalidInput(
                "buyers are added to a policyholder's book",
                code="buyer.not_a_policyholder",
                field="organisation_id",
            )
    parsed = buyer_identifiers([parse_identifier(kind, value) for kind, value in identifiers])
    matches = uow.buyers.find_by_identifiers(parsed)
    if len({b.id for b in matches}) > 1:
        raise Conflict(
            "these identifiers belong to different buyers",
            code="buyer.identifiers_conflict",
            field="identifiers",
        )
    created = not matches
    if matches:
        buyer = matches[0]
    else:
        if parent_id is not None and uow.buyers.get(parent_id) is None:
            raise InvalidInput(f"parent buyer {parent_id} not found", code="buyer.unknown_parent", field="parent_id")
        buyer = Buyer(
            id=new_id(),
            legal_name=check_legal_name(legal_name),
            country=country_code(country),
            identifiers=parsed,
            naf_code=check_naf_code(naf_code, known_naf_codes),
            legal_form=legal_form,
            legal_status=LegalStatus.ACTIVE,
            parent_id=parent_id,
            risk_grade=None,
            created_at=clock.now(),
            city=city,
        )
        uow.buyers.add(buyer)
        record(
            uow,
            clock,
            actor,
            tenant=INSURER_TENANT,
            action="buyer.created",
            object_type="buyer",
            object_id=buyer.id,
            summary={
                "after": {
                    "legal_name": buyer.legal_name,
                    "country": buyer.country,
                    "identifiers": {i.kind.value: i.value for i in parsed},
                }
            },
        )
    if organisation_id is not None and uow.buyers.book_entry(organisation_id, buyer.id) is None:
        uow.buyers.add_to_book(BookEntry(organisation_id, buyer.id, customer_reference, clock.now()))
        record(
            uow,
            clock,
            actor,
            tenant=organisation_id,
            action="buyer.added_to_book",
            object_type="buyer",
            object_id=buyer.id,
            summary={"after": {"customer_reference": customer_reference}},
        )
    if commit:  # an import adds buyers inside its own all-or-nothing transaction
        uow.commit()
    return buyer, created


def get_buyer(uow: UnitOfWork, actor: Actor, buyer_id: str) -> Buyer:
    buyer = uow.buyers.get(buyer_id)
    visible = visible_organisations(actor)
    if buyer is None or (visible is not None and not uow.buyers.in_any_book(buyer.id, visible)):
        raise not_found("buyer", buyer_id)
    return buyer


def list_buyers(uow: UnitOfWork, actor: Actor, *, search: str | None, page: Page) -> tuple[list[Buyer], int]:
    return uow.buyers.list_page(organisation_ids=visible_organisations(actor), search=search, page=page)
