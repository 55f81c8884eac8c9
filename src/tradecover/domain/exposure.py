"""Covered exposure (DOMAIN.md §6) and the order check.

The rule: split time into the periods during which one limit amount was in
force (a cancellation is a period with limit 0; before the first limit, the
discretionary limit if it applies, else 0). For each period k, O_k is the
outstanding of the covered invoices delivered before the end of period k;
covered exposure = max over k of min(O_k, L_k). Amounts exclude VAT (the
indemnity of §8 is computed excluding VAT from this same rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from tradecover.domain.credit_limits import LimitPeriod
from tradecover.domain.deadlines import deadline_passed, notification_deadline
from tradecover.domain.money import Money
from tradecover.domain.receivables import Dispute, Invoice


class Ineligibility(StrEnum):
    """Why an unpaid invoice is outside the cover (DOMAIN.md §6 "covered invoice")."""

    TERMS_TOO_LONG = "terms_too_long"
    OUTSIDE_POLICY_PERIOD = "outside_policy_period"
    DELIVERED_AFTER_TERMINATION = "delivered_after_termination"  # on or after the policy's termination date
    DELIVERED_AFTER_OVERDUE_NOTIFICATION = "delivered_after_overdue_notification"
    DISPUTED = "disputed"
    BUYER_NOT_COVERABLE = "buyer_not_coverable"
    NO_EXCHANGE_RATE = "no_exchange_rate"
    NOTIFICATION_DEADLINE_PASSED = "notification_deadline_passed"  # overdue and never notified in time: cover lost


@dataclass(frozen=True)
class CoverConditions:
    """What decides whether one invoice is covered, besides the limit."""

    max_credit_period_days: int
    policy_periods: tuple[tuple[date, date], ...]  # the policy's insurance periods, [start, end)
    stop_ship_from: date | None  # date of the first overdue notification on the buyer
    buyer_excluded: bool  # never coverable: country, public body, private individual, own group
    # DOMAIN.md §7: an overdue invoice not notified by its deadline has lost its cover. None: not checked
    # (the overdue notification judges its invoices itself).
    overdue_notification_days: int | None = None
    insolvency_notification_days: int = 30
    insolvency_published_on: date | None = None
    notified_invoice_ids: frozenset[str] = frozenset()  # accepted in a notification: their cover holds
    extended_due_dates: Mapping[str, date] = field(default_factory=dict)  # invoice id -> due date after extension
    # DOMAIN.md §3: from the termination date no delivery is covered; earlier ones stay covered (run-off).
    termination_date: date | None = None


def ineligibility(
    invoice: Invoice, conditions: CoverConditions, disputes: Sequence[Dispute], on: date
) -> Ineligibility | None:
    if invoice.terms_days > conditions.max_credit_period_days:
        return Ineligibility.TERMS_TOO_LONG
    if not any(start <= invoice.delivery_date < end for start, end in conditions.policy_periods):
        return Ineligibility.OUTSIDE_POLICY_PERIOD
    if conditions.termination_date is not None and invoice.delivery_date >= conditions.termination_date:
        return Ineligibility.DELIVERED_AFTER_TERMINATION
    if conditions.stop_ship_from is not None and invoice.delivery_date > conditions.stop_ship_from:
        return Ineligibility.DELIVERED_AFTER_OVERDUE_NOTIFICATION
    if any(d.invoice_number == invoice.number and d.open_on(on) for d in disputes):
        return Ineligibility.DISPUTED
    if conditions.buyer_excluded:
        return Ineligibility.BUYER_NOT_COVERABLE
    if conditions.overdue_notification_days is not None and invoice.id not in conditions.notified_invoice_ids:
        deadline = notification_deadline(
            issue_date=invoice.issue_date,
            due_date=conditions.extended_due_dates.get(invoice.id, invoice.due_date),
            max_credit_period_days=conditions.max_credit_period_days,
            overdue_notification_days=conditions.overdue_notification_days,
            insolvency_publication_date=conditions.insolvency_published_on,
            insolvency_notification_days=conditions.insolvency_notification_days,
        )
        if deadline_passed(deadline, on):
            return Ineligibility.NOTIFICATION_DEADLINE_PASSED
    return None


@dataclass(frozen=True)
class ExposureLine:
    """One unpaid invoice in the policy currency, with why it is not covered (if it is not)."""

    invoice_id: str
    number: str
    delivery_date: date
    due_date: date
    currency: str  # the invoice's own
    open_net: Money  # policy currency
    reason: Ineligibility | None


def periods_with_discretionary(periods: Sequence[LimitPeriod], discretionary: Money) -> list[LimitPeriod]:
    """The limit's periods, preceded by the time before the first limit (discretionary cover, or zero)."""
    if not periods:
        return [LimitPeriod(date.min, None, discretionary)]
    return [LimitPeriod(date.min, periods[0].start, discretionary), *periods]


