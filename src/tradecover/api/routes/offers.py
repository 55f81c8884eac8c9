"""Insurers' offers for an insured (its broker or the insurer's staff records them) and their comparison
replayed through the simulator on the insured's own ledger (docs/COMPARE.md)."""

from __future__ import annotations

import base64
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile, status

from tradecover.api.deps import ActorDep, ContainerDep
from tradecover.api.offer_schemas import ComparisonOut, OfferIn, OfferOut, OffersOut
from tradecover.domain.errors import InvalidInput
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import offers
from tradecover.simulation.comparison import compare_offers, comparison_png
from tradecover.simulation.recorded_offers import offers_to_compare
from tradecover.simulation.stored_history import stored_ledger

router = APIRouter(tags=["offers"])

INSURED = "/insureds/{organisation_id}"


@router.post(INSURED + "/offers", response_model=OfferOut, status_code=status.HTTP_201_CREATED)
def record_offer(container: ContainerDep, actor: ActorDep, organisation_id: str, body: OfferIn) -> OfferOut:
    """An insurer's offer: its terms (DOMAIN.md §3, validated as a policy's), fees and limits per buyer.
    A limit on a buyer that is not in the insured's book is refused (``offer.unknown_buyer``), whole."""
    with container.uow() as uow:
        offer = offers.record_offer(
            uow,
            container.clock,
            actor,
            organisation_id=organisation_id,
            insurer=body.insurer,
            currency=body.currency,
            terms=body.terms.overrides(),
            fees=body.fee_values(),
            limits=body.limit_pairs(),
        )
        uow.commit()
    return OfferOut.of(offer)


@router.get(INSURED + "/offers", response_model=OffersOut)
def list_offers(container: ContainerDep, actor: ActorDep, organisation_id: str) -> OffersOut:
    with container.uow() as uow:
        return OffersOut(items=[OfferOut.of(o) for o in offers.list_offers(uow, actor, organisation_id)])


@router.get("/offers/{offer_id}", response_model=OfferOut)
def get_offer(container: ContainerDep, actor: ActorDep, offer_id: str) -> OfferOut:
    with container.uow() as uow:
        return OfferOut.of(offers.get_offer(uow, actor, offer_id))


@router.post("/offers/{offer_id}/limits", response_model=OfferOut, status_code=status.HTTP_201_CREATED)
def import_limits(
    container: ContainerDep,
    actor: ActorDep,
    offer_id: str,
    file: Annotated[UploadFile, File(description="CSV identifier,amount[,identifier_kind][,name]")],
) -> OfferOut:
    """The offer's limits replaced by the CSV's (a new version); any bad line refuses the whole file."""
    name = PurePath(file.filename or "limits.csv").name or "limits.csv"
    data = file.file.read()
    with container.uow() as uow:
        offer = offers.import_offer_limits(uow, container.clock, actor, offer_id, data, name)
        uow.commit()
    return OfferOut.of(offer)


@router.post(INSURED + "/offers/comparison", response_model=ComparisonOut)
def compare(
    container: ContainerDep,
    actor: ActorDep,
    organisation_id: str,
    ledger: Annotated[
        UploadFile | None,
        File(description="the insured's ledger: CSV, FEC or e-invoice; without it, the ledger held by tradecover"),
    ] = None,
    offers_file: Annotated[
        UploadFile | None,
        File(
            alias="offers",
            description="OFFERS.yaml (docs/COMPARE.md): inline offers, or without `offers` the history's"
            " period, buyers, insolvencies and assumptions for the recorded offers",
        ),
    ] = None,
    years: Annotated[int | None, Form(ge=1, le=50, description="the last N calendar years of the ledger")] = None,
    ledger_format: Annotated[Literal["auto", "csv", "fec", "einvoice"], Form(alias="format")] = "auto",
    chart: Annotated[bool, Form(description="include the chart as a base64 PNG")] = False,
) -> ComparisonOut:
    """Each offer (the recorded ones, or those of the file) replayed through the simulator on the insured's
    ledger: premium, fees, indemnities, net cost, exposure covered, worst year, side by side. Writes nothing.
    Without a ledger file, the insured's ledger held by tradecover is used, with its buyers' insolvencies
    (added to the offers file's; ``compare.no_history`` when it has none)."""
    with container.uow() as uow:
        organisation, recorded = offers.comparison_inputs(uow, actor, organisation_id)
    text = None
    offers_name = "offers.yaml"
    if offers_file is not None:
        offers_name = PurePath(offers_file.filename or offers_name).name or offers_name
        try:
            text = offers_file.file.read().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{offers_name}: not UTF-8 text", code="compare.unreadable") from None
    spec = offers_to_compare(organisation, recorded, text, offers_name)
    if ledger is None:
        with container.uow() as uow:
            stored = stored_ledger(uow, actor, organisation_id, spec.currency)
        spec, parsed = stored.applied_to(spec), stored.ledger
    else:
        ledger_name = PurePath(ledger.filename or "ledger.csv").name or "ledger.csv"
        parsed = parse_ledger_file(ledger.file.read(), ledger_name, file_format=ledger_format, currency=spec.currency)
    result = compare_offers(spec, parsed, years=years)
    png = base64.b64encode(comparison_png(result.document)).decode("ascii") if chart else None
    return ComparisonOut(comparison=result.document, chart_png_base64=png, scenarios=result.scenarios)
