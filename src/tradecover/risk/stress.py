"""Stress scenarios: PD multipliers by sector and country, and correlation shocks.

A stressed PD is min(PD × m_sector × m_country, 1). The asset correlation ρ is multiplied by
`asset_correlation_multiplier` (capped below 1), and every off-diagonal factor correlation moves a
fraction `factor_correlation_shift` of the way to 1 (negative: towards 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from tradecover.risk.portfolio_book import BookError, PortfolioBook

__all__ = ["Stress"]


@dataclass(frozen=True)
class Stress:
    name: str = "stress"
    sector_pd_multipliers: Mapping[str, float] = field(default_factory=dict)
    country_pd_multipliers: Mapping[str, float] = field(default_factory=dict)
    asset_correlation_multiplier: float = 1.0
    factor_correlation_shift: float = 0.0

    def __post_init__(self) -> None:
        for kind, multipliers in (("sector", self.sector_pd_multipliers), ("country", self.country_pd_multipliers)):
            for key, value in multipliers.items():
                if not (np.isfinite(value) and value >= 0):
                    raise ValueError(f"{kind} {key!r}: PD multiplier {value!r} must be a finite number ≥ 0")
        if not (np.isfinite(self.asset_correlation_multiplier) and self.asset_correlation_multiplier > 0):
            raise ValueError(f"asset_correlation_multiplier {self.asset_correlation_multiplier!r} must be > 0")
        if not -1.0 <= self.factor_correlation_shift < 1.0:
            raise ValueError(f"factor_correlation_shift {self.factor_correlation_shift!r} must lie in [-1, 1)")

    def apply(self, book: PortfolioBook) -> PortfolioBook:
        """The book with its PDs stressed; names a sector or country the book does not have."""
        factor = np.ones(book.size)
        for kind, labels, codes, multipliers in (
            ("sector", book.sectors, book.sector, self.sector_pd_multipliers),
            ("country", book.countries, book.country, self.country_pd_multipliers),
        ):
            for key, value in multipliers.items():
                if key not in labels:
                    raise BookError(f"stress {self.name!r} names {kind} {key!r}, which the book does not have")
                factor[codes == labels.index(key)] *= value
        return replace(book, pd=np.minimum(book.pd * factor, 1.0))
