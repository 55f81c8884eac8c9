"""Quotes (DOMAIN.md §2 step 0, §3, §9): the application, the pricing engine, versions and expiry.

An insured (or its broker) applies with its turnover by territory, its sector, the list of its
buyers with their outstanding, and its loss history. The engine proposes terms; an underwriter may
adjust them, each adjustment a new version with its reason (earlier versions stay); the policy is
issued from the latest version while it is valid.

The price, step by step (each step is a :class:`QuoteLine` the underwriter sees):

1. **Base rates** per territory — an insurer setting, by default the policy-term defaults:
   0.0025 domestic, 0.0040 export, on turnover excluding VAT.
2. **Sector factor** ``s`` of the insured's NAF/NACE section (A..U), :data:`DEFAULT_SECTOR_FACTORS`:
   sector rates = base rates × s; base premium ``P0 = D × rd × s + E × re × s``.
3. **Expected loss of the submitted book** ``EL = Σ PD(grade) × outstanding × LGD`` over its
   *coverable* buyers (grade → PD from the insurer's grade scale; an ungraded buyer takes
   :attr:`PricingSettings.ungraded_pd`; LGD 0.60 by default). A buyer graded 9 or 10 is never
   coverable (DOMAIN.md §3 discretionary limit, §5 step 1): it is left out of the expected loss and
   of the proposed cover, listed in a line "not coverable (grade ≥ 9)", and the quote is referred.
   (The application cannot say that a buyer was refused a limit: its grade is all the engine knows.)
4. **Book loading** ``L = clamp((EL ÷ target loss ratio) ÷ P0, 0.80, 3.00)``: the premium the book
   needs at the target loss ratio (0.50 by default) against the base premium, two-sided — a book
   of good buyers (grades 1–3) earns up to 20 % off, a worse one pays up to three times. ``L`` never
   decreases as ``EL`` grows (a worse book never costs less). A book with no coverable buyer has
   nothing to measure: ``L = 1``.
5. **Experience factor** ``X = clamp(1 + z × (A ÷ C − 1), 0.80, 2.00)`` with ``A`` the average
   yearly loss of the declared history, ``C = P0 × L × target loss ratio`` the yearly loss the
   loaded price expects, and the credibility ``z = n ÷ (n + 3)`` of ``n`` declared years (no
   history: ``X = 1``).
6. **Proposed rates** = base rate × s × L × X, rounded half-up to 6 decimals and capped to 0.10
   (the range :class:`~tradecover.domain.terms.PolicyTerms` accepts).
7. **Expected premium** = D × domestic rate + E × export rate, rounded half-up to the minor unit;
   **minimum premium** = 75 % of it, rounded half-up to a whole currency unit.
8. **Referral** to an underwriter (:class:`ReferralReason`, a line each): buyers not coverable;
   the experience factor at its cap (``loss_history_above_cap``); the book's expected loss ratio
   ``EL ÷ P0`` above :attr:`PricingSettings.appetite_loss_ratio`, 1.00 by default
   (``expected_loss_above_appetite``; the setting is at most target loss ratio × loading cap, so a
   book loading at its cap is always referred). A version with referral reasons is issued only
   once an underwriter has revised it (version 2 or later): ``quote.referral_unresolved``.
9. **Indemnity rate and maximum liability**: 0.90 and 30 × premium, lowered to 0.85 and 20 when the
   risk loading ``L × X`` exceeds 1.5. **Deductible** (per claim): none, unless the history runs
   above the price (``X > 1``): then 10 % of the average yearly loss, rounded half-up to the
   hundred. **Covered countries**: the policyholder's and those of the coverable submitted buyers.
   Every other term keeps its default.

Every figure above is a setting of :class:`PricingSettings`; the defaults are tradecover's own
choices, not facts about any insurer. Standard library, and the domain's identifier parser
(python-stdnum) for the buyers' SIREN, SIRET and VAT numbers.

An issued policy starts between the version's date − 90 days and + 365 days
(``quote.start_date_out_of_range``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tradecover.domain.errors import Conflict, InvalidInput, RuleBroken
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, NOT_COVERABLE_FROM_GRADE, GradeScale, validate_grade
from tradecover.domain.identifiers import IdentifierKind, parse_identifier
from tradecover.domain.money import Money, currency, sum_money
from tradecover.domain.terms import INDEMNITY_RATE_MAX, INDEMNITY_RATE_MIN, PolicyTerms, PremiumRates, country_code

__all__ = [
    "DEFAULT_PRICING",
    "DEFAULT_SECTOR_FACTORS",
    "ISSUE_START_EARLIEST_DAYS",
    "ISSUE_START_LATEST_DAYS",
    "LOSS_HISTORY_YEARS",
    "MAX_RATE",
    "REFERRAL_LINE_PREFIX",
    "SECTION_NAMES",
    "LossYear",
    "PricingSettings",
    "Proposal",
    "Quote",
    "QuoteApplication",
    "QuoteLine",
    "QuoteStatus",
    "QuoteVersion",
    "ReferralReason",
    "SubmittedBuyer",
    "base_premium",
    "book_loading",
    "book_loss_ratio",
    "buyer_pd",
    "check_can_issue",
    "check_can_revise",
    "check_start_date",
    "expected_loss",
    "expected_premium",
    "experience_factor",
    "first_version",
    "is_coverable",
    "minimum_premium",
    "parse_application",
    "price_application",
    "proposed_rate",
    "quote_status",
    "referral_reasons",
    "revise_version",
    "round_to_hundred",
    "sector_factor",
    "sector_section",
    "terms_from_json",
    "valid_until",
]

#: Premium rates are fractions of turnover; PolicyTerms accepts 0 ≤ rate ≤ 0.10.
MAX_RATE = Decimal("0.10")
#: Proposed rates are rounded half-up to this quantum (six decimals: 0.000001 = 0.0001 %).
RATE_QUANTUM = Decimal("0.000001")
MAX_BUYERS = 5000
#: Loss history: the complete calendar years before the application's year, the last 10 at most.
LOSS_HISTORY_YEARS = 10
#: A policy issued from a quote starts from the version's date − 90 days up to its date + 365 days.
ISSUE_START_EARLIEST_DAYS = 90
ISSUE_START_LATEST_DAYS = 365
#: Buyers not coverable are each listed in a line, up to this many (the summary line counts them all).
MAX_LISTED_NOT_COVERABLE = 100

#: NACE rév. 2 / NAF rév. 2 sections and the divisions they hold (the statistical classification).
SECTION_DIVISIONS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "A": (1, 3),
        "B": (5, 9),
        "C": (10, 33),
        "D": (35, 35),
        "E": (36, 39),
        "F": (41, 43),
        "G": (45, 47),
        "H": (49, 53),
        "I": (55, 56),
        "J": (58, 63),
        "K": (64, 66),
        "L": (68, 68),
        "M": (69, 75),
        "N": (77, 82),
        "O": (84, 84),
        "P": (85, 85),
        "Q": (86, 88),
        "R": (90, 93),
        "S": (94, 96),
        "T": (97, 98),
        "U": (99, 99),
    }
)
SECTION_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "A": "agriculture, forestry and fishing",
        "B": "mining and quarrying",
        "C": "manufacturing",
        "D": "electricity and gas supply",
        "E": "water supply, waste management",
        "F": "construction",
        "G": "wholesale and retail trade",
        "H": "transportation and storage",
        "I": "accommodation and food services",
        "J": "information and communication",
        "K": "financial and insurance activities",
        "L": "real estate activities",
        "M": "professional, scientific and technical activities",
        "N": "administrative and support services",
        "O": "public administration",
        "P": "education",
        "Q": "human health and social work",
        "R": "arts, entertainment and recreation",
        "S": "other service activities",
        "T": "activities of households as employers",
        "U": "extraterritorial organisations",
    }
)

#: Sector factor per NAF section: tradecover's own default, not a fact about any insurer or
#: market — sectors with more insolvencies among their customers (construction, hotels and
#: restaurants, real estate) above 1, sectors selling to sturdier buyers below. An insurer setting.
DEFAULT_SECTOR_FACTORS: Mapping[str, Decimal] = MappingProxyType(
    {
        "A": Decimal("1.10"),
        "B": Decimal("1.10"),
        "C": Decimal("1.00"),
        "D": Decimal("0.90"),
        "E": Decimal("0.95"),
        "F": Decimal("1.30"),
        "G": Decimal("1.10"),
        "H": Decimal("1.15"),
        "I": Decimal("1.30"),
        "J": Decimal("1.00"),
        "K": Decimal("0.90"),
        "L": Decimal("1.20"),
        "M": Decimal("0.95"),
        "N": Decimal("1.10"),
        "O": Decimal("0.80"),
        "P": Decimal("0.90"),
        "Q": Decimal("0.90"),
        "R": Decimal("1.20"),
        "S": Decimal("1.10"),
        "T": Decimal("1.20"),
        "U": Decimal("1.00"),
    }
)


def _invalid_setting(name: str, rule: str) -> InvalidInput:
    return InvalidInput(f"pricing setting {name} must be {rule}", code="quote.invalid_settings", field=name)


@dataclass(frozen=True)
class PricingSettings:
    """The insurer's pricing settings; every default is tradecover's own, not a market fact."""

    base_rates: PremiumRates = field(default_factory=PremiumRates)
    sector_factors: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_SECTOR_FACTORS)
    grade_scale: GradeScale = DEFAULT_GRADE_SCALE
    lgd_rate: Decimal = Decimal("0.60")
    #: The PD of a buyer submitted without a grade: grade 6's, the middle of the coverable scale.
    ungraded_pd: Decimal = Decimal("0.0120")
    target_loss_ratio: Decimal = Decimal("0.50")
    #: Bounds of the book loading L = clamp((EL ÷ target loss ratio) ÷ P0, floor, cap).
    loading_floor: Decimal = Decimal("0.80")
    loading_cap: Decimal = Decimal("3.00")
    #: Above this expected loss ratio of the book (EL ÷ P0) the quote is referred to an underwriter.
    appetite_loss_ratio: Decimal = Decimal("1.00")
    #: Credibility constant k of z = n / (n + k), n the declared years of loss history.
    credibility_years: Decimal = Decimal("3")
    experience_floor: Decimal = Decimal("0.80")
    experience_cap: Decimal = Decimal("2.00")
    minimum_premium_share: Decimal = Decimal("0.75")
    indemnity_rate: Decimal = Decimal("0.90")
    reduced_indemnity_rate: Decimal = Decimal("0.85")
    max_liability_multiple: Decimal = Decimal("30")
    reduced_max_liability_multiple: Decimal = Decimal("20")
    #: Above this risk loading (book loading × experience factor) the cover is narrowed.
    reduction_trigger: Decimal = Decimal("1.50")
    #: Share of the average yearly loss proposed as a per-claim deductible when the history runs above the price.
    deductible_share: Decimal = Decimal("0.10")
    validity_days: int = 30

    def __post_init__(self) -> None:
        for name in ("domestic_rate", "export_rate"):
            rate = getattr(self.base_rates, name)
            if not isinstance(rate, Decimal) or not 0 < rate <= MAX_RATE:
                raise _invalid_setting(f"base_rates.{name}", f"a Decimal in (0, {MAX_RATE}]")
        if set(self.sector_factors) != set(SECTION_DIVISIONS):
            raise _invalid_setting("sector_factors", "a factor for each NAF section A..U")
        for section, factor in self.sector_factors.items():
            if not isinstance(factor, Decimal) or not factor > 0:
                raise _invalid_setting(f"sector_factors.{section}", "a positive Decimal")
        object.__setattr__(self, "sector_factors", MappingProxyType(dict(self.sector_factors)))
        unit_interval = {
            "lgd_rate": self.lgd_rate,
            "ungraded_pd": self.ungraded_pd,
            "target_loss_ratio": self.target_loss_ratio,
            "experience_floor": self.experience_floor,
            "loading_floor": self.loading_floor,
        }
        for name, value in unit_interval.items():
            if not isinstance(value, Decimal) or not 0 < value <= 1:
                raise _invalid_setting(name, "a Decimal in (0, 1]")
        for name, value in {
            "minimum_premium_share": self.minimum_premium_share,
            "deductible_share": self.deductible_share,
        }.items():
            if not isinstance(value, Decimal) or not 0 <= value <= 1:
                raise _invalid_setting(name, "a Decimal in [0, 1]")
        if not self.credibility_years > 0:
            raise _invalid_setting("credibility_years", "positive")
        if not self.experience_cap >= 1:
            raise _invalid_setting("experience_cap", "at least 1")
        if not isinstance(self.loading_cap, Decimal) or not 1 <= self.loading_cap <= 100:
            raise _invalid_setting("loading_cap", "a Decimal between 1 and 100")
        # A loading at its cap no longer pays the book's expected loss: it must always be referred.
        most = self.target_loss_ratio * self.loading_cap
        if not isinstance(self.appetite_loss_ratio, Decimal) or not 0 < self.appetite_loss_ratio <= most:
            raise _invalid_setting("appetite_loss_ratio", f"a Decimal in (0, target_loss_ratio × loading_cap = {most}]")
        if not self.reduction_trigger >= 1:
            raise _invalid_setting("reduction_trigger", "at least 1")
        for name in ("indemnity_rate", "reduced_indemnity_rate"):
            if not INDEMNITY_RATE_MIN <= getattr(self, name) <= INDEMNITY_RATE_MAX:
                raise _invalid_setting(name, f"between {INDEMNITY_RATE_MIN} and {INDEMNITY_RATE_MAX}")
        for name in ("max_liability_multiple", "reduced_max_liability_multiple"):
            if not 0 < getattr(self, name) <= 1000:
                raise _invalid_setting(name, "> 0 and ≤ 1000")
        if isinstance(self.validity_days, bool) or not isinstance(self.validity_days, int):
            raise _invalid_setting("validity_days", "a whole number of days")
        if not 1 <= self.validity_days <= 365:
            raise _invalid_setting("validity_days", "between 1 and 365 days")


DEFAULT_PRICING = PricingSettings()


# --- The application -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedBuyer:
    """A buyer of the insured's book as the application lists it (not a Buyer record).

    ``identifier`` is free text in canonical form: a SIREN, SIRET or French VAT number validated
    and compacted (``552100554``, ``FR40552100554``), any other registration compacted (spaces,
    dots, dashes and slashes removed, upper case).
    """

    name: str
    country: str
    outstanding_amount: Money
    identifier: str | None = None
    risk_grade: int | None = None

    @property
    def coverable(self) -> bool:
        return is_coverable(self)


def is_coverable(buyer: SubmittedBuyer) -> bool:
    """A buyer graded 9 or 10 is never coverable (DOMAIN.md §3, §5 step 1); an ungraded one is priced."""
    return buyer.risk_grade is None or buyer.risk_grade < NOT_COVERABLE_FROM_GRADE


@dataclass(frozen=True)
class LossYear:
    """One year of the insured's past credit losses (indemnities received, or unpaid losses uninsured)."""

    year: int
    losses: Money


