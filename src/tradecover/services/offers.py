"""Insurers' offers for an insured: recorded by its broker (under a mandate in force) or the insurer's staff.

An offer is the insurer's name, the policy terms it offers (every term of
DOMAIN.md §3, validated as a policy's: out-of-range terms give the same
``terms.*`` codes), its fees on top of the premium (``annual_fee`` per year,
``per_buyer_fee`` per year and buyer with a limit) and the limit it would
grant on each buyer of the insured, entered with the offer or imported as a
CSV (``identifier,amount``; see :mod:`tradecover.ingest.offer_limits_csv`).
Every limit names a buyer of the insured's book, or the whole offer (or the
whole import) is refused with ``offer.unknown_buyer`` and nothing is written.
Each import is a new version of the offer's limits; offers are never edited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from tradecover.domain.buyers import buyer_identifiers
from tradecover.domain.errors import Forbidden, InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.money import currency as checked_currency
from tradecover.domain.parties import Organisation, OrganisationKind, Role
from tradecover.domain.periods import Clock
from tradecover.domain.terms import PolicyTerms
from tradecover.ingest.offer_limits_csv import parse_identifier_text, parse_offer_limits_csv
from tradecover.services.authorization import Actor, ensure_can_act, ensure_can_read, not_found
from tradecover.services.offers_ports import Offer, OfferedLimit
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id, record

__all__ = [
    "FEE_NAMES",
    "MAX_OFFER_LIMITS",
    "comparison_inputs",
    "get_offer",
    "import_offer_limits",
    "list_offers",
    "record_offer",
]

FEE_NAMES = ("annual_fee", "per_buyer_fee")
MAX_OFFER_LIMITS = 10_000
#: Who records offers: the insurer's underwriting staff, and brokers (under an "act" mandate).
RECORDING_ROLES = frozenset({Role.ADMIN, Role.UNDERWRITER, Role.BROKER_USER})


def _may_record(actor: Actor) -> None:
    staff = actor.is_staff and actor.role in RECORDING_ROLES
    if not staff and actor.role is not Role.BROKER_USER:
        raise Forbidden(
            f"role {actor.role.value!r} may not record insurers' offers",
            code="auth.forbidden",
            context={"permission": "offer.record"},
        )


def _insured(uow: UnitOfWork, actor: Actor, organisation_id: str, *, act: bool) -> str:
    organisation = uow.organisations.get(organisation_id)
    if organisation is None or organisation.kind is not OrganisationKind.POLICYHOLDER:
        raise not_found("organisation", organisation_id)
    check = ensure_can_act if act else ensure_can_read
    check(actor, organisation_id, "organisation", organisation_id)
    return organisation.country


def _plain_terms(terms: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe terms: decimals as strings, nested mappings kept."""
    out: dict[str, Any] = {}
    for key, value in terms.items():
        if isinstance(value, Mapping):
            out[str(key)] = _plain_terms(value)
        elif isinstance(value, Decimal | float):
            out[str(key)] = str(value)
        else:
            out[str(key)] = value
    return out


def _fee(fees: Mapping[str, Any], name: str, currency: str) -> Money:
    raw = fees.get(name, "0")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidInput(
            f"{name} must be an amount >= 0, got {raw!r}", code="offer.invalid_fee", field=f"fees.{name}"
        )
    return Money(amount, currency)


def _resolve(
    uow: UnitOfWork, organisation_id: str, currency: str, limits: Sequence[tuple[str, Decimal]], where: Sequence[str]
) -> tuple[OfferedLimit, ...]:
    """Each limit on a buyer of the insured's book, or :class:`InvalidInput` naming the first that is not."""
    if len(limits) > MAX_OFFER_LIMITS:
        raise InvalidInput(f"more than {MAX_OFFER_LIMITS} limits", code="offer.too_many_limits", field="limits")
    resolved: dict[str, OfferedLimit] = {}
    for (text, amount), place in zip(limits, where, strict=True):
        identifier = parse_identifier_text(text)
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15"):
            raise InvalidInput(f"{place}: a limit is an amount >= 0", code="offer.invalid_limit", field="limits")
        buyers = uow.buyers.find_by_identifiers(buyer_identifiers([identifier]))
        buyer = next((b for b in buyers if uow.buyers.book_entry(organisation_id, b.id) is not None), None)
        if buyer is None:
            raise InvalidInput(
                f"{place}: {identifier.value} is no buyer of the insured: add the buyer first",
                code="offer.unknown_buyer",
                field="limits",
                context={"identifier": identifier.value},
            )
        if buyer.id in resolved:
            raise InvalidInput(
                f"{place}: a second limit on {identifier.value}",
                code="offer_limits_csv.duplicate_buyer",
                field="limits",
            )
        resolved[buyer.id] = OfferedLimit(buyer.id, identifier.value, Money(amount, currency))
    return tuple(resolved.values())


