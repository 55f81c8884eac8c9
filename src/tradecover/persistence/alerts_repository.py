"""Alerts' states, the policies' alert preferences and subscriptions, and the delivery outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tradecover.domain.monitoring import Alert, AlertKind, AlertState
from tradecover.persistence import tables as t
from tradecover.services.ledger_ports import AlertDelivery, AlertPreferences, AlertSubscription


def alert_of(r: t.AlertRow) -> Alert:
    return Alert(
        r.id,
        r.organisation_id,
        AlertKind(r.kind),
        r.buyer_id,
        r.message,
        r.key,
        r.created_at,
        r.due_date,
        r.policy_id,
        AlertState(r.state),
    )


def _subscription(r: t.AlertSubscriptionRow) -> AlertSubscription:
    return AlertSubscription(
        r.id,
        r.policy_id,
        r.organisation_id,
        r.channel,
        r.target,
        r.secret,
        tuple(json.loads(r.kinds)),
        r.active,
        r.created_at,
    )


def _delivery(r: Any) -> AlertDelivery:
    return AlertDelivery(
        r.id,
        r.alert_id,
        r.subscription_id,
        r.channel,
        r.target,
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.last_error,
        r.delivered_at,
        r.created_at,
    )


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def preferences(self, policy_id: str) -> AlertPreferences:
        row = self.session.get(t.AlertPreferenceRow, policy_id)
        if row is None:
            return AlertPreferences()
        return AlertPreferences(row.utilisation_threshold, row.deadline_warning_days)

    def set_preferences(self, policy_id: str, preferences: AlertPreferences, *, by: str, at: datetime) -> None:
        row = self.session.get(t.AlertPreferenceRow, policy_id)
        if row is None:
            row = t.AlertPreferenceRow(policy_id=policy_id)
            self.session.add(row)
        row.utilisation_threshold = preferences.utilisation_threshold
        row.deadline_warning_days = preferences.deadline_warning_days
        row.updated_by = by
        row.updated_at = at
        self.session.flush()

    def add_subscription(self, subscription: AlertSubscription, *, by: str) -> None:
        self.session.add(
            t.AlertSubscriptionRow(
                id=subscription.id,
                policy_id=subscription.policy_id,
                organisation_id=subscription.organisation_id,
                channel=subscription.channel,
                target=subscription.target,
                secret=subscription.secret,
                kinds=json.dumps(list(subscription.kinds)),
                active=subscription.active,
                created_by=by,
                created_at=subscription.created_at,
            )
        )
        self.session.flush()

    def subscriptions(self, policy_id: str) -> list[AlertSubscription]:
        q = select(t.AlertSubscriptionRow).where(t.AlertSubscriptionRow.policy_id == policy_id)
        return [_subscription(r) for r in self.session.scalars(q.order_by(t.AlertSubscriptionRow.created_at))]

    def get_subscription(self, subscription_id: str) -> AlertSubscription | None:
        row = self.session.get(t.AlertSubscriptionRow, subscription_id)
        return None if row is None else _subscription(row)

    def deactivate_subscription(self, subscription_id: str) -> None:
        self.session.execute(
            update(t.AlertSubscriptionRow).where(t.AlertSubscriptionRow.id == subscription_id).values(active=False)
        )

    def get(self, alert_id: str) -> Alert | None:
        row = self.session.get(t.AlertRow, alert_id)
        return None if row is None else alert_of(row)

    def find(
        self,
        *,
        organisation_ids: frozenset[str] | None,
        policy_id: str | None,
        states: Sequence[AlertState] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Alert], int]:
        q = select(t.AlertRow)
        if organisation_ids is not None:
            q = q.where(t.AlertRow.organisation_id.in_(organisation_ids))
        if policy_id is not None:
            q = q.where(t.AlertRow.policy_id == policy_id)
        if states:
            q = q.where(t.AlertRow.state.in_([s.value for s in states]))
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = self.session.scalars(q.order_by(t.AlertRow.created_at.desc(), t.AlertRow.id).limit(limit).offset(offset))
        return [alert_of(r) for r in rows], total

    def set_state(self, alert_id: str, state: AlertState, at: datetime) -> None:
        self.session.execute(
            update(t.AlertRow).where(t.AlertRow.id == alert_id).values(state=state.value, state_changed_at=at)
        )

    def enqueue(self, alert: Alert, at: datetime) -> int:
        q = select(t.AlertSubscriptionRow).where(
            t.AlertSubscriptionRow.organisation_id == alert.organisation_id,
            t.AlertSubscriptionRow.active.is_(True),
        )
        if alert.policy_id is not None:
            q = q.where(t.AlertSubscriptionRow.policy_id == alert.policy_id)
        queued = 0
        seen: set[tuple[str, str]] = set()
        for sub in self.session.scalars(q.order_by(t.AlertSubscriptionRow.created_at)):
            kinds = json.loads(sub.kinds)
            if kinds and alert.kind.value not in kinds:
                continue
            if (sub.channel, sub.target) in seen:  # the same address on two policies gets one message
                continue
            seen.add((sub.channel, sub.target))
            self.session.add(
                t.AlertDeliveryRow(
                    id=str(uuid.uuid4()),
                    alert_id=alert.id,
                    subscription_id=sub.id,
                    channel=sub.channel,
                    target=sub.target,
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    last_error=None,
                    delivered_at=None,
                    created_at=at,
                )
            )
            queued += 1
        self.session.flush()
        return queued

    def due_deliveries(self, now: datetime, limit: int) -> list[AlertDelivery]:
        q = (
            select(t.AlertDeliveryRow)
            .where(
                t.AlertDeliveryRow.status == "pending",
                or_(t.AlertDeliveryRow.next_attempt_at.is_(None), t.AlertDeliveryRow.next_attempt_at <= now),
            )
            .order_by(t.AlertDeliveryRow.next_attempt_at, t.AlertDeliveryRow.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return [_delivery(r) for r in self.session.scalars(q)]

    def record_attempt(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None,
        error: str | None,
        delivered_at: datetime | None,
    ) -> None:
        self.session.execute(
            update(t.AlertDeliveryRow)
            .where(t.AlertDeliveryRow.id == delivery_id)
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                last_error=None if error is None else error[:1000],
                delivered_at=delivered_at,
            )
        )

    def deliveries(self, alert_id: str) -> list[AlertDelivery]:
        q = select(t.AlertDeliveryRow).where(t.AlertDeliveryRow.alert_id == alert_id)
        return [_delivery(r) for r in self.session.scalars(q.order_by(t.AlertDeliveryRow.created_at))]

    def deliveries_of_policy(self, policy_id: str, limit: int, offset: int) -> tuple[list[AlertDelivery], int]:
        q = (
            select(t.AlertDeliveryRow)
            .join(t.AlertSubscriptionRow, t.AlertSubscriptionRow.id == t.AlertDeliveryRow.subscription_id)
            .where(t.AlertSubscriptionRow.policy_id == policy_id)
        )
        total = int(self.session.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = self.session.scalars(
            q.order_by(t.AlertDeliveryRow.created_at.desc(), t.AlertDeliveryRow.id).limit(limit).offset(offset)
        )
        return [_delivery(r) for r in rows], total