def covered_exposure(lines: Sequence[ExposureLine], periods: Sequence[LimitPeriod], currency: str) -> Money:
    """max over k of min(O_k, L_k), O_k = eligible outstanding delivered before the end of period k.

    DOMAIN.md §5: a new or increased limit covers the deliveries made before it only if they were not
    overdue on its date; so a period that raises the limit leaves out of O_k the earlier deliveries
    already past due at its start: from then on they count only up to the amount in force before that
    raise (they stay covered by the former amount), in that period and in every later one.
    """
    eligible = sorted(
        (line.delivery_date, line.due_date, line.open_net.to_minor()) for line in lines if line.reason is None
    )
    best = 0
    index = 0
    delivered = 0
    previous = 0
    left_out = [False] * len(eligible)
    left_out_open = 0  # what remains unpaid of the deliveries a raise left out
    left_out_counted = 0  # how much of it counts: at most the amount in force before the raise
    for period in sorted(periods, key=lambda p: p.start):
        while index < len(eligible) and (period.end is None or eligible[index][0] < period.end):
            delivered += eligible[index][2]
            index += 1
        amount = period.amount.to_minor()
        if amount > previous:
            newly = 0
            for position, (delivery, due, open_minor) in enumerate(eligible[:index]):
                if not left_out[position] and delivery < period.start and due < period.start:
                    left_out[position] = True
                    newly += open_minor
            left_out_open += newly
            left_out_counted = min(left_out_counted + newly, previous)
        best = max(best, min(delivered - left_out_open + left_out_counted, amount))
        previous = amount
    return Money.from_minor(best, currency)


@dataclass(frozen=True)
class BuyerExposure:
    buyer_id: str
    currency: str
    outstanding: Money  # every unpaid invoice, excluding VAT, policy currency
    covered: Money
    limit_in_force: Money
    lines: tuple[ExposureLine, ...]
    unconverted: tuple[str, ...] = ()  # invoice numbers with no exchange rate

    @property
    def uncovered(self) -> Money:
        return self.outstanding - self.covered

    @property
    def utilisation(self) -> Decimal | None:
        """Outstanding ÷ limit in force (None without a limit)."""
        if not self.limit_in_force.is_positive():
            return None
        return (self.outstanding.amount / self.limit_in_force.amount).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def buyer_exposure(
    buyer_id: str,
    lines: Sequence[ExposureLine],
    periods: Sequence[LimitPeriod],
    limit_in_force: Money,
    currency: str,
) -> BuyerExposure:
    outstanding = sum(
        (line.open_net.to_minor() for line in lines if line.reason is not Ineligibility.NO_EXCHANGE_RATE), 0
    )
    unconverted = tuple(line.number for line in lines if line.reason is Ineligibility.NO_EXCHANGE_RATE)
    return BuyerExposure(
        buyer_id=buyer_id,
        currency=currency,
        outstanding=Money.from_minor(outstanding, currency),
        covered=covered_exposure(lines, periods, currency),
        limit_in_force=limit_in_force,
        lines=tuple(lines),
        unconverted=unconverted,
    )


# --- Order check ----------------------------------------------------------------------------------------------


class OrderCover(StrEnum):
    COVERED = "covered"
    PARTIALLY_COVERED = "partially_covered"
    NOT_COVERED = "not_covered"


class OrderReason(StrEnum):
    WITHIN_LIMIT = "within_limit"
    LIMIT_EXCEEDED = "limit_exceeded"
    NO_LIMIT = "no_limit"
    OVERDUE_NOTIFICATION = "overdue_notification"
    OPEN_DISPUTE = "open_dispute"
    GRADE = "grade"
    BUYER_NOT_COVERABLE = "buyer_not_coverable"
    POLICY_NOT_IN_FORCE = "policy_not_in_force"


@dataclass(frozen=True)
class OrderCheck:
    status: OrderCover
    covered: Money
    headroom: Money  # limit in force − (unpaid invoices + open orders), never below zero
    limit_in_force: Money
    unpaid: Money
    open_orders: Money
    reasons: tuple[OrderReason, ...]


WATCH_GRADE = 8  # grades 8 and worse are worth a word to the credit manager; from 9 the buyer is not coverable


def check_order(
    *,
    amount: Money,
    limit_in_force: Money,
    unpaid: Money,
    open_orders: Money,
    stop_ship: bool,
    open_disputes: int,
    grade: int | None,
    not_coverable: bool,
    policy_in_force: bool,
) -> OrderCheck:
    """Does an order of ``amount`` to the buyer fit under its limit (DOMAIN.md §6 order check)?"""
    zero = Money.zero(amount.currency)
    raw = limit_in_force - unpaid - open_orders
    headroom = raw if raw.is_positive() else zero
    reasons: list[OrderReason] = []
    blocked = False
    if not policy_in_force:
        reasons.append(OrderReason.POLICY_NOT_IN_FORCE)
        blocked = True
    if stop_ship:
        reasons.append(OrderReason.OVERDUE_NOTIFICATION)
        blocked = True
    if not_coverable:
        reasons.append(OrderReason.BUYER_NOT_COVERABLE)
        blocked = True
    if grade is not None and grade >= WATCH_GRADE:
        reasons.append(OrderReason.GRADE)
    if open_disputes:
        reasons.append(OrderReason.OPEN_DISPUTE)
    if not limit_in_force.is_positive():
        reasons.insert(0, OrderReason.NO_LIMIT)
        blocked = True
    covered = zero if blocked else Money.min_of(amount, headroom)
    if not blocked:
        reasons.insert(0, OrderReason.WITHIN_LIMIT if covered == amount else OrderReason.LIMIT_EXCEEDED)
    if covered == amount and covered.is_positive():
        status = OrderCover.COVERED
    elif covered.is_positive():
        status = OrderCover.PARTIALLY_COVERED
    else:
        status = OrderCover.NOT_COVERED
    return OrderCheck(status, covered, headroom, limit_in_force, unpaid, open_orders, tuple(reasons))
