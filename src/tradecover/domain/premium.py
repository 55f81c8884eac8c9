"""Premium (DOMAIN.md §9): turnover declarations, instalments, fees, the year end.

premium of a policy year = Σ over its declared periods and territories of insurable turnover × rate
(the rates in force at the start of the declared period; they already carry the sector factor of the
quote). The provisional premium is the minimum premium, called up front in instalments. At the year end:

* premium of the year = max(minimum premium, earned premium);
* adjustment = premium of the year − premium already called for the year;
* fees = request fee × limit requests of the year + monitoring fee × buyers under cover in the year;
* no-claims bonus = bonus rate × (premium − indemnities) when indemnities / premium < threshold;
* maximum liability of the year = multiple × premium of the year (or the policy's fixed amount).

A declaration is never edited: a correction of a period is a new version of that period's
declaration, and the figures above are recomputed from the latest versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.money import Money, sum_money
from tradecover.domain.periods import Period, add_months
from tradecover.domain.terms import DeclarationFrequency, PolicyTerms, PremiumRates


class Territory(StrEnum):
    DOMESTIC = "domestic"
    EXPORT = "export"


# What insurable turnover excludes (DOMAIN.md §9, issue 7): amounts excluding VAT.
EXCLUSIONS = ("cash_sales", "intra_group", "public_buyers")


@dataclass(frozen=True)
class TerritoryTurnover:
    """One territory's turnover of a declared period, excluding VAT, with what is not insurable."""

    territory: Territory
    turnover: Money
    cash_sales: Money
    intra_group: Money
    public_buyers: Money

    @classmethod
    def insurable_only(cls, territory: Territory, amount: Money) -> TerritoryTurnover:
        zero = Money.zero(amount.currency)
        return cls(territory, amount, zero, zero, zero)

    @property
    def excluded(self) -> Money:
        return self.cash_sales + self.intra_group + self.public_buyers

    @property
    def insurable(self) -> Money:
        return self.turnover - self.excluded

    def check(self, currency: str) -> None:
        """Amounts in the policy currency, none negative, exclusions not above the turnover."""
        prefix = self.territory.value
        for name in ("turnover", *EXCLUSIONS):
            amount: Money = getattr(self, name)
            field = f"{prefix}.{name}"
            if amount.currency != currency:
                raise InvalidInput(
                    f"{field} is in {amount.currency} but the policy currency is {currency}",
                    code="turnover.currency_mismatch",
                    field=field,
                )
            if amount.is_negative():
                raise InvalidInput(f"{field} must not be negative", code="turnover.negative", field=field)
            if amount.round() != amount:
                raise InvalidInput(
                    f"{field} has more decimals than {currency} allows", code="turnover.invalid", field=field
                )
        if self.insurable.is_negative():
            raise InvalidInput(
                f"{prefix}: the exclusions ({self.excluded.quantize_str()}) exceed the turnover"
                f" ({self.turnover.quantize_str()})",
                code="turnover.exclusions_exceed_turnover",
                field=f"{prefix}.turnover",
            )


@dataclass(frozen=True)
class TurnoverDeclaration:
    """One version of the declaration of one period; version 1 is the declaration, later ones corrections."""

    id: str
    policy_id: str
    period: Period
    version: int
    domestic: TerritoryTurnover
    export: TerritoryTurnover
    declared_by: str
    declared_at: datetime
    declared_on: date
    reason: str | None = None

    @property
    def insurable(self) -> Money:
        return self.domestic.insurable + self.export.insurable


# ------------------------------------------------------------------------------------------ periods


def declaration_calendar(year: Period, frequency: DeclarationFrequency) -> list[Period]:
    """The periods the insured must declare in a policy year (months or quarters from its start)."""
    step = frequency.months
    return [Period(add_months(year.start, k), add_months(year.start, k + step)) for k in range(0, 12, step)]


