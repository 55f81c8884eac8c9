"""Overdue notifications and extensions of payment terms (DOMAIN.md §7): use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import coverability
from tradecover.domain.deadlines import deadline_passed, local_date, notification_deadline, policy_time_zone
from tradecover.domain.errors import InvalidInput, NotFound, RuleBroken
from tradecover.domain.exposure import CoverConditions
from tradecover.domain.monitoring import LegalEventKind
from tradecover.domain.overdues import (
    NOTHING_TO_NOTIFY,
    LineVerdict,
    NotificationLine,
    NotificationStatus,
    NotificationTerms,
    NotifiedInvoice,
    OverdueNotification,
    PaymentTermExtension,
    check_extension,
    effective_due_date,
    judge_invoice,
    notification_status,
)
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.domain.receivables import EntryKind, OpenItem, settle
from tradecover.services.authorization import Actor, Permission, require, visible_organisations
from tradecover.services.exposure import STATIC_EXCLUSIONS, book_of, identity_view
from tradecover.services.ledger import after_change, buyer_of_policy, policy_to_act_on
from tradecover.services.policies import get_policy, list_policies
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record

#: Judgments that open a collective procedure: their publication starts the 30-day clock (DOMAIN.md §7).
OPENING_JUDGMENTS = frozenset({LegalEventKind.SAFEGUARD, LegalEventKind.RECEIVERSHIP, LegalEventKind.LIQUIDATION})


def policy_today(uow: UnitOfWork, clock: Clock, policy: Policy) -> date:
    """Today in the policy's time zone: contract deadlines are calendar dates there."""
    holder = uow.organisations.get(policy.policyholder_id)
    return local_date(clock.now(), policy_time_zone(holder.country if holder is not None else "FR"))


def insolvency_dates(uow: UnitOfWork, buyer_id: str) -> tuple[date | None, date | None]:
    """(first publication, first judgment date) of an opening judgment against the buyer."""
    events = [e for e in uow.monitoring.legal_events(buyer_id) if e.kind in OPENING_JUDGMENTS]
    if not events:
        return None, None
    publication = min(e.publication_date for e in events)
    judgments = [e.judgment_date for e in events if e.judgment_date is not None]
    return publication, min(judgments) if judgments else publication


def cover_conditions(
    uow: UnitOfWork, policy: Policy, buyer: Buyer, on: date, stop_ship_from: date | None
) -> tuple[CoverConditions, NotificationTerms]:
    book = book_of(uow, policy, on)
    excluded = coverability(
        identity_view(buyer), covered_countries=book.terms.covered_countries, policyholder_siren=book.holder_siren
    )
    conditions = CoverConditions(
        max_credit_period_days=book.terms.max_credit_period_days,
        policy_periods=tuple((p.start, p.end) for p in policy.periods),
        stop_ship_from=stop_ship_from,
        buyer_excluded=excluded in STATIC_EXCLUSIONS,
        termination_date=policy.termination_date,
    )
    terms = NotificationTerms(
        max_credit_period_days=book.terms.max_credit_period_days,
        overdue_notification_days=book.terms.overdue_notification_days,
        insolvency_notification_days=book.terms.insolvency_notification_days,
        max_extension_days=book.terms.max_extension_days,
    )
    return conditions, terms


@dataclass(frozen=True)
class NotificationResult:
    notification: OverdueNotification
    judged: tuple[NotifiedInvoice, ...]
    status: NotificationStatus
    case_id: str | None


def _items(uow: UnitOfWork, policy: Policy, buyer_id: str, on: date) -> list[OpenItem]:
    invoices, payments = uow.ledger.entries(policy.id, [buyer_id])
    reversed_ids = uow.ledger.reversed_ids(policy.id)
    settlements = settle(invoices.get(buyer_id, []), payments.get(buyer_id, []), on=on, reversed_ids=reversed_ids)
    return [item for s in settlements.values() for item in s.items if item.invoice.kind is EntryKind.INVOICE]


