"""The audit log: events (staff) and chain verification."""

from __future__ import annotations

from fastapi import APIRouter

from tradecover.api.deps import ActorDep, ContainerDep, PageDep
from tradecover.api.schemas import AuditEventOut, AuditVerifyOut, Paged
from tradecover.services import audit
from tradecover.services.authorization import Permission, require

router = APIRouter(tags=["audit"])


@router.get("/audit/events", response_model=Paged[AuditEventOut])
def list_events(container: ContainerDep, actor: ActorDep, page: PageDep) -> Paged[AuditEventOut]:
    with container.uow() as uow:
        items, total = audit.list_events(uow, actor, page)
    return Paged(items=[AuditEventOut.of(r) for r in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/audit/verify", response_model=AuditVerifyOut)
def verify(container: ContainerDep, actor: ActorDep) -> AuditVerifyOut:
    require(actor, Permission.AUDIT_READ)
    with container.uow() as uow:
        tenants, events, breaks = audit.verify_audit(uow)
    return AuditVerifyOut(
        ok=not breaks,
        tenants=tenants,
        events=events,
        breaks=[{"tenant": b.tenant, "sequence": b.sequence, "problem": b.problem} for b in breaks],
    )
