"""The overdue notification (*déclaration de menace de sinistre*, DOMAIN.md §7).

The insured declares a buyer's overdue invoices. Each invoice is accepted —
covered and notified in time, it becomes part of a possible claim — or refused
with its reason. The notification itself is a fact: from its date, later
deliveries to the buyer are not covered (stop-ship) and a collection case
opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tradecover.domain.deadlines import (
    deadline_passed,
    extension_within_allowance,
    notification_deadline,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.exposure import CoverConditions, Ineligibility, ineligibility
from tradecover.domain.money import Money
from tradecover.domain.receivables import Dispute, Invoice


class LineVerdict(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


class NotificationStatus(StrEnum):
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REFUSED = "refused"


class Refusal(StrEnum):
    """Why a notified invoice is refused; the value is the stable code."""

    DEADLINE_PASSED = "overdue.deadline_passed"  # the cover is lost
    NOT_COVERED = "overdue.not_covered"
    DISPUTED = "overdue.disputed"
    NOT_OVERDUE = "overdue.not_overdue"
    PAID = "overdue.invoice_paid"
    ALREADY_NOTIFIED = "overdue.already_notified"
    EXTENDED_BEYOND_ALLOWANCE = "overdue.extended_beyond_allowance"


@dataclass(frozen=True)
class PaymentTermExtension:
    """The insured granted the buyer a later due date on one invoice (*prorogation*, DOMAIN.md §3)."""

    id: str
    policy_id: str
    buyer_id: str
    invoice_id: str
    invoice_number: str
    original_due_date: date
    new_due_date: date
    granted_on: date
    within_allowance: bool
    reason: str | None


def effective_due_date(invoice: Invoice, extensions: Sequence[PaymentTermExtension]) -> date:
    """The due date after the latest extension of this invoice (the invoice's own without one)."""
    mine = [e for e in extensions if e.invoice_id == invoice.id]
    if not mine:
        return invoice.due_date
    return max(mine, key=lambda e: (e.granted_on, e.new_due_date)).new_due_date


def check_extension(invoice: Invoice, new_due_date: date, *, max_extension_days: int, current_due_date: date) -> bool:
    """Whether an extension stays within the allowance counted from the invoice's original due date."""
    if new_due_date <= current_due_date:
        raise InvalidInput(
            f"the new due date {new_due_date} is not after the current one {current_due_date}",
            code="overdue.extension_not_later",
            field="new_due_date",
        )
    return extension_within_allowance(
        original_due_date=invoice.due_date, new_due_date=new_due_date, max_extension_days=max_extension_days
    )


@dataclass(frozen=True)
class NotifiedInvoice:
    """One invoice as the notification saw it."""

    invoice: Invoice
    unpaid_gross: Money  # including VAT, the invoice's currency, on the notification date
    unpaid_net: Money  # excluding VAT
    due_date: date  # after extensions
    deadline: date | None  # last day to notify it (None when it was not overdue)
    verdict: LineVerdict
    refusal: Refusal | None
    detail: str | None  # e.g. the exposure rule's reason for "not covered"


@dataclass(frozen=True)
class NotificationTerms:
    max_credit_period_days: int
    overdue_notification_days: int
    insolvency_notification_days: int
    max_extension_days: int


def judge_invoice(
    invoice: Invoice,
    *,
    unpaid_gross: Money,
    unpaid_net: Money,
    on: date,
    terms: NotificationTerms,
    conditions: CoverConditions,
    disputes: Sequence[Dispute],
    extensions: Sequence[PaymentTermExtension],
    insolvency_publication_date: date | None,
    already_notified: bool,
) -> NotifiedInvoice:
    """Accept or refuse one invoice of a notification made on ``on``.

    The order of the checks is the order of the reasons a claims handler gives: nothing to notify
    (paid, not due — unless the buyer's insolvency is published —, already notified), then the cover
    (not covered, disputed, extended too far), then the deadline — an invoice notified late loses its
    cover whatever else holds.
    """
    due = effective_due_date(invoice, extensions)
    mine = [e for e in extensions if e.invoice_id == invoice.id]

    def line(refusal: Refusal | None, deadline: date | None, detail: str | None = None) -> NotifiedInvoice:
        verdict = LineVerdict.ACCEPTED if refusal is None else LineVerdict.REFUSED
        return NotifiedInvoice(invoice, unpaid_gross, unpaid_net, due, deadline, verdict, refusal, detail)

    if not unpaid_gross.is_positive():
        return line(Refusal.PAID, None)
    # Once the buyer's insolvency is published every invoice must be notified within its 30 days (§7),
    # those not yet due included: otherwise one falling due after that deadline could never keep its cover.
    published = insolvency_publication_date is not None and insolvency_publication_date <= on
    if due >= on and not published:
        return line(Refusal.NOT_OVERDUE, None, f"due on {due}")
    deadline = notification_deadline(
        issue_date=invoice.issue_date,
        due_date=due,
        max_credit_period_days=terms.max_credit_period_days,
        overdue_notification_days=terms.overdue_notification_days,
        insolvency_publication_date=insolvency_publication_date,
        insolvency_notification_days=terms.insolvency_notification_days,
    )
    if already_notified:
        return line(Refusal.ALREADY_NOTIFIED, deadline)
    reason = ineligibility(invoice, conditions, disputes, on)
    if reason is Ineligibility.DISPUTED:
        return line(Refusal.DISPUTED, deadline)
    if reason is not None:
        return line(Refusal.NOT_COVERED, deadline, reason.value)
    if any(not e.within_allowance for e in mine):
        return line(Refusal.EXTENDED_BEYOND_ALLOWANCE, deadline, f"beyond {terms.max_extension_days} days")
    if deadline_passed(deadline, on):
        return line(Refusal.DEADLINE_PASSED, deadline, f"deadline was {deadline}")
    return line(None, deadline)


def notification_status(lines: Sequence[NotifiedInvoice]) -> NotificationStatus:
    accepted = sum(1 for line in lines if line.verdict is LineVerdict.ACCEPTED)
    if accepted == len(lines) and accepted:
        return NotificationStatus.ACCEPTED
    if accepted:
        return NotificationStatus.PARTIALLY_ACCEPTED
    return NotificationStatus.REFUSED


#: Refusals that mean the invoice had nothing to notify: a notification made only of these is refused whole.
NOTHING_TO_NOTIFY = frozenset({Refusal.PAID, Refusal.NOT_OVERDUE, Refusal.ALREADY_NOTIFIED})


@dataclass(frozen=True)
class NotificationLine:
    """One invoice of a recorded notification."""

    id: str
    invoice_id: str
    invoice_number: str
    verdict: LineVerdict
    refusal_code: str | None
    detail: str | None
    due_date: date
    deadline: date | None
    unpaid_gross: Money
    unpaid_net: Money


@dataclass(frozen=True)
class OverdueNotification:
    id: str
    policy_id: str
    buyer_id: str
    notified_on: date
    recorded_by: str
    recorded_at: datetime
    lines: tuple[NotificationLine, ...] = ()

    @property
    def status(self) -> NotificationStatus:
        accepted = sum(1 for line in self.lines if line.verdict is LineVerdict.ACCEPTED)
        if self.lines and accepted == len(self.lines):
            return NotificationStatus.ACCEPTED
        return NotificationStatus.PARTIALLY_ACCEPTED if accepted else NotificationStatus.REFUSED

    @property
    def accepted(self) -> tuple[NotificationLine, ...]:
        return tuple(line for line in self.lines if line.verdict is LineVerdict.ACCEPTED)
