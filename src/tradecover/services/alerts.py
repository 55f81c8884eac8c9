"""Receivables alerts (DOMAIN.md §6), their states, the policies' preferences and subscriptions, and delivery.

Alerts are computed as of a date (``tradecover jobs alerts``) and after every
ledger change; each has a key, so a re-run never raises it twice. Raising an
alert writes, in the same transaction, one outbox row per subscribed e-mail
address or webhook; :func:`dispatch` delivers the outbox through the
channels, retrying with backoff and logging every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from tradecover.domain.deadlines import overdue_notification_deadline
from tradecover.domain.errors import Conflict, InvalidInput, NotFound
from tradecover.domain.exposure import BuyerExposure, Ineligibility
from tradecover.domain.monitoring import ALERT_STATE_MOVES, Alert, AlertKind, AlertState
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.domain.webhook_signing import MAX_ATTEMPTS, new_secret, retry_delay
from tradecover.services.authorization import Actor, ensure_can_act, ensure_can_read, not_found, visible_organisations
from tradecover.services.ledger_ports import AlertDelivery, AlertPreferences, AlertSubscription
from tradecover.services.policies import get_policy
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record

CHANNELS = ("email", "webhook")


def _raise(uow: UnitOfWork, clock: Clock, alert: Alert) -> int:
    return 1 if uow.monitoring.raise_alert(alert) else 0


def _exposure_alerts(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    name: str,
    exposure: BuyerExposure,
    preferences: AlertPreferences,
    on: date,
    deadlines: dict[str, date],
    notified: date | None,
) -> int:
    raised = 0
    limit = exposure.limit_in_force
    outstanding = exposure.outstanding
    tag = f"{policy.id}:{exposure.buyer_id}:{limit.to_minor()}"
    if limit.is_positive() and outstanding > limit:
        raised += _raise(
            uow, clock,
            Alert(new_id(), policy.policyholder_id, AlertKind.OVER_LIMIT, exposure.buyer_id,
                  f"{name}: outstanding {outstanding} is above the credit limit of {limit} "
                  f"({exposure.uncovered} not covered).",
                  f"over_limit:{tag}", clock.now(), None, policy.id),
        )  # fmt: skip
    elif limit.is_positive() and outstanding.amount >= limit.amount * preferences.utilisation_threshold:
        share = (outstanding.amount / limit.amount * 100).quantize(Decimal(1))
        raised += _raise(
            uow, clock,
            Alert(new_id(), policy.policyholder_id, AlertKind.NEAR_LIMIT, exposure.buyer_id,
                  f"{name}: outstanding {outstanding} is {share} % of the credit limit of {limit}.",
                  f"near_limit:{tag}", clock.now(), None, policy.id),
        )  # fmt: skip
    if notified is not None:
        return raised  # the buyer is notified: the collection case follows, not deadline alerts
    for line in exposure.lines:
        if line.reason not in (None, Ineligibility.DISPUTED, Ineligibility.NOTIFICATION_DEADLINE_PASSED):
            continue
        deadline = deadlines.get(line.invoice_id)
        if deadline is None or on <= line.due_date:
            continue
        if on > deadline:
            raised += _raise(
                uow, clock,
                Alert(new_id(), policy.policyholder_id, AlertKind.NOTIFICATION_DEADLINE_PASSED, exposure.buyer_id,
                      f"{name}: invoice {line.number} was not notified by {deadline:%d/%m/%Y}; its cover is lost.",
                      f"deadline_passed:{line.invoice_id}", clock.now(), deadline, policy.id),
            )  # fmt: skip
        elif (deadline - on).days <= preferences.deadline_warning_days:
            raised += _raise(
                uow, clock,
                Alert(new_id(), policy.policyholder_id, AlertKind.NOTIFICATION_DEADLINE_NEAR, exposure.buyer_id,
                      f"{name}: invoice {line.number} is overdue; notify it by {deadline:%d/%m/%Y} "
                      f"to keep the cover ({(deadline - on).days} days left).",
                      f"deadline_near:{line.invoice_id}", clock.now(), deadline, policy.id),
            )  # fmt: skip
    return raised


def check_alerts(
    uow: UnitOfWork, clock: Clock, policy: Policy, *, on: date, buyer_ids: Sequence[str] | None = None
) -> int:
    """Raise the receivables alerts of a policy as of ``on`` (the ones not raised yet); returns how many."""
    from tradecover.services.exposure import exposures_of_policy

    exposure = exposures_of_policy(uow, policy, on=on, buyer_ids=buyer_ids)
    preferences = uow.alerts.preferences(policy.id)
    notified = uow.ledger.first_overdue_notifications(policy.id)
    clocks: dict[str, date] = {}
    insolvency_deadlines: dict[str, list[date]] = {}
    for c in uow.monitoring.clocks_of_organisation(policy.policyholder_id):
        insolvency_deadlines.setdefault(c.buyer_id, []).append(c.deadline)
    raised = 0
    for buyer, buyer_exposure in exposure.buyers:
        insolvency = insolvency_deadlines.get(buyer.id, [])
        invoices = {i.id: i for i in exposure.invoices.get(buyer.id, [])}
        deadlines: dict[str, date] = {}
        for line in buyer_exposure.lines:
            inv = invoices.get(line.invoice_id)
            if inv is None:
                continue
            deadline = overdue_notification_deadline(
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                max_credit_period_days=exposure.terms.max_credit_period_days,
                overdue_notification_days=exposure.terms.overdue_notification_days,
            )
            deadlines[line.invoice_id] = min([deadline, *insolvency])
        clocks.update(deadlines)
        raised += _exposure_alerts(
            uow, clock, policy, buyer.legal_name, buyer_exposure, preferences, on, deadlines, notified.get(buyer.id)
        )
    return raised


def run_alerts(uow: UnitOfWork, clock: Clock, actor: Actor, *, on: date) -> dict[str, int]:
    """``tradecover jobs alerts``: every policy with a ledger, as of ``on``."""
    from tradecover.services.authorization import Permission, require

    require(actor, Permission.MONITORING_INGEST)
    counts: dict[str, int] = {}
    for policy_id in uow.ledger.policies_with_entries():
        policy = uow.policies.get(policy_id)
        if policy is not None:
            counts[policy.number] = check_alerts(uow, clock, policy, on=on)
    record(
        uow, clock, actor, tenant="insurer", action="alerts.run", object_type="job", object_id=on.isoformat(),
        summary={"policies": len(counts), "raised": sum(counts.values())},
    )  # fmt: skip
    return counts


# --- Alert states -------------------------------------------------------------------------------------


def list_alerts(
    uow: UnitOfWork, actor: Actor, *, page: Page, policy_id: str | None = None, states: Sequence[AlertState] = ()
) -> tuple[list[Alert], int]:
    if policy_id is not None:
        get_policy(uow, actor, policy_id)
    return uow.alerts.find(
        organisation_ids=visible_organisations(actor),
        policy_id=policy_id,
        states=list(states) or None,
        limit=page.limit,
        offset=page.offset,
    )


def get_alert(uow: UnitOfWork, actor: Actor, alert_id: str) -> Alert:
    alert = uow.alerts.get(alert_id)
    if alert is None:
        raise not_found("alert", alert_id)
    ensure_can_read(actor, alert.organisation_id, "alert", alert_id)
    return alert


def move_alert(uow: UnitOfWork, clock: Clock, actor: Actor, alert_id: str, state: AlertState) -> Alert:
    """new → seen → closed (or new → closed); each move is an audit event."""
    alert = get_alert(uow, actor, alert_id)
    ensure_can_act(actor, alert.organisation_id, "alert", alert_id)
    if state is alert.state:
        return alert
    if state not in ALERT_STATE_MOVES[alert.state]:
        raise Conflict(
            f"an alert that is {alert.state.value} cannot become {state.value}",
            code="alert.invalid_transition",
            field="state",
        )
    uow.alerts.set_state(alert.id, state, clock.now())
    record(
        uow, clock, actor, tenant=alert.organisation_id, action=f"alert.{state.value}", object_type="alert",
        object_id=alert.id, summary={"kind": alert.kind.value, "from": alert.state.value, "to": state.value},
    )  # fmt: skip
    return get_alert(uow, actor, alert_id)


# --- Preferences and subscriptions -----------------------------------------------------------------------


def get_preferences(uow: UnitOfWork, actor: Actor, policy_id: str) -> AlertPreferences:
    policy = get_policy(uow, actor, policy_id)
    return uow.alerts.preferences(policy.id)


def set_preferences(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    utilisation_threshold: Decimal,
    deadline_warning_days: int,
) -> AlertPreferences:
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    if not (Decimal("0.05") <= utilisation_threshold <= Decimal(1)):
        raise InvalidInput(
            "the utilisation threshold is a share of the limit between 0.05 and 1",
            code="alerts.bad_threshold",
            field="utilisation_threshold",
        )
    if not (0 <= deadline_warning_days <= 90):
        raise InvalidInput(
            "the deadline warning is between 0 and 90 days", code="alerts.bad_warning", field="deadline_warning_days"
        )
    preferences = AlertPreferences(utilisation_threshold, deadline_warning_days)
    uow.alerts.set_preferences(policy.id, preferences, by=actor.audit_label(policy.policyholder_id), at=clock.now())
    record(
        uow, clock, actor, tenant=policy.policyholder_id, action="alerts.preferences_set", object_type="policy",
        object_id=policy.id,
        summary={"utilisation_threshold": str(utilisation_threshold), "deadline_warning_days": deadline_warning_days},
    )  # fmt: skip
    return preferences


def _check_target(channel: str, target: str) -> str:
    from urllib.parse import urlsplit

    target = target.strip()
    if channel == "email":
        if "\r" in target or "\n" in target or target.count("@") != 1 or len(target) > 254:
            raise InvalidInput(f"{target!r} is not an e-mail address", code="alerts.bad_email", field="target")
        local, _, domain = target.partition("@")
        if not local or "." not in domain or " " in target:
            raise InvalidInput(f"{target!r} is not an e-mail address", code="alerts.bad_email", field="target")
        return target
    if channel == "webhook":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(target) > 500:
            raise InvalidInput("a webhook is an http(s) URL", code="alerts.bad_url", field="target")
        return target
    raise InvalidInput(f"channel is one of {', '.join(CHANNELS)}", code="alerts.bad_channel", field="channel")


def subscribe(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy_id: str,
    *,
    channel: str,
    target: str,
    kinds: Sequence[str] = (),
) -> AlertSubscription:
    """An e-mail address or a webhook URL for the policy's alerts; a webhook gets its signing secret (shown once)."""
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    target = _check_target(channel, target)
    known = {k.value for k in AlertKind}
    unknown = sorted(set(kinds) - known)
    if unknown:
        raise InvalidInput(
            f"unknown alert kinds: {', '.join(unknown)}", code="alerts.unknown_kind", field="kinds",
            context={"known": sorted(known)},
        )  # fmt: skip
    if any(s.channel == channel and s.target == target for s in uow.alerts.subscriptions(policy.id)):
        raise Conflict("this target is already subscribed on this policy", code="alerts.already_subscribed")
    subscription = AlertSubscription(
        id=new_id(),
        policy_id=policy.id,
        organisation_id=policy.policyholder_id,
        channel=channel,
        target=target,
        secret=new_secret() if channel == "webhook" else None,
        kinds=tuple(sorted(set(kinds))),
        active=True,
        created_at=clock.now(),
    )
    uow.alerts.add_subscription(subscription, by=actor.audit_label(policy.policyholder_id))
    record(
        uow, clock, actor, tenant=policy.policyholder_id, action="alerts.subscribed", object_type="alert_subscription",
        object_id=subscription.id, summary={"channel": channel, "target": target, "kinds": list(subscription.kinds)},
    )  # fmt: skip
    return subscription


