"""The utilisation chart's geometry: each buyer's outstanding and limit as bar lengths on a common scale.

Only presentation: the figures are the exposure report's; the bars are SVG rectangles whose widths are
percentages of the longest bar (``viewBox`` 0..100), so the chart needs no script nor inline style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

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
