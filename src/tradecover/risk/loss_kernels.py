"""Compiled inner loops of the Monte Carlo loss model (Numba, no Python objects, no allocation per scenario).

Conditional independence does the heavy lifting: given the factors, obligors default independently,
so a scenario never draws one normal per obligor. Obligors are grouped into buckets (one segment,
a narrow PD band); per scenario and bucket the kernel computes a bound on the members' conditional
PDs, makes each member a *candidate* with that probability (or a twisted one, under importance
sampling) by jumping from one candidate to the next with geometric gaps, and keeps each candidate
with probability p_i(Y) / bound (thinning), which makes every obligor default with exactly its own
p_i(Y). The work per scenario is the number of buckets plus the number of candidates, not the number
of obligors.
"""

from __future__ import annotations

import math

# SplitMix64 relies on uint64 arithmetic wrapping around.
import numpy as np
from numba import njit
from numpy.typing import NDArray

SQRT2 = math.sqrt(2.0)


@njit(nogil=True, cache=True, inline="always")
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / SQRT2)


@njit(nogil=True, cache=True, inline="always")
def _threshold(a: float, r: float, y: float) -> float:
    return (a - r * y) / math.sqrt(1.0 - r * r)


@njit(nogil=True, cache=True)
def bound_probabilities(  # pragma: no cover - compiled
    segment_factor: NDArray[np.float64],
    bucket_segment: NDArray[np.int64],
    bucket_a_high: NDArray[np.float64],
    bucket_r_low: NDArray[np.float64],
    bucket_r_high: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """out[s, b] = max over the bucket's (PD, ρ) of Φ((Φ⁻¹(PD) − √ρ Y) / √(1 − ρ)).

    The threshold grows with PD, and as a function of r = √ρ its derivative has the sign of
    (a r − Y), so its maximum over [r_low, r_high] is at an end or at r = Y / a.
    """
    n_scenarios = segment_factor.shape[0]
    n_buckets = bucket_segment.size
    for s in range(n_scenarios):
        for b in range(n_buckets):
            y = segment_factor[s, bucket_segment[b]]
            a = bucket_a_high[b]
            lo = bucket_r_low[b]
            hi = bucket_r_high[b]
            g = _threshold(a, lo, y)
            if hi > lo:
                g = max(g, _threshold(a, hi, y))
                if a != 0.0:
                    r = y / a
                    if lo < r < hi:
                        g = max(g, _threshold(a, r, y))
            out[s, b] = _normal_cdf(g)


@njit(nogil=True, cache=True)
def twist(  # pragma: no cover - compiled
    bound: NDArray[np.float64],
    bucket_size: NDArray[np.int64],
    bucket_mean_loss: NDArray[np.float64],
    target: float,
    twisted: NDArray[np.float64],
    log_psi: NDArray[np.float64],
    theta: NDArray[np.float64],
) -> None:
    """Exponential twisting of the candidates' probabilities towards a conditional mean loss of `target`.

    q_b = p_b e^{θ c_b} / (1 + p_b (e^{θ c_b} − 1)) with c_b the bucket's mean loss given default; θ ≥ 0
    solves Σ n_b c_b q_b(θ) = target (θ = 0 when the untwisted mean already reaches it). The
    likelihood ratio of the draw is exp(Σ n_b ψ_b − θ Σ c_b K_b) with ψ_b = log(1 + p_b (e^{θ c_b} − 1));
    log_psi[s] receives Σ n_b ψ_b. Any θ keeps the estimator unbiased, so a few safeguarded Newton
    steps are enough.
    """
    n_scenarios, n_buckets = bound.shape
    for s in range(n_scenarios):
        mean = 0.0
        for b in range(n_buckets):
            mean += bucket_size[b] * bucket_mean_loss[b] * bound[s, b]
        t = 0.0
        if mean < target:
            low = 0.0
            high = math.inf
            for _ in range(8):
                f = 0.0
                slope = 0.0
                for b in range(n_buckets):
                    p = bound[s, b]
                    c = bucket_mean_loss[b]
                    q = p / (p + (1.0 - p) * math.exp(-t * c)) if p > 0.0 else 0.0
                    f += bucket_size[b] * c * q
                    slope += bucket_size[b] * c * c * q * (1.0 - q)
                f -= target
                if abs(f) <= 1e-2 * target:
                    break
                if f < 0.0:
                    low = t
                else:
                    high = t
                step = t - f / slope if slope > 0.0 else math.inf
                if step <= low or step >= high or not math.isfinite(step):
                    step = 2.0 * low + 1.0 / target if high == math.inf else 0.5 * (low + high)
                t = step
        psi = 0.0
        for b in range(n_buckets):
            p = bound[s, b]
            c = t * bucket_mean_loss[b]
            if p <= 0.0 or t == 0.0:
                twisted[s, b] = p
            elif p >= 1.0:
                twisted[s, b] = 1.0
                psi += bucket_size[b] * c
            else:
                damp = math.exp(-c)
                twisted[s, b] = p / (p + (1.0 - p) * damp)
                psi += bucket_size[b] * (c + math.log(p + (1.0 - p) * damp))
        log_psi[s] = psi
        theta[s] = t


@njit(nogil=True, cache=True, inline="always")
def _next_uniform(state: NDArray[np.uint64]) -> float:
    """SplitMix64 (Steele, Lea & Flood 2014): a uniform in [0, 1) from 53 bits; state[0] advances."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True)
def scenario_losses(  # pragma: no cover - compiled
    candidate_probability: NDArray[np.float64],
    bound: NDArray[np.float64],
    segment_factor: NDArray[np.float64],
    bucket_start: NDArray[np.int64],
    bucket_size: NDArray[np.int64],
    bucket_segment: NDArray[np.int64],
    bucket_exact: NDArray[np.bool_],
    bucket_mean_loss: NDArray[np.float64],
    obligor_a: NDArray[np.float64],
    obligor_r: NDArray[np.float64],
    obligor_loss: NDArray[np.float64],
    obligor_net_loss: NDArray[np.float64],
    scenario_seed: NDArray[np.uint64],
    tail_factor: NDArray[np.float64],
    only_tail: bool,
    contributions: NDArray[np.float64],
    gross: NDArray[np.float64],
    net: NDArray[np.float64],
    candidate_loss: NDArray[np.float64],
) -> None:
    """Draw each bucket's candidates, thin them to defaults, add up gross and per-risk net losses.

    Every member of bucket b is a candidate with probability candidate_probability[s, b]; the
    candidates are found by geometric skips (the gap to the next one is Geometric(q)), so the work is
    one logarithm per candidate and the memory is read in order. A candidate defaults with probability
    p_i(Y) / bound[s, b] (thinning; always in a bucket whose members share PD and ρ).
    candidate_loss[s] receives Σ_b K_b × mean loss_b over the candidate counts K_b, which the
    exponential twisting's likelihood ratio needs.

    Scenario s draws its uniforms from its own SplitMix64 stream seeded with scenario_seed[s], so its
    outcome depends neither on blocks nor on which other scenarios run. Where tail_factor[s] > 0,
    adds tail_factor[s] × loss to each defaulter's contribution; with `only_tail` the other
    scenarios are skipped.
    """
    n_scenarios, n_buckets = candidate_probability.shape
    state = np.zeros(1, dtype=np.uint64)
    for s in range(n_scenarios):
        factor = tail_factor[s]
        if only_tail and factor <= 0.0:
            continue
        state[0] = scenario_seed[s]
        total = 0.0
        total_net = 0.0
        weighted_candidates = 0.0
        for b in range(n_buckets):
            q = candidate_probability[s, b]
            if q <= 0.0:
                continue
            n = bucket_size[b]
            start = bucket_start[b]
            log_miss = math.log1p(-q) if q < 1.0 else -math.inf
            y = segment_factor[s, bucket_segment[b]]
            p_bound = bound[s, b]
            exact = bucket_exact[b]
            count = 0
            i = -1
            while True:
                if q < 1.0:
                    gap = math.log(1.0 - _next_uniform(state)) / log_miss
                    if gap >= n - 1 - i:
                        break
                    i += 1 + int(gap)
                else:
                    i += 1
                    if i >= n:
                        break
                count += 1
                j = start + i
                if not exact:
                    p = _normal_cdf(_threshold(obligor_a[j], obligor_r[j], y))
                    if _next_uniform(state) * p_bound >= p:
                        continue
                total += obligor_loss[j]
                total_net += obligor_net_loss[j]
                if factor > 0.0:
                    contributions[j] += factor * obligor_loss[j]
            weighted_candidates += count * bucket_mean_loss[b]
        gross[s] = total
        net[s] = total_net
        candidate_loss[s] = weighted_candidates
