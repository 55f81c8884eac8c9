"""Policy terms (DOMAIN.md §3) with their defaults and validation.

Terms are immutable values: a change is an endorsement that creates a new
version, never an edit. Every out-of-range value is refused with an
``InvalidInput`` naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money, currency

INDEMNITY_RATE_MIN = Decimal("0.50")
INDEMNITY_RATE_MAX = Decimal("0.95")


class DeclarationFrequency(StrEnum):
    """How often the insured declares its insurable turnover (DOMAIN.md §9)."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def months(self) -> int:
        return 1 if self is DeclarationFrequency.MONTHLY else 3


# The provisional premium is called in 1, 2, 4 or 12 equal instalments over the policy year.
PREMIUM_INSTALMENT_COUNTS = (1, 2, 4, 12)


class DeductibleKind(StrEnum):
    PER_CLAIM = "per_claim"
    ANNUAL_AGGREGATE = "annual_aggregate"


@dataclass(frozen=True)
class PremiumRates:
    """Rates on insurable turnover excluding VAT, as fractions (0.0025 = 0.25 %)."""

    domestic_rate: Decimal = Decimal("0.0025")
    export_rate: Decimal = Decimal("0.0040")


# Money-valued terms, with their default amounts in the policy currency.
MONEY_TERM_DEFAULTS: dict[str, Decimal] = {
    "deductible": Decimal("0"),
    "non_qualifying_loss": Decimal("1000"),
    "discretionary_limit": Decimal("10000"),
    "minimum_premium": Decimal("0"),
    "request_fee": Decimal("0"),
    "monitoring_fee": Decimal("0"),
}

# Day-count terms: (default, minimum, maximum).
DAY_TERM_BOUNDS: dict[str, tuple[int, int, int]] = {
    "max_credit_period_days": (120, 1, 720),
    "overdue_notification_days": (90, 1, 365),
    "insolvency_notification_days": (30, 1, 365),
    "waiting_period_days": (150, 0, 720),
    "reduction_notice_days": (0, 0, 180),
    "max_extension_days": (60, 0, 365),
    "renewal_notice_days": (90, 0, 365),
    "declaration_days": (30, 1, 120),
}


