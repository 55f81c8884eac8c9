"""Credit limits: requests, the decision history, capacity overrides, prospect queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tradecover.domain.credit_limits import (
    LimitDecision,
    LimitRequest,
    LimitStatus,
    RequestState,
)
from tradecover.domain.money import Money
from tradecover.domain.receco import RequestType, ResponseType
from tradecover.persistence import tables as t
from tradecover.services.ports import Page


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money.from_minor(minor, currency)


def _minor(money: Money | None) -> int | None:
    return None if money is None else money.round().to_minor()


class CreditLimitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_buyers(self, buyer_ids: Sequence[str]) -> None:
        """Serialise decisions on these buyers until commit (row locks on PostgreSQL; SQLite's
        transactions already hold the write lock from BEGIN IMMEDIATE)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(t.BuyerRow.id)
                .where(t.BuyerRow.id.in_(sorted(set(buyer_ids))))
                .order_by(t.BuyerRow.id)
                .with_for_update()
            ).all()

    # Requests ------------------------------------------------------------------------------------
    @staticmethod
    def _request(row: t.LimitRequestRow) -> LimitRequest:
        cur = row.currency
        return LimitRequest(
            id=row.id,
            policy_id=row.policy_id,
            buyer_id=row.buyer_id,
            organisation_id=row.organisation_id,
            request_type=RequestType(row.request_type),
            requested=Money.from_minor(row.requested_minor, cur),
            temporary_until=row.temporary_until,
            requested_by=row.requested_by,
            requested_at=row.requested_at,
            state=RequestState(row.state),
            response=None if row.response is None else ResponseType(row.response),
            granted=_money(row.granted_minor, cur),
            suggestion=_money(row.suggestion_minor, cur),
            reasons=tuple(json.loads(row.reasons)),
            decided_at=row.decided_at,
            first_approver=row.first_approver,
            proposed_response=None if row.proposed_response is None else ResponseType(row.proposed_response),
            proposed=_money(row.proposed_minor, cur),
            proposed_reason=row.proposed_reason,
        )

    def save_request(self, request: LimitRequest) -> None:
        row = self.session.get(t.LimitRequestRow, request.id)
        if row is None:
            row = t.LimitRequestRow(id=request.id)
            self.session.add(row)
        row.policy_id = request.policy_id
        row.buyer_id = request.buyer_id
        row.organisation_id = request.organisation_id
        row.request_type = request.request_type.value
        row.currency = request.requested.currency
        row.requested_minor = _minor(request.requested) or 0
        row.temporary_until = request.temporary_until
        row.requested_by = request.requested_by
        row.requested_at = request.requested_at
        row.state = request.state.value
        row.response = None if request.response is None else request.response.value
        row.granted_minor = _minor(request.granted)
        row.suggestion_minor = _minor(request.suggestion)
        row.reasons = json.dumps(list(request.reasons))
        row.decided_at = request.decided_at
        row.first_approver = request.first_approver
        row.proposed_response = None if request.proposed_response is None else request.proposed_response.value
        row.proposed_minor = _minor(request.proposed)
        row.proposed_reason = request.proposed_reason
        self.session.flush()

    def get_request(self, request_id: str, *, lock: bool = False) -> LimitRequest | None:
        row = self.session.get(t.LimitRequestRow, request_id, with_for_update=lock)
        return None if row is None else self._request(row)

    def requests(
        self,
        *,
        states: Sequence[RequestState] | None,
        organisation_ids: frozenset[str] | None,
        policy_id: str | None,
        page: Page,
        buyer_id: str | None = None,
    ) -> tuple[list[LimitRequest], int]:
        query = select(t.LimitRequestRow).order_by(t.LimitRequestRow.requested_at, t.LimitRequestRow.id)
        if states is not None:
            query = query.where(t.LimitRequestRow.state.in_([s.value for s in states]))
        if organisation_ids is not None:
            query = query.where(t.LimitRequestRow.organisation_id.in_(organisation_ids))
        if policy_id is not None:
            query = query.where(t.LimitRequestRow.policy_id == policy_id)
        if buyer_id is not None:
            query = query.where(t.LimitRequestRow.buyer_id == buyer_id)
        total = self.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = self.session.scalars(query.limit(page.limit).offset(page.offset))
        return [self._request(r) for r in rows], total

    # Decisions -------------------------------------------------------------------------------------
    @staticmethod
    def _decision(row: t.LimitDecisionRow) -> LimitDecision:
        cur = row.currency
        return LimitDecision(
            id=row.id,
            policy_id=row.policy_id,
            buyer_id=row.buyer_id,
            sequence=row.sequence,
            request_type=RequestType(row.request_type),
            status=LimitStatus(row.status),
            requested_amount=_money(row.requested_minor, cur),
            granted_amount=Money.from_minor(row.granted_minor, cur),
            effective_date=row.effective_date,
            expires_on=row.expires_on,
            reasons=tuple(json.loads(row.reasons)),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            request_id=row.request_id,
        )

    def add_decision(self, decision: LimitDecision, review_on: object = None) -> None:
        self.session.add(
            t.LimitDecisionRow(
                id=decision.id,
                policy_id=decision.policy_id,
                buyer_id=decision.buyer_id,
                sequence=decision.sequence,
                request_type=decision.request_type.value,
                status=decision.status.value,
                currency=decision.granted_amount.currency,
                requested_minor=_minor(decision.requested_amount),
                granted_minor=_minor(decision.granted_amount) or 0,
                effective_date=decision.effective_date,
                expires_on=decision.expires_on,
                review_on=review_on,
                reasons=json.dumps(list(decision.reasons)),
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
                request_id=decision.request_id,
            )
        )
        self.session.flush()

    def history(self, policy_id: str, buyer_id: str) -> list[LimitDecision]:
        rows = self.session.scalars(
            select(t.LimitDecisionRow)
            .where(t.LimitDecisionRow.policy_id == policy_id, t.LimitDecisionRow.buyer_id == buyer_id)
            .order_by(t.LimitDecisionRow.sequence)
        )
        return [self._decision(r) for r in rows]

    def decisions_on(self, buyer_ids: Sequence[str]) -> list[LimitDecision]:
        """Every decision on these buyers, all policies: accumulation reads them."""
        rows = self.session.scalars(
            select(t.LimitDecisionRow)
            .where(t.LimitDecisionRow.buyer_id.in_(list(buyer_ids)))
            .order_by(t.LimitDecisionRow.policy_id, t.LimitDecisionRow.buyer_id, t.LimitDecisionRow.sequence)
        )
        return [self._decision(r) for r in rows]

    def decisions_of_policy(self, policy_id: str) -> list[LimitDecision]:
        rows = self.session.scalars(
            select(t.LimitDecisionRow)
            .where(t.LimitDecisionRow.policy_id == policy_id)
            .order_by(t.LimitDecisionRow.buyer_id, t.LimitDecisionRow.sequence)
        )
        return [self._decision(r) for r in rows]

    def temporary_limits(self, until: datetime | object) -> list[tuple[str, str]]:
        """(policy, buyer) pairs having a decision with an expiry date up to ``until``."""
        rows = self.session.execute(
            select(t.LimitDecisionRow.policy_id, t.LimitDecisionRow.buyer_id)
            .where(t.LimitDecisionRow.expires_on.is_not(None), t.LimitDecisionRow.expires_on <= until)
            .distinct()
        )
        return [(p, b) for p, b in rows]

    # Group, capacity, prospects ------------------------------------------------------------------
    def group_members(self, head_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(t.BuyerRow.id).where(or_(t.BuyerRow.id == head_id, t.BuyerRow.parent_id == head_id))
            )
        )

    def capacity_override(self, buyer_id: str) -> Money | None:
        row = self.session.scalar(
            select(t.CapacityOverrideRow)
            .where(t.CapacityOverrideRow.buyer_id == buyer_id)
            .order_by(t.CapacityOverrideRow.sequence.desc())
            .limit(1)
        )
        return None if row is None else _money(row.amount_minor, row.currency)

    def add_capacity_override(
        self, *, id: str, buyer_id: str, amount: Money | None, currency: str, reason: str, set_by: str, set_at: datetime
    ) -> None:
        last = self.session.scalar(
            select(func.max(t.CapacityOverrideRow.sequence)).where(t.CapacityOverrideRow.buyer_id == buyer_id)
        )
        self.session.add(
            t.CapacityOverrideRow(
                id=id,
                buyer_id=buyer_id,
                sequence=(last or 0) + 1,
                currency=currency,
                amount_minor=_minor(amount),
                reason=reason,
                set_by=set_by,
                set_at=set_at,
            )
        )
        self.session.flush()

    def count_prospect_queries(self, organisation_id: str, since: datetime) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(t.ProspectQueryRow)
                .where(t.ProspectQueryRow.organisation_id == organisation_id, t.ProspectQueryRow.asked_at >= since)
            )
            or 0
        )

    def add_prospect_query(self, *, id: str, organisation_id: str, buyer_id: str, at: datetime) -> None:
        self.session.add(t.ProspectQueryRow(id=id, organisation_id=organisation_id, buyer_id=buyer_id, asked_at=at))
        self.session.flush()