def record_offer(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    organisation_id: str,
    insurer: str,
    currency: str,
    terms: Mapping[str, Any],
    fees: Mapping[str, Any] | None = None,
    limits: Sequence[tuple[str, Decimal]] = (),
) -> Offer:
    """Record an insurer's offer for the insured; does not commit."""
    _may_record(actor)
    country = _insured(uow, actor, organisation_id, act=True)
    code = checked_currency(currency)
    name = insurer.strip()
    if not name or len(name) > 200:
        raise InvalidInput("the insurer's name: 1 to 200 characters", code="offer.invalid_insurer", field="insurer")
    plain = _plain_terms(terms)
    PolicyTerms.build(currency_code=code, policyholder_country=country, overrides=plain)
    fee_values = dict(fees or {})
    unknown = sorted(set(fee_values) - set(FEE_NAMES))
    if unknown:
        raise InvalidInput(
            f"unknown fee {unknown[0]!r} (known: {', '.join(FEE_NAMES)})", code="offer.unknown_fee", field="fees"
        )
    resolved = _resolve(uow, organisation_id, code, limits, [f"limits[{i}]" for i in range(len(limits))])
    by = actor.audit_label(organisation_id)
    offer = Offer(
        id=new_id(),
        organisation_id=organisation_id,
        insurer_name=name,
        currency=code,
        terms=plain,
        annual_fee=_fee(fee_values, "annual_fee", code),
        per_buyer_fee=_fee(fee_values, "per_buyer_fee", code),
        created_by=by,
        created_at=clock.now(),
        limits=resolved,
        limits_version=1 if resolved else 0,
    )
    uow.offers.add(offer)
    record(
        uow,
        clock,
        actor,
        tenant=organisation_id,
        action="offer.recorded",
        object_type="offer",
        object_id=offer.id,
        summary={"insurer": name, "currency": code, "limits": len(resolved), "terms": plain},
    )
    return offer


def list_offers(uow: UnitOfWork, actor: Actor, organisation_id: str) -> list[Offer]:
    """The insured's offers, oldest first: its users, its brokers and the insurer's staff read them."""
    _insured(uow, actor, organisation_id, act=False)
    return uow.offers.offers_of(organisation_id)


def comparison_inputs(uow: UnitOfWork, actor: Actor, organisation_id: str) -> tuple[Organisation, list[Offer]]:
    """The insured and its recorded offers, for a comparison on its history (a read)."""
    _insured(uow, actor, organisation_id, act=False)
    organisation = uow.organisations.get(organisation_id)
    assert organisation is not None
    return organisation, uow.offers.offers_of(organisation_id)


def get_offer(uow: UnitOfWork, actor: Actor, offer_id: str) -> Offer:
    offer = uow.offers.get(offer_id)
    if offer is None:
        raise not_found("offer", offer_id)
    ensure_can_read(actor, offer.organisation_id, "offer", offer_id)  # another tenant's: not found
    return offer


def import_offer_limits(
    uow: UnitOfWork, clock: Clock, actor: Actor, offer_id: str, data: bytes, filename: str
) -> Offer:
    """Replace the offer's limits by a CSV's (a new version); any problem refuses the whole file. No commit."""
    _may_record(actor)
    offer = get_offer(uow, actor, offer_id)
    ensure_can_act(actor, offer.organisation_id, "offer", offer_id)
    rows = parse_offer_limits_csv(data, filename)
    resolved = _resolve(
        uow,
        offer.organisation_id,
        offer.currency,
        [(row.identifier.value, row.amount) for row in rows],
        [f"{filename}, line {row.source.line}, field identifier" for row in rows],
    )
    version = offer.limits_version + 1
    now = clock.now()
    uow.offers.add_limits(offer.id, version, resolved, by=actor.audit_label(offer.organisation_id), at=now)
    record(
        uow,
        clock,
        actor,
        tenant=offer.organisation_id,
        action="offer.limits_imported",
        object_type="offer",
        object_id=offer.id,
        summary={"file": filename, "version": version, "limits": len(resolved)},
    )
    return replace(offer, limits=resolved, limits_version=version)