def declared_period(start: date, end: date, boundaries: Iterable[date]) -> Period:
    """The half-open period a declaration covers, from the dates the insured gave.

    ``end`` is the last day declared ("du 1er janvier au 31 mars"), except when it is itself the
    first day of a declaration period of the policy (2026-04-01): then it is read as the end of the
    half-open period ``[start, end)``. Both spellings of a quarter give the same period.
    """
    if end < start:
        raise InvalidInput(
            f"period_end {end} is before period_start {start}", code="turnover.invalid_period", field="period_end"
        )
    if end in set(boundaries) and end > start:
        return Period(start, end)
    return Period(start, end + timedelta(days=1))


def periods_to_declare(year: Period, frequency: DeclarationFrequency, ended: date | None) -> list[Period]:
    """The calendar periods of ``year`` the insured must declare, up to the termination date ``ended``.

    A period that starts on or after the termination date is not owed; the one running on it is owed
    up to the day before (run-off), so it ends on the termination date.
    """
    owed = []
    for period in declaration_calendar(year, frequency):
        if ended is not None and period.start >= ended:
            continue
        owed.append(period if ended is None or period.end <= ended else Period(period.start, ended))
    return owed


def covered_by(period: Period, declared: Iterable[Period]) -> bool:
    """True when the declared periods together cover every day of ``period``.

    A declaration overlapping only part of a calendar period (one day of a quarter, say) does not make
    that period declared: the rest of it is still missing.
    """
    reached = period.start
    for other in sorted(declared, key=lambda p: p.start):
        if other.start > reached:
            break
        reached = max(reached, other.end)
        if reached >= period.end:
            return True
    return reached >= period.end


def declaration_due_date(period: Period, declaration_days: int) -> date:
    """The last day to declare a period: ``declaration_days`` after its last day."""
    return period.last_day + timedelta(days=declaration_days)


def latest_versions(declarations: Iterable[TurnoverDeclaration]) -> list[TurnoverDeclaration]:
    """The latest version of each declared period, in period order."""
    latest: dict[Period, TurnoverDeclaration] = {}
    for declaration in declarations:
        known = latest.get(declaration.period)
        if known is None or declaration.version > known.version:
            latest[declaration.period] = declaration
    return sorted(latest.values(), key=lambda d: d.period.start)


def next_version(period: Period, year: Period, declarations: Sequence[TurnoverDeclaration]) -> int:
    """The version the declaration of ``period`` takes, or the refusal of an overlapping period.

    The same period again is a correction (a new version); a period that overlaps a declared one
    without being it is refused; a period must lie inside one policy year.
    """
    if period.start < year.start or period.end > year.end:
        raise InvalidInput(
            f"the declared period {period} is not inside the policy year {year}",
            code="turnover.outside_policy_year",
            field="period_end" if period.start >= year.start else "period_start",
        )
    same = [d.version for d in declarations if d.period == period]
    if same:
        return max(same) + 1
    for other in declarations:
        if other.period.overlaps(period):
            raise InvalidInput(
                f"the period {period} overlaps the declared period {other.period}; a correction must declare"
                " exactly the same period",
                code="turnover.overlapping_period",
                field="period_start",
                context={"declared_period": str(other.period)},
            )
    return 1


@dataclass(frozen=True)
class EarnedLine:
    """The premium one declared period earns on one territory."""

    period: Period
    territory: Territory
    insurable: Money
    rate: Decimal
    premium: Money  # insurable × rate, rounded half-up to the cent


def earned_lines(declaration: TurnoverDeclaration, rates: PremiumRates) -> list[EarnedLine]:
    """Each territory's premium, rounded once per declared period and territory (the invoiced figure)."""
    out = []
    for part, rate in ((declaration.domestic, rates.domestic_rate), (declaration.export, rates.export_rate)):
        out.append(
            EarnedLine(declaration.period, part.territory, part.insurable, rate, (part.insurable * rate).round())
        )
    return out


# --------------------------------------------------------------------------------------- instalments


@dataclass(frozen=True)
class Instalment:
    number: int
    count: int
    due_on: date
    amount: Money


