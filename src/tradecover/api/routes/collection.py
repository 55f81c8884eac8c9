"""Collection cases: the list and one case, actions, costs, cash received, closure, penalties, the formal
notice (a preview, and the letter sent), and the late-payment base rates.

Collectors, claims handlers and administrators act; every other staff role reads; an insured reads its
own cases, and so do its brokers with a mandate. ``POST /collection-cases/{id}/formal-notices`` sends the
formal notice: it records a ``formal_notice`` action (dated, with its author), keeps the letter, and
answers 201 with the PDF itself; ``Location`` names the kept letter, ``X-Action-Id`` the action.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Response, status

from tradecover.api.collection_schemas import (
    ActionIn,
    ActionOut,
    BaseRateIn,
    BaseRateOut,
    CaseOut,
    CaseSummaryOut,
    ClosureIn,
    CostIn,
    CostOut,
    FormalNoticeIn,
    PenaltiesOut,
    ReceiptIn,
    ReceiptOut,
)
from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import MoneyBody, Paged
from tradecover.domain.money import Money
from tradecover.services import collection

router = APIRouter(tags=["collection"])
CASE = "/collection-cases/{case_id}"
PDF_RESPONSE = {"content": {"application/pdf": {}}, "description": "the formal notice, as PDF"}


def _money(body: MoneyBody) -> Money:
    return Money.of(body.amount, body.currency)


def _pdf(content: bytes, filename: str, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content,
        status_code=status_code,
        media_type=collection.PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"', **(headers or {})},
    )


@router.get("/collection-cases", response_model=Paged[CaseSummaryOut])
def list_cases(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    policy_id: str | None = None,
    buyer_id: str | None = None,
    stage: Literal["amicable", "judicial", "closed"] | None = None,
) -> Paged[CaseSummaryOut]:
    with container.uow() as uow:
        items, total = collection.list_cases(uow, actor, page=page, policy_id=policy_id, buyer_id=buyer_id, stage=stage)
    return Paged(items=[CaseSummaryOut.of(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.get(CASE, response_model=CaseOut)
def get_case(container: ContainerDep, actor: ActorDep, case_id: str) -> CaseOut:
    with container.uow() as uow:
        return CaseOut.of_view(collection.case_view(uow, actor, case_id), container.clock.today())


@router.post(CASE + "/actions", response_model=ActionOut, status_code=status.HTTP_201_CREATED)
def record_action(container: ContainerDep, actor: ActorDep, case_id: str, body: ActionIn) -> ActionOut:
    with container.uow() as uow:
        action = collection.record_action(
            uow, container.clock, actor, case_id=case_id, kind=body.kind, on=body.on, note=body.note
        )
        uow.commit()
    return ActionOut.of(action)


@router.post(CASE + "/costs", response_model=CostOut, status_code=status.HTTP_201_CREATED)
def record_cost(container: ContainerDep, actor: ActorDep, case_id: str, body: CostIn) -> CostOut:
    with container.uow() as uow:
        cost = collection.record_cost(
            uow,
            container.clock,
            actor,
            case_id=case_id,
            kind=body.kind,
            amount=_money(body.amount),
            incurred_on=body.incurred_on,
            description=body.description,
        )
        uow.commit()
    return CostOut.of(cost)


@router.post(CASE + "/payments", response_model=ReceiptOut, status_code=status.HTTP_201_CREATED)
def receive_payment(container: ContainerDep, actor: ActorDep, case_id: str, body: ReceiptIn) -> ReceiptOut:
    with container.uow() as uow:
        receipt = collection.receive_payment(
            uow,
            container.clock,
            actor,
            case_id=case_id,
            amount=_money(body.amount),
            received_on=body.received_on,
            reference=body.reference,
        )
        uow.commit()
    return ReceiptOut.of(receipt)


@router.post(CASE + "/closure", response_model=CaseOut)
def close_case(container: ContainerDep, actor: ActorDep, case_id: str, body: ClosureIn) -> CaseOut:
    with container.uow() as uow:
        collection.close_case(
            uow, container.clock, actor, case_id=case_id, outcome=body.outcome, on=body.on, reason=body.reason
        )
        uow.commit()
    with container.uow() as uow:
        return CaseOut.of_view(collection.case_view(uow, actor, case_id), container.clock.today())


@router.get(CASE + "/penalties", response_model=PenaltiesOut)
def penalties(container: ContainerDep, actor: ActorDep, case_id: str, on: date | None = None) -> PenaltiesOut:
    day = on or container.clock.today()
    with container.uow() as uow:
        case = collection.get_case(uow, actor, case_id)
        lines = collection.penalties_of_case(uow, actor, case_id, day)
    return PenaltiesOut.of(case, day, [(d.invoice_id, d.number, p) for d, p in lines])


@router.get(CASE + "/formal-notice.pdf", response_class=Response, responses={200: PDF_RESPONSE})
def formal_notice_preview(
    container: ContainerDep, actor: ActorDep, case_id: str, language: str = "fr", on: date | None = None
) -> Response:
    """The formal notice as it would be sent on ``on`` (default: today); records nothing."""
    day = on or container.clock.today()
    with container.uow() as uow:
        case = collection.get_case(uow, actor, case_id)
        content = collection.formal_notice_pdf(uow, container.clock, actor, case_id, on=day, language=language)
    return _pdf(content, f"{case.reference}-preview-{language}.pdf")


@router.post(
    CASE + "/formal-notices",
    response_class=Response,
    status_code=status.HTTP_201_CREATED,
    responses={201: PDF_RESPONSE},
)
def send_formal_notice(container: ContainerDep, actor: ActorDep, case_id: str, body: FormalNoticeIn) -> Response:
    """Send the formal notice: records the action and keeps the letter; the answer is the PDF."""
    with container.uow() as uow:
        sent = collection.send_formal_notice(
            uow,
            container.clock,
            actor,
            case_id,
            on=body.on or container.clock.today(),
            language=body.language,
            note=body.note,
        )
        uow.commit()
    return _pdf(
        sent.letter.content,
        f"{sent.letter.reference}.pdf",
        status_code=status.HTTP_201_CREATED,
        headers={
            "Location": f"/api/v1/collection-cases/{case_id}/letters/{sent.letter.id}",
            "X-Action-Id": sent.action.id,
            "X-Letter-Id": sent.letter.id,
        },
    )


@router.get(CASE + "/letters/{letter_id}", response_class=Response, responses={200: PDF_RESPONSE})
def get_letter(container: ContainerDep, actor: ActorDep, case_id: str, letter_id: str) -> Response:
    """A letter as it was sent."""
    with container.uow() as uow:
        letter = collection.get_letter(uow, actor, case_id, letter_id)
    return _pdf(letter.content, f"{letter.reference}.pdf")


@router.get("/late-payment-rates", response_model=list[BaseRateOut])
def list_base_rates(container: ContainerDep, actor: ActorDep) -> list[BaseRateOut]:
    """The ECB base rates the late-payment penalties use, newest first."""
    with container.uow() as uow:
        return [BaseRateOut.of(line) for line in collection.list_base_rates(uow, actor)]


@router.post("/late-payment-rates", response_model=BaseRateOut, status_code=status.HTTP_201_CREATED)
def add_base_rate(container: ContainerDep, actor: ActorDep, body: BaseRateIn) -> BaseRateOut:
    with container.uow() as uow:
        configured = collection.add_base_rate(
            uow, container.clock, actor, effective_date=body.effective_date, rate=Decimal(body.rate)
        )
        uow.commit()
    return BaseRateOut(
        effective_date=configured.effective_date,
        rate=configured.rate,
        source="configured",
        recorded_by=configured.recorded_by,
    )