def subscriptions(uow: UnitOfWork, actor: Actor, policy_id: str) -> list[AlertSubscription]:
    policy = get_policy(uow, actor, policy_id)
    return uow.alerts.subscriptions(policy.id)


def unsubscribe(uow: UnitOfWork, clock: Clock, actor: Actor, policy_id: str, subscription_id: str) -> None:
    policy = get_policy(uow, actor, policy_id)
    ensure_can_act(actor, policy.policyholder_id, "policy", policy_id)
    sub = uow.alerts.get_subscription(subscription_id)
    if sub is None or sub.policy_id != policy.id:
        raise NotFound(f"subscription {subscription_id} not found", code="alert_subscription.not_found")
    uow.alerts.deactivate_subscription(sub.id)
    record(
        uow, clock, actor, tenant=policy.policyholder_id, action="alerts.unsubscribed",
        object_type="alert_subscription", object_id=sub.id, summary={"channel": sub.channel, "target": sub.target},
    )  # fmt: skip


def delivery_log(uow: UnitOfWork, actor: Actor, policy_id: str, page: Page) -> tuple[list[AlertDelivery], int]:
    policy = get_policy(uow, actor, policy_id)
    return uow.alerts.deliveries_of_policy(policy.id, page.limit, page.offset)


# --- Delivery ----------------------------------------------------------------------------------------------


