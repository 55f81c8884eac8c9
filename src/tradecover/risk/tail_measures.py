"""VaR and TVaR of a weighted sample of losses, their standard errors, and tail allocations.

Every scenario s has a loss L_s and a likelihood-ratio weight w_s (1 for plain Monte Carlo). The tail
probability is estimated as P(L > x) ≈ (1/N) Σ w_s 1{L_s > x}. VaR_q is the smallest sampled loss whose
upper tail (ties included) holds more than 1 − q; TVaR_q is the expected shortfall
``(1/(1 − q)) [ (1/N) Σ_{L_s > VaR} w_s L_s + (1 − q − P(L > VaR)) VaR ]``: the mean of the worst
1 − q of the distribution, the boundary scenarios counted for the part of their weight that falls
inside. ``tail_factors`` gives each scenario's share of that mean, so allocating each scenario's loss to
the obligors that made it yields contributions that add up to TVaR exactly.

Standard errors are the asymptotic ones (Glynn 1996; Hong 2009, for weighted samples):
SE(VaR) = SE(P̂(L > VaR)) / f(VaR), the density f estimated as 2δ / (VaR_{q+δ} − VaR_{q−δ}) with
δ = (1 − q) / 4; SE(TVaR) = SD(w (L − VaR)⁺) / ((1 − q) √N), the VaR error counting only at
second order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["RiskMeasure", "expected_shortfall", "risk_measures", "tail_factors", "value_at_risk"]


@dataclass(frozen=True)
class RiskMeasure:
    """VaR and TVaR at one confidence level, each with its Monte Carlo standard error (0 if exact)."""

    level: float
    var: float
    var_se: float
    tvar: float
    tvar_se: float


def _sorted_desc(
    losses: NDArray[np.float64], weights: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    order = np.argsort(-losses, kind="stable")
    return losses[order], weights[order]


def value_at_risk(losses: NDArray[np.float64], weights: NDArray[np.float64], level: float) -> float:
    """The level-quantile of the weighted sample (see the module docstring)."""
    var, _ = _var_es(*_sorted_desc(losses, weights), losses.size, level)
    return var


def expected_shortfall(losses: NDArray[np.float64], weights: NDArray[np.float64], level: float) -> float:
    _, es = _var_es(*_sorted_desc(losses, weights), losses.size, level)
    return es


def _var_es(
    losses_desc: NDArray[np.float64], weights_desc: NDArray[np.float64], n: int, level: float
) -> tuple[float, float]:
    if n == 0:
        raise ValueError("no scenarios")
    mass = (1.0 - level) * n  # tail mass in units of one plain scenario's weight
    cumulative = np.cumsum(weights_desc)
    k = int(np.searchsorted(cumulative, mass, side="right"))
    k = min(k, losses_desc.size - 1)
    var = float(losses_desc[k])
    above = losses_desc > var
    weight_above = float(weights_desc[above].sum())
    es = (float(weights_desc[above] @ losses_desc[above]) + max(mass - weight_above, 0.0) * var) / mass
    return var, es


def tail_factors(losses: NDArray[np.float64], weights: NDArray[np.float64], level: float) -> NDArray[np.float64]:
    """Per scenario, its weight in TVaR_level: Σ_s factor_s L_s = TVaR_level.

    Scenarios above VaR count w_s / ((1 − q) N); those exactly at VaR share what is left of the tail
    mass in proportion to their weights; the rest count 0.
    """
    n = losses.size
    mass = (1.0 - level) * n
    var = value_at_risk(losses, weights, level)
    above = losses > var
    at = losses == var
    factors = np.where(above, weights, 0.0)
    left = max(mass - float(weights[above].sum()), 0.0)
    at_weight = float(weights[at].sum())
    if at_weight > 0:
        factors = factors + np.where(at, weights * (left / at_weight), 0.0)
    return factors / mass


def risk_measures(
    losses: NDArray[np.float64], weights: NDArray[np.float64], levels: Sequence[float]
) -> list[RiskMeasure]:
    """VaR and TVaR at each level with their asymptotic standard errors."""
    for level in levels:
        if not 0.0 < level < 1.0:
            raise ValueError(f"confidence level {level:g} must lie in (0, 1)")
    desc = _sorted_desc(losses, weights)
    n = losses.size
    out = []
    for level in levels:
        var, es = _var_es(*desc, n, level)
        tail = 1.0 - level
        exceed = weights * (losses > var)
        p_se = float(np.std(exceed) / np.sqrt(n))
        delta = tail / 4.0
        upper, _ = _var_es(*desc, n, level + delta)
        lower, _ = _var_es(*desc, n, level - delta)
        spread = upper - lower
        var_se = p_se * spread / (2.0 * delta) if spread > 0 else 0.0
        es_se = float(np.std(weights * np.maximum(losses - var, 0.0)) / (tail * np.sqrt(n)))
        out.append(RiskMeasure(level=level, var=var, var_se=var_se, tvar=es, tvar_se=es_se))
    return out
