"""Accumulation of the insurer's book (DOMAIN.md §11): limits and covered exposure summed per buyer, group,
country, sector and policy; each key's share of the total, the top concentrations, the Herfindahl-Hirschman
index, and the caps with their breaches.

Pure rules on plain lines: one :class:`AccumulationLine` per (policy, buyer), carrying the granted limit in
force and the covered exposure of DOMAIN.md §6 (:func:`tradecover.domain.exposure.covered_exposure`), both in
the policy's currency. The service builds the lines from the database; this module only adds them up.

* **Currencies.** Amounts of different currencies are never added together, nor converted: every figure is
  computed per currency (:func:`totals` gives one :class:`DimensionTotals` per currency, each with its own
  total, shares and index). A share cap applies inside each currency's book; an amount cap only to the book
  of its own currency. The book is mostly in euros; a rate would make concentrations move with the rates.
* **Shares** are fractions 0..1 of the currency's total of the same measure (limits, or covered exposure);
  ``None`` when that total is zero.
* **HHI** (Herfindahl-Hirschman index) = Σ share² over the keys of a dimension, for one measure: on the
  0..1 scale (1/n when n keys hold equal parts, 1 when one key holds everything), and in points on the
  0..10 000 scale of competition authorities (:meth:`DimensionTotals.hhi_points`). It is computed on covered
  exposure (what the insurer would pay) and on limits (what it has committed to), each exactly from the
  amounts and rounded once.
* **Caps.** A :class:`Cap` bounds one key of a dimension (or every key: ``"*"``) by a share of the total or
  by an amount, on one measure (covered exposure unless told otherwise). A cap naming a key replaces the
  ``"*"`` cap of the same dimension, measure and kind for that key (a home-market country may be allowed
  more than the others). A key breaches a cap when its amount is strictly above the cap's amount.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

from tradecover.domain.errors import DomainError, InvalidInput
from tradecover.domain.money import Money, sum_money

__all__ = [
    "DEFAULT_CAPS",
    "DEFAULT_CAPS_JSON",
    "EVERY_KEY",
    "UNKNOWN_SECTOR",
    "AccumulationLine",
    "Breach",
    "Cap",
    "Concentration",
    "Dimension",
    "DimensionTotals",
    "Measure",
    "applicable_caps",
    "breaches",
    "caps_to_json",
    "herfindahl",
    "parse_caps",
    "totals",
]

#: The key of a cap that bounds every key of its dimension.
EVERY_KEY = "*"
#: The sector of a buyer with no (or an unreadable) NAF code.
UNKNOWN_SECTOR = "?"


class Dimension(StrEnum):
    """What the book is summed by."""

    BUYER = "buyer"
    GROUP = "group"  # the group head: a buyer's parent, or the buyer itself
    COUNTRY = "country"  # ISO 3166 alpha-2 of the buyer
    SECTOR = "sector"  # NAF rév. 2 / NACE section letter A..U of the buyer
    POLICY = "policy"


class Measure(StrEnum):
    """Which amount a share, an index or a cap is about."""

    LIMIT = "limit"  # granted limits in force
    COVERED_EXPOSURE = "covered_exposure"  # covered exposure (DOMAIN.md §6)


def _invalid(message: str, *, field: str = "lines") -> InvalidInput:
    return InvalidInput(message, code="accumulation.invalid_line", field=field)


@dataclass(frozen=True)
class AccumulationLine:
    """One buyer under one policy: its granted limit in force and its covered exposure, in the policy currency.

    ``group_id`` is the group head (the buyer's parent, or the buyer itself when it has none), so that a
    buyer outside any group is a group of its own.
    """

    buyer_id: str
    buyer_name: str
    group_id: str
    group_name: str
    country: str
    sector: str
    policy_id: str
    policy_number: str
    limit_amount: Money
    covered_exposure_amount: Money

    def __post_init__(self) -> None:
        if self.limit_amount.currency != self.covered_exposure_amount.currency:
            raise _invalid(
                f"buyer {self.buyer_id} under policy {self.policy_number}: the limit is in "
                f"{self.limit_amount.currency} and the covered exposure in {self.covered_exposure_amount.currency}"
            )
        if self.limit_amount.is_negative() or self.covered_exposure_amount.is_negative():
            raise _invalid(f"buyer {self.buyer_id} under policy {self.policy_number}: negative amount")

    @property
    def currency(self) -> str:
        return self.limit_amount.currency

    def key(self, dimension: Dimension) -> str:
        return {
            Dimension.BUYER: self.buyer_id,
            Dimension.GROUP: self.group_id,
            Dimension.COUNTRY: self.country,
            Dimension.SECTOR: self.sector,
            Dimension.POLICY: self.policy_id,
        }[dimension]

    def name(self, dimension: Dimension) -> str:
        return {
            Dimension.BUYER: self.buyer_name,
            Dimension.GROUP: self.group_name,
            Dimension.COUNTRY: self.country,
            Dimension.SECTOR: self.sector,
            Dimension.POLICY: self.policy_number,
        }[dimension]

    def amount(self, measure: Measure) -> Money:
        return self.limit_amount if measure is Measure.LIMIT else self.covered_exposure_amount


def _to_decimal(value: Fraction) -> Decimal:
    """An exact ratio as a Decimal, rounded once (to the context's 28 significant digits)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def _share(part: Money, whole: Money) -> Decimal | None:
    if not whole.is_positive():
        return None
    return _to_decimal(Fraction(part.amount) / Fraction(whole.amount))


def herfindahl(amounts: Iterable[Money]) -> Decimal | None:
    """Σ (amount ÷ total)² on the 0..1 scale, exact then rounded once; ``None`` when the total is zero."""
    values = [Fraction(a.amount) for a in amounts]
    whole = sum(values, Fraction(0))
    if whole <= 0:
        return None
    return _to_decimal(sum((v * v for v in values), Fraction(0)) / (whole * whole))


@dataclass(frozen=True)
class Concentration:
    """One key of a dimension in one currency: what is accumulated on it, and its share of the total."""

    dimension: Dimension
    key: str
    name: str
    limit_amount: Money
    covered_exposure_amount: Money
    limit_share: Decimal | None  # of the currency's total limits; None when that total is zero
    covered_exposure_share: Decimal | None  # of the currency's total covered exposure
    lines: int  # how many (policy, buyer) lines it sums

    @property
    def currency(self) -> str:
        return self.limit_amount.currency

    def amount(self, measure: Measure) -> Money:
        return self.limit_amount if measure is Measure.LIMIT else self.covered_exposure_amount

    def share(self, measure: Measure) -> Decimal | None:
        return self.limit_share if measure is Measure.LIMIT else self.covered_exposure_share


@dataclass(frozen=True)
class DimensionTotals:
    """The book of one currency summed by one dimension.

    ``concentrations`` lists every key, the largest covered exposure first (then the largest limit, then
    the key), so that :meth:`top` is the top-N.
    """

    dimension: Dimension
    currency: str
    total_limit_amount: Money
    total_covered_exposure_amount: Money
    concentrations: tuple[Concentration, ...]

    def total(self, measure: Measure) -> Money:
        return self.total_limit_amount if measure is Measure.LIMIT else self.total_covered_exposure_amount

    def top(self, n: int) -> tuple[Concentration, ...]:
        """The ``n`` largest concentrations (every one when ``n`` ≥ their number)."""
        if n < 0:
            raise InvalidInput("top must be 0 or more", code="accumulation.invalid_top", field="top")
        return self.concentrations[:n]

    def hhi(self, measure: Measure) -> Decimal | None:
        """Σ share² of the keys on ``measure``, 0..1 (None when the total is zero)."""
        return herfindahl(c.amount(measure) for c in self.concentrations)

    def hhi_points(self, measure: Measure) -> Decimal | None:
        """The same index on the 0..10 000 scale."""
        value = self.hhi(measure)
        return None if value is None else value * 10_000

    def get(self, key: str) -> Concentration | None:
        return next((c for c in self.concentrations if c.key == key), None)


def _check_lines(lines: Sequence[AccumulationLine]) -> None:
    seen: set[tuple[str, str]] = set()
    for line in lines:
        pair = (line.policy_id, line.buyer_id)
        if pair in seen:
            raise _invalid(f"buyer {line.buyer_id} appears twice under policy {line.policy_number}")
        seen.add(pair)


def totals(lines: Sequence[AccumulationLine], dimension: Dimension) -> list[DimensionTotals]:
    """The lines summed by ``dimension``, one :class:`DimensionTotals` per currency (sorted by code).

    A (policy, buyer) pair may appear only once. Every key's amounts are exact sums of its lines; the
    totals are exact sums of the keys (hence of the lines).
    """
    _check_lines(lines)
    by_currency: dict[str, list[AccumulationLine]] = {}
    for line in lines:
        by_currency.setdefault(line.currency, []).append(line)
    result: list[DimensionTotals] = []
    for currency in sorted(by_currency):
        mine = by_currency[currency]
        grouped: dict[str, list[AccumulationLine]] = {}
        for line in mine:
            grouped.setdefault(line.key(dimension), []).append(line)
        total_limit = sum_money((line.limit_amount for line in mine), currency)
        total_covered = sum_money((line.covered_exposure_amount for line in mine), currency)
        items: list[Concentration] = []
        for key, group in grouped.items():
            limit = sum_money((line.limit_amount for line in group), currency)
            covered = sum_money((line.covered_exposure_amount for line in group), currency)
            items.append(
                Concentration(
                    dimension=dimension,
                    key=key,
                    name=min(line.name(dimension) for line in group),  # the same for every line of a key
                    limit_amount=limit,
                    covered_exposure_amount=covered,
                    limit_share=_share(limit, total_limit),
                    covered_exposure_share=_share(covered, total_covered),
                    lines=len(group),
                )
            )
        items.sort(key=lambda c: (-c.covered_exposure_amount.amount, -c.limit_amount.amount, c.key))
        result.append(DimensionTotals(dimension, currency, total_limit, total_covered, tuple(items)))
    return result


# --- Caps ------------------------------------------------------------------------------------------------------


def _invalid_cap(message: str) -> InvalidInput:
    return InvalidInput(message, code="accumulation.invalid_caps", field="accumulation_caps")


@dataclass(frozen=True)
class Cap:
    """At most ``max_share`` of the currency's total, or at most ``max_amount``, on one key (or every key).

    Exactly one of ``max_share`` (a fraction in (0, 1]) and ``max_amount`` (≥ 0, applying to the book of
    its own currency only) is given.
    """

    dimension: Dimension
    key: str = EVERY_KEY
    measure: Measure = Measure.COVERED_EXPOSURE
    max_share: Decimal | None = None
    max_amount: Money | None = None

    def __post_init__(self) -> None:
        key = self.key.strip() if isinstance(self.key, str) else ""
        if not key:
            raise _invalid_cap("a cap's key is a key of its dimension, or '*' for every key")
        if self.dimension in (Dimension.COUNTRY, Dimension.SECTOR):
            key = key.upper()  # ISO codes and section letters are upper case
        object.__setattr__(self, "key", key)
        if (self.max_share is None) == (self.max_amount is None):
            raise _invalid_cap(f"a cap on {self.dimension.value} {key} needs either max_share or max_amount")
        if self.max_share is not None:
            share = self.max_share
            if isinstance(share, float | bool) or not isinstance(share, Decimal) or not share.is_finite():
                raise _invalid_cap(f"max_share of the cap on {self.dimension.value} {key} must be a decimal")
            if not 0 < share <= 1:
                raise _invalid_cap(
                    f"max_share of the cap on {self.dimension.value} {key} must be in (0, 1], got {share}"
                )
        if self.max_amount is not None and self.max_amount.is_negative():
            raise _invalid_cap(f"max_amount of the cap on {self.dimension.value} {key} cannot be negative")

    @property
    def kind(self) -> str:
        """``share`` or ``amount``."""
        return "share" if self.max_share is not None else "amount"

    def applies_to(self, currency: str) -> bool:
        return self.max_amount is None or self.max_amount.currency == currency

    def cap_amount(self, total: Money) -> Money:
        """The most the key may hold in a book whose total (of the cap's measure) is ``total``."""
        if self.max_share is not None:
            return total * self.max_share
        assert self.max_amount is not None
        return self.max_amount

    def describe(self) -> str:
        """``covered_exposure ≤ 5% of the total`` or ``limit ≤ 1000000.00 EUR``."""
        if self.max_share is not None:
            percent = (self.max_share * 100).normalize()
            return f"{self.measure.value} ≤ {percent:f}% of the total"
        assert self.max_amount is not None
        return f"{self.measure.value} ≤ {self.max_amount}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dimension": self.dimension.value, "key": self.key, "measure": self.measure.value}
        if self.max_share is not None:
            data["max_share"] = str(self.max_share)
        if self.max_amount is not None:
            data["max_amount"] = self.max_amount.to_json()
        return data


_CAP_FIELDS = frozenset({"dimension", "key", "measure", "max_share", "max_amount"})


def _cap_of(index: int, item: object) -> Cap:
    where = f"cap {index + 1}"
    if not isinstance(item, Mapping):
        raise _invalid_cap(f"{where}: each cap is an object such as {{'dimension': 'country', 'max_share': '0.4'}}")
    unknown = set(item) - _CAP_FIELDS
    if unknown:
        raise _invalid_cap(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    try:
        dimension = Dimension(str(item.get("dimension")))
    except ValueError:
        allowed = ", ".join(d.value for d in Dimension)
        raise _invalid_cap(f"{where}: dimension must be one of {allowed}, got {item.get('dimension')!r}") from None
    try:
        measure = Measure(str(item.get("measure", Measure.COVERED_EXPOSURE.value)))
    except ValueError:
        allowed = ", ".join(m.value for m in Measure)
        raise _invalid_cap(f"{where}: measure must be one of {allowed}, got {item.get('measure')!r}") from None
    key = item.get("key", EVERY_KEY)
    if not isinstance(key, str):
        raise _invalid_cap(f"{where}: key must be a string ('*' for every key)")
    share: Decimal | None = None
    raw_share = item.get("max_share")
    if raw_share is not None:
        if isinstance(raw_share, bool) or not isinstance(raw_share, str | int | Decimal):
            raise _invalid_cap(f"{where}: max_share must be a decimal such as '0.25'")
        try:
            share = Decimal(raw_share)
        except InvalidOperation:
            raise _invalid_cap(f"{where}: max_share {raw_share!r} is not a number") from None
    amount: Money | None = None
    raw_amount = item.get("max_amount")
    if raw_amount is not None:
        if not isinstance(raw_amount, Mapping):
            raise _invalid_cap(f'{where}: max_amount is {{"amount": "1000000", "currency": "EUR"}}')
        try:
            amount = Money.from_json(raw_amount)
        except DomainError as error:
            raise _invalid_cap(f"{where}: max_amount: {error.message}") from None
    try:
        return Cap(dimension, key, measure, share, amount)
    except InvalidInput as error:
        raise _invalid_cap(f"{where}: {error.message}") from None


def parse_caps(text: str) -> tuple[Cap, ...]:
    """Caps from JSON text: a list of ``{"dimension", "key" (default "*"), "measure" (default
    "covered_exposure"), "max_share" | "max_amount"}``; an empty list means no caps.

    Numbers may be written as strings or JSON numbers (read exactly, never as floats). Two caps on the
    same dimension, key, measure and kind (and currency, for amounts) are refused: which one would hold?
    """
    try:
        data = json.loads(text, parse_float=Decimal)
    except (TypeError, ValueError) as error:
        raise _invalid_cap(f"the caps are not JSON: {error}") from None
    if not isinstance(data, list):
        raise _invalid_cap("the caps are a JSON list of objects")
    caps = tuple(_cap_of(index, item) for index, item in enumerate(data))
    seen: set[tuple[str, ...]] = set()
    for cap in caps:
        currency = "" if cap.max_amount is None else cap.max_amount.currency
        identity = (cap.dimension.value, cap.key, cap.measure.value, cap.kind, currency)
        if identity in seen:
            raise _invalid_cap(f"two caps on {cap.dimension.value} {cap.key} ({cap.measure.value}, {cap.kind})")
        seen.add(identity)
    return caps


def caps_to_json(caps: Sequence[Cap]) -> str:
    """The JSON text :func:`parse_caps` reads back."""
    return json.dumps([cap.to_json() for cap in caps])


#: The insurer's default caps, each on covered exposure: a buyer at most 5 % of the book, a group 10 %, a
#: sector 30 %, a country 40 % — except France, the home market of a French book, which may hold all of it.
DEFAULT_CAPS: tuple[Cap, ...] = (
    Cap(Dimension.BUYER, max_share=Decimal("0.05")),
    Cap(Dimension.GROUP, max_share=Decimal("0.10")),
    Cap(Dimension.COUNTRY, max_share=Decimal("0.40")),
    Cap(Dimension.COUNTRY, "FR", max_share=Decimal("1")),
    Cap(Dimension.SECTOR, max_share=Decimal("0.30")),
)
DEFAULT_CAPS_JSON = caps_to_json(DEFAULT_CAPS)


def applicable_caps(caps: Sequence[Cap], dimension: Dimension, key: str, currency: str) -> list[Cap]:
    """The caps that bound ``key`` in the book of ``currency``: those naming it, and the ``"*"`` caps that
    no cap naming it replaces (same measure and kind)."""
    candidates = [c for c in caps if c.dimension is dimension and c.applies_to(currency)]
    named = [c for c in candidates if c.key == key]
    replaced = {(c.measure, c.kind) for c in named}
    return named + [c for c in candidates if c.key == EVERY_KEY and (c.measure, c.kind) not in replaced]


@dataclass(frozen=True)
class Breach:
    """A key above a cap: ``amount`` > ``cap_amount`` by ``excess``."""

    dimension: Dimension
    key: str
    name: str
    cap: Cap
    amount: Money  # the key's amount of the cap's measure
    cap_amount: Money  # the cap as an amount in this book (a share cap × the total)
    share: Decimal | None  # the key's share of the total of the cap's measure

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def measure(self) -> Measure:
        return self.cap.measure

    @property
    def excess(self) -> Money:
        return self.amount - self.cap_amount


def breaches(book: DimensionTotals, caps: Sequence[Cap]) -> list[Breach]:
    """Every (key, cap) of ``book`` where the key holds strictly more than the cap allows, the largest
    excess first."""
    found: list[Breach] = []
    for item in book.concentrations:
        for cap in applicable_caps(caps, book.dimension, item.key, book.currency):
            bound = cap.cap_amount(book.total(cap.measure))
            amount = item.amount(cap.measure)
            if amount > bound:
                found.append(Breach(book.dimension, item.key, item.name, cap, amount, bound, item.share(cap.measure)))
    found.sort(key=lambda b: (-b.excess.amount, b.key))
    return found