def instalment_schedule(year: Period, provisional: Money, count: int) -> list[Instalment]:
    """The provisional premium split in ``count`` parts summing exactly, due every 12/count months."""
    if count not in (1, 2, 4, 12):
        raise InvalidInput("instalments must be 1, 2, 4 or 12", code="premium.invalid_instalments", field="count")
    parts = provisional.split(count)
    step = 12 // count
    return [
        Instalment(k + 1, count, add_months(year.start, k * step), part)
        for k, part in enumerate(parts)
        if part.is_positive()
    ]


# ----------------------------------------------------------------------------------------- year end


def year_premium(minimum: Money, earned: Money) -> Money:
    """The premium of a policy year: the earned premium, never below the minimum."""
    return Money.max_of(minimum, earned)


def max_liability(terms: PolicyTerms, premium: Money) -> Money | None:
    """The policy year's cap on indemnities: a fixed amount, or multiple × premium (none without premium)."""
    if terms.max_liability_amount is not None:
        return terms.max_liability_amount
    if terms.max_liability_multiple is None or not premium.is_positive():
        return None
    return (premium * terms.max_liability_multiple).round()


def loss_ratio(indemnities: Money, premium: Money) -> Decimal | None:
    """Indemnities / premium of the year, to 4 decimals half-up; none without premium."""
    if not premium.is_positive():
        return None
    return (indemnities / premium).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def no_claims_bonus(premium: Money, indemnities: Money, rate: Decimal, threshold: Decimal) -> Money:
    """rate × (premium − indemnities) when indemnities / premium < threshold, else nothing."""
    zero = Money.zero(premium.currency)
    if not premium.is_positive() or rate == 0:
        return zero
    if indemnities / premium >= threshold:
        return zero
    return Money.max_of(zero, ((premium - indemnities) * rate).round())


@dataclass(frozen=True)
class YearFigures:
    """What a policy year's premium comes to, live or as closed."""

    year: Period
    currency: str
    minimum: Money
    earned: Money
    called: Money  # provisional premium (instalments) invoiced for the year, net of credit notes
    paid: Money  # premium payments received on the year's documents
    premium: Money
    adjustment: Money
    fees: Money
    request_count: int
    buyers_monitored: int
    indemnities: Money
    bonus: Money
    max_liability: Money | None
    loss_ratio: Decimal | None
    declared_periods: int
    expected_periods: int

    @property
    def balance(self) -> Money:
        """What the year end invoices (positive) or credits (negative): adjustment + fees − bonus."""
        return self.adjustment + self.fees - self.bonus


def year_figures(
    *,
    year: Period,
    terms: PolicyTerms,
    earned: Money,
    called: Money,
    paid: Money,
    request_count: int,
    buyers_monitored: int,
    indemnities: Money,
    declared_periods: int,
    expected_periods: int | None = None,
) -> YearFigures:
    cur = terms.currency
    zero = Money.zero(cur)
    minimum = terms.minimum_premium or zero
    premium = year_premium(minimum, earned)
    fees = (terms.request_fee or zero) * request_count + (terms.monitoring_fee or zero) * buyers_monitored
    return YearFigures(
        year=year,
        currency=cur,
        minimum=minimum,
        earned=earned,
        called=called,
        paid=paid,
        premium=premium,
        adjustment=premium - called,
        fees=fees.round(),
        request_count=request_count,
        buyers_monitored=buyers_monitored,
        indemnities=indemnities,
        bonus=no_claims_bonus(premium, indemnities, terms.no_claims_bonus_rate, terms.no_claims_bonus_threshold),
        max_liability=max_liability(terms, premium),
        loss_ratio=loss_ratio(indemnities, premium),
        declared_periods=declared_periods,
        expected_periods=(
            len(declaration_calendar(year, terms.declaration_frequency))
            if expected_periods is None
            else expected_periods
        ),
    )


def check_year_can_close(year: Period, on: date) -> None:
    """A year closes on its last day at the earliest."""
    if on < year.last_day:
        raise RuleBroken(
            f"the policy year {year} ends on {year.last_day.isoformat()}: it cannot be closed on {on.isoformat()}",
            code="premium.year_not_ended",
            field="on",
        )


