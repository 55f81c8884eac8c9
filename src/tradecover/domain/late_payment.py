"""French late-payment penalties (DOMAIN.md §7; art. L441-10 and D441-5 C. com.).

A professional buyer who pays after the due date owes, without any reminder,

* penalty interest at the ECB's main refinancing operations rate plus
  10 points, the base rate being fixed per half-year: "le taux applicable
  pendant le premier semestre de l'année concernée est le taux en vigueur au
  1er janvier de l'année en question ; pour le second semestre, il est le taux
  en vigueur au 1er juillet" (art. L441-10 II); and
* a fixed collection indemnity of 40 EUR per invoice (art. D441-5).

Interest runs from the day after the due date up to the day it is computed
for (both included), split at the half-year boundaries, as simple interest on
an actual/365 basis. It is computed at full precision and rounded half-up to
the cent once, at the end.

The ECB rates ship as package data (``tradecover/data/ecb_main_refinancing_rates.csv``,
read with :func:`default_base_rates`); later changes come from configuration
through :meth:`BaseRateTable.with_rates`. Standard library only.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money

__all__ = [
    "DAY_COUNT_BASIS",
    "FIXED_COLLECTION_INDEMNITY",
    "LATE_PAYMENT_MARGIN",
    "BaseRate",
    "BaseRateTable",
    "Penalty",
    "PenaltySegment",
    "default_base_rates",
    "late_payment_penalty",
    "load_base_rates",
]

#: Points added to the ECB rate (art. L441-10 II: "majoré de 10 points de pourcentage").
LATE_PAYMENT_MARGIN = Decimal("0.10")
#: Fixed indemnity for collection costs, in EUR per invoice (art. D441-5).
FIXED_COLLECTION_INDEMNITY = Decimal("40")
#: Simple interest on an actual/365 basis, leap years included.
DAY_COUNT_BASIS = 365

_RATES_PACKAGE = "tradecover.data"
_RATES_FILE = "ecb_main_refinancing_rates.csv"
_CSV_COLUMNS = ("effective_date", "rate_percent")


def _plain_date(value: object, field: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            f"{field} must be a calendar date, got {value!r}",
            code="late_payment.invalid_date",
            field=field,
            context={field: value},
        )
    return value


# ----------------------------------------------------------------- rates


@dataclass(frozen=True)
class BaseRate:
    """The ECB main refinancing operations rate in force from ``effective_date``.

    ``rate`` is a fraction: ``Decimal("0.0215")`` for 2.15 %.
    """

    effective_date: date
    rate: Decimal

    def __post_init__(self) -> None:
        _plain_date(self.effective_date, "effective_date")
        if isinstance(self.rate, bool) or not isinstance(self.rate, Decimal) or not self.rate.is_finite():
            raise InvalidInput(
                f"rate must be a finite Decimal fraction, got {self.rate!r}",
                code="late_payment.invalid_rate",
                field="rate",
                context={"rate": self.rate},
            )
        # A fraction: 2.15 % is 0.0215. At or below -10 % the penalty rate would
        # be negative; 100 % or more is a percentage typed as a fraction.
        if not -LATE_PAYMENT_MARGIN < self.rate < 1:
            raise InvalidInput(
                f"rate {self.rate} is out of range: give a fraction (0.0215 for 2.15 %)",
                code="late_payment.invalid_rate",
                field="rate",
                context={"rate": self.rate, "effective_date": self.effective_date},
            )


class BaseRateTable:
    """The history of ECB rates, sorted by effective date; immutable."""

    __slots__ = ("_dates", "_rates")

    def __init__(self, rates: Iterable[BaseRate]) -> None:
        ordered = sorted(rates, key=lambda r: r.effective_date)
        if not ordered:
            raise InvalidInput(
                "a base rate table needs at least one rate",
                code="late_payment.no_base_rate",
                field="rates",
            )
        for previous, current in itertools.pairwise(ordered):
            if previous.effective_date == current.effective_date:
                raise InvalidInput(
                    f"two base rates take effect on {current.effective_date}",
                    code="late_payment.duplicate_base_rate",
                    field="effective_date",
                    context={"effective_date": current.effective_date},
                )
        self._rates: tuple[BaseRate, ...] = tuple(ordered)
        self._dates: tuple[date, ...] = tuple(r.effective_date for r in ordered)

    @property
    def rates(self) -> tuple[BaseRate, ...]:
        return self._rates

    def __iter__(self) -> Iterator[BaseRate]:
        return iter(self._rates)

    def __len__(self) -> int:
        return len(self._rates)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseRateTable):
            return NotImplemented
        return self._rates == other._rates

    def __hash__(self) -> int:
        return hash(self._rates)

    def __repr__(self) -> str:
        first, last = self._rates[0], self._rates[-1]
        return f"BaseRateTable({len(self)} rates, {first.effective_date} … {last.effective_date})"

    def with_rates(self, more: Iterable[BaseRate]) -> BaseRateTable:
        """This table plus ``more`` (from configuration); ``more`` wins on a shared date."""
        merged = {r.effective_date: r for r in self._rates}
        merged.update((r.effective_date, r) for r in more)
        return BaseRateTable(merged.values())

    def rate_on(self, day: date) -> Decimal:
        """The rate in force on ``day``: the latest one effective on or before it."""
        day = _plain_date(day, "day")
        index = bisect.bisect_right(self._dates, day) - 1
        if index < 0:
            raise InvalidInput(
                f"no ECB base rate is known on {day} (the table starts on {self._dates[0]})",
                code="late_payment.no_base_rate",
                field="day",
                context={"day": day, "first": self._dates[0]},
            )
        return self._rates[index].rate

    def rate_for_half_year(self, day: date) -> Decimal:
        """The base rate applicable on ``day`` under art. L441-10 II C. com.

        During the first half-year, the rate in force on 1 January; during the
        second, the rate in force on 1 July. A change on 11 June therefore
        applies only from 1 July.
        """
        day = _plain_date(day, "day")
        return self.rate_on(_half_year_start(day))


def _half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _half_year_end(day: date) -> date:
    """The first day of the next half-year (exclusive end)."""
    return date(day.year, 7, 1) if day.month <= 6 else date(day.year + 1, 1, 1)


def load_base_rates(text: str) -> BaseRateTable:
    """Parse ``effective_date,rate_percent`` CSV text (rate in percent: 2.15).

    Blank lines are skipped. A malformed line raises ``InvalidInput`` naming
    the line number and the field.
    """
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rates: list[BaseRate] = []
    seen: dict[date, int] = {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if header is None:
            header = cells
            if tuple(header) != _CSV_COLUMNS:
                raise _file_error(line, "header", f"the header must be {','.join(_CSV_COLUMNS)}, got {','.join(cells)}")
            continue
        if len(cells) != len(_CSV_COLUMNS):
            raise _file_error(line, "row", f"expected {len(_CSV_COLUMNS)} fields, got {len(cells)}")
        raw_date, raw_rate = cells
        try:
            effective = date.fromisoformat(raw_date)
        except ValueError:
            raise _file_error(line, "effective_date", f"{raw_date!r} is not a YYYY-MM-DD date") from None
        try:
            percent = Decimal(raw_rate)
        except InvalidOperation:
            raise _file_error(line, "rate_percent", f"{raw_rate!r} is not a number") from None
        if effective in seen:
            raise _file_error(line, "effective_date", f"{effective} already appears on line {seen[effective]}")
        seen[effective] = line
        try:
            rates.append(BaseRate(effective, percent / 100))
        except InvalidInput as error:
            raise _file_error(line, "rate_percent", error.message) from None
    if not rates:
        raise _file_error(reader.line_num, "rows", "no base rate in the file")
    return BaseRateTable(rates)


def _file_error(line: int, field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"base rates, line {line}, {field}: {message}",
        code="late_payment.invalid_rate_file",
        field=field,
        context={"line": line},
    )


@functools.cache
def default_base_rates() -> BaseRateTable:
    """The ECB rate history shipped with the package (see ``data/SOURCES.md``)."""
    text = resources.files(_RATES_PACKAGE).joinpath(_RATES_FILE).read_text(encoding="utf-8")
    return load_base_rates(text)


# --------------------------------------------------------------- penalty


@dataclass(frozen=True)
class PenaltySegment:
    """Days of lateness inside one half-year, charged at one annual rate.

    ``[start, end)`` is half-open like every period of the project: ``days`` is
    ``end - start`` and :attr:`last_day` the last day charged. ``annual_rate``
    is base rate + margin; ``interest`` is unrounded.
    """

    start: date
    end: date
    days: int
    annual_rate: Decimal
    interest: Decimal

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


@dataclass(frozen=True)
class Penalty:
    """What a late payer owes on one invoice, as of ``on`` (art. L441-10, D441-5).

    ``amount`` is the unpaid amount the interest runs on; ``interest`` is
    rounded half-up to the minor unit; ``fixed_indemnity`` is 40 EUR once
    late (zero in the invoice currency otherwise).
    """

    amount: Money
    due_date: date
    on: date
    days_late: int
    segments: tuple[PenaltySegment, ...]
    interest: Money
    fixed_indemnity: Money

    @property
    def total(self) -> Money:
        """Interest + fixed indemnity.

        Raises ``money.currency_mismatch`` for a non-EUR invoice whose 40 EUR
        indemnity was not given converted (``fixed_indemnity=``).
        """
        return self.interest + self.fixed_indemnity


def late_payment_penalty(
    unpaid: Money,
    *,
    due_date: date,
    on: date,
    table: BaseRateTable,
    fixed_indemnity: Money | None = None,
) -> Penalty:
    """Penalty interest and fixed indemnity on ``unpaid`` as of ``on`` (DOMAIN.md §7).

    Interest runs from the day after ``due_date`` to ``on`` included, split at
    1 January and 1 July; each segment bears (:meth:`BaseRateTable.rate_for_half_year`
    + :data:`LATE_PAYMENT_MARGIN`) × days / 365 as simple interest. The sum is
    rounded half-up once. Nothing is owed on or before the due date, nor on a
    zero amount. ``fixed_indemnity`` replaces the 40 EUR of art. D441-5 (e.g.
    converted for another currency, or an agreed higher amount).
    """
    if not isinstance(unpaid, Money):
        raise InvalidInput(
            f"unpaid must be Money, got {unpaid!r}",
            code="late_payment.invalid_amount",
            field="unpaid",
        )
    if unpaid.is_negative():
        raise InvalidInput(
            f"the unpaid amount cannot be negative ({unpaid})",
            code="late_payment.invalid_amount",
            field="unpaid",
            context={"unpaid": unpaid.amount},
        )
    if fixed_indemnity is not None and (not isinstance(fixed_indemnity, Money) or fixed_indemnity.is_negative()):
        raise InvalidInput(
            f"fixed_indemnity must be a non-negative Money, got {fixed_indemnity!r}",
            code="late_payment.invalid_amount",
            field="fixed_indemnity",
        )
    due_date = _plain_date(due_date, "due_date")
    on = _plain_date(on, "on")
    days_late = max(0, (on - due_date).days)

    segments: list[PenaltySegment] = []
    numerator = Decimal(0)  # Σ amount × rate × days, divided by 365 once
    start = due_date + timedelta(days=1)
    stop = on + timedelta(days=1)  # exclusive
    while start < stop:
        end = min(_half_year_end(start), stop)
        days = (end - start).days
        annual_rate = table.rate_for_half_year(start) + LATE_PAYMENT_MARGIN
        product = unpaid.amount * annual_rate * days
        numerator += product
        segments.append(PenaltySegment(start, end, days, annual_rate, product / DAY_COUNT_BASIS))
        start = end

    interest = Money(numerator / DAY_COUNT_BASIS, unpaid.currency).round()
    if days_late > 0 and not unpaid.is_zero():
        indemnity = fixed_indemnity if fixed_indemnity is not None else Money(FIXED_COLLECTION_INDEMNITY, "EUR")
    else:
        indemnity = Money.zero(unpaid.currency)
    return Penalty(
        amount=unpaid,
        due_date=due_date,
        on=on,
        days_late=days_late,
        segments=tuple(segments),
        interest=interest,
        fixed_indemnity=indemnity,
    )
