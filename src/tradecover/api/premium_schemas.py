"""Bodies of the premium endpoints: turnover declarations, policy years, documents, payments, the run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from tradecover.api.schemas import MoneyBody, Strict
from tradecover.domain.money import Money
from tradecover.domain.premium import (
    EarnedLine,
    PremiumDocument,
    PremiumPayment,
    TerritoryTurnover,
    TurnoverDeclaration,
    YearEnd,
    YearFigures,
    latest_versions,
)
from tradecover.services.premium import DeclarationOutcome, RunSummary, YearView

_AMOUNT_TEXT_MAX = 40
_TERRITORY_HELP = (
    'an amount of insurable turnover excluding VAT as a decimal string ("1200000.00"), or an object'
    ' {"turnover", "cash_sales", "intra_group", "public_buyers"} (decimal strings; the exclusions default to 0)'
)


def _territory_value(value: Any) -> Any:
    """A territory's figures: a decimal string, or an object of decimal strings (the domain reads the amounts)."""
    if isinstance(value, str):
        if len(value) > _AMOUNT_TEXT_MAX:
            raise ValueError(f"at most {_AMOUNT_TEXT_MAX} characters")
        return value
    if isinstance(value, dict):
        for name, amount in value.items():
            if not isinstance(amount, str) or len(amount) > _AMOUNT_TEXT_MAX:
                raise ValueError(f'{name} must be a decimal string such as "1250.00"')
        return value
    raise ValueError(_TERRITORY_HELP)


class TerritoryIn(BaseModel):
    """One territory's turnover of the period, excluding VAT, and what of it is not insurable."""

    # Unknown names reach the domain, which refuses them by name (turnover.unknown_field).
    model_config = ConfigDict(extra="allow")

    turnover: str | None = Field(default=None, description="turnover of the period excluding VAT")
    cash_sales: str | None = Field(default=None, description="cash sales (not insurable)")
    intra_group: str | None = Field(default=None, description="sales to companies of the insured's own group")
    public_buyers: str | None = Field(default=None, description="sales to public bodies")


TerritoryValue = Annotated[str | TerritoryIn, BeforeValidator(_territory_value), Field(description=_TERRITORY_HELP)]


def territory_input(value: str | TerritoryIn) -> str | dict[str, Any]:
    """What the premium service reads: the amount, or the mapping the client sent."""
    return value if isinstance(value, str) else value.model_dump(exclude_unset=True)


class DeclarationIn(Strict):
    period_start: date = Field(description="first day declared")
    period_end: date = Field(
        description="last day declared (2026-03-31), or the first day of the next declaration period (2026-04-01)"
    )
    domestic: TerritoryValue
    export: TerritoryValue
    reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="why a declared period is corrected"
    )


class TerritoryOut(BaseModel):
    turnover: MoneyBody
    cash_sales: MoneyBody
    intra_group: MoneyBody
    public_buyers: MoneyBody
    insurable: MoneyBody = Field(description="turnover − cash sales − intra-group − public buyers")

    @classmethod
    def of(cls, t: TerritoryTurnover) -> TerritoryOut:
        return cls(
            turnover=MoneyBody.of(t.turnover),
            cash_sales=MoneyBody.of(t.cash_sales),
            intra_group=MoneyBody.of(t.intra_group),
            public_buyers=MoneyBody.of(t.public_buyers),
            insurable=MoneyBody.of(t.insurable),
        )


class DeclarationOut(BaseModel):
    id: str
    policy_id: str
    period_start: date
    period_end: date = Field(description="the last day declared")
    version: int = Field(description="1: the declaration; later versions: corrections of the same period")
    current: bool = Field(description="the latest version of its period, the one the premium counts")
    domestic: TerritoryOut
    export: TerritoryOut
    insurable: MoneyBody
    declared_by: str
    declared_on: date
    declared_at: datetime
    reason: str | None

    @classmethod
    def of(cls, d: TurnoverDeclaration, *, current: bool) -> DeclarationOut:
        return cls(
            id=d.id,
            policy_id=d.policy_id,
            period_start=d.period.start,
            period_end=d.period.last_day,
            version=d.version,
            current=current,
            domestic=TerritoryOut.of(d.domestic),
            export=TerritoryOut.of(d.export),
            insurable=MoneyBody.of(d.insurable),
            declared_by=d.declared_by,
            declared_on=d.declared_on,
            declared_at=d.declared_at,
            reason=d.reason,
        )

    @classmethod
    def all_of(cls, declarations: Sequence[TurnoverDeclaration]) -> list[DeclarationOut]:
        """Every version, period by period, the latest of each period flagged ``current``."""
        latest = {d.id for d in latest_versions(declarations)}
        ordered = sorted(declarations, key=lambda d: (d.period.start, d.version))
        return [cls.of(d, current=d.id in latest) for d in ordered]


