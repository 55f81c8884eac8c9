"""Port of the offers use cases: insurers' offers for an insured, and the limits each would grant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tradecover.domain.money import Money


@dataclass(frozen=True)
class OfferedLimit:
    buyer_id: str
    identifier: str  # as the offer named the buyer
    amount: Money


@dataclass(frozen=True)
class Offer:
    id: str
    organisation_id: str  # the insured
    insurer_name: str
    currency: str
    terms: Mapping[str, Any]  # the offered policy terms by code name (amounts as strings), validated
    annual_fee: Money
    per_buyer_fee: Money
    created_by: str
    created_at: datetime
    limits: tuple[OfferedLimit, ...] = ()
    limits_version: int = 0


class OffersStore(Protocol):
    def add(self, offer: Offer) -> None:
        """The offer and its limits (version 1 when it has any)."""
        ...

    def add_limits(
        self, offer_id: str, version: int, limits: Sequence[OfferedLimit], *, by: str, at: datetime
    ) -> None: ...
    def get(self, offer_id: str) -> Offer | None:
        """The offer with its latest limits."""
        ...

    def offers_of(self, organisation_id: str) -> list[Offer]:
        """The insured's offers, oldest first (then by insurer), each with its latest limits."""
        ...