@dataclass(frozen=True)
class PolicyTerms:
    """The full set of a policy's terms; build with :meth:`build` to validate."""

    currency: str
    covered_countries: tuple[str, ...]
    indemnity_rate: Decimal = Decimal("0.90")
    deductible: Money | None = None
    deductible_kind: DeductibleKind = DeductibleKind.PER_CLAIM
    non_qualifying_loss: Money | None = None
    max_credit_period_days: int = 120
    overdue_notification_days: int = 90
    insolvency_notification_days: int = 30
    waiting_period_days: int = 150
    max_liability_multiple: Decimal | None = Decimal("30")
    max_liability_amount: Money | None = None
    discretionary_limit: Money | None = None
    premium_rates: PremiumRates = field(default_factory=PremiumRates)
    minimum_premium: Money | None = None
    request_fee: Money | None = None
    monitoring_fee: Money | None = None
    no_claims_bonus_rate: Decimal = Decimal("0.20")
    no_claims_bonus_threshold: Decimal = Decimal("0.50")
    reduction_notice_days: int = 0
    max_extension_days: int = 60
    renewal_notice_days: int = 90
    declaration_frequency: DeclarationFrequency = DeclarationFrequency.QUARTERLY
    declaration_days: int = 30
    premium_instalments: int = 4

    @classmethod
    def build(
        cls,
        *,
        currency_code: str,
        policyholder_country: str,
        overrides: Mapping[str, Any] | None = None,
    ) -> PolicyTerms:
        """Terms with DOMAIN.md defaults, overridden by ``overrides``, validated."""
        cur = currency(currency_code)
        values: dict[str, Any] = {}
        for name, default in MONEY_TERM_DEFAULTS.items():
            values[name] = Money(default, cur)
        values["covered_countries"] = (_country(policyholder_country, "policyholder_country"),)
        merged = dict(overrides or {})
        unknown = set(merged) - {f.name for f in dataclasses.fields(cls)} - {"currency"}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidInput(f"unknown policy term {name!r}", code="terms.unknown", field=name)
        asked = merged.pop("currency", None)
        if asked is not None and str(asked) != cur:
            raise InvalidInput(
                f"the terms' currency {asked!r} differs from the policy currency {cur}",
                code="terms.currency_mismatch",
                field="currency",
            )
        values.update(merged)
        return cls._validated(cur, values)

    def amend(self, changes: Mapping[str, Any]) -> PolicyTerms:
        """A new, validated set of terms with ``changes`` applied (an endorsement)."""
        allowed = {f.name for f in dataclasses.fields(self)} - {"currency"}
        for name in changes:
            if name not in allowed:
                raise InvalidInput(f"policy term {name!r} cannot be endorsed", code="terms.unknown", field=name)
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(changes)
        values.pop("currency")
        # The year's cap is one rule or the other: asking for a multiple drops a fixed amount.
        if changes.get("max_liability_multiple") is not None and "max_liability_amount" not in changes:
            values["max_liability_amount"] = None
        return self._validated(self.currency, values)

    @classmethod
    def _validated(cls, cur: str, values: dict[str, Any]) -> PolicyTerms:
        out: dict[str, Any] = {}
        out["indemnity_rate"] = _rate(values.get("indemnity_rate", Decimal("0.90")), "indemnity_rate")
        if not INDEMNITY_RATE_MIN <= out["indemnity_rate"] <= INDEMNITY_RATE_MAX:
            raise InvalidInput(
                f"indemnity_rate must be between {INDEMNITY_RATE_MIN} and {INDEMNITY_RATE_MAX},"
                f" got {out['indemnity_rate']}",
                code="terms.out_of_range",
                field="indemnity_rate",
            )
        for name in MONEY_TERM_DEFAULTS:
            out[name] = _money_term(values.get(name), cur, name)
        out["deductible_kind"] = _enum(
            DeductibleKind, values.get("deductible_kind", DeductibleKind.PER_CLAIM), "deductible_kind"
        )
        out["declaration_frequency"] = _enum(
            DeclarationFrequency,
            values.get("declaration_frequency", DeclarationFrequency.QUARTERLY),
            "declaration_frequency",
        )
        instalments = values.get("premium_instalments", 4)
        # An int only: 4.0 or Decimal(4) compare equal to 4 but cannot count instalments.
        if (
            isinstance(instalments, bool)
            or not isinstance(instalments, int)
            or instalments not in PREMIUM_INSTALMENT_COUNTS
        ):
            raise InvalidInput(
                "premium_instalments must be one of 1, 2, 4 or 12",
                code="terms.out_of_range",
                field="premium_instalments",
            )
        out["premium_instalments"] = instalments
        for name, (default, low, high) in DAY_TERM_BOUNDS.items():
            out[name] = _days(values.get(name, default), name, low, high)
        multiple = values.get("max_liability_multiple", Decimal("30"))
        amount = values.get("max_liability_amount")
        out["max_liability_amount"] = None if amount is None else _money_term(amount, cur, "max_liability_amount")
        if multiple is not None:
            multiple = _decimal(multiple, "max_liability_multiple")
            if multiple <= 0 or multiple > 1000:
                raise InvalidInput(
                    "max_liability_multiple must be > 0 and ≤ 1000",
                    code="terms.out_of_range",
                    field="max_liability_multiple",
                )
        if out["max_liability_amount"] is not None:
            if not out["max_liability_amount"].is_positive():
                raise InvalidInput(
                    "max_liability_amount must be positive",
                    code="terms.out_of_range",
                    field="max_liability_amount",
                )
            # A fixed amount replaces the multiple: exactly one rule caps the year.
            multiple = None
        if multiple is None and out["max_liability_amount"] is None:
            raise InvalidInput(
                "either max_liability_multiple or max_liability_amount is required",
                code="terms.missing",
                field="max_liability_multiple",
            )
        out["max_liability_multiple"] = multiple
        countries = values.get("covered_countries")
        if isinstance(countries, str) or not countries:
            raise InvalidInput(
                "covered_countries must be a non-empty list of ISO 3166 alpha-2 codes",
                code="terms.invalid",
                field="covered_countries",
            )
        out["covered_countries"] = tuple(dict.fromkeys(_country(c, "covered_countries") for c in countries))
        rates = values.get("premium_rates") or PremiumRates()
        if isinstance(rates, Mapping):
            rates = PremiumRates(
                domestic_rate=rates.get("domestic_rate", rates.get("domestic", Decimal("0.0025"))),
                export_rate=rates.get("export_rate", rates.get("export", Decimal("0.0040"))),
            )
        if not isinstance(rates, PremiumRates):
            raise InvalidInput("premium_rates must be an object", code="terms.invalid", field="premium_rates")
        for name in ("domestic_rate", "export_rate"):
            rate = _rate(getattr(rates, name), f"premium_rates.{name}")
            if not Decimal(0) <= rate <= Decimal("0.10"):
                raise InvalidInput(
                    f"premium_rates.{name} must be between 0 and 0.10 (a fraction, not a percent)",
                    code="terms.out_of_range",
                    field=f"premium_rates.{name}",
                )
        out["premium_rates"] = PremiumRates(
            domestic_rate=_rate(rates.domestic_rate, "premium_rates.domestic_rate"),
            export_rate=_rate(rates.export_rate, "premium_rates.export_rate"),
        )
        for name in ("no_claims_bonus_rate", "no_claims_bonus_threshold"):
            rate_default = Decimal("0.20") if name == "no_claims_bonus_rate" else Decimal("0.50")
            out[name] = _rate(values.get(name, rate_default), name)
            if not Decimal(0) <= out[name] <= Decimal(1):
                raise InvalidInput(f"{name} must be between 0 and 1", code="terms.out_of_range", field=name)
        return cls(currency=cur, **out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: amounts as ``{"amount", "currency"}``, rates as strings."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Money):
                data[f.name] = value.to_json()
            elif isinstance(value, Decimal):
                data[f.name] = str(value)
            elif isinstance(value, PremiumRates):
                data[f.name] = {
                    "domestic_rate": str(value.domestic_rate),
                    "export_rate": str(value.export_rate),
                }
            elif isinstance(value, tuple):
                data[f.name] = list(value)
            elif isinstance(value, StrEnum):
                data[f.name] = value.value
            else:
                data[f.name] = value
        return data

    def changes_from(self, other: PolicyTerms) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ (compared as values: 0.9 == 0.90), in JSON form."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {
            f.name: (theirs[f.name], mine[f.name])
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        }


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, float | bool):
        raise InvalidInput(f"{name} must be a decimal string, not a float", code="terms.float_refused", field=name)
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{name} is not a number: {value!r}", code="terms.invalid", field=name) from None
    if not result.is_finite():
        raise InvalidInput(f"{name} must be finite", code="terms.invalid", field=name)
    return result