class EarnedLineOut(BaseModel):
    territory: str
    insurable: MoneyBody
    rate: str = Field(description="a fraction: 0.0025 is 0.25 %")
    premium: MoneyBody = Field(description="insurable × rate, rounded to the cent")

    @classmethod
    def of(cls, line: EarnedLine) -> EarnedLineOut:
        return cls(
            territory=line.territory.value,
            insurable=MoneyBody.of(line.insurable),
            rate=str(line.rate),
            premium=MoneyBody.of(line.premium),
        )


def _money_or_none(money: Money | None) -> MoneyBody | None:
    return None if money is None else MoneyBody.of(money)


class FiguresOut(BaseModel):
    """A policy year's premium (DOMAIN.md §9), live or as closed."""

    year_start: date
    year_end: date = Field(description="the last day of the policy year")
    currency: str
    minimum: MoneyBody = Field(description="the minimum premium (provisional premium called in instalments)")
    earned: MoneyBody = Field(description="Σ insurable turnover declared × rate, latest version of each period")
    called: MoneyBody = Field(
        description="provisional premium invoiced for the year: the 'paid' of adjustment = max(minimum, earned) − paid"
        " (the simulator's paid_amount)"
    )
    paid: MoneyBody = Field(description="payments received, settled on the year's instalments (oldest first)")
    premium: MoneyBody = Field(description="max(minimum, earned)")
    adjustment: MoneyBody = Field(description="premium − called: invoiced (+) or credited (−) at the year end")
    fees: MoneyBody = Field(description="request fee × requests + monitoring fee × buyers under cover")
    request_count: int
    buyers_monitored: int
    indemnities: MoneyBody = Field(description="indemnities of the year's claims")
    bonus: MoneyBody = Field(
        description="no-claims bonus: rate × (premium − indemnities) below the loss-ratio threshold"
    )
    balance: MoneyBody = Field(description="what the year end invoices (+) or credits (−): adjustment + fees − bonus")
    max_liability: MoneyBody | None = Field(description="multiple × premium, or the policy's fixed amount")
    loss_ratio: str | None = Field(description="indemnities / premium, 4 decimals")
    declared_periods: int
    expected_periods: int

    @classmethod
    def fields_of(cls, f: YearFigures) -> dict[str, Any]:
        return {
            "year_start": f.year.start,
            "year_end": f.year.last_day,
            "currency": f.currency,
            "minimum": MoneyBody.of(f.minimum),
            "earned": MoneyBody.of(f.earned),
            "called": MoneyBody.of(f.called),
            "paid": MoneyBody.of(f.paid),
            "premium": MoneyBody.of(f.premium),
            "adjustment": MoneyBody.of(f.adjustment),
            "fees": MoneyBody.of(f.fees),
            "request_count": f.request_count,
            "buyers_monitored": f.buyers_monitored,
            "indemnities": MoneyBody.of(f.indemnities),
            "bonus": MoneyBody.of(f.bonus),
            "balance": MoneyBody.of(f.balance),
            "max_liability": _money_or_none(f.max_liability),
            "loss_ratio": None if f.loss_ratio is None else str(f.loss_ratio),
            "declared_periods": f.declared_periods,
            "expected_periods": f.expected_periods,
        }

    @classmethod
    def of(cls, f: YearFigures) -> FiguresOut:
        return cls(**cls.fields_of(f))


class ClosingOut(BaseModel):
    version: int = Field(description="1: the year end; later versions: re-closings after a correction")
    closed_on: date
    closed_by: str
    closed_at: datetime
    reason: str
    figures: FiguresOut

    @classmethod
    def of(cls, y: YearEnd) -> ClosingOut:
        return cls(
            version=y.version,
            closed_on=y.closed_on,
            closed_by=y.closed_by,
            closed_at=y.closed_at,
            reason=y.reason,
            figures=FiguresOut.of(y.figures),
        )


