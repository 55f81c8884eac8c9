"""Systematic factors of the loss model: one per sector and one per country, correlated.

Factor names are ``sector:<name>`` and ``country:<code>`` so a sector and a country may share a
label. An obligor of sector s and country c depends on the composite factor
``Y = (√w F_s + √(1 − w) F_c) / σ`` (σ makes Y standard normal), w being the sector weight; its
latent variable is ``X = √ρ Y + √(1 − ρ) ε`` and it defaults when X < Φ⁻¹(PD). The one-factor
(Vasicek) case puts every obligor on a single factor ``market``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tradecover.risk.portfolio_book import BookError, PortfolioBook

__all__ = [
    "FactorCorrelation",
    "FactorCorrelationError",
    "SegmentLoadings",
    "default_factor_correlation",
    "segment_loadings",
]

SINGLE_FACTOR = "market"


class FactorCorrelationError(ValueError):
    """A correlation matrix the model cannot use; names the offending row and column factors."""

    def __init__(self, message: str, *, row: str | None = None, column: str | None = None) -> None:
        where = ", ".join(part for part in (row and f"row {row}", column and f"column {column}") if part)
        super().__init__(f"correlation matrix {where}: {message}" if where else f"correlation matrix: {message}")
        self.row = row
        self.column = column


@dataclass(frozen=True)
class FactorCorrelation:
    """A validated factor correlation matrix: symmetric, unit diagonal, positive definite."""

    names: tuple[str, ...]
    matrix: NDArray[np.float64]

    def __post_init__(self) -> None:
        m = self.matrix
        names = self.names
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise FactorCorrelationError("factor named twice", row=duplicate)
        if m.shape != (len(names), len(names)):
            raise FactorCorrelationError(f"shape {m.shape} for {len(names)} factors")
        for i, j in zip(*np.nonzero(~np.isfinite(m)), strict=True):
            raise FactorCorrelationError("not a finite number", row=names[i], column=names[j])
        for i in range(len(names)):
            if abs(m[i, i] - 1.0) > 1e-9:
                raise FactorCorrelationError(f"diagonal {m[i, i]:g} must be 1", row=names[i], column=names[i])
        for i, j in zip(*np.nonzero(np.abs(m) > 1.0), strict=True):
            raise FactorCorrelationError(f"{m[i, j]:g} is outside [-1, 1]", row=names[i], column=names[j])
        for i, j in zip(*np.nonzero(np.abs(m - m.T) > 1e-9), strict=True):
            raise FactorCorrelationError(
                f"{m[i, j]:g} differs from its mirror {m[j, i]:g}", row=names[i], column=names[j]
            )
        try:
            np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            smallest = float(np.linalg.eigvalsh(m).min())
            raise FactorCorrelationError(
                f"not positive definite (smallest eigenvalue {smallest:.3g}); a factor is a combination of others"
            ) from None

    @classmethod
    def from_labelled(cls, names: Sequence[str], matrix: ArrayLike) -> FactorCorrelation:
        return cls(tuple(str(n) for n in names), np.array(matrix, dtype=np.float64))

    @property
    def cholesky(self) -> NDArray[np.float64]:
        return np.asarray(np.linalg.cholesky(self.matrix), dtype=np.float64)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def shocked(self, shift: float) -> FactorCorrelation:
        """Every off-diagonal correlation moved a fraction ``shift`` of the way to 1 (a crisis)."""
        if not -1.0 <= shift < 1.0:
            raise FactorCorrelationError(f"correlation shift {shift:g} must lie in [-1, 1)")
        off = self.matrix + shift * (1.0 - self.matrix) if shift >= 0 else self.matrix * (1.0 + shift)
        np.fill_diagonal(off, 1.0)
        return FactorCorrelation(self.names, off)


def default_factor_correlation(
    sectors: Sequence[str],
    countries: Sequence[str],
    *,
    sector_sector: float = 0.5,
    country_country: float = 0.5,
    sector_country: float = 0.3,
) -> FactorCorrelation:
    """A block matrix with one correlation between sectors, one between countries and one across."""
    names = [f"sector:{s}" for s in sectors] + [f"country:{c}" for c in countries]
    n_s = len(sectors)
    m = np.full((len(names), len(names)), sector_country)
    m[:n_s, :n_s] = sector_sector
    m[n_s:, n_s:] = country_country
    np.fill_diagonal(m, 1.0)
    return FactorCorrelation(tuple(names), m)


@dataclass(frozen=True)
class SegmentLoadings:
    """Obligors grouped by (sector, country): each segment's composite factor from the factors.

    ``Y_segment = first_weight · F[first] + second_weight · F[second]``, standard normal.
    """

    obligor_segment: NDArray[np.int64]
    first: NDArray[np.int64]
    second: NDArray[np.int64]
    first_weight: NDArray[np.float64]
    second_weight: NDArray[np.float64]
    cholesky: NDArray[np.float64]

    @property
    def n_factors(self) -> int:
        return int(self.cholesky.shape[0])

    @property
    def n_segments(self) -> int:
        return int(self.first.size)

    def segment_factors(self, factors: NDArray[np.float64]) -> NDArray[np.float64]:
        """Composite factor per scenario and segment from the correlated factors (scenarios × factors)."""
        return factors[:, self.first] * self.first_weight + factors[:, self.second] * self.second_weight


def segment_loadings(
    book: PortfolioBook,
    *,
    factors: str,
    correlation: FactorCorrelation | None,
    sector_weight: float,
) -> SegmentLoadings:
    """Map every obligor to its segment and each segment to its factors; check the matrix names them all."""
    if factors == "single":
        return SegmentLoadings(
            obligor_segment=np.zeros(book.size, dtype=np.int64),
            first=np.zeros(1, dtype=np.int64),
            second=np.zeros(1, dtype=np.int64),
            first_weight=np.ones(1),
            second_weight=np.zeros(1),
            cholesky=np.ones((1, 1)),
        )
    if factors != "sector_country":
        raise ValueError(f"factors must be 'sector_country' or 'single', not {factors!r}")
    if not 0.0 <= sector_weight <= 1.0:
        raise ValueError(f"sector_weight {sector_weight:g} must lie in [0, 1]")
    corr = correlation or default_factor_correlation(book.sectors, book.countries)
    position = {name: i for i, name in enumerate(corr.names)}
    sector_factor = _factor_positions(book, "sector", book.sectors, book.sector, position)
    country_factor = _factor_positions(book, "country", book.countries, book.country, position)
    pair = book.sector.astype(np.int64) * len(book.countries) + book.country
    pairs, obligor_segment = np.unique(pair, return_inverse=True)
    first = sector_factor[pairs // len(book.countries)]
    second = country_factor[pairs % len(book.countries)]
    a, b = np.sqrt(sector_weight), np.sqrt(1.0 - sector_weight)
    sigma = np.sqrt(a * a + b * b + 2 * a * b * corr.matrix[first, second])
    return SegmentLoadings(
        obligor_segment=obligor_segment.astype(np.int64).reshape(-1),
        first=first,
        second=second,
        first_weight=a / sigma,
        second_weight=b / sigma,
        cholesky=corr.cholesky,
    )


def _factor_positions(
    book: PortfolioBook,
    kind: str,
    labels: tuple[str, ...],
    codes: NDArray[np.int64],
    position: dict[str, int],
) -> NDArray[np.int64]:
    out = np.empty(len(labels), dtype=np.int64)
    for k, label in enumerate(labels):
        name = f"{kind}:{label}"
        if name not in position:
            row = int(np.flatnonzero(codes == k)[0])
            raise BookError(f"{kind} {label!r} has no factor {name!r} in the correlation matrix", row=row, column=kind)
        out[k] = position[name]
    return out