def _rate(value: Any, name: str) -> Decimal:
    rate = _decimal(value, name)
    if rate < 0:
        raise InvalidInput(f"{name} must not be negative", code="terms.out_of_range", field=name)
    return rate


def _money_term(value: Any, cur: str, name: str) -> Money:
    if value is None:
        return Money(MONEY_TERM_DEFAULTS.get(name, Decimal(0)), cur)
    if isinstance(value, Money):
        money = value
    elif isinstance(value, Mapping):
        money = Money(_decimal(value.get("amount"), name), str(value.get("currency", cur)))
    else:
        money = Money(_decimal(value, name), cur)
    if money.currency != cur:
        raise InvalidInput(
            f"{name} is in {money.currency} but the policy currency is {cur}",
            code="terms.currency_mismatch",
            field=name,
        )
    if money.is_negative():
        raise InvalidInput(f"{name} must not be negative", code="terms.out_of_range", field=name)
    if money.round() != money:
        raise InvalidInput(f"{name} has more decimals than {cur} allows", code="terms.invalid", field=name)
    return money


def _days(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number of days", code="terms.invalid", field=name)
    if not low <= value <= high:
        raise InvalidInput(
            f"{name} must be between {low} and {high} days, got {value}",
            code="terms.out_of_range",
            field=name,
        )
    return value


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: Any, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise InvalidInput(f"{name} must be one of {allowed}", code="terms.invalid", field=name) from None


def _country(value: Any, name: str) -> str:
    code = str(value).strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise InvalidInput(
            f"{name}: {value!r} is not an ISO 3166 alpha-2 country code",
            code="terms.invalid_country",
            field=name,
        )
    return code


def country_code(value: str, field_name: str = "country") -> str:
    """Validate an ISO 3166 alpha-2 code (shape only: the domain has no country list)."""
    return _country(value, field_name)