@dataclass(frozen=True)
class QuoteApplication:
    """What the insured submits; build with :func:`parse_application` to validate."""

    currency: str
    domestic_turnover: Money
    export_turnover: Money
    sector: str
    buyers: tuple[SubmittedBuyer, ...] = ()
    loss_history: tuple[LossYear, ...] = ()

    @property
    def section(self) -> str:
        return sector_section(self.sector)

    @property
    def total_turnover(self) -> Money:
        return self.domestic_turnover + self.export_turnover

    @property
    def total_outstanding(self) -> Money:
        return sum_money((b.outstanding_amount for b in self.buyers), self.currency)

    @property
    def coverable_buyers(self) -> tuple[SubmittedBuyer, ...]:
        return tuple(b for b in self.buyers if is_coverable(b))


# ASCII digits only: ``\d`` would also take "４６" or "٤٦", which int() reads as 46.
_SECTOR = re.compile(r"^([0-9]{2})(?:\.?([0-9]{1,2})([A-Z])?)?$")


def sector_section(code: str) -> str:
    """The NAF/NACE section (A..U) of a sector code: a section letter, or a division, group, class or
    NAF sub-class (``46``, ``46.6``, ``46.69``, ``46.69B``, ``4669B``)."""
    text = str(code).strip().upper()
    if len(text) == 1 and text in SECTION_DIVISIONS:
        return text
    match = _SECTOR.match(text)
    if match:
        division = int(match.group(1))
        for section, (first, last) in SECTION_DIVISIONS.items():
            if first <= division <= last:
                return section
    raise InvalidInput(
        f"{code!r} is not a NAF/NACE sector: give a section letter A..U or a code such as 46.69B",
        code="quote.invalid_sector",
        field="sector",
    )


