"""The invoice ledger of a policy and what follows from it (DOMAIN.md §6).

Entries are immutable facts: an invoice, a credit note, a payment, a dispute
opened or resolved, a reversal. Nothing is edited; a correction is a credit
note or an explicit reversal. From the entries and a date we derive:

* the open items: cash settles the invoices it names first, then the oldest
  (issue date, due date, number), including VAT; each invoice's unpaid part
  excluding VAT keeps the invoice's own ratio of net to gross; cash beyond
  every invoice stays *on account* and settles later invoices;
* the aged balance (not due, 1–30, 31–60, 61–90, > 90 days overdue) and DSO;
* the buyer's payment experience (days beyond terms, share paid late, worst
  delay over twelve months), which the discretionary cover and the grading
  read.

Computation runs on integer minor units (exact, and fast on large ledgers);
the results are ``Money``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money


class EntryKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"


@dataclass(frozen=True)
class Invoice:
    """An invoice (or, with ``kind`` CREDIT_NOTE, a credit note) as recorded; amounts are positive."""

    id: str
    policy_id: str
    buyer_id: str
    kind: EntryKind
    number: str
    issue_date: date
    delivery_date: date
    due_date: date
    amount_excl_vat: Money
    vat_amount: Money
    recorded_at: datetime
    recorded_by: str
    invoice_reference: str | None = None  # a credit note's invoice
    order_reference: str | None = None
    source: str | None = None

    @property
    def currency(self) -> str:
        return self.amount_excl_vat.currency

    @property
    def amount_incl_vat(self) -> Money:
        return self.amount_excl_vat + self.vat_amount

    @property
    def terms_days(self) -> int:
        return (self.due_date - self.issue_date).days


@dataclass(frozen=True)
class Payment:
    """Cash received from the buyer, including VAT."""

    id: str
    policy_id: str
    buyer_id: str
    received_on: date
    amount: Money
    recorded_at: datetime
    recorded_by: str
    reference: str | None = None
    invoices: tuple[str, ...] = ()  # numbers of the invoices it pays first
    source: str | None = None


@dataclass(frozen=True)
class Dispute:
    """A dispute on an invoice; ``resolved_on`` is set once, by a resolution."""

    id: str
    policy_id: str
    buyer_id: str
    invoice_number: str
    opened_on: date
    reason: str | None
    resolved_on: date | None = None

    def open_on(self, on: date) -> bool:
        return self.opened_on <= on and (self.resolved_on is None or on < self.resolved_on)


def validate_invoice_amounts(amount_excl_vat: Money, vat_amount: Money, *, field_prefix: str = "") -> None:
    """The checks every invoice and credit note passes, whatever its source."""
    if amount_excl_vat.currency != vat_amount.currency:
        raise InvalidInput(
            "the VAT is not in the invoice's currency",
            code="ledger.currency_mismatch",
            field=f"{field_prefix}vat_amount",
        )
    for name, money in (("amount_excl_vat", amount_excl_vat), ("vat_amount", vat_amount)):
        if money.is_negative():
            raise InvalidInput(
                f"{name} cannot be negative (record a credit note instead)",
                code="ledger.negative_amount",
                field=f"{field_prefix}{name}",
            )
        if money.round() != money:
            raise InvalidInput(
                f"{name} has more decimals than its currency allows",
                code="ledger.invalid_amount",
                field=f"{field_prefix}{name}",
            )
    if (amount_excl_vat + vat_amount).is_zero():
        raise InvalidInput(
            "an invoice of zero is not an invoice", code="ledger.invalid_amount", field=f"{field_prefix}amount_excl_vat"
        )


def validate_invoice_dates(issue_date: date, delivery_date: date, due_date: date) -> None:
    if due_date < issue_date:
        raise InvalidInput("the due date is before the issue date", code="ledger.invalid_due_date", field="due_date")
    if abs((delivery_date - issue_date).days) > 366:
        raise InvalidInput(
            "the delivery date is more than a year from the issue date",
            code="ledger.invalid_delivery_date",
            field="delivery_date",
        )


@dataclass
class OpenItem:
    """An invoice and what remains unpaid of it on a date."""

    invoice: Invoice
    open_gross_minor: int
    settled_on: date | None = None  # the date the last cent was received (or credited)
    late_settlement_days: int = 0

    @property
    def open_gross(self) -> Money:
        return Money.from_minor(self.open_gross_minor, self.invoice.currency)

    @property
    def open_net_minor(self) -> int:
        return net_part(self.open_gross_minor, self.invoice)

    @property
    def open_net(self) -> Money:
        return Money.from_minor(self.open_net_minor, self.invoice.currency)

    def days_overdue(self, on: date) -> int:
        return max((on - self.invoice.due_date).days, 0)


def net_part(gross_minor: int, invoice: Invoice) -> int:
    """The part excluding VAT of an unpaid gross amount, at the invoice's own ratio, half-up to the minor unit."""
    total = invoice.amount_incl_vat.to_minor()
    net = invoice.amount_excl_vat.to_minor()
    if gross_minor == total:
        return net
    if total == 0:
        return 0
    return int((Decimal(gross_minor) * net / total).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class Settlement:
    """The state of one buyer's account in one currency on a date."""

    currency: str
    items: list[OpenItem]  # every invoice issued by then, open or settled, oldest first
    on_account_minor: int = 0  # cash and credit notes not matched to any invoice yet
    # What settled each invoice, in the order it happened: (invoice id, gross minor units, source), the
    # source being a payment's own (``api``, ``fec``, ``collection``…), CREDIT_NOTE_SOURCE or ON_ACCOUNT.
    applications: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def open_items(self) -> list[OpenItem]:
        return [i for i in self.items if i.open_gross_minor > 0]

    def unpaid_gross_minor(self) -> int:
        return sum(i.open_gross_minor for i in self.items)

    def unpaid_net_minor(self) -> int:
        return sum(i.open_net_minor for i in self.items if i.open_gross_minor)

    def balance_minor(self) -> int:
        """What the buyer owes net of unmatched cash: the ledger balance a FEC states."""
        return self.unpaid_gross_minor() - self.on_account_minor


PAYMENT_SOURCE = "payment"
CREDIT_NOTE_SOURCE = "credit_note"
ON_ACCOUNT = "on_account"  # cash or credit received before the invoice, applied when it arrived


def _oldest_key(invoice: Invoice) -> tuple[date, date, str, str]:
    return (invoice.issue_date, invoice.due_date, invoice.number, invoice.id)


@dataclass
class _Ledger:
    currency: str
    items: dict[str, OpenItem] = field(default_factory=dict)
    by_number: dict[str, OpenItem] = field(default_factory=dict)
    order: list[OpenItem] = field(default_factory=list)
    on_account: int = 0
    first_open: int = 0  # every item before this index is settled
    applications: list[tuple[str, int, str]] = field(default_factory=list)  # (invoice id, gross used, source)

    def add(self, invoice: Invoice) -> None:
        item = OpenItem(invoice, invoice.amount_incl_vat.to_minor())
        self.items[invoice.id] = item
        self.by_number.setdefault(invoice.number, item)
        if self.order and _oldest_key(invoice) < _oldest_key(self.order[-1].invoice):
            self.order.append(item)
            self.order.sort(key=lambda i: _oldest_key(i.invoice))
            self.first_open = 0
        else:
            self.order.append(item)
        if self.on_account:
            self.on_account = self._apply(self.on_account, invoice.issue_date, (), ON_ACCOUNT)

    def _pay(self, item: OpenItem, amount: int, on: date, source: str) -> int:
        used = min(amount, item.open_gross_minor)
        if used:
            self.applications.append((item.invoice.id, used, source))
        item.open_gross_minor -= used
        if item.open_gross_minor == 0 and used:
            item.settled_on = on
            item.late_settlement_days = max((on - item.invoice.due_date).days, 0)
        return amount - used

    def _apply(self, amount: int, on: date, named: Sequence[str], source: str) -> int:
        for number in named:
            target = self.by_number.get(number)
            if target is not None and amount:
                amount = self._pay(target, amount, on, source)
        while amount and self.first_open < len(self.order):
            item = self.order[self.first_open]
            if item.open_gross_minor == 0:
                self.first_open += 1
                continue
            amount = self._pay(item, amount, on, source)
        return amount

    def receive(self, amount: int, on: date, named: Sequence[str], source: str) -> None:
        self.on_account += self._apply(amount, on, named, source)


def settle(
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    *,
    on: date,
    reversed_ids: frozenset[str] = frozenset(),
) -> dict[str, Settlement]:
    """The open items of one buyer on ``on``, per currency.

    Events are replayed in date order (invoices of a day before the cash of
    that day): a credit note settles the invoice it names, then the oldest;
    a payment the invoices it names, then the oldest; the rest stays on
    account. Reversed entries are ignored.
    """
    events: list[tuple[date, int, str, Invoice | Payment]] = []
    for inv in invoices:
        if inv.id in reversed_ids or inv.issue_date > on:
            continue
        rank = 0 if inv.kind is EntryKind.INVOICE else 1
        events.append((inv.issue_date, rank, inv.id, inv))
    for pay in payments:
        if pay.id in reversed_ids or pay.received_on > on:
            continue
        events.append((pay.received_on, 2, pay.id, pay))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    ledgers: dict[str, _Ledger] = {}
    for day, _rank, _id, entry in events:
        if isinstance(entry, Payment):
            ledger = ledgers.setdefault(entry.amount.currency, _Ledger(entry.amount.currency))
            ledger.receive(entry.amount.to_minor(), day, entry.invoices, entry.source or PAYMENT_SOURCE)
        elif entry.kind is EntryKind.INVOICE:
            ledgers.setdefault(entry.currency, _Ledger(entry.currency)).add(entry)
        else:
            ledger = ledgers.setdefault(entry.currency, _Ledger(entry.currency))
            named = (entry.invoice_reference,) if entry.invoice_reference else ()
            ledger.receive(entry.amount_incl_vat.to_minor(), day, named, CREDIT_NOTE_SOURCE)
    return {
        currency: Settlement(currency, list(ledger.order), ledger.on_account, ledger.applications)
        for currency, ledger in ledgers.items()
    }


# --- Aged balance and DSO -------------------------------------------------------------------------------------

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("not_due", 0, 0),
    ("1_30", 1, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)


def age_bucket(days_overdue: int) -> str:
    for name, low, high in AGE_BUCKETS:
        if days_overdue >= low and (high is None or days_overdue <= high):
            return name
    return AGE_BUCKETS[-1][0]


@dataclass(frozen=True)
class AgedBalance:
    """Unpaid amounts including VAT by days past due on a date (*balance âgée*)."""

    currency: str
    buckets: dict[str, Money]
    on_account: Money

    @property
    def total(self) -> Money:
        total = Money.zero(self.currency)
        for amount in self.buckets.values():
            total = total + amount
        return total

    @property
    def overdue(self) -> Money:
        return self.total - self.buckets["not_due"]


def aged_balance(settlement: Settlement, on: date) -> AgedBalance:
    sums = {name: 0 for name, _, _ in AGE_BUCKETS}
    for item in settlement.open_items:
        sums[age_bucket(item.days_overdue(on))] += item.open_gross_minor
    return AgedBalance(
        settlement.currency,
        {name: Money.from_minor(value, settlement.currency) for name, value in sums.items()},
        Money.from_minor(settlement.on_account_minor, settlement.currency),
    )


def combine_aged(balances: Iterable[AgedBalance], currency: str) -> AgedBalance:
    sums = {name: Money.zero(currency) for name, _, _ in AGE_BUCKETS}
    on_account = Money.zero(currency)
    for balance in balances:
        for name, amount in balance.buckets.items():
            sums[name] = sums[name] + amount
        on_account = on_account + balance.on_account
    return AgedBalance(currency, sums, on_account)


DSO_WINDOW_DAYS = 90


def days_sales_outstanding(
    receivables_minor: int, invoiced: Iterable[Invoice], *, on: date, window_days: int = DSO_WINDOW_DAYS
) -> Decimal | None:
    """DSO = receivables ÷ sales of the last ``window_days`` × ``window_days``, including VAT; None without sales."""
    since = on - timedelta(days=window_days)
    sales = sum(
        i.amount_incl_vat.to_minor() for i in invoiced if i.kind is EntryKind.INVOICE and since < i.issue_date <= on
    )
    if sales <= 0:
        return None
    return (Decimal(receivables_minor) * window_days / sales).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- Payment experience -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentBehaviour:
    """How a buyer paid, from the ledger (DOMAIN.md §3 discretionary cover, §4 grading input)."""

    trading_since: date | None
    invoices_paid: int
    invoices_paid_late: int
    average_days_beyond_terms: Decimal  # weighted by amount, over invoices paid in the window
    max_days_overdue_12_months: int  # paid late or still open in the window
    overdue_open_minor: int

    @property
    def share_paid_late(self) -> Decimal | None:
        if self.invoices_paid == 0:
            return None
        return (Decimal(self.invoices_paid_late) / self.invoices_paid).quantize(Decimal("0.0001"))


def twelve_months_before(on: date) -> date:
    try:
        return on.replace(year=on.year - 1)
    except ValueError:  # 29 February
        return on.replace(year=on.year - 1, day=28)


def payment_behaviour(settlements: Iterable[Settlement], *, on: date) -> PaymentBehaviour:
    window_start = twelve_months_before(on)
    trading_since: date | None = None
    paid = late = 0
    weighted = weight = 0
    worst = 0
    overdue_open = 0
    for settlement in settlements:
        for item in settlement.items:
            invoice = item.invoice
            if trading_since is None or invoice.issue_date < trading_since:
                trading_since = invoice.issue_date
            if item.open_gross_minor == 0 and item.settled_on is not None:
                if item.settled_on < window_start:
                    continue
                paid += 1
                gross = invoice.amount_incl_vat.to_minor()
                weighted += gross * item.late_settlement_days
                weight += gross
                if item.late_settlement_days > 0:
                    late += 1
                worst = max(worst, item.late_settlement_days)
            else:
                days = item.days_overdue(on)
                if days > 0:
                    overdue_open += item.open_gross_minor
                worst = max(worst, days)
    average = (Decimal(weighted) / weight).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if weight else Decimal(0)
    return PaymentBehaviour(trading_since, paid, late, average, worst, overdue_open)