# ------------------------------------------------------------------------------------- documents


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class PremiumItem(StrEnum):
    INSTALMENT = "instalment"
    ADJUSTMENT = "adjustment"
    FEES = "fees"
    NO_CLAIMS_BONUS = "no_claims_bonus"


@dataclass(frozen=True)
class PremiumDocument:
    """A premium invoice or credit note; ``amount`` is positive, ``kind`` says which way it goes."""

    id: str
    policy_id: str
    number: str
    kind: DocumentKind
    item: PremiumItem
    year_start: date
    issued_on: date
    due_on: date
    amount: Money
    label: str
    source_key: str
    created_by: str
    created_at: datetime

    @property
    def signed(self) -> Money:
        """From the insured's point of view: what it owes (+) or is owed back (−)."""
        return self.amount if self.kind is DocumentKind.INVOICE else -self.amount


def document_number(kind: DocumentKind, year: int, sequence: int) -> str:
    prefix = "PI" if kind is DocumentKind.INVOICE else "PC"
    return f"{prefix}-{year}-{sequence:06d}"


def signed_document(amount: Money) -> tuple[DocumentKind, Money]:
    """An invoice for what is owed, a credit note for what is owed back."""
    return (DocumentKind.CREDIT_NOTE, -amount) if amount.is_negative() else (DocumentKind.INVOICE, amount)


@dataclass(frozen=True)
class PremiumPayment:
    id: str
    policy_id: str
    amount: Money
    received_on: date
    reference: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class PremiumMovement:
    """One side of a paired money movement: a document or a payment, two entries summing to zero."""

    id: str
    transaction_id: str
    policy_id: str
    kind: str  # "premium_invoice" | "premium_credit_note" | "premium_payment"
    account: str
    amount: Money  # signed, from the account's point of view
    on: date
    reference: str
    recorded_at: datetime


def paired_movements(
    *,
    ids: tuple[str, str],
    transaction_id: str,
    policy_id: str,
    kind: str,
    debtor: str,
    creditor: str,
    amount: Money,
    on: date,
    reference: str,
    at: datetime,
) -> tuple[PremiumMovement, PremiumMovement]:
    """``debtor`` owes ``creditor`` ``amount``: −amount on the debtor's account, +amount on the creditor's."""
    return (
        PremiumMovement(ids[0], transaction_id, policy_id, kind, debtor, -amount, on, reference, at),
        PremiumMovement(ids[1], transaction_id, policy_id, kind, creditor, amount, on, reference, at),
    )


@dataclass(frozen=True)
class YearEnd:
    """A closed policy year; a correction after closing adds a version with the difference invoiced."""

    policy_id: str
    year: Period
    version: int
    figures: YearFigures
    closed_on: date
    closed_by: str
    closed_at: datetime
    reason: str


def statement_balance(documents: Iterable[PremiumDocument], payments: Iterable[PremiumPayment], currency: str) -> Money:
    """What the insured owes on its premium account: documents minus payments."""
    return sum_money((d.signed for d in documents), currency) - sum_money((p.amount for p in payments), currency)


def paid_per_document(documents: Sequence[PremiumDocument], payments: Iterable[PremiumPayment]) -> dict[str, Money]:
    """Payments settle the oldest open invoices first; credit notes reduce what is owed before that."""
    if not documents:
        return {}
    cur = documents[0].amount.currency
    pool = sum_money((p.amount for p in payments), cur) + sum_money(
        (d.amount for d in documents if d.kind is DocumentKind.CREDIT_NOTE), cur
    )
    paid: dict[str, Money] = {}
    for document in sorted(documents, key=lambda d: (d.issued_on, d.number)):
        if document.kind is DocumentKind.CREDIT_NOTE:
            continue
        share = Money.min_of(pool, document.amount) if pool.is_positive() else Money.zero(cur)
        paid[document.id] = share
        pool -= share
    return paid