def _money(value: Any, cur: str, field_name: str) -> Money:
    """An amount of the application: ``{"amount", "currency"}`` or a bare amount in the application currency."""
    if isinstance(value, Money):
        money = value
    elif isinstance(value, Mapping):
        if value.get("amount") is None:
            raise InvalidInput(f"{field_name}: an amount is required", code="quote.invalid_amount", field=field_name)
        money = _money_of(value.get("amount"), str(value.get("currency", cur)), field_name)
    elif value is None:
        raise InvalidInput(f"{field_name}: an amount is required", code="quote.invalid_amount", field=field_name)
    else:
        money = _money_of(value, cur, field_name)
    if money.currency != cur:
        raise InvalidInput(
            f"{field_name} is in {money.currency}; the application is in {cur}",
            code="quote.currency_mismatch",
            field=field_name,
        )
    if money.round() != money:
        raise InvalidInput(
            f"{field_name} has more decimals than {cur} allows", code="money.not_rounded", field=field_name
        )
    return money


def _money_of(amount: Any, cur: str, field_name: str) -> Money:
    try:
        return Money.of(amount, cur)
    except InvalidInput as error:
        # The same code (money.float_refused, money.invalid_amount…), naming the application's field.
        raise InvalidInput(error.message, code=error.code, field=field_name) from None


def _text(value: Any, field_name: str, *, max_length: int, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field_name} is required", code="quote.missing", field=field_name)
        return None
    text = " ".join(str(value).split())
    _printable(text, field_name)
    if len(text) > max_length:
        raise InvalidInput(
            f"{field_name} has more than {max_length} characters", code="quote.too_long", field=field_name
        )
    return text


def _printable(text: str, field_name: str) -> None:
    """Refuse control characters (NUL, ESC…) left once whitespace is collapsed: no database stores NUL in text."""
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise InvalidInput(f"{field_name} holds a control character", code="quote.control_character", field=field_name)


def _list(value: Any, field_name: str, maximum: int) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise InvalidInput(f"{field_name} must be a list", code="quote.invalid", field=field_name)
    if len(value) > maximum:
        raise InvalidInput(f"{field_name} has more than {maximum} entries", code="quote.too_many", field=field_name)
    return list(value)


def _mapping(value: Any, field_name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field_name} must be an object", code="quote.invalid", field=field_name)
    return value


