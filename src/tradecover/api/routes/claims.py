"""Overdue notifications, extensions of payment terms, claims, documents, settlements and statements."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from tradecover.api.claims_schemas import (
    ApprovalIn,
    ClaimDetailOut,
    ClaimIn,
    ClaimOut,
    ComputationOut,
    DocumentOut,
    ExtensionIn,
    ExtensionOut,
    NotificationIn,
    NotificationOut,
)
from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import Paged
from tradecover.domain.claims import ClaimStatus
from tradecover.services import claim_statements, claims, overdues

router = APIRouter(tags=["claims"])
Language = Literal["fr", "en"]


@router.post(
    "/policies/{policy_id}/overdue-notifications", response_model=NotificationOut, status_code=status.HTTP_201_CREATED
)
def notify_overdue(container: ContainerDep, actor: ActorDep, policy_id: str, body: NotificationIn) -> NotificationOut:
    """Declare a buyer's overdue invoices; each is accepted or refused with its reason (stable code)."""
    with container.uow() as uow:
        result = overdues.declare_overdue(
            uow, container.clock, actor, policy_id=policy_id, buyer_id=body.buyer_id, invoices=body.invoices
        )
        uow.commit()
    return NotificationOut.of(result.notification, result.case_id)


@router.get("/overdue-notifications", response_model=Paged[NotificationOut])
def list_notifications(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    policy_id: str | None = None,
    buyer_id: str | None = None,
) -> Paged[NotificationOut]:
    with container.uow() as uow:
        items, total = overdues.list_notifications(uow, actor, policy_id=policy_id, buyer_id=buyer_id, page=page)
    return Paged(items=[NotificationOut.of(n) for n in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/overdue-notifications/{notification_id}", response_model=NotificationOut)
def get_notification(container: ContainerDep, actor: ActorDep, notification_id: str) -> NotificationOut:
    with container.uow() as uow:
        return NotificationOut.of(overdues.get_notification(uow, actor, notification_id))


@router.post(
    "/policies/{policy_id}/payment-term-extensions", response_model=ExtensionOut, status_code=status.HTTP_201_CREATED
)
def extend_term(container: ContainerDep, actor: ActorDep, policy_id: str, body: ExtensionIn) -> ExtensionOut:
    """Record a later due date granted to the buyer; beyond the allowed extension the invoice is not covered."""
    with container.uow() as uow:
        extension = overdues.extend_payment_term(
            uow,
            container.clock,
            actor,
            policy_id=policy_id,
            buyer_id=body.buyer_id,
            invoice_number=body.invoice_number,
            new_due_date=body.new_due_date,
            reason=body.reason,
        )
        uow.commit()
    return ExtensionOut.of(extension)


@router.get("/policies/{policy_id}/payment-term-extensions", response_model=list[ExtensionOut])
def list_extensions(
    container: ContainerDep, actor: ActorDep, policy_id: str, buyer_id: str | None = None
) -> list[ExtensionOut]:
    with container.uow() as uow:
        return [ExtensionOut.of(e) for e in overdues.list_extensions(uow, actor, policy_id, buyer_id=buyer_id)]


@router.post("/claims", response_model=ClaimOut, status_code=status.HTTP_201_CREATED)
def file_claim(container: ContainerDep, actor: ActorDep, body: ClaimIn) -> ClaimOut:
    """Open the claim on a buyer: on its insolvency, or once the waiting period after the notification ran."""
    with container.uow() as uow:
        claim = claims.file_claim(uow, container.clock, actor, policy_id=body.policy_id, buyer_id=body.buyer_id)
        uow.commit()
    return ClaimOut.of(claim)


@router.get("/claims", response_model=Paged[ClaimOut])
def list_claims(
    container: ContainerDep,
    actor: ActorDep,
    page: PageDep,
    policy_id: str | None = None,
    claim_status: Annotated[ClaimStatus | None, Query(alias="status")] = None,
) -> Paged[ClaimOut]:
    with container.uow() as uow:
        items, total = claims.list_claims(uow, actor, policy_id=policy_id, status=claim_status, page=page)
    return Paged(items=[ClaimOut.of(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/claims/{claim_id}", response_model=ClaimDetailOut)
def get_claim(container: ContainerDep, actor: ActorDep, claim_id: str) -> ClaimDetailOut:
    with container.uow() as uow:
        return ClaimDetailOut.of_view(claims.get_claim(uow, actor, claim_id))


@router.post("/claims/{claim_id}/documents", response_model=DocumentOut, status_code=status.HTTP_201_CREATED)
def add_document(
    container: ContainerDep,
    actor: ActorDep,
    claim_id: str,
    kind: Annotated[
        str,
        Query(
            description="unpaid_invoices | proof_of_delivery | collection_attempts | administrator_claim_filing | other"
        ),
    ],
    file: Annotated[UploadFile, File(description="PDF, PNG, JPEG or TIFF")],
) -> DocumentOut:
    content = file.file.read(container.settings.max_document_bytes + 1)
    with container.uow() as uow:
        document = claims.add_document(
            uow,
            container.clock,
            actor,
            claim_id,
            kind=kind,
            filename=file.filename or "document",
            content_type=file.content_type,
            content=content,
            max_bytes=container.settings.max_document_bytes,
        )
        uow.commit()
    return DocumentOut.of(document)


@router.get("/claims/{claim_id}/documents/{document_id}")
def download_document(container: ContainerDep, actor: ActorDep, claim_id: str, document_id: str) -> Response:
    with container.uow() as uow:
        document, content = claims.document_content(uow, actor, claim_id, document_id)
    return Response(
        content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": content_disposition("attachment", document.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/claims/{claim_id}/indemnity-preview", response_model=ComputationOut)
def preview(container: ContainerDep, actor: ActorDep, claim_id: str) -> ComputationOut:
    """What the indemnity would be today, line by line; writes nothing."""
    with container.uow() as uow:
        c = claims.preview(uow, container.clock, actor, claim_id)
    return ComputationOut.of(claim_id, "preview", c)


@router.post("/claims/{claim_id}/settlement", response_model=ComputationOut)
def settle(container: ContainerDep, actor: ActorDep, claim_id: str) -> ComputationOut:
    """Compute and pay the indemnity, or say why not (documents missing, before the date of loss, nothing due)."""
    with container.uow() as uow:
        outcome = claims.settle_claim(
            uow, container.clock, actor, claim_id, approval_threshold=container.settings.indemnity_approval_amount
        )
        uow.commit()
    return ComputationOut.of(
        claim_id,
        outcome.status,
        outcome.computation,
        code=outcome.code,
        message=outcome.message,
        missing=[m.value for m in outcome.missing],
        settlement_id=None if outcome.settlement is None else outcome.settlement.id,
    )


@router.post("/claims/{claim_id}/settlement/approval", response_model=ComputationOut)
def approve(container: ContainerDep, actor: ActorDep, claim_id: str, body: ApprovalIn) -> ComputationOut:
    """A second claims handler approves (or sends back) an indemnity above the approval amount."""
    with container.uow() as uow:
        outcome = claims.approve_settlement(
            uow, container.clock, actor, claim_id, approve=body.approve, reason=body.reason
        )
        uow.commit()
    return ComputationOut.of(
        claim_id,
        outcome.status,
        outcome.computation,
        settlement_id=None if outcome.settlement is None else outcome.settlement.id,
    )


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real one UTF-8 encoded (headers are Latin-1 on the wire)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": content_disposition("inline", name)}
    )


@router.get("/claims/{claim_id}/statement.pdf")
def statement_pdf(container: ContainerDep, actor: ActorDep, claim_id: str, language: Language = "fr") -> Response:
    """The settlement statement (décompte): the latest settlement, or today's preview before one exists."""
    with container.uow() as uow:
        content, name = claim_statements.settlement_statement_pdf(
            uow, container.clock, actor, claim_id, language=language
        )
    return _pdf(content, name)


@router.get("/claims/{claim_id}/recoveries/{recovery_id}/statement.pdf")
def recovery_statement_pdf(
    container: ContainerDep, actor: ActorDep, claim_id: str, recovery_id: str, language: Language = "fr"
) -> Response:
    with container.uow() as uow:
        content, name = claim_statements.recovery_statement_pdf(uow, actor, claim_id, recovery_id, language=language)
    return _pdf(content, name)
