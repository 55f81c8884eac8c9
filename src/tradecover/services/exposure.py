"""Covered exposure, aged balance, DSO, payment experience and the order check (DOMAIN.md §6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import (
    BuyerRiskView,
    LimitDecision,
    LimitPeriod,
    PaymentExperience,
    amount_in_force,
    coverability,
    discretionary_cover,
    limit_periods,
)
from tradecover.domain.errors import InvalidInput
from tradecover.domain.exposure import (
    BuyerExposure,
    CoverConditions,
    ExposureLine,
    Ineligibility,
    OrderCheck,
    buyer_exposure,
    check_order,
    ineligibility,
    periods_with_discretionary,
)
from tradecover.domain.identifiers import IdentifierKind
from tradecover.domain.money import Money
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy, is_terminated, terms_in_force
from tradecover.domain.receco import ReasonCode
from tradecover.domain.receivables import (
    AgedBalance,
    Dispute,
    Invoice,
    Payment,
    PaymentBehaviour,
    Settlement,
    aged_balance,
    combine_aged,
    days_sales_outstanding,
    payment_behaviour,
    settle,
)
from tradecover.domain.terms import PolicyTerms
from tradecover.services.authorization import Actor, ensure_can_read
from tradecover.services.buyers import get_buyer
from tradecover.services.ledger import buyer_of_policy, order_expiry, policy_to_act_on
from tradecover.services.ledger_ports import OpenOrder
from tradecover.services.policies import get_policy
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import new_id

# Reasons that make a buyer never coverable whatever its limit; grade and insolvency act through the limits.
STATIC_EXCLUSIONS = frozenset(
    {ReasonCode.COUNTRY_NOT_COVERED, ReasonCode.PUBLIC_BODY, ReasonCode.PRIVATE_INDIVIDUAL, ReasonCode.OWN_GROUP}
)


@dataclass
class PolicyBook:
    """Everything the exposure rule reads for one policy on one date."""

    policy: Policy
    terms: PolicyTerms
    holder_siren: str | None
    on: date


def policy_book(uow: UnitOfWork, actor: Actor, policy_id: str, on: date) -> PolicyBook:
    return book_of(uow, get_policy(uow, actor, policy_id), on)


def book_of(uow: UnitOfWork, policy: Policy, on: date) -> PolicyBook:
    versions = uow.policies.terms_versions(policy.id)
    first = min(v.effective_date for v in versions)
    terms = terms_in_force(versions, max(on, first)).terms
    holder = uow.organisations.get(policy.policyholder_id)
    return PolicyBook(policy, terms, None if holder is None else holder.siren, on)


class RateBook:
    """Converts amounts to the policy currency at the latest rate published on or before a date."""

    def __init__(self, uow: UnitOfWork, quote: str, on: date) -> None:
        self.uow = uow
        self.quote = quote
        self.on = on
        self._cache: dict[str, Decimal | None] = {}

    def rate(self, currency: str) -> Decimal | None:
        if currency == self.quote:
            return Decimal(1)
        if currency not in self._cache:
            direct = self.uow.ledger.rate(currency, self.quote, self.on)
            if direct is not None:
                self._cache[currency] = direct[1]
            else:
                inverse = self.uow.ledger.rate(self.quote, currency, self.on)
                self._cache[currency] = None if inverse is None else Decimal(1) / inverse[1]
        return self._cache[currency]

    def convert_minor(self, minor: int, currency: str) -> int | None:
        rate = self.rate(currency)
        if rate is None:
            return None
        amount = Money.from_minor(minor, currency).amount * rate
        return Money(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), self.quote).round().to_minor()


def identity_view(buyer: Buyer) -> BuyerRiskView:
    """What coverability and the discretionary cover read of a buyer: its identity, status and grade.

    The exposure rule needs no capacity, so no statement or override is read (one query less per buyer).
    """
    return BuyerRiskView(
        buyer_id=buyer.id,
        country=buyer.country,
        legal_status=buyer.legal_status,
        risk_grade=buyer.risk_grade,
        legal_form=buyer.legal_form,
        siren=buyer.identifier(IdentifierKind.SIREN),
        naf_code=buyer.naf_code,
        equity=None,
        turnover=None,
        capacity_override=None,
    )


def experience_for_discretion(behaviour: PaymentBehaviour) -> PaymentExperience | None:
    if behaviour.trading_since is None:
        return None
    return PaymentExperience(behaviour.trading_since, behaviour.max_days_overdue_12_months)


def _buyer_exposure(
    uow: UnitOfWork,
    book: PolicyBook,
    buyer: Buyer,
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    disputes: Sequence[Dispute],
    reversed_ids: frozenset[str],
    history: Sequence[LimitDecision],
    stop_ship_from: date | None,
    rates: RateBook,
    notified: frozenset[str] = frozenset(),
    insolvency_published_on: date | None = None,
    extended: Mapping[str, date] | None = None,
) -> BuyerExposure:
    currency = book.policy.currency
    on = book.on
    settlements = settle(invoices, payments, on=on, reversed_ids=reversed_ids)
    view = identity_view(buyer)
    excluded = coverability(view, covered_countries=book.terms.covered_countries, policyholder_siren=book.holder_siren)
    conditions = CoverConditions(
        max_credit_period_days=book.terms.max_credit_period_days,
        policy_periods=tuple((p.start, p.end) for p in book.policy.periods),
        stop_ship_from=stop_ship_from,
        buyer_excluded=excluded in STATIC_EXCLUSIONS,
        overdue_notification_days=book.terms.overdue_notification_days,
        insolvency_notification_days=book.terms.insolvency_notification_days,
        insolvency_published_on=insolvency_published_on,
        notified_invoice_ids=notified,
        extended_due_dates=extended or {},
        termination_date=book.policy.termination_date,
    )
    lines: list[ExposureLine] = []
    for settlement in settlements.values():
        for item in settlement.open_items:
            converted = rates.convert_minor(item.open_net_minor, item.invoice.currency)
            reason = (
                Ineligibility.NO_EXCHANGE_RATE
                if converted is None
                else ineligibility(item.invoice, conditions, disputes, on)
            )
            lines.append(
                ExposureLine(
                    invoice_id=item.invoice.id,
                    number=item.invoice.number,
                    delivery_date=item.invoice.delivery_date,
                    due_date=item.invoice.due_date,
                    currency=item.invoice.currency,
                    open_net=Money.from_minor(converted or 0, currency),
                    reason=reason,
                )
            )
    periods, in_force = cover_periods(book, buyer, invoices, payments, reversed_ids, history, on, settlements)
    return buyer_exposure(buyer.id, lines, periods, in_force, currency)


def cover_periods(
    book: PolicyBook,
    buyer: Buyer,
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    reversed_ids: frozenset[str],
    history: Sequence[LimitDecision],
    on: date,
    settlements: dict[str, Settlement] | None = None,
) -> tuple[list[LimitPeriod], Money]:
    """The limit periods of the covered-exposure rule up to ``on`` (the discretionary cover first) and the
    amount in force on ``on``."""
    currency = book.policy.currency
    view = identity_view(buyer)
    decided = [d for d in history if d.effective_date <= on]
    first_decision = min((d.effective_date for d in decided), default=None)
    discretion_on = on if first_decision is None else min(on, first_decision)
    # The ledger as of the first decision; without one, the settlement just made is that ledger.
    as_of_discretion = (
        settlements
        if discretion_on == on and settlements is not None
        else settle(invoices, payments, on=discretion_on, reversed_ids=reversed_ids)
    )
    behaviour = payment_behaviour(as_of_discretion.values(), on=discretion_on)
    discretionary = discretionary_cover(
        discretionary_limit=book.terms.discretionary_limit or Money.zero(currency),
        buyer=view,
        has_insurer_decision=False,
        experience=experience_for_discretion(behaviour),
        on=discretion_on,
        covered_countries=book.terms.covered_countries,
        policyholder_siren=book.holder_siren,
    )
    periods = periods_with_discretionary(limit_periods(decided, currency, until=on), discretionary)
    in_force = amount_in_force(decided, on, currency) if decided else discretionary
    return periods, in_force


@dataclass(frozen=True)
class PolicyExposure:
    policy_id: str
    policy_number: str
    currency: str
    on: date
    terms: PolicyTerms
    buyers: list[tuple[Buyer, BuyerExposure]]
    invoices: dict[str, list[Invoice]]

    def total(self, name: str) -> Money:
        total = Money.zero(self.currency)
        for _, exposure in self.buyers:
            total = total + getattr(exposure, name)
        return total


def policy_exposure(
    uow: UnitOfWork, actor: Actor, policy_id: str, *, on: date, buyer_id: str | None = None
) -> PolicyExposure:
    """Outstanding, covered and uncovered per buyer of the policy on ``on`` (and totals)."""
    policy = get_policy(uow, actor, policy_id)
    if buyer_id is not None:
        get_buyer(uow, actor, buyer_id)
    return exposures_of_policy(uow, policy, on=on, buyer_ids=None if buyer_id is None else [buyer_id])


def exposures_of_policy(
    uow: UnitOfWork, policy: Policy, *, on: date, buyer_ids: Sequence[str] | None = None
) -> PolicyExposure:
    book = book_of(uow, policy, on)
    ids = list(buyer_ids) if buyer_ids is not None else uow.ledger.buyers_with_entries(policy.id)
    invoices, payments = uow.ledger.entries(policy.id, ids)
    reversed_ids = uow.ledger.reversed_ids(policy.id)
    disputes: dict[str, list[Dispute]] = {}
    for d in uow.ledger.disputes(policy.id):
        disputes.setdefault(d.buyer_id, []).append(d)
    stop_ship = uow.ledger.first_overdue_notifications(policy.id)
    notified = uow.claims.accepted_invoice_ids(policy.id)
    extended: dict[str, date] = {}
    for extension in uow.claims.extensions_of(policy.id, None):  # in the order granted: the latest wins
        extended[extension.invoice_id] = extension.new_due_date
    published: dict[str, date] = {}
    for started in uow.monitoring.clocks_of_organisation(policy.policyholder_id):
        known = published.get(started.buyer_id)
        published[started.buyer_id] = (
            started.publication_date if known is None else min(known, started.publication_date)
        )
    decisions: dict[str, list[LimitDecision]] = {}
    for decision in uow.limits.decisions_of_policy(policy.id):
        decisions.setdefault(decision.buyer_id, []).append(decision)
    rates = RateBook(uow, policy.currency, on)
    out: list[tuple[Buyer, BuyerExposure]] = []
    buyers = uow.buyers.get_many(ids)
    for bid in ids:
        buyer = buyers.get(bid)
        if buyer is None:
            continue
        exposure = _buyer_exposure(
            uow,
            book,
            buyer,
            invoices.get(bid, []),
            payments.get(bid, []),
            disputes.get(bid, []),
            reversed_ids,
            decisions.get(bid, []),
            stop_ship.get(bid),
            rates,
            notified,
            published.get(bid),
            extended,
        )
        out.append((buyer, exposure))
    return PolicyExposure(policy.id, policy.number, policy.currency, on, book.terms, out, dict(invoices))


# --- Aged balance and DSO --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgedReport:
    policy_id: str
    policy_number: str
    on: date
    currency: str
    buyers: list[tuple[Buyer, AgedBalance, Decimal | None]]  # with DSO
    total: AgedBalance
    dso: Decimal | None
    other_currencies: dict[str, AgedBalance]


def aged_report(uow: UnitOfWork, actor: Actor, policy_id: str, *, on: date) -> AgedReport:
    """The aged balance per buyer and for the policy, in the policy currency (other currencies apart)."""
    policy = get_policy(uow, actor, policy_id)
    buyer_ids = uow.ledger.buyers_with_entries(policy.id)
    invoices, payments = uow.ledger.entries(policy.id, buyer_ids)
    reversed_ids = uow.ledger.reversed_ids(policy.id)
    rows: list[tuple[Buyer, AgedBalance, Decimal | None]] = []
    others: dict[str, list[AgedBalance]] = {}
    all_invoices: list[Invoice] = []
    receivables = 0
    buyers = uow.buyers.get_many(buyer_ids)
    for bid in buyer_ids:
        buyer = buyers.get(bid)
        if buyer is None:
            continue
        mine = [i for i in invoices.get(bid, []) if i.id not in reversed_ids]
        settlements = settle(mine, payments.get(bid, []), on=on, reversed_ids=reversed_ids)
        for cur, settlement in settlements.items():
            aged = aged_balance(settlement, on)
            if cur != policy.currency:
                others.setdefault(cur, []).append(aged)
                continue
            own = [i for i in mine if i.currency == cur]
            receivables += settlement.unpaid_gross_minor()
            all_invoices.extend(own)
            rows.append((buyer, aged, days_sales_outstanding(settlement.unpaid_gross_minor(), own, on=on)))
    total = combine_aged([a for _, a, _ in rows], policy.currency)
    return AgedReport(
        policy.id,
        policy.number,
        on,
        policy.currency,
        rows,
        total,
        days_sales_outstanding(receivables, all_invoices, on=on),
        {cur: combine_aged(items, cur) for cur, items in others.items()},
    )


# --- Payment experience ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketExperience:
    """A buyer's payment behaviour across every insured, anonymised: counts only, no insured named."""

    insureds_reporting: int
    invoices_paid: int
    invoices_paid_late: int
    average_days_beyond_terms: Decimal | None
    overdue_notifications: int