def _known(data: Mapping[str, Any], allowed: frozenset[str], at: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        where = f"{at}.{unknown[0]}" if at else unknown[0]
        raise InvalidInput(f"unknown field {where!r}", code="quote.unknown_field", field=where)


_APPLICATION_FIELDS = frozenset({"currency", "turnover", "sector", "buyers", "loss_history"})
_BUYER_FIELDS = frozenset({"name", "identifier", "identifier_kind", "country", "outstanding", "risk_grade"})
_SEPARATORS = re.compile(r"[\s.\-/]")
_FRENCH_VAT_SHAPE = re.compile(r"^FR[0-9A-Z]{2}[0-9]{9}$")
_LOSS_FIELDS = frozenset({"year", "losses"})


def _buyer(raw: Any, cur: str, index: int) -> SubmittedBuyer:
    at = f"buyers[{index}]"
    data = _mapping(raw, at)
    _known(data, _BUYER_FIELDS, at)
    name = _text(data.get("name"), f"{at}.name", max_length=300, required=True)
    assert name is not None
    try:
        country = country_code(str(data.get("country") or ""), f"{at}.country")
    except InvalidInput as error:
        raise InvalidInput(error.message, code="quote.invalid_country", field=f"{at}.country") from None
    outstanding = _money(data.get("outstanding"), cur, f"{at}.outstanding")
    if outstanding.is_negative():
        raise InvalidInput(
            f"{at}.outstanding must not be negative", code="quote.negative_outstanding", field=f"{at}.outstanding"
        )
    grade = data.get("risk_grade")
    if grade is not None:
        try:
            grade = validate_grade(grade)
        except InvalidInput as error:
            raise InvalidInput(error.message, code="quote.invalid_grade", field=f"{at}.risk_grade") from None
    identifier = _identifier(data, at, country)
    return SubmittedBuyer(name, country, outstanding, identifier, grade)


def _identifier(data: Mapping[str, Any], at: str, country: str) -> str | None:
    """The buyer's identifier in canonical form (see :class:`SubmittedBuyer`).

    With a known ``identifier_kind`` (siren, siret, vat_fr, vat, lei, duns) it is validated as that
    kind. Otherwise a French form is recognised by its shape — 9 or 14 digits for a French buyer
    (SIREN, SIRET), ``FR`` + key + SIREN for any — and validated; a bad check digit is refused with
    the identifier's code (``identifier.invalid_siren``…) on ``buyers[i].identifier``. Anything
    else (an unknown kind, a foreign registration) is accepted, compacted.
    """
    raw = _text(data.get("identifier"), f"{at}.identifier", max_length=40, required=False)
    kind_raw = _text(data.get("identifier_kind"), f"{at}.identifier_kind", max_length=20, required=False)
    if raw is None:
        if kind_raw is not None:
            raise InvalidInput(
                f"{at}.identifier_kind is given without an identifier", code="quote.missing", field=f"{at}.identifier"
            )
        return None
    compact = _SEPARATORS.sub("", raw).upper()
    kind: IdentifierKind | None = None
    if kind_raw is not None and kind_raw.lower() in {k.value for k in IdentifierKind}:
        kind = IdentifierKind(kind_raw.lower())
    elif country == "FR" and compact.isascii() and compact.isdigit() and len(compact) in (9, 14):
        kind = IdentifierKind.SIREN if len(compact) == 9 else IdentifierKind.SIRET
    elif _FRENCH_VAT_SHAPE.match(compact):
        kind = IdentifierKind.VAT_FR
    if kind is None:
        return compact
    try:
        return parse_identifier(kind, raw).value
    except InvalidInput as error:
        raise InvalidInput(
            f"{at}.identifier: {error.message}", code=error.code, field=f"{at}.identifier", context=error.context
        ) from None


def _loss_year(raw: Any, cur: str, index: int, on: date) -> LossYear:
    at = f"loss_history[{index}]"
    data = _mapping(raw, at)
    _known(data, _LOSS_FIELDS, at)
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2999:
        raise InvalidInput(f"{at}.year must be a year such as 2024", code="quote.invalid_year", field=f"{at}.year")
    first, last = on.year - LOSS_HISTORY_YEARS, on.year - 1
    if not first <= year <= last:
        raise InvalidInput(
            f"{at}.year {year}: the loss history holds complete years before the application's year {on.year},"
            f" the last {LOSS_HISTORY_YEARS} at most ({first} to {last})",
            code="quote.invalid_loss_year",
            field=f"{at}.year",
            context={"first": first, "last": last},
        )
    losses = _money(data.get("losses"), cur, f"{at}.losses")
    if losses.is_negative():
        raise InvalidInput(f"{at}.losses must not be negative", code="quote.negative_losses", field=f"{at}.losses")
    return LossYear(year, losses)


def _buyer_key(buyer: SubmittedBuyer) -> tuple[str, str] | None:
    """One legal entity: the SIREN of a French buyer's SIREN or SIRET, or of a French VAT number;
    else the country and the (compacted) identifier."""
    ident = buyer.identifier
    if ident is None:
        return None
    if buyer.country == "FR" and ident.isascii() and ident.isdigit() and len(ident) in (9, 14):
        return ("SIREN", ident[:9])
    if _FRENCH_VAT_SHAPE.match(ident) and not ident[4:].startswith("000"):  # FR000… is Monaco: no SIREN
        return ("SIREN", ident[4:])
    return (buyer.country, ident)


def _check_unique_buyers(buyers: Sequence[SubmittedBuyer]) -> None:
    """A buyer listed twice (same SIREN — as a SIREN, a SIRET or a French VAT number — or same country
    and identifier) would count its outstanding twice in the expected loss: refused, naming the repeat."""
    seen: dict[tuple[str, str], int] = {}
    for index, buyer in enumerate(buyers):
        key = _buyer_key(buyer)
        if key is None:
            continue
        if key in seen:
            raise InvalidInput(
                f"buyers[{index}] repeats buyers[{seen[key]}] (identifier {buyer.identifier} in {buyer.country}):"
                " list each buyer once with its whole outstanding",
                code="quote.duplicate_buyer",
                field=f"buyers[{index}].identifier",
            )
        seen[key] = index


def parse_application(data: Mapping[str, Any], *, on: date) -> QuoteApplication:
    """Validate an application given as plain data (JSON or YAML), naming the field at fault.

    ``{"currency": "EUR", "turnover": {"domestic": <money>, "export": <money>}, "sector": "46.69B",
    "buyers": [{"name", "identifier", "country", "outstanding": <money>, "risk_grade"}],
    "loss_history": [{"year", "losses": <money>}]}``; a money is ``{"amount": "1000.00",
    "currency": "EUR"}`` or a bare amount in the application's currency (never a float). A turnover
    left out is zero; the total must be positive. Loss years are complete years before ``on``'s
    year, the last 10 at most, each once (``quote.invalid_loss_year``); a year with no loss is
    declared with 0. A buyer may name its ``identifier_kind``; SIREN, SIRET and French VAT numbers
    are validated (see :func:`_identifier`).
    """
    data = _mapping(data, "application")
    _known(data, _APPLICATION_FIELDS, "")
    cur_raw = data.get("currency", "EUR")
    try:
        cur = currency(cur_raw)
    except InvalidInput as error:
        raise InvalidInput(error.message, code=error.code, field="currency") from None
    turnover = _mapping(data.get("turnover") or {}, "turnover")
    unknown = set(turnover) - {"domestic", "export"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(
            f"turnover territories are domestic and export, not {name!r}",
            code="quote.unknown_territory",
            field=f"turnover.{name}",
        )
    amounts: dict[str, Money] = {}
    for territory in ("domestic", "export"):
        raw = turnover.get(territory)
        amount = Money.zero(cur) if raw is None else _money(raw, cur, f"turnover.{territory}")
        if amount.is_negative():
            raise InvalidInput(
                f"the {territory} turnover must not be negative",
                code="quote.negative_turnover",
                field=f"turnover.{territory}",
            )
        amounts[territory] = amount
    if not (amounts["domestic"] + amounts["export"]).is_positive():
        raise InvalidInput(
            "an application declares some turnover (domestic, export or both)",
            code="quote.no_turnover",
            field="turnover",
        )
    sector_raw = _text(data.get("sector"), "sector", max_length=10, required=True)
    assert sector_raw is not None
    sector_section(sector_raw)
    buyers = tuple(_buyer(raw, cur, i) for i, raw in enumerate(_list(data.get("buyers"), "buyers", MAX_BUYERS)))
    _check_unique_buyers(buyers)
    history = tuple(
        _loss_year(raw, cur, i, on)
        for i, raw in enumerate(_list(data.get("loss_history"), "loss_history", LOSS_HISTORY_YEARS))
    )
    seen: set[int] = set()
    for index, loss in enumerate(history):
        if loss.year in seen:
            raise InvalidInput(
                f"loss_history[{index}].year: the year {loss.year} is declared twice",
                code="quote.invalid_loss_year",
                field=f"loss_history[{index}].year",
            )
        seen.add(loss.year)
    return QuoteApplication(
        currency=cur,
        domestic_turnover=amounts["domestic"],
        export_turnover=amounts["export"],
        sector=sector_raw.upper(),
        buyers=buyers,
        loss_history=tuple(sorted(history, key=lambda y: y.year)),
    )


# --- The pricing engine --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteLine:
    """One step of the price, as the underwriter reads it: ``figure`` in ``unit`` (a currency, rate, factor…)."""

    code: str
    label: str
    figure: str
    unit: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "figure": self.figure, "unit": self.unit}


def _money_line(code: str, label: str, money: Money) -> QuoteLine:
    return QuoteLine(code, label, money.quantize_str(), money.currency)


def _number(value: Decimal, places: int = 6) -> str:
    """A ratio for display: rounded half-up to ``places`` decimals, trailing zeros kept to two."""
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP).normalize(), "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def sector_factor(sector: str, settings: PricingSettings = DEFAULT_PRICING) -> Decimal:
    """The pricing factor of a sector code's section (:data:`DEFAULT_SECTOR_FACTORS` by default)."""
    return settings.sector_factors[sector_section(sector)]


