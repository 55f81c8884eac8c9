"""Buyers' yearly financial statements: the grading model's main input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money, currency

STATEMENT_FIELDS: tuple[str, ...] = (
    "total_assets",
    "equity",
    "turnover",
    "ebit",
    "net_income",
    "working_capital",
    "retained_earnings",
    "current_assets",
    "current_liabilities",
    "total_liabilities",
)
# Amounts that cannot be negative on a balance sheet or an income statement.
NON_NEGATIVE = frozenset({"total_assets", "turnover", "current_assets", "current_liabilities", "total_liabilities"})


@dataclass(frozen=True)
class FinancialStatement:
    """One version of a buyer's statement for the year ending ``fiscal_year_end``.

    Amounts are in ``currency``, rounded to its minor unit; ``None`` is unknown.
    A correction is a new version: earlier versions stay.
    """

    buyer_id: str
    fiscal_year_end: date
    version: int
    currency: str
    amounts: Mapping[str, Money | None]
    source: str
    recorded_by: str
    recorded_at: datetime

    def amount(self, name: str) -> Money | None:
        return self.amounts.get(name)

    def same_figures(self, other: FinancialStatement) -> bool:
        return self.currency == other.currency and all(
            self.amounts.get(f) == other.amounts.get(f) for f in STATEMENT_FIELDS
        )


def check_statement(
    *,
    fiscal_year_end: date,
    currency_code: str,
    amounts: Mapping[str, Decimal | Money | str | None],
    today: date,
) -> tuple[str, dict[str, Money | None]]:
    """Validated amounts: known fields, total assets positive, no float, a past year end."""
    cur = currency(currency_code)
    unknown = set(amounts) - set(STATEMENT_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(f"unknown statement field {name!r}", code="financials.unknown_field", field=name)
    if fiscal_year_end > today:
        raise InvalidInput(
            f"fiscal_year_end {fiscal_year_end} is in the future",
            code="financials.future_year_end",
            field="fiscal_year_end",
        )
    result: dict[str, Money | None] = {}
    for name in STATEMENT_FIELDS:
        raw = amounts.get(name)
        if raw is None:
            result[name] = None
            continue
        money = raw if isinstance(raw, Money) else Money.of(raw, cur)
        if money.currency != cur:
            raise InvalidInput(
                f"{name} is in {money.currency}, the statement in {cur}",
                code="financials.currency_mismatch",
                field=name,
            )
        if name in NON_NEGATIVE and money.is_negative():
            raise InvalidInput(f"{name} cannot be negative", code="financials.negative", field=name)
        result[name] = money.round()
    total = result["total_assets"]
    if total is None or not total.is_positive():
        raise InvalidInput(
            "total_assets is required and must be positive",
            code="financials.total_assets",
            field="total_assets",
        )
    return cur, result