class YearOut(FiguresOut):
    """The year's live figures, whether it is closed, and each of its closings."""

    closed: bool
    closings: list[ClosingOut]

    @classmethod
    def of_view(cls, v: YearView) -> YearOut:
        return cls(
            **FiguresOut.fields_of(v.figures),
            closed=v.closed,
            closings=[ClosingOut.of(c) for c in v.closings],
        )


class DocumentOut(BaseModel):
    id: str
    policy_id: str
    number: str
    kind: str = Field(description="invoice | credit_note")
    item: str = Field(description="instalment | adjustment | fees | no_claims_bonus")
    year_start: date
    issued_on: date
    due_on: date
    amount: MoneyBody = Field(description="positive; kind says which way it goes")
    signed: MoneyBody = Field(description="from the insured's side: owed (+) or owed back (−)")
    settled: MoneyBody | None = Field(
        default=None, description="paid on this invoice so far (payments settle the oldest invoices first)"
    )
    label: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, d: PremiumDocument, settled: Money | None = None) -> DocumentOut:
        return cls(
            id=d.id,
            policy_id=d.policy_id,
            number=d.number,
            kind=d.kind.value,
            item=d.item.value,
            year_start=d.year_start,
            issued_on=d.issued_on,
            due_on=d.due_on,
            amount=MoneyBody.of(d.amount),
            signed=MoneyBody.of(d.signed),
            settled=_money_or_none(settled),
            label=d.label,
            created_by=d.created_by,
            created_at=d.created_at,
        )


class DeclarationOutcomeOut(BaseModel):
    declaration: DeclarationOut
    lines: list[EarnedLineOut] = Field(description="the premium the period earns, per territory")
    premium: MoneyBody = Field(description="what this declaration earns")
    due_date: date = Field(description="the last day to declare the period")
    late: bool = Field(description="a first declaration made after its due date")
    supersedes_id: str | None = Field(description="the version this correction replaces")
    year: YearOut = Field(description="the policy year's figures after the declaration")
    reclosing: ClosingOut | None = Field(description="a new closing of a year already closed, with its documents")
    documents: list[DocumentOut]

    @classmethod
    def of(cls, outcome: DeclarationOutcome, year: YearView) -> DeclarationOutcomeOut:
        return cls(
            declaration=DeclarationOut.of(outcome.declaration, current=True),
            lines=[EarnedLineOut.of(line) for line in outcome.lines],
            premium=MoneyBody.of(outcome.premium),
            due_date=outcome.due_on,
            late=outcome.late,
            supersedes_id=None if outcome.supersedes is None else outcome.supersedes.id,
            year=YearOut.of_view(year),
            reclosing=None if outcome.year_end is None else ClosingOut.of(outcome.year_end),
            documents=[DocumentOut.of(d) for d in outcome.documents],
        )


class CloseIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class CloseOut(BaseModel):
    year_start: date
    year_end: date
    closing: ClosingOut
    documents: list[DocumentOut] = Field(description="the adjustment, fees and no-claims bonus issued")

    @classmethod
    def of(cls, y: YearEnd, documents: Sequence[PremiumDocument]) -> CloseOut:
        return cls(
            year_start=y.year.start,
            year_end=y.year.last_day,
            closing=ClosingOut.of(y),
            documents=[DocumentOut.of(d) for d in documents],
        )


class PaymentIn(Strict):
    amount: MoneyBody
    received_on: date
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PaymentOut(BaseModel):
    id: str
    policy_id: str
    amount: MoneyBody
    received_on: date
    reference: str
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, p: PremiumPayment) -> PaymentOut:
        return cls(
            id=p.id,
            policy_id=p.policy_id,
            amount=MoneyBody.of(p.amount),
            received_on=p.received_on,
            reference=p.reference,
            recorded_by=p.recorded_by,
            recorded_at=p.recorded_at,
        )


class RunOut(BaseModel):
    as_of: date
    policies: int = Field(description="policies looked at")
    renewed: int = Field(description="policy periods renewed tacitly")
    documents: list[DocumentOut] = Field(description="instalment invoices issued (none twice: the run is restartable)")
    alerts: int = Field(description="late-declaration alerts raised")

    @classmethod
    def of(cls, s: RunSummary) -> RunOut:
        return cls(
            as_of=s.as_of,
            policies=s.policies,
            renewed=s.renewed,
            documents=[DocumentOut.of(d) for d in s.documents],
            alerts=s.alerts,
        )
