"""Weighted VaR and expected shortfall: hand-computed samples (ties at VaR, likelihood-ratio weights),
the tail allocation adding up to ES exactly, an exact-arithmetic reference, and standard errors that
match the true sampling spread."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.risk.tail_measures import expected_shortfall, risk_measures, tail_factors, value_at_risk


def _measures(losses: list[float], weights: list[float], level: float) -> tuple[float, float, np.ndarray]:
    loss, weight = np.array(losses, dtype=np.float64), np.array(weights, dtype=np.float64)
    return (
        value_at_risk(loss, weight, level),
        expected_shortfall(loss, weight, level),
        tail_factors(loss, weight, level),
    )


# -- hand-computed samples --------------------------------------------------------------------------------------
# Levels are dyadic (0.75, 0.5, 0.625) so that the tail mass (1 − q) N is exact in binary and the boundary
# cases below are really on the boundary.


def test_plain_sample_worst_quarter() -> None:
    # Sorted: 10 7 5 3 3 2 1 0; the worst 25 % of 8 scenarios is {10, 7}; VaR is the next loss, 5:
    # P(L > 5) = 2/8 ≤ 0.25 while P(L > 3) = 3/8.
    var, es, factors = _measures([5, 1, 3, 3, 10, 0, 2, 7], [1] * 8, 0.75)
    assert var == 5.0
    assert es == 8.5
    np.testing.assert_array_equal(factors, [0, 0, 0, 0, 0.5, 0, 0, 0.5])


def test_plain_sample_with_ties_at_var_shares_the_boundary_mass() -> None:
    # Worst half (4 scenarios) = {10, 7, 5} + one of the two 3s: ES = (22 + 3) / 4. The two tied 3s share
    # the missing unit of tail mass equally (1/8 each of the 1/4 a full scenario would get).
    var, es, factors = _measures([5, 1, 3, 3, 10, 0, 2, 7], [1] * 8, 0.5)
    assert var == 3.0
    assert es == 6.25
    np.testing.assert_array_equal(factors, [0.25, 0, 0.125, 0.125, 0.25, 0, 0, 0.25])
    assert float(factors.sum()) == 1.0


def test_tail_exactly_filled_above_var_gives_tied_scenarios_nothing() -> None:
    # q = 0.625: the tail mass is 3 scenarios, exactly {10, 7, 5}; VaR = 3 since P(L ≤ 3) = 5/8 ≥ q,
    # and the 3s (at VaR) get no share of the tail: an off-by-one would give them some.
    var, es, factors = _measures([5, 1, 3, 3, 10, 0, 2, 7], [1] * 8, 0.625)
    assert var == 3.0
    assert es == pytest.approx(22 / 3, rel=1e-15)
    np.testing.assert_allclose(factors, [1 / 3, 0, 0, 0, 1 / 3, 0, 0, 1 / 3], rtol=1e-15)


def test_weighted_sample_counts_each_scenario_by_its_likelihood_ratio() -> None:
    # N = 5, q = 0.75: tail mass 1.25 (in units of a plain scenario). Descending with weights:
    # 8 (0.25), 4 (0.75), 2 (0.5), 1 (1.5), 0 (2). Cumulative 0.25, 1.0, 1.5 → VaR = 2, filled for 0.25
    # of its 0.5: ES = (0.25·8 + 0.75·4 + 0.25·2) / 1.25 = 4.4. Unweighted, VaR would be 4 and ES 6.4.
    var, es, factors = _measures([0, 1, 2, 4, 8], [2.0, 1.5, 0.5, 0.75, 0.25], 0.75)
    assert var == 2.0
    assert es == pytest.approx(4.4, rel=1e-15)
    np.testing.assert_allclose(factors, [0, 0, 0.2, 0.6, 0.2], rtol=1e-15)


def test_weighted_ties_at_var_share_in_proportion_to_their_weights() -> None:
    # N = 4, q = 0.5: mass 2. Above VaR = 3: only the 6 (weight 0.5); 1.5 of mass left for the two 3s,
    # weights 0.5 and 1.5 (total 2): 0.375 and 1.125, i.e. 3/16 and 9/16 after dividing by the mass.
    var, es, factors = _measures([3, 3, 6, 0], [0.5, 1.5, 0.5, 1.5], 0.5)
    assert var == 3.0
    assert es == 3.75
    np.testing.assert_array_equal(factors, [0.1875, 0.5625, 0.25, 0.0])
    assert factors[1] == 3 * factors[0]


def test_a_weight_above_the_tail_mass_makes_its_loss_the_var() -> None:
    # N = 4, q = 0.75: mass 1. The 9 (weight 1/16) fills 1/16 of it; the heavy 5 (weight 3) fills the rest,
    # so VaR = 5 although three scenarios of four lie at or below it; unweighted, VaR would be 9.
    var, es, factors = _measures([9, 5, 1, 0], [0.0625, 3.0, 0.5, 0.4375], 0.75)
    assert var == 5.0
    assert es == pytest.approx(0.0625 * 9 + 0.9375 * 5, rel=1e-15)
    np.testing.assert_allclose(factors, [0.0625, 0.9375, 0, 0], rtol=1e-15)


def test_risk_measures_agree_with_the_single_measure_functions() -> None:
    rng = np.random.default_rng(11)
    losses = np.round(rng.lognormal(0, 1, 5_000), 1)  # rounded: many ties
    weights = rng.uniform(0.2, 3.0, 5_000)
    for measure in risk_measures(losses, weights, [0.9, 0.99, 0.999]):
        assert measure.var == value_at_risk(losses, weights, measure.level)
        assert measure.tvar == expected_shortfall(losses, weights, measure.level)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_levels_outside_the_open_unit_interval_are_refused(level: float) -> None:
    with pytest.raises(ValueError, match="confidence level"):
        risk_measures(np.ones(10), np.ones(10), [0.99, level])


def test_an_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="no scenarios"):
        value_at_risk(np.zeros(0), np.zeros(0), 0.99)


# -- properties -------------------------------------------------------------------------------------------------

LOSS = st.one_of(st.floats(0, 1e7, allow_nan=False), st.sampled_from([0.0, 1.0, 250.0, 1e6]))  # ties common
SAMPLES = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.lists(LOSS, min_size=n, max_size=n),
        st.lists(st.floats(1e-3, 10.0), min_size=n, max_size=n),
    )
)
LEVELS = st.lists(st.floats(0.001, 0.999), min_size=2, max_size=4)


@settings(max_examples=300, deadline=None)
@given(sample=SAMPLES, levels=LEVELS)
def test_tail_factors_add_up_to_es_and_measures_are_ordered(
    sample: tuple[list[float], list[float]], levels: list[float]
) -> None:
    losses, weights = np.array(sample[0]), np.array(sample[1])
    levels = sorted(levels)
    previous_var = previous_es = -math.inf
    for level in levels:
        var = value_at_risk(losses, weights, level)
        es = expected_shortfall(losses, weights, level)
        factors = tail_factors(losses, weights, level)
        assert var in losses  # a sampled loss, not an interpolation
        assert math.isclose(float(factors @ losses), es, rel_tol=1e-9, abs_tol=1e-9)
        assert np.all(factors >= 0)
        assert np.all(factors[losses < var] == 0)  # nothing below VaR is in the tail
        # ES is the mean of the upper tail: at least VaR, at most the worst loss.
        assert var <= es * (1 + 1e-12) + 1e-9
        assert es <= losses.max() * (1 + 1e-12) + 1e-9
        # Both grow with the level (ES up to rounding when the whole tail sits on one value).
        assert var >= previous_var
        assert es >= previous_es * (1 - 1e-12) - 1e-9
        previous_var, previous_es = var, es


def _reference(losses: list[int], weights: list[Fraction], level: Fraction) -> tuple[Fraction, Fraction]:
    """VaR = min{x sampled : P(L > x) ≤ 1 − q}; ES filling the tail mass from the worst loss down (no VaR used)."""
    n = len(losses)
    tail = 1 - level
    var = min(x for x in losses if sum(w for y, w in zip(losses, weights, strict=True) if y > x) / n <= tail)
    remaining, total = tail, Fraction(0)
    for loss, weight in sorted(zip(losses, weights, strict=True), key=lambda lw: -lw[0]):
        take = min(weight / n, remaining)
        total += take * loss
        remaining -= take
    total += remaining * min(losses)  # total weight short of the tail: the engine extends at the lowest loss
    return Fraction(var), total / tail


@settings(max_examples=300, deadline=None)
@given(
    data=st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 12), min_size=n, max_size=n),
            st.lists(st.integers(1, 40), min_size=n, max_size=n),
        )
    ),
    level_64ths=st.integers(1, 63),
)
def test_matches_an_exact_arithmetic_reference(data: tuple[list[int], list[int]], level_64ths: int) -> None:
    # Losses small integers (ties everywhere), weights multiples of 1/8, levels multiples of 1/64: every
    # sum and comparison the engine makes is exact in binary, so VaR must match exactly, boundaries included.
    losses, eighths = data
    weights = [Fraction(k, 8) for k in eighths]
    level = Fraction(level_64ths, 64)
    expected_var, expected_es = _reference(losses, weights, level)
    loss_array = np.array(losses, dtype=np.float64)
    weight_array = np.array([float(w) for w in weights])
    assert value_at_risk(loss_array, weight_array, float(level)) == float(expected_var)
    assert expected_shortfall(loss_array, weight_array, float(level)) == pytest.approx(float(expected_es), rel=1e-12)


# -- standard errors --------------------------------------------------------------------------------------------


def test_standard_errors_are_zero_when_nothing_varies() -> None:
    (measure,) = risk_measures(np.full(1_000, 42.0), np.ones(1_000), [0.99])
    assert (measure.var, measure.tvar, measure.var_se, measure.tvar_se) == (42.0, 42.0, 0.0, 0.0)
    # An atom at VaR (90 % of scenarios lose 0): the quantile is exact there.
    losses = np.concatenate([np.zeros(900), np.arange(1.0, 101.0)])
    (measure,) = risk_measures(losses, np.ones(1_000), [0.5])
    assert measure.var == 0.0
    assert measure.var_se == 0.0
    assert math.isfinite(measure.tvar_se)
    assert measure.tvar_se > 0


def test_plain_standard_errors_match_the_asymptotic_ones_of_an_exponential() -> None:
    # Exp(1), level q: VaR = −ln(1 − q), density 1 − q there, so SE(VaR) = √(q / ((1 − q) N)); (L − VaR)⁺ is
    # 0 or Exp(1) (memoryless), so SE(ES) = √(2(1 − q) − (1 − q)²) / ((1 − q) √N). 15 %: the density and SD
    # estimates from 200,000 draws are good to a few %; a missing √N or (1 − q) factor is off by far more.
    n = 200_000
    losses = np.random.default_rng(3).exponential(size=n)
    for measure in risk_measures(losses, np.ones(n), [0.99, 0.995]):
        tail = 1 - measure.level
        assert measure.var == pytest.approx(-math.log(tail), rel=0.03)
        assert measure.tvar == pytest.approx(1 - math.log(tail), rel=0.03)
        assert measure.var_se == pytest.approx(math.sqrt(measure.level / (tail * n)), rel=0.15)
        assert measure.tvar_se == pytest.approx(math.sqrt(2 * tail - tail**2) / (tail * math.sqrt(n)), rel=0.15)


def test_weighted_standard_errors_match_the_spread_over_repetitions() -> None:
    # Importance sampling for Exp(1): draw Exp(λ = 0.3), weight e^{−(1−λ)x} / λ. Over 400 independent
    # samples the reported SEs must match the actual spread of the estimates (±20 %: the SD of 400 draws is
    # itself uncertain by ~4 %, the density estimate adds some bias), the estimates must be unbiased up to
    # that spread, and the SE must be well below plain Monte Carlo's at the same N (IS works).
    rng = np.random.default_rng(17)
    lam, n, repetitions, level = 0.3, 4_000, 400, 0.99
    var, tvar, var_se, tvar_se = (np.empty(repetitions) for _ in range(4))
    for r in range(repetitions):
        x = rng.exponential(1 / lam, n)
        (m,) = risk_measures(x, np.exp(-(1 - lam) * x) / lam, [level])
        var[r], tvar[r], var_se[r], tvar_se[r] = m.var, m.tvar, m.var_se, m.tvar_se
    true_var, true_tvar = -math.log(1 - level), 1 - math.log(1 - level)
    assert abs(var.mean() - true_var) < 4 * var.std() / math.sqrt(repetitions) + 0.002 * true_var
    assert abs(tvar.mean() - true_tvar) < 4 * tvar.std() / math.sqrt(repetitions) + 0.002 * true_tvar
    assert var_se.mean() == pytest.approx(var.std(), rel=0.2)
    assert tvar_se.mean() == pytest.approx(tvar.std(), rel=0.2)
    plain_var_se = math.sqrt(level / ((1 - level) * n))
    assert var_se.mean() < plain_var_se / 2
