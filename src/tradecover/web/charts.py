"""The charts' geometry: each buyer's outstanding and limit, or each key's shares of the book, as bar lengths.

Only presentation: the figures are the exposure report's; the bars are SVG rectangles whose widths are
percentages of the longest bar (``viewBox`` 0..100), so the chart needs no script nor inline style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.accumulation import Concentration
from tradecover.services.portal import BuyerLine

FULL = Decimal(100)


@dataclass(frozen=True)
class BarRow:
    line: BuyerLine
    limit_width: str  # 0..100, of the longest bar
    outstanding_width: str


def _width(value: Decimal, scale: Decimal) -> str:
    if scale <= 0 or value <= 0:
        return "0"
    return str(min(FULL, value * FULL / scale).quantize(Decimal("0.01"), ROUND_HALF_UP))


def bar_rows(lines: Sequence[BuyerLine]) -> list[BarRow]:
    scale = max((max(line.outstanding.amount, line.limit_in_force.amount) for line in lines), default=Decimal(0))
    return [
        BarRow(line, _width(line.limit_in_force.amount, scale), _width(line.outstanding.amount, scale))
        for line in lines
    ]


@dataclass(frozen=True)
class ShareRow:
    concentration: Concentration
    limit_width: str  # 0..100, of the largest share shown
    exposure_width: str


def share_rows(concentrations: Sequence[Concentration]) -> list[ShareRow]:
    """The accumulation chart: each key's share of the book's limits and of its covered exposure."""

    def share(value: Decimal | None) -> Decimal:
        return value if value is not None else Decimal(0)

    scale = max(
        (max(share(c.limit_share), share(c.covered_exposure_share)) for c in concentrations), default=Decimal(0)
    )
    return [
        ShareRow(c, _width(share(c.limit_share), scale), _width(share(c.covered_exposure_share), scale))
        for c in concentrations
    ]