def declare_overdue(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    invoices: Sequence[str] | None = None,
) -> NotificationResult:
    """The insured notifies a buyer's overdue invoices: each is accepted or refused with its reason.

    Without ``invoices``, every overdue unpaid invoice not yet accepted in an earlier notification. On
    record: stop-ship on the buyer, a collection case opens (or grows), the grading input changes.
    A notification with nothing overdue in it is refused whole and writes nothing. Does not commit.
    """
    require(actor, Permission.OVERDUE_NOTIFY)
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    on = policy_today(uow, clock, policy)
    earlier = uow.claims.notifications_of(policy.id, buyer.id)
    stop_ship_from = min((n.notified_on for n in earlier), default=None)
    accepted_before = {line.invoice_id for n in earlier for line in n.accepted}
    conditions, terms = cover_conditions(uow, policy, buyer, on, stop_ship_from)
    disputes = uow.ledger.disputes(policy.id, buyer.id)
    extensions = uow.claims.extensions_of(policy.id, buyer.id)
    publication, _ = insolvency_dates(uow, buyer.id)
    items = _items(uow, policy, buyer.id, on)
    if invoices is not None:
        if not invoices:
            raise InvalidInput(
                "name at least one invoice, or none to notify every overdue one",
                code="overdue.no_invoice",
                field="invoices",
            )
        by_number = {item.invoice.number: item for item in items}
        chosen: list[OpenItem] = []
        for position, number in enumerate(invoices):
            item = by_number.get(number)
            if item is None:
                raise InvalidInput(
                    f"invoice {number!r} is not in this buyer's ledger on this policy",
                    code="overdue.unknown_invoice",
                    field=f"invoices[{position}]",
                )
            if item not in chosen:
                chosen.append(item)
    else:
        # Once the insolvency is published, invoices not yet due are notified too (within its 30 days).
        published = publication is not None and publication <= on
        chosen = [
            item
            for item in items
            if item.open_gross_minor > 0
            and (published or effective_due_date(item.invoice, extensions) < on)
            and item.invoice.id not in accepted_before
        ]
    judged = tuple(
        judge_invoice(
            item.invoice,
            unpaid_gross=item.open_gross,
            unpaid_net=item.open_net,
            on=on,
            terms=terms,
            conditions=conditions,
            disputes=disputes,
            extensions=extensions,
            insolvency_publication_date=publication,
            already_notified=item.invoice.id in accepted_before,
        )
        for item in chosen
    )
    if not judged or all(j.refusal in NOTHING_TO_NOTIFY for j in judged):
        raise RuleBroken(
            "the buyer has no overdue unpaid invoice to notify on this policy",
            code="overdue.no_overdue_invoice",
            context={"invoices": {j.invoice.number: j.refusal.value for j in judged if j.refusal is not None}},
        )
    notification_id = new_id()
    at = clock.now()
    by = actor.audit_label(policy.policyholder_id)
    lines = tuple(
        NotificationLine(
            id=new_id(),
            invoice_id=j.invoice.id,
            invoice_number=j.invoice.number,
            verdict=j.verdict,
            refusal_code=None if j.refusal is None else j.refusal.value,
            detail=j.detail,
            due_date=j.due_date,
            deadline=j.deadline,
            unpaid_gross=j.unpaid_gross,
            unpaid_net=j.unpaid_net,
        )
        for j in judged
    )
    uow.ledger.add_overdue_notification(
        id=notification_id, policy_id=policy.id, buyer_id=buyer.id, notified_on=on, by=by, at=at
    )
    uow.claims.add_notification_lines(notification_id, lines)
    notification = OverdueNotification(notification_id, policy.id, buyer.id, on, by, at, lines)
    status = notification_status(judged)
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="overdue.notified",
        object_type="overdue_notification",
        object_id=notification_id,
        summary={
            "policy": policy.number,
            "buyer_id": buyer.id,
            "on": on.isoformat(),
            "status": status.value,
            "invoices": {line.invoice_number: line.refusal_code or "accepted" for line in lines},
        },
    )
    case_id = _open_collection(uow, clock, actor, policy, buyer, notification_id, on, judged)
    after_change(uow, clock, actor, policy, [buyer.id])
    return NotificationResult(notification, judged, status, case_id)