def payment_experience(
    uow: UnitOfWork, actor: Actor, policy_id: str, buyer_id: str, *, on: date
) -> tuple[PaymentBehaviour, MarketExperience]:
    """The insured's own experience with the buyer, and the market's (anonymised across tenants)."""
    policy = get_policy(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    invoices, payments = uow.ledger.entries(policy.id, [buyer.id])
    own = payment_behaviour(
        settle(
            invoices.get(buyer.id, []),
            payments.get(buyer.id, []),
            on=on,
            reversed_ids=uow.ledger.reversed_ids(policy.id),
        ).values(),
        on=on,
    )
    return own, market_experience(uow, buyer.id)


def market_experience(uow: UnitOfWork, buyer_id: str) -> MarketExperience:
    balances = uow.ledger.experience_by_buyer([buyer_id]).get(buyer_id, [])
    paid = sum(b.invoices_paid for b in balances)
    late = sum(b.invoices_paid_late for b in balances)
    weighted = sum((b.days_beyond_terms * b.invoices_paid for b in balances), Decimal(0))
    insureds = uow.ledger.count_reporting_policies(buyer_id)
    notifications = uow.ledger.count_overdue_notifications(buyer_id)
    return MarketExperience(
        insureds_reporting=insureds,
        invoices_paid=paid,
        invoices_paid_late=late,
        average_days_beyond_terms=(weighted / paid).quantize(Decimal("0.1"), ROUND_HALF_UP) if paid else None,
        overdue_notifications=notifications,
    )


# --- Order check -------------------------------------------------------------------------------------------


def order_check(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policy_id: str,
    buyer_id: str,
    amount: Money,
    reference: str | None = None,
    on: date | None = None,
) -> OrderCheck:
    """Before shipping: does an order of ``amount`` (excluding VAT) fit? Reads the indexed balances only.

    With a ``reference`` and some cover, the order is kept as an open order (until invoiced with that
    order reference, or 30 days), so that the next check counts it.
    """
    on = on or clock.today()
    policy = policy_to_act_on(uow, actor, policy_id) if reference else get_policy(uow, actor, policy_id)
    buyer = buyer_of_policy(uow, actor, policy, buyer_id)
    ensure_can_read(actor, policy.policyholder_id, "policy", policy.id)
    if amount.currency != policy.currency:
        raise InvalidInput(
            f"the order is in {amount.currency}; the policy's currency is {policy.currency}",
            code="order_check.currency_mismatch",
            field="amount",
        )
    if not amount.is_positive() or amount.round() != amount:
        raise InvalidInput(
            "the order amount must be positive, to the cent", code="order_check.invalid_amount", field="amount"
        )
    versions = uow.policies.terms_versions(policy.id)
    terms = terms_in_force(versions, max(on, min(v.effective_date for v in versions))).terms
    history = uow.limits.history(policy.id, buyer.id)
    balances = uow.ledger.balances(policy.id, buyer.id)
    rates = RateBook(uow, policy.currency, on)
    unpaid_minor = 0
    for b in balances:
        converted = rates.convert_minor(b.unpaid_net_minor, b.currency)
        unpaid_minor += converted if converted is not None else 0
    holder = uow.organisations.get(policy.policyholder_id)
    view = identity_view(buyer)
    excluded = coverability(
        view, covered_countries=terms.covered_countries, policyholder_siren=None if holder is None else holder.siren
    )
    if history:
        limit = amount_in_force(history, on, policy.currency)
    else:
        experience = None
        if balances:
            since = min((b.trading_since for b in balances if b.trading_since), default=None)
            if since is not None:
                # The index was computed at the last ledger change: what is still open is overdue as of ``on``.
                overdue_now = max(((on - b.oldest_due_date).days for b in balances if b.oldest_due_date), default=0)
                experience = PaymentExperience(since, max(overdue_now, *(b.max_days_overdue for b in balances)))
        limit = discretionary_cover(
            discretionary_limit=terms.discretionary_limit or Money.zero(policy.currency),
            buyer=view,
            has_insurer_decision=False,
            experience=experience,
            on=on,
            covered_countries=terms.covered_countries,
            policyholder_siren=None if holder is None else holder.siren,
        )
    stop_ship = uow.ledger.first_overdue_notifications_of(policy.id, buyer.id)
    open_orders_minor = uow.ledger.open_orders_minor(policy.id, buyer.id, policy.currency, on)
    kept = uow.ledger.find_order(policy.id, buyer.id, reference.strip()[:100]) if reference else None
    if kept is not None and kept.closed_on is None and kept.expires_on > on and kept.amount.currency == policy.currency:
        open_orders_minor -= kept.amount.to_minor()  # checking a kept order again: it does not count against itself
    result = check_order(
        amount=amount,
        limit_in_force=limit,
        unpaid=Money.from_minor(unpaid_minor, policy.currency),
        open_orders=Money.from_minor(open_orders_minor, policy.currency),
        stop_ship=stop_ship is not None and stop_ship <= on,
        open_disputes=max((b.open_disputes for b in balances), default=0),
        grade=buyer.risk_grade,
        not_coverable=excluded is not None,
        policy_in_force=policy.period_on(on) is not None and not is_terminated(policy, on),
    )
    if reference and result.covered.is_positive():
        reference = reference.strip()[:100]
        if kept is None:
            uow.ledger.add_order(
                OpenOrder(new_id(), policy.id, buyer.id, reference, result.covered, order_expiry(on)), clock.now()
            )
    return result
