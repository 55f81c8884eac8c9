"""Receivables: the invoice ledger, imports, covered exposure, aged balance, payment experience, order checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.receivables_schemas import (
    AgedOut,
    AgedReportOut,
    BehaviourOut,
    BuyerAgedOut,
    BuyerExposureOut,
    DisputeIn,
    DisputeOut,
    FactorAssignmentIn,
    ImportLineOut,
    InvoiceIn,
    InvoiceOut,
    LedgerImportOut,
    MarketOut,
    OrderCheckIn,
    OrderCheckOut,
    PaymentExperienceOut,
    PaymentIn,
    PaymentOut,
    PolicyExposureOut,
    RatesIn,
    ReversalIn,
)
from tradecover.api.schemas import MoneyBody, Paged
from tradecover.domain.errors import InvalidInput, NotFound
from tradecover.domain.money import Money
from tradecover.domain.receivables import EntryKind, Payment
from tradecover.ingest.fec import parse_customer_mapping
from tradecover.ingest.ledger_csv import LEDGER_CSV_TEMPLATE
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import exposure, ledger
from tradecover.services.aged_export import aged_export
from tradecover.services.ledger_import import import_ledger

router = APIRouter(tags=["receivables"])


def _money(body: MoneyBody) -> Money:
    return Money.of(body.amount, body.currency)


@contextmanager
def _buyer_in_body() -> Iterator[None]:
    """A buyer the body names that is not found (or not visible: the same answer) is that field's fault."""
    try:
        yield
    except NotFound as error:
        if error.code == "buyer.not_found" and error.field is None:
            error.field = "buyer_id"
        raise


@router.post(
    "/policies/{policy_id}/invoices",
    response_model=InvoiceOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the same invoice was already recorded: nothing changed"}},
)
def record_invoice(
    container: ContainerDep, actor: ActorDep, policy_id: str, body: InvoiceIn, response: Response
) -> InvoiceOut:
    kind = EntryKind(body.kind)
    if kind is EntryKind.INVOICE and body.due_date is None:
        raise InvalidInput("an invoice needs its due date", code="ledger.missing_due_date", field="due_date")
    with _buyer_in_body(), container.uow() as uow:
        recorded = ledger.record_invoice(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            number=body.number,
            issue_date=body.issue_date,
            delivery_date=body.delivery_date,
            due_date=body.due_date,
            amount_excl_vat=_money(body.amount_excl_vat),
            vat_amount=_money(body.vat_amount),
            kind=kind,
            invoice_reference=body.invoice,
            order_reference=body.order_reference,
            factor=body.factor,
            factor_id=body.factor_id,
            with_recourse=body.with_recourse,
        )
        uow.commit()
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    assert not isinstance(recorded.entry, Payment)
    return InvoiceOut.of(recorded.entry)


