"""Money: an exact decimal amount in one ISO 4217 currency.

Why a value type rather than bare ``Decimal``: every amount in trade credit
insurance (limits, exposure, indemnities, premiums) is meaningless without its
currency, and silently adding euros to dollars or letting a binary float creep
in are the two classic money bugs. ``Money`` therefore

* refuses floats (``0.1`` is not exactly representable, so it is a bug, never
  an input),
* refuses to mix currencies,
* keeps full precision through a computation and rounds only when a business
  step asks for it explicitly (:meth:`Money.round`, :meth:`Money.to_minor`,
  :meth:`Money.allocate`), and
* splits amounts with a largest-remainder :meth:`Money.allocate` whose parts
  always sum exactly to the rounded whole (instalments, recovery shares).

Standard library only: this module sits in the pure domain layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, overload

from tradecover.domain.errors import InvalidInput

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "Money",
    "currency",
    "minor_units_of",
    "sum_money",
]

#: Minor units (digits after the decimal point) of the active ISO 4217
#: currencies. Funds codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are
#: included because they appear in bank data; precious metals and testing codes
#: (XAU, XTS, XXX …) are not, as they have no minor unit and are no invoice
#: currency.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2,
    "AUD": 2, "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2,
    "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2, "BRL": 2,
    "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2,
    "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2,
    "COU": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2,
    "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
    "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0,
    "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2,
    "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3,
    "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0,
    "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2,
    "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2,
    "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2,
    "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2,
    "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2,
    "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
    "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
    "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2,
    "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2,
    "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2,
    "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2, "VES": 2,
    "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0,
    "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip


def currency(code: str) -> str:
    """Return ``code`` if it is a known ISO 4217 code, else raise.

    Codes must already be upper case: normalising silently would hide
    upstream data problems, and every stored code is upper case anyway.
    """
    if not isinstance(code, str) or len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise InvalidInput(
            f"currency must be a three-letter upper-case ISO 4217 code, got {code!r}",
            code="money.unknown_currency",
            field="currency",
            context={"currency": code},
        )
    if code not in CURRENCY_MINOR_UNITS:
        raise InvalidInput(
            f"unknown currency {code!r}",
            code="money.unknown_currency",
            field="currency",
            context={"currency": code},
        )
    return code


def minor_units_of(code: str) -> int:
    """Digits after the decimal point of a currency (EUR 2, JPY 0, KWD 3)."""
    return CURRENCY_MINOR_UNITS[currency(code)]


def _quantum(minor_units: int) -> Decimal:
    """The smallest unit of a currency as a Decimal: 2 → ``0.01``, 0 → ``1``."""
    return Decimal(1).scaleb(-minor_units)


def _float_refused(field: str, value: object) -> InvalidInput:
    return InvalidInput(
        f"{field} must be a Decimal, int or str, never a float or bool (got {value!r})",
        code="money.float_refused",
        field=field,
        context={field: value},
    )


def _to_decimal(value: object, *, field: str, code: str) -> Decimal:
    """Convert an exact input (Decimal, int, numeric str) to a finite Decimal.

    Floats and bools are refused with ``money.float_refused`` (a bool is an
    int to Python but never a meaningful amount); anything else that is not a
    finite number is refused with ``code``.
    """
    if isinstance(value, float | bool):
        raise _float_refused(field, value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            raise InvalidInput(
                f"{field} {value!r} is not a number",
                code=code,
                field=field,
                context={field: value},
            ) from None
    else:
        raise InvalidInput(
            f"{field} must be a Decimal, int or str, got {type(value).__name__}",
            code=code,
            field=field,
            context={field: value},
        )
    if not result.is_finite():
        raise InvalidInput(
            f"{field} must be finite, got {value!r}",
            code=code,
            field=field,
            context={field: value},
        )
    return result


@dataclass(frozen=True, slots=True, eq=False)
class Money:
    """An exact amount of one currency.

    ``amount`` keeps full precision (``Money.of("0.125", "EUR")`` stays
    0.125): rounding is a business decision taken explicitly with
    :meth:`round`. Equality and hashing compare the numeric value, so
    ``1.0 EUR == 1.00 EUR``.

    The constructor also accepts ``int`` and numeric ``str`` amounts and
    converts them; floats are refused.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        amount = _to_decimal(self.amount, field="amount", code="money.invalid_amount")
        object.__setattr__(self, "amount", amount)
        currency(self.currency)

    # ----------------------------------------------------------- construction

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``: the neutral start of a sum."""
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Build from an exact amount; the typed spelling of the constructor."""
        return cls(_to_decimal(amount, field="amount", code="money.invalid_amount"), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """Build from integer minor units, the storage form (12500 → 125.00 EUR)."""
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidInput(
                f"minor units must be an int, got {units!r}",
                code="money.invalid_amount",
                field="amount",
                context={"amount": units},
            )
        return cls(Decimal(units).scaleb(-minor_units_of(currency)), currency)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Money:
        """Inverse of :meth:`to_json`; the amount is kept exactly as given."""
        if not isinstance(data, Mapping) or "amount" not in data or "currency" not in data:
            raise InvalidInput(
                'money must be an object {"amount": "…", "currency": "…"}',
                code="money.invalid_json",
                field="amount",
                context={"value": data},
            )
        cur = data["currency"]
        if not isinstance(cur, str):
            raise InvalidInput(
                f"currency must be a string, got {cur!r}",
                code="money.unknown_currency",
                field="currency",
                context={"currency": cur},
            )
        return cls(_to_decimal(data["amount"], field="amount", code="money.invalid_amount"), cur)

    @classmethod
    def max_of(cls, *moneys: Money) -> Money:
        """The largest of one or more amounts of the same currency."""
        return _extreme(moneys, largest=True)

    @classmethod
    def min_of(cls, *moneys: Money) -> Money:
        """The smallest of one or more amounts of the same currency."""
        return _extreme(moneys, largest=False)

    # ------------------------------------------------------------- inspection

    @property
    def minor_units(self) -> int:
        """Digits after the decimal point of this amount's currency."""
        return CURRENCY_MINOR_UNITS[self.currency]

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_positive(self) -> bool:
        """Strictly greater than zero."""
        return self.amount > 0

    def is_negative(self) -> bool:
        """Strictly less than zero."""
        return self.amount < 0

    # --------------------------------------------------------------- rounding

    def round(self, rounding: str = ROUND_HALF_UP) -> Money:
        """Round to the currency's minor unit (half-up unless told otherwise).

        A rounded zero is always positive zero, so ``-0.001`` never prints
        as ``-0.00``.
        """
        rounded = self.amount.quantize(_quantum(self.minor_units), rounding=rounding)
        if rounded.is_zero():
            rounded = rounded.copy_abs()
        return Money(rounded, self.currency)

    def to_minor(self) -> int:
        """Integer minor units, the storage form.

        Refuses an amount finer than the minor unit: storing it would round
        silently, and rounding must be an explicit business step.
        """
        scaled = self.amount.scaleb(self.minor_units)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(
                f"{self.amount} {self.currency} has more than {self.minor_units} decimals; round it before storing",
                code="money.not_rounded",
                field="amount",
                context={"amount": self.amount, "currency": self.currency},
            )
        return int(scaled)

    def quantize_str(self) -> str:
        """The amount rounded half-up to the minor unit, as plain text ("1250.00")."""
        return format(self.round().amount, "f")

    # ------------------------------------------------------------- arithmetic

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise InvalidInput(
                f"cannot combine {self.currency} with {other.currency}",
                code="money.currency_mismatch",
                field="currency",
                context={"left": self.currency, "right": other.currency},
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float | bool):
            raise _float_refused("factor", factor)
        if not isinstance(factor, Decimal | int):
            return NotImplemented
        return Money(
            self.amount * _to_decimal(factor, field="factor", code="money.invalid_factor"),
            self.currency,
        )

    __rmul__ = __mul__

    @overload
    def __truediv__(self, divisor: Money) -> Decimal: ...

    @overload
    def __truediv__(self, divisor: Decimal | int) -> Money: ...

    def __truediv__(self, divisor: Money | Decimal | int) -> Money | Decimal:
        """Divide by a number (→ Money, full precision) or by Money (→ ratio).

        The ratio form serves loss ratios such as indemnities / premium.
        """
        if isinstance(divisor, Money):
            self._same_currency(divisor)
            return self.amount / _nonzero(divisor.amount)
        if isinstance(divisor, float | bool):
            raise _float_refused("divisor", divisor)
        if not isinstance(divisor, Decimal | int):
            return NotImplemented
        value = _to_decimal(divisor, field="divisor", code="money.invalid_factor")
        return Money(self.amount / _nonzero(value), self.currency)

    # ------------------------------------------------------------- comparison

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        # Decimals that compare equal hash equally (1.0 and 1.00), as __eq__ needs.
        return hash((self.amount, self.currency))

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    # ------------------------------------------------------------- splitting

    def allocate(self, ratios: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to ``ratios``, summing exactly.

        Largest-remainder method at the currency's minor unit: each part gets
        the floor of its exact share, then the leftover minor units go one by
        one to the parts with the largest fractional remainders (ties to the
        earliest index). The parts sum exactly to ``self.round()``. Negative
        amounts are split as the mirror image of their absolute value, so
        ``(-m).allocate(r) == [-p for p in m.allocate(r)]``.
        """
        weights = _ratios(ratios)
        total_weight = sum(weights, Fraction(0))
        total_units = self.round().to_minor()
        sign = -1 if total_units < 0 else 1
        units = abs(total_units)
        shares = [units * w / total_weight for w in weights]
        floors = [int(share) for share in shares]  # shares are >= 0: int() floors
        leftover = units - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in order[:leftover]:
            floors[i] += 1
        return [Money.from_minor(sign * part, self.currency) for part in floors]

    def split(self, n: int) -> list[Money]:
        """Split into ``n`` parts differing by at most one minor unit."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInput(
                f"cannot split into {n!r} parts",
                code="money.invalid_ratios",
                field="ratios",
                context={"parts": n},
            )
        return self.allocate([1] * n)

    # ----------------------------------------------------------- presentation

    def __str__(self) -> str:
        return f"{self.quantize_str()} {self.currency}"

    def to_json(self) -> dict[str, str]:
        """``{"amount": "1250.00", "currency": "EUR"}``, rounded half-up."""
        return {"amount": self.quantize_str(), "currency": self.currency}


def _nonzero(value: Decimal) -> Decimal:
    if value == 0:
        raise InvalidInput(
            "division by zero",
            code="money.division_by_zero",
            field="divisor",
        )
    return value


def _ratios(ratios: Sequence[Decimal | int]) -> list[Fraction]:
    """Validate allocation ratios and convert them to exact fractions."""
    if isinstance(ratios, str | bytes) or len(ratios) == 0:
        raise InvalidInput(
            "at least one ratio is needed",
            code="money.invalid_ratios",
            field="ratios",
        )
    weights: list[Fraction] = []
    for ratio in ratios:
        if isinstance(ratio, float | bool):
            raise _float_refused("ratios", ratio)
        if not isinstance(ratio, Decimal | int) or (isinstance(ratio, Decimal) and not ratio.is_finite()):
            raise InvalidInput(
                f"ratio {ratio!r} is not a finite Decimal or int",
                code="money.invalid_ratios",
                field="ratios",
                context={"ratio": ratio},
            )
        if ratio < 0:
            raise InvalidInput(
                f"ratio {ratio} is negative",
                code="money.invalid_ratios",
                field="ratios",
                context={"ratio": ratio},
            )
        weights.append(Fraction(ratio))
    if sum(weights, Fraction(0)) == 0:
        raise InvalidInput(
            "ratios must have a positive sum",
            code="money.invalid_ratios",
            field="ratios",
        )
    return weights


def _extreme(moneys: Sequence[Money], *, largest: bool) -> Money:
    if not moneys:
        raise InvalidInput(
            "at least one amount is needed",
            code="money.invalid_amount",
            field="amount",
        )
    best = moneys[0]
    for candidate in moneys[1:]:
        if (candidate > best) if largest else (candidate < best):
            best = candidate
    return best


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """Sum amounts of ``currency``; an empty iterable gives zero.

    The currency is explicit so that an empty sum still has one, and a
    stray amount in another currency raises instead of being added.
    """
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