class ChannelFailure(Exception):
    """A channel could not deliver; ``permanent`` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class AlertChannels(Protocol):
    def send_email(self, *, to: str, subject: str, text: str) -> None: ...
    def post_webhook(self, *, url: str, secret: str, event_id: str, body: bytes, now: int) -> None: ...


def alert_payload(alert: Alert, policy_number: str | None) -> dict[str, object]:
    return {
        "id": alert.id,
        "type": "alert.raised",
        "alert": {
            "id": alert.id,
            "kind": alert.kind.value,
            "organisation_id": alert.organisation_id,
            "policy_id": alert.policy_id,
            "policy_number": policy_number,
            "buyer_id": alert.buyer_id,
            "message": alert.message,
            "due_date": None if alert.due_date is None else alert.due_date.isoformat(),
            "created_at": alert.created_at.isoformat(),
        },
    }


SUBJECTS = {
    AlertKind.NEAR_LIMIT: "Encours proche de la limite / Outstanding near the credit limit",
    AlertKind.OVER_LIMIT: "Encours au-dessus de la limite / Outstanding above the credit limit",
    AlertKind.NOTIFICATION_DEADLINE_NEAR: "Échéance de déclaration proche / Overdue notification deadline near",
    AlertKind.NOTIFICATION_DEADLINE_PASSED: "Délai de déclaration dépassé / Notification deadline passed",
    AlertKind.BUYER_DOWNGRADED: "Client dégradé / Buyer downgraded",
    AlertKind.LIMIT_REVISED: "Limite réduite ou annulée / Credit limit reduced or cancelled",
    AlertKind.INSOLVENCY_PUBLISHED: "Procédure collective publiée / Insolvency published",
    AlertKind.TURNOVER_DECLARATION_LATE: "Déclaration de chiffre d'affaires en retard / Turnover declaration late",
}


@dataclass
class DispatchSummary:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def dispatch(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    channels: AlertChannels,
    *,
    batch: int = 50,
) -> DispatchSummary:
    """Deliver the outbox rows that are due; each attempt is logged; transient failures back off."""
    summary = DispatchSummary()
    with uow_factory() as uow:
        due = uow.alerts.due_deliveries(clock.now(), batch)
        for delivery in due:
            alert = uow.alerts.get(delivery.alert_id)
            sub = uow.alerts.get_subscription(delivery.subscription_id)
            if alert is None or sub is None:
                continue
            now = clock.now()
            if not sub.active:  # unsubscribed since the alert was queued: nothing more goes to this target
                uow.alerts.record_attempt(
                    delivery.id, status="failed", attempts=delivery.attempts, next_attempt_at=None,
                    error="the subscription was cancelled", delivered_at=None,
                )  # fmt: skip
                summary.failed += 1
                continue
            policy = uow.policies.get(alert.policy_id) if alert.policy_id else None
            attempts = delivery.attempts + 1
            try:
                _deliver(channels, alert, sub, delivery, None if policy is None else policy.number, now)
            except ChannelFailure as failure:
                final = failure.permanent or attempts >= MAX_ATTEMPTS
                uow.alerts.record_attempt(
                    delivery.id,
                    status="failed" if final else "pending",
                    attempts=attempts,
                    next_attempt_at=None if final else now + retry_delay(attempts),
                    error=str(failure),
                    delivered_at=None,
                )
                if final:
                    summary.failed += 1
                else:
                    summary.retried += 1
            else:
                uow.alerts.record_attempt(
                    delivery.id, status="delivered", attempts=attempts, next_attempt_at=None, error=None,
                    delivered_at=now,
                )  # fmt: skip
                summary.delivered += 1
        uow.commit()
    return summary


def _deliver(
    channels: AlertChannels,
    alert: Alert,
    sub: AlertSubscription,
    delivery: AlertDelivery,
    policy_number: str | None,
    now: datetime,
) -> None:
    if delivery.channel == "email":
        lines = [alert.message, ""]
        if alert.due_date is not None:
            lines.append(f"Échéance / Deadline: {alert.due_date:%d/%m/%Y}")
        if policy_number:
            lines.append(f"Police / Policy: {policy_number}")
        lines.append(f"Alerte / Alert: {alert.kind.value} ({alert.id})")
        channels.send_email(
            to=delivery.target,
            subject=f"[tradecover] {SUBJECTS.get(alert.kind, alert.kind.value)}",
            text="\n".join(lines),
        )
    else:
        body = json.dumps(alert_payload(alert, policy_number), separators=(",", ":"), ensure_ascii=False).encode()
        channels.post_webhook(
            url=delivery.target, secret=sub.secret or "", event_id=delivery.id, body=body, now=int(now.timestamp())
        )
