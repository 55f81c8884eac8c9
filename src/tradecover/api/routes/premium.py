"""Premium: turnover declarations, policy years and their closing, premium documents, payments, the run."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from tradecover.api.deps import ActorDep, ContainerDep
from tradecover.api.premium_schemas import (
    CloseIn,
    CloseOut,
    DeclarationIn,
    DeclarationOut,
    DeclarationOutcomeOut,
    DocumentOut,
    PaymentIn,
    PaymentOut,
    RunOut,
    YearOut,
    territory_input,
)
from tradecover.api.routes.claims import content_disposition
from tradecover.domain.money import Money
from tradecover.domain.premium import paid_per_document
from tradecover.services import premium, premium_documents

router = APIRouter(tags=["premium"])
PREMIUM = "/policies/{policy_id}/premium"


@router.post(
    "/policies/{policy_id}/turnover-declarations",
    response_model=DeclarationOutcomeOut,
    status_code=status.HTTP_201_CREATED,
)
def declare_turnover(
    container: ContainerDep, actor: ActorDep, policy_id: str, body: DeclarationIn
) -> DeclarationOutcomeOut:
    """Declare the insurable turnover of a period; the same period again is a correction (a new version).

    A period overlapping a declared one without being it is refused (``turnover.overlapping_period``).
    Declaring on a closed year re-closes it: the difference is invoiced or credited.
    """
    with container.uow() as uow:
        outcome = premium.declare_turnover(
            uow,
            container.clock,
            actor,
            policy_id,
            period_start=body.period_start,
            period_end=body.period_end,
            domestic=territory_input(body.domestic),
            export=territory_input(body.export),
            reason=body.reason,
        )
        year = next(v for v in premium.years(uow, actor, policy_id) if v.figures.year == outcome.year)
    return DeclarationOutcomeOut.of(outcome, year)


@router.get("/policies/{policy_id}/turnover-declarations", response_model=list[DeclarationOut])
def list_declarations(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[DeclarationOut]:
    """Every version of every declared period, period by period; the latest version of each is ``current``."""
    with container.uow() as uow:
        return DeclarationOut.all_of(premium.declarations(uow, actor, policy_id))


@router.get(PREMIUM + "/years", response_model=list[YearOut])
def list_years(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[YearOut]:
    """Each policy year's premium figures as of now, with its closings."""
    with container.uow() as uow:
        return [YearOut.of_view(v) for v in premium.years(uow, actor, policy_id)]


@router.post(PREMIUM + "/years/{year_start}/close", response_model=CloseOut, status_code=status.HTTP_201_CREATED)
def close_year(
    container: ContainerDep,
    actor: ActorDep,
    policy_id: str,
    year_start: date,
    body: Annotated[CloseIn | None, Body()] = None,
) -> CloseOut:
    """Close a policy year once it has ended: the adjustment, fees and no-claims bonus are issued."""
    with container.uow() as uow:
        year_end, documents = premium.close_year(
            uow, container.clock, actor, policy_id, year_start=year_start, reason=None if body is None else body.reason
        )
    return CloseOut.of(year_end, documents)


@router.get(PREMIUM + "/documents", response_model=list[DocumentOut])
def list_documents(container: ContainerDep, actor: ActorDep, policy_id: str) -> list[DocumentOut]:
    """The policy's premium invoices and credit notes, in issue order, with what was paid on each invoice."""
    with container.uow() as uow:
        documents = premium.documents(uow, actor, policy_id)
        paid = paid_per_document(documents, premium.payments(uow, actor, policy_id))
    return [DocumentOut.of(d, paid.get(d.id)) for d in documents]


# Declared before the plain document route: "{document_id}" would also match "<id>.pdf".
@router.get(PREMIUM + "/documents/{document_id}.pdf")
def document_pdf(container: ContainerDep, actor: ActorDep, policy_id: str, document_id: str) -> Response:
    """The premium invoice or credit note as a PDF (French labels, English beside)."""
    with container.uow() as uow:
        content, name = premium_documents.document_pdf(uow, actor, policy_id, document_id)
    return _file(content, "application/pdf", name, "inline")


@router.get(PREMIUM + "/documents/{document_id}", response_model=DocumentOut)
def get_document(container: ContainerDep, actor: ActorDep, policy_id: str, document_id: str) -> DocumentOut:
    with container.uow() as uow:
        document = premium.get_document(uow, actor, policy_id, document_id)
        paid = paid_per_document(premium.documents(uow, actor, policy_id), premium.payments(uow, actor, policy_id))
    return DocumentOut.of(document, paid.get(document.id))


@router.post(PREMIUM + "/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED)
def record_payment(container: ContainerDep, actor: ActorDep, policy_id: str, body: PaymentIn) -> PaymentOut:
    """Premium received from the insured (the insurer's staff record it)."""
    with container.uow() as uow:
        payment = premium.record_payment(
            uow,
            container.clock,
            actor,
            policy_id,
            amount=Money.of(body.amount.amount, body.amount.currency),
            received_on=body.received_on,
            reference=body.reference,
        )
    return PaymentOut.of(payment)


@router.get(PREMIUM + "/statement.csv", responses={200: {"content": {"text/csv": {}}}})
def statement_csv(container: ContainerDep, actor: ActorDep, policy_id: str) -> Response:
    """The premium account: every document and payment with the running balance, then each year's figures."""
    with container.uow() as uow:
        content, name = premium_documents.statement_csv(uow, container.clock, actor, policy_id)
    return _file(content, "text/csv; charset=utf-8", name, "attachment")


@router.get(PREMIUM + "/statement.pdf", responses={200: {"content": {"application/pdf": {}}}})
def statement_pdf(container: ContainerDep, actor: ActorDep, policy_id: str) -> Response:
    """The premium statement as a PDF (French labels, English beside)."""
    with container.uow() as uow:
        content, name = premium_documents.statement_pdf(uow, container.clock, actor, policy_id)
    return _file(content, "application/pdf", name, "inline")


@router.post("/premium/run", response_model=RunOut)
def run_premium(
    container: ContainerDep,
    actor: ActorDep,
    as_of: Annotated[date | None, Query(description="the day the run looks at; default: today")] = None,
) -> RunOut:
    """Issue what is due on ``as_of``: tacit renewals, provisional-premium instalments, late-declaration alerts.

    Restartable: running it again issues nothing more.
    """
    with container.uow() as uow:
        summary = premium.run_premium(uow, container.clock, actor, as_of=as_of or container.clock.today())
    return RunOut.of(summary)


def _file(content: bytes, media_type: str, name: str, kind: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(kind, name), "X-Content-Type-Options": "nosniff"},
    )
