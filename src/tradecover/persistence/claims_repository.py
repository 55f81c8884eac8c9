"""Overdue notification lines, payment term extensions, claims, documents, settlements, recoveries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tradecover.domain.claims import (
    Claim,
    ClaimCause,
    ClaimDocument,
    ClaimMovement,
    ClaimRecovery,
    ClaimSettlement,
    ClaimStatus,
    DocumentKind,
    SettlementStatus,
)
from tradecover.domain.money import Money
from tradecover.domain.overdues import LineVerdict, NotificationLine, OverdueNotification, PaymentTermExtension
from tradecover.persistence import tables as t

_COUNTED = (SettlementStatus.SETTLED.value, SettlementStatus.AWAITING_APPROVAL.value)


def _line(row: t.OverdueNotificationLineRow) -> NotificationLine:
    return NotificationLine(
        id=row.id,
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        verdict=LineVerdict(row.verdict),
        refusal_code=row.refusal_code,
        detail=row.detail,
        due_date=row.due_date,
        deadline=row.deadline,
        unpaid_gross=Money.from_minor(row.unpaid_gross_minor, row.currency),
        unpaid_net=Money.from_minor(row.unpaid_net_minor, row.currency),
    )


def _claim(row: t.ClaimRow) -> Claim:
    return Claim(
        id=row.id,
        reference=row.reference,
        policy_id=row.policy_id,
        buyer_id=row.buyer_id,
        notification_id=row.notification_id,
        cause=ClaimCause(row.cause),
        date_of_loss=row.date_of_loss,
        opened_on=row.opened_on,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        status=ClaimStatus(row.status),
    )


def _document(row: t.ClaimDocumentRow) -> ClaimDocument:
    return ClaimDocument(
        id=row.id,
        claim_id=row.claim_id,
        kind=DocumentKind(row.kind),
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


def _settlement(row: t.ClaimSettlementRow) -> ClaimSettlement:
    cur = row.currency
    return ClaimSettlement(
        id=row.id,
        claim_id=row.claim_id,
        policy_id=row.policy_id,
        status=SettlementStatus(row.status),
        computed_on=row.computed_on,
        computed_at=row.computed_at,
        computed_by=row.computed_by,
        cause=ClaimCause(row.cause),
        date_of_loss=row.date_of_loss,
        policy_year_start=row.policy_year_start,
        loss=Money.from_minor(row.loss_minor, cur),
        covered_loss=Money.from_minor(row.covered_loss_minor, cur),
        indemnity=Money.from_minor(row.indemnity_minor, cur),
        aggregate_deductible=Money.from_minor(row.aggregate_deductible_minor, cur),
        statement=json.loads(row.statement),
        approved_by=row.approved_by,
        approved_at=row.approved_at,
    )


def _recovery(row: t.ClaimRecoveryRow) -> ClaimRecovery:
    cur = row.currency
    return ClaimRecovery(
        id=row.id,
        claim_id=row.claim_id,
        received_on=row.received_on,
        amount=Money.from_minor(row.amount_minor, cur),
        insurer_share=Money.from_minor(row.insurer_share_minor, cur),
        insured_share=Money.from_minor(row.insured_share_minor, cur),
        rule=row.rule,
        source=row.source,
        reference=row.reference,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


class ClaimsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Overdue notifications ------------------------------------------------------------------------------
    def add_notification_lines(self, notification_id: str, lines: Sequence[NotificationLine]) -> None:
        self.session.add_all(
            t.OverdueNotificationLineRow(
                id=line.id,
                notification_id=notification_id,
                invoice_id=line.invoice_id,
                invoice_number=line.invoice_number,
                verdict=line.verdict.value,
                refusal_code=line.refusal_code,
                detail=line.detail,
                due_date=line.due_date,
                deadline=line.deadline,
                currency=line.unpaid_gross.currency,
                unpaid_gross_minor=line.unpaid_gross.to_minor(),
                unpaid_net_minor=line.unpaid_net.to_minor(),
            )
            for line in lines
        )
        self.session.flush()

    def _with_lines(self, rows: Sequence[t.OverdueNotificationRow]) -> list[OverdueNotification]:
        ids = [r.id for r in rows]
        lines: dict[str, list[NotificationLine]] = {i: [] for i in ids}
        if ids:
            q = (
                select(t.OverdueNotificationLineRow)
                .where(t.OverdueNotificationLineRow.notification_id.in_(ids))
                .order_by(t.OverdueNotificationLineRow.invoice_number, t.OverdueNotificationLineRow.id)
            )
            for line in self.session.scalars(q):
                lines[line.notification_id].append(_line(line))
        return [
            OverdueNotification(
                id=r.id,
                policy_id=r.policy_id,
                buyer_id=r.buyer_id,
                notified_on=r.notified_on,
                recorded_by=r.recorded_by,
                recorded_at=r.recorded_at,
                lines=tuple(lines[r.id]),
            )
            for r in rows
        ]

    def notifications_of(self, policy_id: str, buyer_id: str | None = None) -> list[OverdueNotification]:
        q = select(t.OverdueNotificationRow).where(t.OverdueNotificationRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.OverdueNotificationRow.buyer_id == buyer_id)
        q = q.order_by(t.OverdueNotificationRow.notified_on, t.OverdueNotificationRow.recorded_at)
        return self._with_lines(list(self.session.scalars(q)))

    def accepted_invoice_ids(self, policy_id: str) -> frozenset[str]:
        q = (
            select(t.OverdueNotificationLineRow.invoice_id)
            .join(t.OverdueNotificationRow, t.OverdueNotificationRow.id == t.OverdueNotificationLineRow.notification_id)
            .where(
                t.OverdueNotificationRow.policy_id == policy_id,
                t.OverdueNotificationLineRow.verdict == LineVerdict.ACCEPTED.value,
            )
        )
        return frozenset(self.session.scalars(q))

    def get_notification(self, notification_id: str) -> OverdueNotification | None:
        row = self.session.get(t.OverdueNotificationRow, notification_id)
        return None if row is None else self._with_lines([row])[0]

    def notifications_of_policies(
        self, policy_ids: Sequence[str] | None, *, buyer_id: str | None = None, offset: int, limit: int
    ) -> tuple[list[OverdueNotification], int]:
        q = select(t.OverdueNotificationRow)
        if policy_ids is not None:
            q = q.where(t.OverdueNotificationRow.policy_id.in_(list(policy_ids)))
        if buyer_id is not None:
            q = q.where(t.OverdueNotificationRow.buyer_id == buyer_id)
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        q = q.order_by(t.OverdueNotificationRow.recorded_at.desc(), t.OverdueNotificationRow.id)
        return self._with_lines(list(self.session.scalars(q.limit(limit).offset(offset)))), total

    # Extensions ------------------------------------------------------------------------------------------
    def add_extension(self, extension: PaymentTermExtension, *, by: str, at: datetime) -> None:
        e = extension
        self.session.add(
            t.PaymentTermExtensionRow(
                id=e.id,
                policy_id=e.policy_id,
                buyer_id=e.buyer_id,
                invoice_id=e.invoice_id,
                invoice_number=e.invoice_number,
                original_due_date=e.original_due_date,
                new_due_date=e.new_due_date,
                granted_on=e.granted_on,
                within_allowance=e.within_allowance,
                reason=e.reason,
                recorded_by=by,
                recorded_at=at,
            )
        )
        self.session.flush()

    def extensions_of(self, policy_id: str, buyer_id: str | None) -> list[PaymentTermExtension]:
        q = select(t.PaymentTermExtensionRow).where(t.PaymentTermExtensionRow.policy_id == policy_id)
        if buyer_id is not None:
            q = q.where(t.PaymentTermExtensionRow.buyer_id == buyer_id)
        q = q.order_by(t.PaymentTermExtensionRow.granted_on, t.PaymentTermExtensionRow.recorded_at)
        return [
            PaymentTermExtension(
                id=r.id,
                policy_id=r.policy_id,
                buyer_id=r.buyer_id,
                invoice_id=r.invoice_id,
                invoice_number=r.invoice_number,
                original_due_date=r.original_due_date,
                new_due_date=r.new_due_date,
                granted_on=r.granted_on,
                within_allowance=r.within_allowance,
                reason=r.reason,
            )
            for r in self.session.scalars(q)
        ]

    # Claims ------------------------------------------------------------------------------------------------
    def add_claim(self, claim: Claim) -> None:
        self.session.add(
            t.ClaimRow(
                id=claim.id,
                reference=claim.reference,
                policy_id=claim.policy_id,
                buyer_id=claim.buyer_id,
                notification_id=claim.notification_id,
                cause=claim.cause.value,
                date_of_loss=claim.date_of_loss,
                opened_on=claim.opened_on,
                opened_at=claim.opened_at,
                opened_by=claim.opened_by,
                status=claim.status.value,
                currency=_policy_currency(self.session, claim.policy_id),
            )
        )
        self.session.flush()

    def get_claim(self, claim_id: str) -> Claim | None:
        row = self.session.get(t.ClaimRow, claim_id)
        return None if row is None else _claim(row)

    def claims_of(self, policy_id: str, buyer_id: str) -> list[Claim]:
        q = (
            select(t.ClaimRow)
            .where(t.ClaimRow.policy_id == policy_id, t.ClaimRow.buyer_id == buyer_id)
            .order_by(t.ClaimRow.opened_at)
        )
        return [_claim(r) for r in self.session.scalars(q)]

    def list_claims(
        self, policy_ids: Sequence[str] | None, *, status: ClaimStatus | None, offset: int, limit: int
    ) -> tuple[list[Claim], int]:
        q = select(t.ClaimRow)
        if policy_ids is not None:
            q = q.where(t.ClaimRow.policy_id.in_(list(policy_ids)))
        if status is not None:
            q = q.where(t.ClaimRow.status == status.value)
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = self.session.scalars(q.order_by(t.ClaimRow.opened_at.desc(), t.ClaimRow.id).limit(limit).offset(offset))
        return [_claim(r) for r in rows], total

    def set_claim_status(self, claim_id: str, status: ClaimStatus) -> None:
        self.session.execute(update(t.ClaimRow).where(t.ClaimRow.id == claim_id).values(status=status.value))

    def next_claim_sequence(self, year: int) -> int:
        prefix = f"CLM-{year}-"
        count = self.session.scalar(select(func.count()).where(t.ClaimRow.reference.like(prefix + "%")))
        return int(count or 0) + 1

    # Documents ---------------------------------------------------------------------------------------------
    def add_document(self, document: ClaimDocument, content: bytes) -> None:
        d = document
        self.session.add(
            t.ClaimDocumentRow(
                id=d.id,
                claim_id=d.claim_id,
                kind=d.kind.value,
                filename=d.filename,
                content_type=d.content_type,
                size=d.size,
                sha256=d.sha256,
                content=content,
                uploaded_by=d.uploaded_by,
                uploaded_at=d.uploaded_at,
            )
        )
        self.session.flush()

    def documents_of(self, claim_id: str) -> list[ClaimDocument]:
        columns = [c for c in t.ClaimDocumentRow.__table__.c if c.name != "content"]
        q = (
            select(*columns)
            .where(t.ClaimDocumentRow.claim_id == claim_id)
            .order_by(t.ClaimDocumentRow.uploaded_at, t.ClaimDocumentRow.id)
        )
        return [
            ClaimDocument(
                id=r.id,
                claim_id=r.claim_id,
                kind=DocumentKind(r.kind),
                filename=r.filename,
                content_type=r.content_type,
                size=r.size,
                sha256=r.sha256,
                uploaded_by=r.uploaded_by,
                uploaded_at=r.uploaded_at,
            )
            for r in self.session.execute(q)
        ]

    def document_content(self, document_id: str) -> tuple[ClaimDocument, bytes] | None:
        row = self.session.get(t.ClaimDocumentRow, document_id)
        return None if row is None else (_document(row), bytes(row.content))

    # Settlements ---------------------------------------------------------------------------------------------
    def add_settlement(self, settlement: ClaimSettlement) -> None:
        s = settlement
        self.session.add(
            t.ClaimSettlementRow(
                id=s.id,
                claim_id=s.claim_id,
                policy_id=s.policy_id,
                status=s.status.value,
                computed_on=s.computed_on,
                computed_at=s.computed_at,
                computed_by=s.computed_by,
                cause=s.cause.value,
                date_of_loss=s.date_of_loss,
                policy_year_start=s.policy_year_start,
                currency=s.loss.currency,
                loss_minor=s.loss.to_minor(),
                covered_loss_minor=s.covered_loss.to_minor(),
                indemnity_minor=s.indemnity.to_minor(),
                aggregate_deductible_minor=s.aggregate_deductible.to_minor(),
                statement=json.dumps(s.statement, sort_keys=True, default=str),
                approved_by=s.approved_by,
                approved_at=s.approved_at,
            )
        )
        self.session.flush()

    def settlements_of(self, claim_id: str) -> list[ClaimSettlement]:
        q = (
            select(t.ClaimSettlementRow)
            .where(t.ClaimSettlementRow.claim_id == claim_id)
            .order_by(t.ClaimSettlementRow.computed_at, t.ClaimSettlementRow.id)
        )
        return [_settlement(r) for r in self.session.scalars(q)]

    def set_settlement_status(
        self, settlement_id: str, status: SettlementStatus, *, approved_by: str | None, at: datetime | None
    ) -> None:
        self.session.execute(
            update(t.ClaimSettlementRow)
            .where(t.ClaimSettlementRow.id == settlement_id)
            .values(status=status.value, approved_by=approved_by, approved_at=at)
        )

    def year_totals(
        self, policy_id: str, policy_year_start: date, currency: str, *, excluding_claim: str | None = None
    ) -> tuple[Money, Money]:
        q = select(
            func.coalesce(func.sum(t.ClaimSettlementRow.indemnity_minor), 0),
            func.coalesce(func.sum(t.ClaimSettlementRow.aggregate_deductible_minor), 0),
        ).where(
            t.ClaimSettlementRow.policy_id == policy_id,
            t.ClaimSettlementRow.policy_year_start == policy_year_start,
            t.ClaimSettlementRow.status.in_(_COUNTED),
        )
        if excluding_claim is not None:
            q = q.where(t.ClaimSettlementRow.claim_id != excluding_claim)
        indemnities, deductible = self.session.execute(q).one()
        return Money.from_minor(int(indemnities), currency), Money.from_minor(int(deductible), currency)

    # Movements and recoveries ------------------------------------------------------------------------------
    def add_movements(self, movements: Sequence[ClaimMovement]) -> None:
        self.session.add_all(
            t.ClaimMovementRow(
                id=m.id,
                transaction_id=m.transaction_id,
                claim_id=m.claim_id,
                kind=m.kind,
                account=m.account,
                currency=m.amount.currency,
                amount_minor=m.amount.to_minor(),
                on=m.on,
                reference=m.reference,
                recorded_at=m.recorded_at,
            )
            for m in movements
        )
        self.session.flush()

    def movements_of(self, claim_id: str) -> list[ClaimMovement]:
        q = (
            select(t.ClaimMovementRow)
            .where(t.ClaimMovementRow.claim_id == claim_id)
            .order_by(
                t.ClaimMovementRow.recorded_at, t.ClaimMovementRow.transaction_id, t.ClaimMovementRow.amount_minor
            )
        )
        return [
            ClaimMovement(
                id=r.id,
                transaction_id=r.transaction_id,
                claim_id=r.claim_id,
                kind=r.kind,
                account=r.account,
                amount=Money.from_minor(r.amount_minor, r.currency),
                on=r.on,
                reference=r.reference,
                recorded_at=r.recorded_at,
            )
            for r in self.session.scalars(q)
        ]

    def add_recovery(self, recovery: ClaimRecovery) -> None:
        r = recovery
        self.session.add(
            t.ClaimRecoveryRow(
                id=r.id,
                claim_id=r.claim_id,
                received_on=r.received_on,
                currency=r.amount.currency,
                amount_minor=r.amount.to_minor(),
                insurer_share_minor=r.insurer_share.to_minor(),
                insured_share_minor=r.insured_share.to_minor(),
                rule=r.rule[:500],
                source=r.source,
                reference=r.reference,
                recorded_by=r.recorded_by,
                recorded_at=r.recorded_at,
            )
        )
        self.session.flush()

    def recoveries_of(self, claim_id: str) -> list[ClaimRecovery]:
        q = (
            select(t.ClaimRecoveryRow)
            .where(t.ClaimRecoveryRow.claim_id == claim_id)
            .order_by(t.ClaimRecoveryRow.received_on, t.ClaimRecoveryRow.recorded_at)
        )
        return [_recovery(r) for r in self.session.scalars(q)]


def _policy_currency(session: Session, policy_id: str) -> str:
    currency = session.scalar(select(t.PolicyRow.currency).where(t.PolicyRow.id == policy_id))
    return str(currency)
