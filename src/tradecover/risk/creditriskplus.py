"""CreditRisk+ with correlated sectors: the analytic engine of the portfolio loss model (DOMAIN.md §11).

The extension of Bürgisser, Kurth, Wagner and Wolf ("Integrating correlations", *Risk*, July 1999), as
QuantLib implements it:

* per sector k: expected loss EL_k = Σ PD_i e_i; unexpected loss UL_k = √(Σ PD_i e_i² + σ_k² EL_k²), with
  σ_k² the relative default variance of the sector;
* the whole book: UL² = Σ_i PD_i e_i² + Σ_k Σ_l ρ_kl σ_k σ_l EL_k EL_l, and the book's relative default
  variance σ² = (UL² − Σ_i PD_i e_i²) / EL²;
* the loss distribution is the one-sector CreditRisk+ distribution with that σ²: a negative binomial
  number of defaults (Gamma-mixed Poisson) compounded with the exposure distribution in loss units,
  computed exactly by Panjer's recursion (no simulation).

Estimator-style: parameters in ``__init__``, ``fit`` computes the learned attributes (trailing ``_``).

Examples
--------
>>> model = CreditRiskPlus(relative_variances=[0.5625], loss_unit=1.0)
>>> model = model.fit(exposures=[1.0] * 100, pds=[0.01] * 100, sectors=[0])
>>> round(model.expected_loss_, 6)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CreditRiskPlus"]


class CreditRiskPlus:
    """Analytic CreditRisk+ loss distribution of a book with correlated sectors.

    Parameters
    ----------
    relative_variances : sequence of float
        σ_k², the relative variance of each sector's default rate (0.5625 for σ_k = 75 %).
    correlation : 2-D array, optional
        Correlation between the sectors' default rates (identity when omitted); symmetric, unit
        diagonal, entries in [−1, 1].
    loss_unit : float
        The loss unit exposures are rounded to (a multiple of it) for the recursion.
    """

    def __init__(
        self,
        relative_variances: Sequence[float],
        correlation: ArrayLike | None = None,
        loss_unit: float = 1.0,
    ) -> None:
        self.relative_variances = relative_variances
        self.correlation = correlation
        self.loss_unit = loss_unit

    def fit(self, exposures: ArrayLike, pds: ArrayLike, sectors: ArrayLike) -> CreditRiskPlus:
        e = np.asarray(exposures, dtype=np.float64)
        p = np.asarray(pds, dtype=np.float64)
        sector = np.asarray(sectors, dtype=np.int64)
        variances = np.asarray(self.relative_variances, dtype=np.float64)
        n_sectors = variances.size
        if sector.size == 1 and e.size > 1:
            sector = np.full(e.size, int(sector.reshape(-1)[0]))
        if not (e.shape == p.shape == sector.shape) or e.ndim != 1:
            raise ValueError("exposures, pds and sectors must be 1-D arrays of the same length")
        for name, values in (("exposure", e), ("pd", p)):
            bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | ((values > 1) if name == "pd" else False))
            if bad.size:
                raise ValueError(f"row {int(bad[0])}: {name} {values[bad[0]]!r} is outside its range")
        bad_sector = np.flatnonzero((sector < 0) | (sector >= n_sectors))
        if bad_sector.size:
            raise ValueError(f"row {int(bad_sector[0])}: sector {int(sector[bad_sector[0]])} has no variance")
        if np.any(variances < 0) or not np.all(np.isfinite(variances)):
            raise ValueError("relative variances must be finite and ≥ 0")
        rho = np.eye(n_sectors) if self.correlation is None else np.asarray(self.correlation, dtype=np.float64)
        if rho.shape != (n_sectors, n_sectors) or not np.allclose(rho, rho.T) or not np.allclose(np.diag(rho), 1):
            raise ValueError("the correlation matrix must be square, symmetric, with a unit diagonal")
        if np.any(np.abs(rho) > 1) or np.linalg.eigvalsh(rho).min() < -1e-10:
            raise ValueError("the correlation matrix is not positive semi-definite")
        if not self.loss_unit > 0:
            raise ValueError("loss_unit must be positive")

        self.sector_exposure_ = np.bincount(sector, weights=e, minlength=n_sectors)
        self.sector_expected_loss_ = np.bincount(sector, weights=p * e, minlength=n_sectors)
        idiosyncratic = np.bincount(sector, weights=p * e * e, minlength=n_sectors)
        self.sector_unexpected_loss_ = np.sqrt(idiosyncratic + variances * self.sector_expected_loss_**2)
        sigma_el = np.sqrt(variances) * self.sector_expected_loss_
        self.total_exposure_ = float(e.sum())
        self.expected_loss_ = float(self.sector_expected_loss_.sum())
        variance = float(idiosyncratic.sum() + sigma_el @ rho @ sigma_el)
        self.unexpected_loss_ = float(np.sqrt(variance))
        self.relative_default_variance_ = (
            (variance - float(idiosyncratic.sum())) / self.expected_loss_**2 if self.expected_loss_ > 0 else 0.0
        )
        self.loss_distribution_ = self._distribution(e, p)
        return self

    def _distribution(self, e: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(loss = n × loss_unit), n = 0, 1, … until the tail is negligible (see the loop)."""
        units = np.rint(e / self.loss_unit).astype(np.int64)
        mask = (units > 0) & (p > 0)
        units, p = units[mask], p[mask]
        mu = float(p.sum())
        if mu == 0:
            return np.array([1.0])
        severity = np.bincount(units, weights=p / mu)  # q_k: share of expected defaults with loss k units
        sigma2 = self.relative_default_variance_
        if sigma2 <= 1e-12:  # no systematic variance: compound Poisson (Panjer with a = 0, b = mu)
            a, b, g0 = 0.0, mu, np.exp(-mu)
        else:
            alpha = 1.0 / sigma2
            q = sigma2 * mu / (1.0 + sigma2 * mu)
            a, b, g0 = q, (alpha - 1.0) * q, (1.0 - q) ** alpha
        k_max = severity.size - 1
        weights_a = severity[1:] * a  # a q_k, k = 1..k_max
        weights_b = severity[1:] * b * np.arange(1, k_max + 1)  # b k q_k
        g = np.zeros(1024)
        g[0] = g0
        total = g0
        n = 0
        peak = g0
        # Stop once the tail left is below 1e-12, or — rounding may leave the running total just short
        # of that — once the last k_max terms, all the recursion feeds on, have fallen below 1e-18 of the peak.
        while (
            total < 1 - 1e-12 and n < 10_000_000 and not (n > k_max and g[n - k_max + 1 : n + 1].max() < 1e-18 * peak)
        ):
            n += 1
            if n >= g.size:
                g = np.concatenate([g, np.zeros(g.size)])
            k = min(n, k_max)
            previous = g[n - k : n][::-1]  # g[n-1], …, g[n-k]
            g[n] = float(weights_a[:k] @ previous + (weights_b[:k] @ previous) / n)
            total += g[n]
            peak = max(peak, g[n])
        return g[: n + 1].copy()

    def loss_quantile(self, q: float) -> float:
        """The smallest loss whose cumulative probability reaches ``q``."""
        if not 0 < q < 1:
            raise ValueError("q must lie in (0, 1)")
        index = int(np.searchsorted(np.cumsum(self.loss_distribution_), q))
        return index * self.loss_unit
