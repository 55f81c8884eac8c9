"""A synthetic trade credit insurer's book, reproducible from a seed.

Why: the portfolio loss model is tested and benchmarked on books of a
realistic shape and of any size (up to millions of obligors) without any
insured's data. The shape, per obligor (buyer):

* ``ead``: lognormal around a median of 25,000 (mean about 50,000) currency
  units, rounded to 100, at least 1,000, capped at 5,000,000 — many small
  buyers and a heavy tail of a few big ones;
* ``pd``: the one-year PD of a risk grade 1..9 of the default grade scale
  (:data:`tradecover.domain.grades.DEFAULT_PD_BY_GRADE`; no insolvent buyer,
  grade 10, in a live book), mostly the good grades, so that many obligors
  share a PD;
* ``lgd``: 0.45, 0.60 or 0.75;
* ``sector``: ``S01``… with decreasing sizes (``S01`` the largest);
  ``country``: ``FR``, ``DE``, ``IT``, ``ES``, ``BE``, ``NL``, ``GB``, ``US``,
  ``PL``, ``PT`` (the first ``n_countries``), France by far the largest.

Sectors and countries that no obligor happens to draw (a small book) are not
in the book's ``sectors``/``countries``, as when the book is read from a file.
Vectorised: a million obligors take well under a second.

Examples
--------
>>> book = generate_book(1_000, seed=7)
>>> book.size, book.countries[:3]
(1000, ('BE', 'DE', 'ES'))
>>> bool((generate_book(1_000, seed=7).ead == book.ead).all())
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tradecover.domain.grades import DEFAULT_PD_BY_GRADE, INSOLVENT_GRADE
from tradecover.risk.portfolio_book import PortfolioBook

__all__ = ["COUNTRIES", "GRADE_WEIGHTS", "LGD_VALUES", "generate_book"]

#: Countries in decreasing share of the book, with their weights.
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("FR", 0.40),
    ("DE", 0.12),
    ("IT", 0.10),
    ("ES", 0.09),
    ("BE", 0.07),
    ("NL", 0.06),
    ("GB", 0.06),
    ("US", 0.04),
    ("PL", 0.03),
    ("PT", 0.03),
)
#: Share of obligors in each grade 1..9: mostly investment-like grades.
GRADE_WEIGHTS: tuple[float, ...] = (0.08, 0.12, 0.17, 0.19, 0.17, 0.12, 0.08, 0.05, 0.02)
#: LGD values and their shares.
LGD_VALUES: tuple[tuple[float, float], ...] = ((0.45, 0.30), (0.60, 0.50), (0.75, 0.20))

_MAX_SECTORS = 99
_EAD_MEDIAN = 25_000.0
_EAD_SIGMA = 1.2
_EAD_FLOOR = 1_000.0
_EAD_CAP = 5_000_000.0
_EAD_ROUNDING = 100.0


def _pds() -> NDArray[np.float64]:
    return np.array([float(DEFAULT_PD_BY_GRADE[grade]) for grade in range(1, INSOLVENT_GRADE)], dtype=np.float64)


def _compact(codes: NDArray[np.int64], names: list[str]) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Recode ``codes`` (indices into ``names``) against the sorted names actually used."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    order = sorted(used.tolist(), key=lambda code: names[code])
    recode = np.zeros(len(names), dtype=np.int64)
    recode[order] = np.arange(len(order), dtype=np.int64)
    return recode[codes], tuple(names[code] for code in order)


def generate_book(n_obligors: int, *, n_sectors: int = 20, n_countries: int = 10, seed: int = 0) -> PortfolioBook:
    """A synthetic book of ``n_obligors`` obligors ``B0000001``…, the same for the same arguments.

    Parameters
    ----------
    n_obligors : int
        Number of obligors, at least 1.
    n_sectors : int
        Sectors ``S01``…, 1 to 99; sizes decrease with the number (weight ∝ k^-0.7).
    n_countries : int
        The first 1 to 10 countries of :data:`COUNTRIES`.
    seed : int
        Seed of the NumPy random generator.
    """
    if n_obligors < 1:
        raise ValueError(f"n_obligors must be at least 1, got {n_obligors}")
    if not 1 <= n_sectors <= _MAX_SECTORS:
        raise ValueError(f"n_sectors must be from 1 to {_MAX_SECTORS}, got {n_sectors}")
    if not 1 <= n_countries <= len(COUNTRIES):
        raise ValueError(f"n_countries must be from 1 to {len(COUNTRIES)}, got {n_countries}")
    rng = np.random.default_rng(seed)

    ead = rng.lognormal(np.log(_EAD_MEDIAN), _EAD_SIGMA, n_obligors)
    ead = np.clip(np.round(ead / _EAD_ROUNDING) * _EAD_ROUNDING, _EAD_FLOOR, _EAD_CAP)

    grade_weights = np.array(GRADE_WEIGHTS)
    pd = _pds()[rng.choice(grade_weights.size, size=n_obligors, p=grade_weights / grade_weights.sum())]

    lgd_values = np.array([value for value, _ in LGD_VALUES])
    lgd_weights = np.array([weight for _, weight in LGD_VALUES])
    lgd = lgd_values[rng.choice(lgd_values.size, size=n_obligors, p=lgd_weights / lgd_weights.sum())]

    sector_weights = np.arange(1, n_sectors + 1, dtype=np.float64) ** -0.7
    sector_codes = rng.choice(n_sectors, size=n_obligors, p=sector_weights / sector_weights.sum()).astype(np.int64)
    sector, sectors = _compact(sector_codes, [f"S{k:02d}" for k in range(1, n_sectors + 1)])

    country_weights = np.array([weight for _, weight in COUNTRIES[:n_countries]])
    country_codes = rng.choice(n_countries, size=n_obligors, p=country_weights / country_weights.sum()).astype(np.int64)
    country, countries = _compact(country_codes, [code for code, _ in COUNTRIES[:n_countries]])

    return PortfolioBook(
        obligor_id=tuple([f"B{number:07d}" for number in range(1, n_obligors + 1)]),
        ead=ead.astype(np.float64),
        pd=pd,
        lgd=lgd,
        sector=sector,
        country=country,
        sectors=sectors,
        countries=countries,
    )
