"""Reading and verifying the hash-chained audit log."""

from __future__ import annotations

from tradecover.domain.audit import AuditRecord, ChainBreak, verify_chain
from tradecover.services.authorization import Actor, Permission, require, visible_organisations
from tradecover.services.ports import Page, UnitOfWork


def verify_audit(uow: UnitOfWork) -> tuple[int, int, list[ChainBreak]]:
    """Recompute every tenant's chain: (tenants, events, breaks)."""
    problems: list[ChainBreak] = []
    events = 0
    tenants = uow.audit.tenants()
    for tenant in tenants:
        rows = uow.audit.records(tenant)
        events += len(rows)
        problems.extend(verify_chain(tenant, rows))
    return len(tenants), events, problems


def list_events(uow: UnitOfWork, actor: Actor, page: Page) -> tuple[list[AuditRecord], int]:
    require(actor, Permission.AUDIT_READ)
    return uow.audit.list_page(tenants=visible_organisations(actor), page=page)
