"""The offers to compare for an insured, as the API and the portal read them (docs/COMPARE.md).

With an offers file that lists offers, those are compared; without one, or with a file that gives only the
history (period, buyers, insolvencies, assumptions), the insured's recorded offers are. Recorded offers in
several currencies cannot be set side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tradecover.domain.errors import InvalidInput
from tradecover.domain.parties import Organisation
from tradecover.services.offers_ports import Offer
from tradecover.simulation.comparison import InsuredSpec, OffersFile, offer_input, parse_offers

DEFAULT_CURRENCY = "EUR"


def offers_to_compare(
    organisation: Organisation,
    recorded: Sequence[Offer],
    text: str | None,
    name: str,
    *,
    read_file: Callable[[str], bytes] | None = None,
) -> OffersFile:
    currencies = sorted({o.currency for o in recorded})
    if len(currencies) > 1:
        raise InvalidInput(
            f"the recorded offers are in several currencies ({', '.join(currencies)})",
            code="compare.currency_mismatch",
            field="offers",
        )
    stored = tuple(
        offer_input(
            o.insurer_name,
            o.terms,
            {"annual_fee": o.annual_fee.amount, "per_buyer_fee": o.per_buyer_fee.amount},
            [(limit.identifier, limit.amount.amount) for limit in o.limits],
        )
        for o in recorded
    )
    insured = InsuredSpec(organisation.name, organisation.siren, organisation.country, None)
    return parse_offers(
        text,
        name,
        read_file=read_file,
        organisation=insured,
        stored=(currencies[0] if currencies else DEFAULT_CURRENCY, stored),
    )
