"""The obligors of a book as arrays: what the portfolio loss model reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


class BookError(ValueError):
    """A book the loss model cannot use; `row` is 0-based in the arrays, `column` names the field."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row + 1}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.row = row
        self.column = column


@dataclass(frozen=True)
class PortfolioBook:
    """One row per obligor (buyer): exposure at default, PD, LGD, sector and country.

    `ead` is in the book's currency units (float: the loss model is statistical,
    not an accounting ledger); `pd` and `lgd` are fractions in [0, 1]; `sector`
    and `country` index `sectors` and `countries`.
    """

    obligor_id: tuple[str, ...]
    ead: NDArray[np.float64]
    pd: NDArray[np.float64]
    lgd: NDArray[np.float64]
    sector: NDArray[np.int64]
    country: NDArray[np.int64]
    sectors: tuple[str, ...]
    countries: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.obligor_id)
        for name in ("ead", "pd", "lgd", "sector", "country"):
            if len(getattr(self, name)) != n:
                raise BookError(f"{len(getattr(self, name))} values for {n} obligors", column=name)
        _check_range(self.ead, "ead", 0.0, np.inf)
        _check_range(self.pd, "pd", 0.0, 1.0)
        _check_range(self.lgd, "lgd", 0.0, 1.0)
        _check_index(self.sector, "sector", len(self.sectors))
        _check_index(self.country, "country", len(self.countries))

    @property
    def size(self) -> int:
        return len(self.obligor_id)

    @classmethod
    def from_rows(
        cls,
        obligor_id: Sequence[str],
        ead: Sequence[float] | NDArray[np.float64],
        pd: Sequence[float] | NDArray[np.float64],
        lgd: Sequence[float] | NDArray[np.float64],
        sector: Sequence[str],
        country: Sequence[str],
    ) -> PortfolioBook:
        """Build a book from per-obligor values, coding sectors and countries by sorted name."""
        sectors, sector_index = np.unique(np.asarray(sector, dtype=object).astype(str), return_inverse=True)
        countries, country_index = np.unique(np.asarray(country, dtype=object).astype(str), return_inverse=True)
        return cls(
            obligor_id=tuple(str(o) for o in obligor_id),
            ead=np.asarray(ead, dtype=np.float64),
            pd=np.asarray(pd, dtype=np.float64),
            lgd=np.asarray(lgd, dtype=np.float64),
            sector=sector_index.astype(np.int64).reshape(-1),
            country=country_index.astype(np.int64).reshape(-1),
            sectors=tuple(str(s) for s in sectors),
            countries=tuple(str(c) for c in countries),
        )

    @property
    def loss_given_default(self) -> NDArray[np.float64]:
        """EAD × LGD per obligor: what its default costs."""
        return self.ead * self.lgd

    @property
    def expected_loss(self) -> float:
        return float(np.sum(self.ead * self.pd * self.lgd))


def _check_range(values: NDArray[np.float64], column: str, low: float, high: float) -> None:
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if column == "ead":
        bad = ~np.isfinite(values) | (values < low)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        interval = "must be a finite number ≥ 0" if column == "ead" else f"must lie in [{low:g}, {high:g}]"
        raise BookError(f"{values[row]!r} {interval}", row=row, column=column)


def _check_index(values: NDArray[np.int64], column: str, size: int) -> None:
    bad = (values < 0) | (values >= size)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BookError(f"index {values[row]} names no {column}", row=row, column=column)