def base_premium(application: QuoteApplication, rates: PremiumRates) -> Money:
    """Turnover × rate summed over the two territories, at full precision."""
    return application.domestic_turnover * rates.domestic_rate + application.export_turnover * rates.export_rate


def buyer_pd(buyer: SubmittedBuyer, settings: PricingSettings = DEFAULT_PRICING) -> Decimal:
    """The grade scale's PD of the buyer's grade, or the stated PD of an ungraded buyer."""
    if buyer.risk_grade is None:
        return settings.ungraded_pd
    return settings.grade_scale.pd_of(buyer.risk_grade)


def expected_loss(
    buyers: Iterable[SubmittedBuyer], currency_code: str, settings: PricingSettings = DEFAULT_PRICING
) -> Money:
    """``Σ PD(grade) × outstanding × LGD`` over the coverable buyers of the book, at full precision.

    A buyer graded 9 or 10 is not coverable (:func:`is_coverable`): the insurer carries no loss on
    it, so it loads nothing (the quote is referred instead)."""
    total = Money.zero(currency_code)
    for buyer in buyers:
        if is_coverable(buyer):
            total = total + buyer.outstanding_amount * (buyer_pd(buyer, settings) * settings.lgd_rate)
    return total


def book_loading(loss: Money, premium: Money, settings: PricingSettings = DEFAULT_PRICING) -> Decimal:
    """``L = clamp((EL ÷ target loss ratio) ÷ P0, loading floor, loading cap)`` — 0.80 and 3.00 by default.

    Two-sided: a book whose expected loss needs less than the base premium ``P0`` earns a credit down
    to the floor, a worse one a loading up to the cap. Non-decreasing in ``EL`` for a given ``P0``,
    so a worse book never costs less. No base premium to compare with: ``L = 1``.
    """
    if not premium.is_positive():
        return Decimal(1)
    needed = (loss / settings.target_loss_ratio) / premium
    return min(settings.loading_cap, max(settings.loading_floor, needed))


def book_loss_ratio(loss: Money, premium: Money) -> Decimal:
    """The expected loss ratio of the book on the base premium, ``EL ÷ P0`` (0 with no base premium)."""
    if not premium.is_positive():
        return Decimal(0)
    return loss / premium