def _open_collection(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    policy: Policy,
    buyer: Buyer,
    notification_id: str,
    on: date,
    judged: Sequence[NotifiedInvoice],
) -> str | None:
    """The file goes to the insurer's collectors: guaranteed debts are the accepted invoices."""
    from tradecover.services import collection

    debts = [
        collection.CaseDebt(
            invoice_id=j.invoice.id,
            number=j.invoice.number,
            issue_date=j.invoice.issue_date,
            due_date=j.due_date,
            amount_incl_vat=j.invoice.amount_incl_vat,
            unpaid_amount=j.unpaid_gross,
            guaranteed=j.verdict is LineVerdict.ACCEPTED,
        )
        for j in judged
        # A case collects in the policy currency: debts in another currency stay with the insured's own
        # collection (they are still notified, and a claim converts them at the notification date's rate).
        if j.refusal not in NOTHING_TO_NOTIFY and j.invoice.currency == policy.currency
    ]
    if not debts:
        return None
    case = collection.open_case(
        uow,
        clock,
        actor,
        policy_id=policy.id,
        buyer_id=buyer.id,
        notification_id=notification_id,
        opened_on=on,
        debts=debts,
    )
    return case.id


def extend_payment_term(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    invoice_number: str,
    new_due_date: date,
    reason: str | None = None,
) -> PaymentTermExtension:
    """Record an extension the insured granted; beyond the allowance the invoice is no longer covered."""
    require(actor, Permission.OVERDUE_NOTIFY)
    policy = policy_to_act_on(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    on = policy_today(uow, clock, policy)
    item = next((i for i in _items(uow, policy, buyer.id, on) if i.invoice.number == invoice_number), None)
    if item is None:
        raise InvalidInput(
            f"invoice {invoice_number!r} is not in this buyer's ledger on this policy",
            code="overdue.unknown_invoice",
            field="invoice_number",
        )
    if any(
        line.invoice_id == item.invoice.id
        for n in uow.claims.notifications_of(policy.id, buyer.id)
        for line in n.accepted
    ):
        raise RuleBroken(
            "the invoice was already notified as overdue: its terms can no longer be extended",
            code="overdue.extension_after_notification",
            field="invoice_number",
        )
    extensions = uow.claims.extensions_of(policy.id, buyer.id)
    current = effective_due_date(item.invoice, extensions)
    _, terms = cover_conditions(uow, policy, buyer, on, None)
    publication, _ = insolvency_dates(uow, buyer.id)
    deadline = notification_deadline(
        issue_date=item.invoice.issue_date,
        due_date=current,
        max_credit_period_days=terms.max_credit_period_days,
        overdue_notification_days=terms.overdue_notification_days,
        insolvency_publication_date=publication,
        insolvency_notification_days=terms.insolvency_notification_days,
    )
    if deadline_passed(deadline, on):
        raise RuleBroken(
            f"the invoice's notification deadline {deadline} has passed: its cover is lost, an extension cannot "
            "restore it",
            code="overdue.extension_after_deadline",
            field="new_due_date",
            context={"deadline": deadline.isoformat()},
        )
    within = check_extension(
        item.invoice, new_due_date, max_extension_days=terms.max_extension_days, current_due_date=current
    )
    extension = PaymentTermExtension(
        id=new_id(),
        policy_id=policy.id,
        buyer_id=buyer.id,
        invoice_id=item.invoice.id,
        invoice_number=item.invoice.number,
        original_due_date=item.invoice.due_date,
        new_due_date=new_due_date,
        granted_on=on,
        within_allowance=within,
        reason=reason,
    )
    uow.claims.add_extension(extension, by=actor.audit_label(policy.policyholder_id), at=clock.now())
    record(
        uow,
        clock,
        actor,
        tenant=policy.policyholder_id,
        action="overdue.term_extended",
        object_type="invoice",
        object_id=item.invoice.id,
        summary={
            "policy": policy.number,
            "invoice": item.invoice.number,
            "from": current.isoformat(),
            "to": new_due_date.isoformat(),
            "within_allowance": within,
        },
        reason=reason,
    )
    after_change(uow, clock, actor, policy, [buyer.id])
    return extension


def list_notifications(
    uow: UnitOfWork, actor: Actor, *, policy_id: str | None, buyer_id: str | None, page: Page
) -> tuple[list[OverdueNotification], int]:
    """Notifications the actor may see: the insurer's staff all, an insured its own, a broker its mandates'."""
    if policy_id is not None:
        policy = get_policy(uow, actor, policy_id)
        found = uow.claims.notifications_of(policy.id, buyer_id)
        found.reverse()
        return found[page.offset : page.offset + page.limit], len(found)
    visible = visible_organisations(actor)
    policy_ids: list[str] | None = None
    if visible is not None:
        policy_ids = []
        for organisation_id in sorted(visible):
            policies, _ = uow.policies.list_page(policyholder_ids=frozenset({organisation_id}), page=Page(limit=10_000))
            policy_ids.extend(p.id for p in policies)
    return uow.claims.notifications_of_policies(policy_ids, buyer_id=buyer_id, offset=page.offset, limit=page.limit)


def get_notification(uow: UnitOfWork, actor: Actor, notification_id: str) -> OverdueNotification:
    notification = uow.claims.get_notification(notification_id)
    if notification is None:
        raise NotFound(
            f"overdue notification {notification_id} not found",
            code="overdue_notification.not_found",
            context={"id": notification_id},
        )
    try:
        get_policy(uow, actor, notification.policy_id)
    except NotFound:
        raise NotFound(
            f"overdue notification {notification_id} not found",
            code="overdue_notification.not_found",
            context={"id": notification_id},
        ) from None
    return notification


def list_extensions(
    uow: UnitOfWork, actor: Actor, policy_id: str, *, buyer_id: str | None
) -> list[PaymentTermExtension]:
    policy = get_policy(uow, actor, policy_id)
    if buyer_id is not None:
        return uow.claims.extensions_of(policy.id, buyer_id)
    return [e for b in uow.ledger.buyers_with_entries(policy.id) for e in uow.claims.extensions_of(policy.id, b)]


@dataclass(frozen=True)
class NotifiableInvoice:
    """An unpaid invoice of the insured that a notification may name."""

    policy_id: str
    policy_number: str
    buyer_id: str
    buyer_name: str
    item: OpenItem
    due_date: date
    days_overdue: int

    @property
    def invoice_id(self) -> str:
        return self.item.invoice.id

    @property
    def number(self) -> str:
        return self.item.invoice.number


def notifiable_invoices(
    uow: UnitOfWork, clock: Clock, actor: Actor, *, overdue_only: bool, max_policies: int = 100
) -> list[NotifiableInvoice]:
    """The actor's unpaid invoices over the policies it may read — past due and not yet accepted in a
    notification, if ``overdue_only`` — sorted by buyer, policy, due date and number."""
    held, _ = list_policies(uow, actor, Page(limit=max_policies))
    found: list[NotifiableInvoice] = []
    for policy in held:
        on = policy_today(uow, clock, policy)
        for buyer_id in uow.ledger.buyers_with_entries(policy.id):
            buyer = uow.buyers.get(buyer_id)
            extensions = uow.claims.extensions_of(policy.id, buyer_id)
            accepted = {
                line.invoice_id for n in uow.claims.notifications_of(policy.id, buyer_id) for line in n.accepted
            }
            for item in _items(uow, policy, buyer_id, on):
                due = effective_due_date(item.invoice, extensions)
                if overdue_only and (item.open_gross_minor <= 0 or due >= on or item.invoice.id in accepted):
                    continue
                found.append(
                    NotifiableInvoice(
                        policy.id,
                        policy.number,
                        buyer_id,
                        buyer.legal_name if buyer is not None else buyer_id,
                        item,
                        due,
                        max((on - due).days, 0),
                    )
                )
    found.sort(key=lambda c: (c.buyer_name, c.policy_number, c.due_date, c.number))
    return found
