"""The asymptotic single risk factor model: Vasicek's large homogeneous portfolio and the Basel IRB formula.

These closed forms are the analytic anchors of the portfolio loss model (DOMAIN.md §11): a book of many
small obligors with the same PD and a one-factor Gaussian copula of correlation ``rho`` loses, at
confidence ``q``, the fraction

    L_q = Φ((Φ⁻¹(PD) + √rho · Φ⁻¹(q)) / √(1 − rho))

of its exposure (times LGD). The Basel II/III IRB capital requirement is that unexpected loss at
q = 0.999 with the supervisory correlations and, for corporates, the maturity adjustment:

    K = LGD × (L_0.999 − PD) × (1 + (M − 2.5) b) / (1 − 1.5 b),  b = (0.11852 − 0.05478 ln PD)²
    RW = 12.5 × K   (without the 1.06 scaling factor)

Arrays in, arrays out (NumPy broadcasting); PD, LGD and rho are fractions.

Examples
--------
>>> round(float(irb_risk_weight(0.01, 0.45, "corporate")) * 100, 2)  # Basel II Annex 5: 92.32 %
92.32
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Exposure = Literal["corporate", "residential_mortgage", "qualifying_revolving_retail", "other_retail"]

__all__ = ["Exposure", "irb_capital", "irb_correlation", "irb_risk_weight", "maturity_adjustment", "vasicek_quantile"]


def _fractions(value: ArrayLike, name: str, *, open_unit: bool = False) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    low_ok = array > 0 if open_unit else array >= 0
    high_ok = array < 1 if open_unit else array <= 1
    if not np.all(np.isfinite(array) & low_ok & high_ok):
        bounds = "(0, 1)" if open_unit else "[0, 1]"
        raise ValueError(f"{name} must lie in {bounds}")
    return array


def vasicek_quantile(pd: ArrayLike, rho: ArrayLike, q: float) -> NDArray[np.float64]:
    """The loss fraction of a large homogeneous portfolio at confidence ``q`` (before LGD)."""
    p = _fractions(pd, "pd", open_unit=True)
    r = _fractions(rho, "rho", open_unit=True)
    if not 0 < q < 1:
        raise ValueError("q must lie in (0, 1)")
    norm = stats.norm
    result: NDArray[np.float64] = norm.cdf((norm.ppf(p) + np.sqrt(r) * norm.ppf(q)) / np.sqrt(1 - r))
    return result


def _blend(pd: NDArray[np.float64], k: float, low: float, high: float) -> NDArray[np.float64]:
    weight = (1 - np.exp(-k * pd)) / (1 - np.exp(-k))
    blended: NDArray[np.float64] = low * weight + high * (1 - weight)
    return blended


def irb_correlation(pd: ArrayLike, exposure: Exposure, *, turnover_m: ArrayLike | None = None) -> NDArray[np.float64]:
    """Supervisory asset correlation (Basel II §272, §327–329; CRE31).

    Corporates: 0.12 to 0.24, falling with PD, minus up to 0.04 for SMEs with turnover (EUR m) below 50
    (floored at 5). Residential mortgages 0.15; qualifying revolving retail 0.04; other retail 0.03 to 0.16.
    """
    p = _fractions(pd, "pd", open_unit=True)
    if exposure == "corporate":
        r = _blend(p, 50.0, 0.12, 0.24)
        if turnover_m is not None:
            s = np.clip(np.asarray(turnover_m, dtype=np.float64), 5.0, 50.0)
            r = r - 0.04 * (1 - (s - 5.0) / 45.0)
        return r
    if exposure == "residential_mortgage":
        return np.full_like(p, 0.15)
    if exposure == "qualifying_revolving_retail":
        return np.full_like(p, 0.04)
    if exposure == "other_retail":
        return _blend(p, 35.0, 0.03, 0.16)
    raise ValueError(f"unknown exposure class {exposure!r}")


def maturity_adjustment(pd: ArrayLike, maturity_years: ArrayLike = 2.5) -> NDArray[np.float64]:
    """(1 + (M − 2.5) b) / (1 − 1.5 b) with b = (0.11852 − 0.05478 ln PD)²: corporates only."""
    p = _fractions(pd, "pd", open_unit=True)
    b = (0.11852 - 0.05478 * np.log(p)) ** 2
    adjustment: NDArray[np.float64] = (1 + (np.asarray(maturity_years, dtype=np.float64) - 2.5) * b) / (1 - 1.5 * b)
    return adjustment


def irb_capital(
    pd: ArrayLike,
    lgd: ArrayLike,
    exposure: Exposure,
    *,
    maturity_years: ArrayLike = 2.5,
    turnover_m: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Capital K per unit of EAD: LGD × (L_0.999 − PD), × the maturity adjustment for corporates."""
    p = _fractions(pd, "pd", open_unit=True)
    loss_given_default = _fractions(lgd, "lgd")
    rho = irb_correlation(p, exposure, turnover_m=turnover_m)
    k = loss_given_default * (vasicek_quantile(p, rho, 0.999) - p)
    if exposure == "corporate":
        k = k * maturity_adjustment(p, maturity_years)
    return k


def irb_risk_weight(
    pd: ArrayLike,
    lgd: ArrayLike,
    exposure: Exposure,
    *,
    maturity_years: ArrayLike = 2.5,
    turnover_m: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Risk weight as a fraction of EAD (12.5 × K), without the 1.06 scaling factor."""
    capital = irb_capital(pd, lgd, exposure, maturity_years=maturity_years, turnover_m=turnover_m)
    weight: NDArray[np.float64] = 12.5 * capital
    return weight