def experience_factor(
    history: Sequence[LossYear], expected_cost: Money, settings: PricingSettings = DEFAULT_PRICING
) -> tuple[Decimal, Decimal, Money]:
    """``(X, z, A)``: ``X = clamp(1 + z × (A ÷ expected_cost − 1), floor, cap)``.

    ``A`` is the average yearly loss over the declared years, ``z = n ÷ (n + k)`` the credibility
    of ``n`` declared years; no history (or nothing priced to compare with) gives ``X = 1``.
    """
    cur = expected_cost.currency
    if not history or not expected_cost.is_positive():
        return Decimal(1), Decimal(0), Money.zero(cur)
    n = Decimal(len(history))
    average = sum_money((y.losses for y in history), cur) / n
    z = n / (n + settings.credibility_years)
    raw = 1 + z * (average / expected_cost - 1)
    return min(settings.experience_cap, max(settings.experience_floor, raw)), z, average


def proposed_rate(base_rate: Decimal, multiplier: Decimal) -> tuple[Decimal, bool]:
    """``(rate, capped)``: base rate × multiplier, rounded half-up to 6 decimals, capped to 0.10."""
    rate = (base_rate * multiplier).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    if rate > MAX_RATE:
        return MAX_RATE, True
    return rate, False


def expected_premium(application: QuoteApplication, rates: PremiumRates) -> Money:
    """The premium the declared turnover would pay at ``rates``, rounded half-up to the minor unit."""
    return base_premium(application, rates).round()