@router.get("/policies/{policy_id}/invoices", response_model=Paged[InvoiceOut])
def list_invoices(
    container: ContainerDep, actor: ActorDep, page: PageDep, policy_id: str, buyer_id: str | None = None
) -> Paged[InvoiceOut]:
    with container.uow() as uow:
        items, total, reversed_ids = ledger.list_invoices(
            uow, actor, policy_id, buyer_id=buyer_id, limit=page.limit, offset=page.offset
        )
    return Paged(
        items=[InvoiceOut.of(i, reversed_ids) for i in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/policies/{policy_id}/payments",
    response_model=PaymentOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the same payment was already recorded: nothing changed"}},
)
def record_payment(
    container: ContainerDep, actor: ActorDep, policy_id: str, body: PaymentIn, response: Response
) -> PaymentOut:
    with _buyer_in_body(), container.uow() as uow:
        recorded = ledger.record_payment(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            amount=_money(body.amount),
            received_on=body.received_on,
            reference=body.reference,
            invoices=body.invoices,
        )
        uow.commit()
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    assert isinstance(recorded.entry, Payment)
    return PaymentOut.of(recorded.entry)


@router.get("/policies/{policy_id}/payments", response_model=Paged[PaymentOut])
def list_payments(
    container: ContainerDep, actor: ActorDep, page: PageDep, policy_id: str, buyer_id: str | None = None
) -> Paged[PaymentOut]:
    with container.uow() as uow:
        items, total, reversed_ids = ledger.list_payments(
            uow, actor, policy_id, buyer_id=buyer_id, limit=page.limit, offset=page.offset
        )
    return Paged(
        items=[PaymentOut.of(p, reversed_ids) for p in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/policies/{policy_id}/disputes", response_model=DisputeOut, status_code=status.HTTP_201_CREATED)
def open_dispute(container: ContainerDep, actor: ActorDep, policy_id: str, body: DisputeIn) -> DisputeOut:
    with _buyer_in_body(), container.uow() as uow:
        dispute = ledger.open_dispute(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            invoice_number=body.invoice,
            on=body.date,
            reason=body.reason,
        )
        uow.commit()
    return DisputeOut.of(dispute)


@router.post("/policies/{policy_id}/disputes/resolutions", response_model=DisputeOut)
def resolve_dispute(container: ContainerDep, actor: ActorDep, policy_id: str, body: DisputeIn) -> DisputeOut:
    with _buyer_in_body(), container.uow() as uow:
        dispute = ledger.resolve_dispute(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            invoice_number=body.invoice,
            on=body.date,
            reason=body.reason,
        )
        uow.commit()
    return DisputeOut.of(dispute)


@router.get("/policies/{policy_id}/disputes", response_model=list[DisputeOut])
def list_disputes(
    container: ContainerDep, actor: ActorDep, policy_id: str, buyer_id: str | None = None
) -> list[DisputeOut]:
    with container.uow() as uow:
        return [DisputeOut.of(d) for d in ledger.list_disputes(uow, actor, policy_id, buyer_id=buyer_id)]


@router.post("/policies/{policy_id}/ledger-entries/{entry_id}/reversal", status_code=status.HTTP_204_NO_CONTENT)
def reverse_entry(container: ContainerDep, actor: ActorDep, policy_id: str, entry_id: str, body: ReversalIn) -> None:
    with container.uow() as uow:
        ledger.reverse_entry(uow, container.clock, actor, policy_id=policy_id, entry_id=entry_id, reason=body.reason)
        uow.commit()


@router.post("/policies/{policy_id}/factor-assignments", status_code=status.HTTP_204_NO_CONTENT)
def assign_to_factor(container: ContainerDep, actor: ActorDep, policy_id: str, body: FactorAssignmentIn) -> None:
    with _buyer_in_body(), container.uow() as uow:
        ledger.assign_to_factor(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            invoice_number=body.invoice,
            factor_id=body.factor_id,
            factor=body.factor,
            on=body.date,
            with_recourse=body.with_recourse,
        )
        uow.commit()


@router.get(
    "/ledger/template.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the documented CSV layout, with examples"}},
)
def csv_template() -> Response:
    return Response(
        LEDGER_CSV_TEMPLATE.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tradecover-ledger-template.csv"'},
    )


@router.post("/policies/{policy_id}/ledger/imports", response_model=LedgerImportOut)
def import_file(
    container: ContainerDep,
    actor: ActorDep,
    policy_id: str,
    response: Response,
    file: Annotated[UploadFile, File(description="a ledger CSV, a FEC, or an e-invoice (Factur-X PDF, CII, UBL)")],
    mapping: Annotated[
        UploadFile | None,
        File(description="CSV account,identifier: a customer's account or name -> its SIREN, VAT or buyer id"),
    ] = None,
    file_format: Annotated[Literal["auto", "csv", "fec", "einvoice"], Form(alias="format")] = "auto",
    dry_run: Annotated[bool, Form(description="report without writing")] = False,
    partial: Annotated[bool, Form(description="apply the good lines even if some are refused")] = False,
    default_terms_days: Annotated[int, Form(ge=0, le=365, description="FEC: days to the due date")] = 30,
) -> LedgerImportOut:
    name = PurePath(file.filename or "upload").name or "upload"
    data = file.file.read()
    accounts = None
    if mapping is not None:
        accounts = parse_customer_mapping(mapping.file.read(), PurePath(mapping.filename or "mapping.csv").name)
    with container.uow() as uow:
        policy = ledger.policy_to_act_on(uow, actor, policy_id)
        currency = policy.currency
    parsed = parse_ledger_file(
        data,
        name,
        file_format=file_format,
        currency=currency,
        customer_accounts=accounts,
        default_terms_days=default_terms_days,
    )
    with container.uow() as uow:
        report = import_ledger(
            uow, container.clock, actor, policy_id=policy_id, parsed=parsed, content=data, dry_run=dry_run,
            partial=partial, customers=accounts,
        )  # fmt: skip
        if report.applied:
            uow.commit()
    if report.refused and not report.applied and not dry_run:
        response.status_code = 422
    body = report.to_dict()
    body["lines"] = [ImportLineOut(**line) for line in body["lines"]]
    return LedgerImportOut(**body)


@router.get("/policies/{policy_id}/exposure", response_model=PolicyExposureOut)
def policy_exposure(
    container: ContainerDep,
    actor: ActorDep,
    policy_id: str,
    on: date | None = None,
    buyer_id: str | None = None,
    lines: Annotated[bool, Query(description="include each unpaid invoice with why it is (not) covered")] = False,
) -> PolicyExposureOut:
    day = on or container.clock.today()
    with container.uow() as uow:
        result = exposure.policy_exposure(uow, actor, policy_id, on=day, buyer_id=buyer_id)
    return PolicyExposureOut(
        policy_id=result.policy_id,
        policy_number=result.policy_number,
        on=day,
        currency=result.currency,
        outstanding=MoneyBody.of(result.total("outstanding")),
        covered=MoneyBody.of(result.total("covered")),
        uncovered=MoneyBody.of(result.total("uncovered")),
        buyers=[BuyerExposureOut.of(b, e, with_lines=lines) for b, e in result.buyers],
    )


@router.get(
    "/policies/{policy_id}/aged-balance",
    response_model=AgedReportOut,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def aged_balance(
    container: ContainerDep,
    actor: ActorDep,
    policy_id: str,
    on: date | None = None,
    export: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
) -> AgedReportOut | Response:
    day = on or container.clock.today()
    with container.uow() as uow:
        report = exposure.aged_report(uow, actor, policy_id, on=day)
    if export != "json":
        file = aged_export(report, export)
        return Response(file.content, media_type=file.media_type, headers={"Content-Disposition": file.disposition})
    return AgedReportOut(
        policy_id=report.policy_id,
        policy_number=report.policy_number,
        on=day,
        currency=report.currency,
        total=AgedOut.of(report.total),
        dso_days=report.dso,
        buyers=[
            BuyerAgedOut(buyer_id=b.id, buyer_name=b.legal_name, aged=AgedOut.of(a), dso_days=dso)
            for b, a, dso in report.buyers
        ],
        other_currencies={cur: AgedOut.of(a) for cur, a in report.other_currencies.items()},
    )


@router.get("/policies/{policy_id}/buyers/{buyer_id}/payment-experience", response_model=PaymentExperienceOut)
def payment_experience(
    container: ContainerDep, actor: ActorDep, policy_id: str, buyer_id: str, on: date | None = None
) -> PaymentExperienceOut:
    day = on or container.clock.today()
    with container.uow() as uow:
        own, market = exposure.payment_experience(uow, actor, policy_id, buyer_id, on=day)
    return PaymentExperienceOut(
        buyer_id=buyer_id, on=day, own=BehaviourOut.of(own), market=MarketOut(**market.__dict__)
    )


@router.post("/policies/{policy_id}/order-checks", response_model=OrderCheckOut)
def order_check(container: ContainerDep, actor: ActorDep, policy_id: str, body: OrderCheckIn) -> OrderCheckOut:
    with _buyer_in_body(), container.uow() as uow:
        result = exposure.order_check(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            amount=_money(body.amount),
            reference=body.reference,
        )
        if body.reference:
            uow.commit()
    return OrderCheckOut.of(result)


@router.post("/exchange-rates", status_code=status.HTTP_201_CREATED)
def add_rates(container: ContainerDep, actor: ActorDep, body: RatesIn) -> dict[str, int]:
    with container.uow() as uow:
        added = ledger.add_exchange_rates(
            uow, container.clock, actor, [(r.currency, r.quote, r.on, r.rate) for r in body.rates]
        )
        uow.commit()
    return {"added": added}