def minimum_premium(premium: Money, share: Decimal) -> Money:
    """``share`` of the expected premium, rounded half-up to a whole currency unit (never negative)."""
    amount = (premium.amount * share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Money(max(amount, Decimal(0)), premium.currency)


def round_to_hundred(money: Money) -> Money:
    """Rounded half-up to the hundred currency units (612 → 600, 650 → 700)."""
    hundreds = (money.amount / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Money(hundreds * 100, money.currency)


class ReferralReason(StrEnum):
    """Why a quote waits for an underwriter: it may be issued only from a revised version (≥ 2)."""

    BUYERS_NOT_COVERABLE = "buyers_not_coverable"  # buyers graded 9 or 10 in the book
    LOSS_HISTORY_ABOVE_CAP = "loss_history_above_cap"  # the experience factor hit its cap
    EXPECTED_LOSS_ABOVE_APPETITE = "expected_loss_above_appetite"  # EL ÷ P0 above the appetite


#: The lines of a version that carry its referral reasons: code ``referral.<reason>``, figure the reason.
REFERRAL_LINE_PREFIX = "referral."
REFERRAL_UNIT = "referral"


def referral_reasons(lines: Iterable[QuoteLine]) -> tuple[ReferralReason, ...]:
    """The referral reasons recorded in a version's lines (stored with them), in order, once each."""
    found: list[ReferralReason] = []
    for line in lines:
        if line.unit == REFERRAL_UNIT and line.code.startswith(REFERRAL_LINE_PREFIX):
            reason = ReferralReason(line.figure)
            if reason not in found:
                found.append(reason)
    return tuple(found)


@dataclass(frozen=True)
class Proposal:
    """The engine's terms with the lines that explain them."""

    terms: PolicyTerms
    expected_premium: Money
    expected_loss: Money
    lines: tuple[QuoteLine, ...]

    @property
    def referral_reasons(self) -> tuple[ReferralReason, ...]:
        return referral_reasons(self.lines)


def price_application(
    application: QuoteApplication,
    *,
    policyholder_country: str,
    settings: PricingSettings = DEFAULT_PRICING,
) -> Proposal:
    """The engine's proposal for an application (see the module's docstring for the formula)."""
    app = application
    cur = app.currency
    lines: list[QuoteLine] = [
        _money_line("turnover.domestic", "Domestic turnover excl. VAT (D)", app.domestic_turnover),
        _money_line("turnover.export", "Export turnover excl. VAT (E)", app.export_turnover),
        QuoteLine("rate.base_domestic", "Base domestic rate (rd)", str(settings.base_rates.domestic_rate), "rate"),
        QuoteLine("rate.base_export", "Base export rate (re)", str(settings.base_rates.export_rate), "rate"),
    ]
    section = app.section
    s = settings.sector_factors[section]
    lines.append(
        QuoteLine(
            "sector.factor",
            f"Sector factor (s) of {app.sector}: section {section}, {SECTION_NAMES[section]}",
            str(s),
            "factor",
        )
    )
    sector_rates = PremiumRates(settings.base_rates.domestic_rate * s, settings.base_rates.export_rate * s)
    p0 = base_premium(app, sector_rates)
    lines.append(_money_line("premium.base", "Base premium P0 = D × rd × s + E × re × s", p0))
    coverable = app.coverable_buyers
    excluded = [(i, b) for i, b in enumerate(app.buyers) if not is_coverable(b)]
    referrals: list[tuple[ReferralReason, str]] = []
    el = expected_loss(coverable, cur, settings)
    graded = sum(1 for b in coverable if b.risk_grade is not None)
    lines.append(
        _money_line(
            "book.outstanding",
            f"Outstanding of the coverable book ({len(coverable)} of {len(app.buyers)} buyers, {graded} graded)",
            sum_money((b.outstanding_amount for b in coverable), cur),
        )
    )
    if excluded:
        listed = excluded[:MAX_LISTED_NOT_COVERABLE]
        more = f"; the first {len(listed)} listed" if len(listed) < len(excluded) else ""
        lines.append(
            _money_line(
                "book.not_coverable",
                f"Not coverable (grade ≥ {NOT_COVERABLE_FROM_GRADE}): {len(excluded)} buyers, left out of the"
                f" expected loss and of the cover{more}",
                sum_money((b.outstanding_amount for _, b in excluded), cur),
            )
        )
        for index, buyer in listed:
            lines.append(
                _money_line(
                    f"book.not_coverable.buyers[{index}]",
                    f"buyers[{index}] {buyer.name} ({buyer.country}), grade {buyer.risk_grade}:"
                    f" not coverable (grade ≥ {NOT_COVERABLE_FROM_GRADE})",
                    buyer.outstanding_amount,
                )
            )
        referrals.append(
            (
                ReferralReason.BUYERS_NOT_COVERABLE,
                f"{len(excluded)} buyers not coverable (grade ≥ {NOT_COVERABLE_FROM_GRADE}): the insured's book"
                " to be reviewed",
            )
        )
    loss_ratio = book_loss_ratio(el, p0)
    lines += [
        _money_line(
            "book.expected_loss",
            f"Expected loss EL = Σ PD(grade) × outstanding × LGD {settings.lgd_rate} over the coverable buyers"
            f" (ungraded buyers: PD {settings.ungraded_pd})",
            el,
        ),
        QuoteLine(
            "book.loss_ratio",
            f"Expected loss ratio of the book EL ÷ P0 (appetite: up to {settings.appetite_loss_ratio})",
            _number(loss_ratio),
            "ratio",
        ),
        _money_line(
            "book.risk_premium",
            f"Premium the book needs: EL ÷ target loss ratio {settings.target_loss_ratio}",
            el / settings.target_loss_ratio,
        ),
    ]
    if loss_ratio > settings.appetite_loss_ratio:
        referrals.append(
            (
                ReferralReason.EXPECTED_LOSS_ABOVE_APPETITE,
                f"expected loss ratio of the book EL ÷ P0 = {_number(loss_ratio)} above the appetite"
                f" {settings.appetite_loss_ratio}",
            )
        )
    if coverable:
        loading = book_loading(el, p0, settings)
        rule = (
            f"Book loading L = clamp((EL ÷ target loss ratio) ÷ P0, {settings.loading_floor}, {settings.loading_cap})"
        )
    else:
        loading = Decimal(1)
        rule = "Book loading L = 1: no coverable buyer to measure"
    lines.append(QuoteLine("book.loading", rule, _number(loading), "factor"))
    expected_cost = p0 * loading * settings.target_loss_ratio
    x, z, average = experience_factor(app.loss_history, expected_cost, settings)
    years = len(app.loss_history)
    lines += [
        QuoteLine("experience.years", "Years of loss history declared (n)", str(years), "years"),
        _money_line("experience.average_loss", "Average yearly loss of the history (A)", average),
        _money_line(
            "experience.expected_cost",
            f"Yearly loss the loaded price expects C = P0 × L × {settings.target_loss_ratio}",
            expected_cost,
        ),
        QuoteLine(
            "experience.factor",
            f"Experience factor X = clamp(1 + z × (A ÷ C − 1), {settings.experience_floor},"
            f" {settings.experience_cap}), z = n ÷ (n + {settings.credibility_years}) = {_number(z)}",
            _number(x),
            "factor",
        ),
    ]
    if app.loss_history and x >= settings.experience_cap:
        referrals.append(
            (
                ReferralReason.LOSS_HISTORY_ABOVE_CAP,
                f"experience factor at its cap {settings.experience_cap}: the loss history runs above what the"
                " capped price pays",
            )
        )
    multiplier = s * loading * x
    domestic, domestic_capped = proposed_rate(settings.base_rates.domestic_rate, multiplier)
    export, export_capped = proposed_rate(settings.base_rates.export_rate, multiplier)
    for code, label, rate, capped in (
        ("rate.domestic", "Proposed domestic rate = rd × s × L × X", domestic, domestic_capped),
        ("rate.export", "Proposed export rate = re × s × L × X", export, export_capped),
    ):
        note = f", capped to {MAX_RATE}" if capped else ", rounded half-up to 6 decimals"
        lines.append(QuoteLine(code, label + note, str(rate), "rate"))
    rates = PremiumRates(domestic, export)
    premium = expected_premium(app, rates)
    lines.append(_money_line("premium.expected", "Expected premium = D × domestic rate + E × export rate", premium))
    minimum = minimum_premium(premium, settings.minimum_premium_share)
    lines.append(
        _money_line(
            "terms.minimum_premium",
            f"Minimum premium = {settings.minimum_premium_share} × expected premium, rounded half-up to a whole unit",
            minimum,
        )
    )
    risk_loading = loading * x
    narrowed = risk_loading > settings.reduction_trigger
    indemnity_rate = settings.reduced_indemnity_rate if narrowed else settings.indemnity_rate
    multiple = settings.reduced_max_liability_multiple if narrowed else settings.max_liability_multiple
    why = (
        f"risk loading L × X = {_number(risk_loading)} above {settings.reduction_trigger}"
        if narrowed
        else f"risk loading L × X = {_number(risk_loading)} within {settings.reduction_trigger}"
    )
    lines.append(QuoteLine("terms.indemnity_rate", f"Indemnity rate ({why})", str(indemnity_rate), "rate"))
    lines.append(
        QuoteLine("terms.max_liability_multiple", f"Maximum liability, × premium ({why})", str(multiple), "factor")
    )
    if x > 1:
        deductible = round_to_hundred(average * settings.deductible_share)
        rule = f"per claim: {settings.deductible_share} × A, rounded half-up to the hundred (X above 1)"
    else:
        deductible = Money.zero(cur)
        rule = "none: the history runs at or below the price (X ≤ 1)"
    lines.append(_money_line("terms.deductible", f"Deductible {rule}", deductible))
    countries = [country_code(policyholder_country, "policyholder_country")]
    countries += sorted({b.country for b in coverable} - set(countries))
    lines.append(
        QuoteLine(
            "terms.covered_countries",
            "Covered countries: the policyholder's and its coverable submitted buyers'",
            ", ".join(countries),
            "countries",
        )
    )
    for reason, why in referrals:
        lines.append(
            QuoteLine(
                REFERRAL_LINE_PREFIX + reason.value,
                f"Referred to an underwriter: {why}; issued only from a revised version",
                reason.value,
                REFERRAL_UNIT,
            )
        )
    terms = PolicyTerms.build(
        currency_code=cur,
        policyholder_country=policyholder_country,
        overrides={
            "premium_rates": rates,
            "minimum_premium": minimum,
            "indemnity_rate": indemnity_rate,
            "max_liability_multiple": multiple,
            "deductible": deductible,
            "covered_countries": tuple(countries),
        },
    )
    return Proposal(terms, premium, el, tuple(lines))


# --- Quotes, versions, states --------------------------------------------------------------------------------


class QuoteStatus(StrEnum):
    PROPOSED = "proposed"  # the latest version is valid and may be issued
    ISSUED = "issued"  # a policy was issued from it
    EXPIRED = "expired"  # the latest version's validity ran out before it was issued


@dataclass(frozen=True)
class QuoteVersion:
    """One version of a quote's terms: version 1 is the engine's proposal, later ones adjustments."""

    quote_id: str
    version: int
    created_on: date
    valid_until: date  # the last day it may be issued
    terms: PolicyTerms
    expected_premium: Money
    lines: tuple[QuoteLine, ...]
    reason: str
    created_by: str
    created_at: datetime

    @property
    def referral_reasons(self) -> tuple[ReferralReason, ...]:
        """Why the engine referred the quote (kept in every later version's lines): empty if it did not."""
        return referral_reasons(self.lines)


@dataclass(frozen=True)
class Quote:
    id: str
    reference: str
    policyholder_id: str
    application: QuoteApplication
    requested_on: date
    created_by: str
    created_at: datetime
    issued_policy_id: str | None = None
    issued_version: int | None = None
    issued_on: date | None = None
    issued_by: str | None = None
    issued_at: datetime | None = None


def valid_until(created_on: date, validity_days: int) -> date:
    """The last day a version may be issued: its date + the validity (30 days by default)."""
    return created_on + timedelta(days=validity_days)


def quote_status(quote: Quote, latest: QuoteVersion, today: date) -> QuoteStatus:
    """Issued once a policy exists; else expired after the latest version's last valid day."""
    if quote.issued_policy_id is not None:
        return QuoteStatus.ISSUED
    if today > latest.valid_until:
        return QuoteStatus.EXPIRED
    return QuoteStatus.PROPOSED


def _check_open(quote: Quote, latest: QuoteVersion, today: date, doing: str) -> None:
    status = quote_status(quote, latest, today)
    if status is QuoteStatus.ISSUED:
        raise Conflict(
            f"quote {quote.reference} was already issued as a policy: it cannot be {doing}",
            code="quote.already_issued",
            context={"policy_id": quote.issued_policy_id},
        )
    if status is QuoteStatus.EXPIRED:
        raise RuleBroken(
            f"quote {quote.reference} expired after {latest.valid_until}: apply for a new quote",
            code="quote.expired",
            context={"valid_until": latest.valid_until.isoformat()},
        )


def check_can_revise(quote: Quote, latest: QuoteVersion, today: date) -> None:
    _check_open(quote, latest, today, "revised")


def check_can_issue(quote: Quote, latest: QuoteVersion, today: date, version: int | None = None) -> None:
    """Only a valid quote not yet issued, and only its latest version (``version`` guards a stale view).

    A quote the engine referred (:attr:`QuoteVersion.referral_reasons`) is issued only once an
    underwriter has revised it — from version 2 on: ``quote.referral_unresolved`` otherwise.
    """
    _check_open(quote, latest, today, "issued again")
    if version is not None and version != latest.version:
        raise Conflict(
            f"version {version} of quote {quote.reference} was superseded by version {latest.version}",
            code="quote.stale_version",
            field="version",
            context={"latest": latest.version},
        )
    reasons = latest.referral_reasons
    if reasons and latest.version < 2:
        raise RuleBroken(
            f"quote {quote.reference} was referred to an underwriter ({', '.join(reasons)}):"
            " an underwriter revises it before it is issued",
            code="quote.referral_unresolved",
            context={"referral_reasons": ",".join(reasons)},
        )


def check_start_date(latest: QuoteVersion, start_date: date) -> None:
    """The policy issued from ``latest`` starts between its date − 90 days and its date + 365 days."""
    earliest = latest.created_on - timedelta(days=ISSUE_START_EARLIEST_DAYS)
    last = latest.created_on + timedelta(days=ISSUE_START_LATEST_DAYS)
    if not earliest <= start_date <= last:
        raise InvalidInput(
            f"start_date {start_date} is out of range: a policy issued from version {latest.version} of"
            f" {latest.created_on} starts between {earliest} and {last}",
            code="quote.start_date_out_of_range",
            field="start_date",
            context={"earliest": earliest.isoformat(), "latest": last.isoformat()},
        )


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput("a reason is required", code="quote.reason_required", field="reason")
    _printable(text, "reason")
    return text[:500]


def revise_version(
    quote: Quote,
    latest: QuoteVersion,
    changes: Mapping[str, Any],
    *,
    reason: str,
    today: date,
    validity_days: int,
    by: str,
    at: datetime,
) -> QuoteVersion:
    """The next version: ``latest``'s terms amended (validated as an endorsement), valid from today.

    A partial ``premium_rates`` keeps the rate it does not name. The lines are the previous ones,
    each change, and the expected premium at the new rates.
    """
    check_can_revise(quote, latest, today)
    text = _reason(reason)
    if not changes:
        raise InvalidInput("a revision changes at least one term", code="quote.no_change", field="changes")
    asked = dict(changes)
    rates = asked.get("premium_rates")
    if isinstance(rates, Mapping):
        current = latest.terms.premium_rates
        asked["premium_rates"] = {
            "domestic_rate": rates.get("domestic_rate", current.domestic_rate),
            "export_rate": rates.get("export_rate", current.export_rate),
        }
    terms = latest.terms.amend(asked)
    diff = terms.changes_from(latest.terms)
    if not diff:
        raise InvalidInput("the revision changes nothing", code="quote.no_change", field="changes")
    version = latest.version + 1
    lines = list(latest.lines)
    for name, (before, after) in diff.items():
        lines.append(
            QuoteLine(
                f"revision.{version}.{name}",
                f"Version {version}: {name} adjusted by the underwriter (was {_show(before)})",
                _show(after),
                "term",
            )
        )
    premium = expected_premium(quote.application, terms.premium_rates)
    lines.append(_money_line(f"revision.{version}.premium.expected", f"Version {version}: expected premium", premium))
    return QuoteVersion(
        quote_id=quote.id,
        version=version,
        created_on=today,
        valid_until=valid_until(today, validity_days),
        terms=terms,
        expected_premium=premium,
        lines=tuple(lines),
        reason=text,
        created_by=by,
        created_at=at,
    )


def _show(value: Any) -> str:
    if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "none" if value is None else str(value)


def first_version(
    quote: Quote, proposal: Proposal, *, today: date, validity_days: int, by: str, at: datetime
) -> QuoteVersion:
    """Version 1: the engine's proposal, valid ``validity_days`` from today."""
    return QuoteVersion(
        quote_id=quote.id,
        version=1,
        created_on=today,
        valid_until=valid_until(today, validity_days),
        terms=proposal.terms,
        expected_premium=proposal.expected_premium,
        lines=proposal.lines,
        reason="proposed by the pricing engine",
        created_by=by,
        created_at=at,
    )


def terms_from_json(data: Mapping[str, Any]) -> PolicyTerms:
    """Inverse of :meth:`PolicyTerms.to_dict` (a stored version's terms), validated again."""
    values = dict(data)
    cur = str(values.pop("currency"))
    countries = values.get("covered_countries") or []
    return PolicyTerms.build(
        currency_code=cur,
        policyholder_country=str(countries[0]) if countries else "",
        overrides=values,
    )
