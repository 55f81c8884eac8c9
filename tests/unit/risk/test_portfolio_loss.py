"""The portfolio loss model (issue 8): Monte Carlo against Vasicek's closed form, importance sampling
against plain Monte Carlo, expected loss against Σ EAD·PD·LGD, contributions that add up to TVaR,
reproducibility (one process or a Dask cluster), stress, reinsurance, input validation, the CreditRisk+
engine and the JSON figures.

Seeds are fixed, so every statistical check is deterministic; its tolerance is still chosen so that a
correct engine passes for most seeds and a plausible bug (a wrong weight, a lost factor, a stream reused)
fails by a wide margin.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from tradecover.risk.asrf import vasicek_quantile
from tradecover.risk.book_generator import generate_book
from tradecover.risk.factor_model import FactorCorrelation, FactorCorrelationError, default_factor_correlation
from tradecover.risk.portfolio_book import BookError, PortfolioBook
from tradecover.risk.portfolio_loss import LossFigures, PortfolioLossModel, PortfolioLossResult
from tradecover.risk.reinsurance import Reinsurance
from tradecover.risk.stress import Stress
from tradecover.risk.tail_measures import RiskMeasure, expected_shortfall

LEVELS = (0.99, 0.995, 0.999)


def _fit(book: PortfolioBook, **parameters: Any) -> PortfolioLossResult:
    return PortfolioLossModel(**parameters).fit(book).result_


def _homogeneous(n: int, *, ead: float = 1.0, pd: float = 0.01, lgd: float = 1.0) -> PortfolioBook:
    return PortfolioBook.from_rows([f"B{i}" for i in range(n)], [ead] * n, [pd] * n, [lgd] * n, ["S"] * n, ["FR"] * n)


def _combined_se(*ses: float) -> float:
    return math.sqrt(sum(se * se for se in ses))


@pytest.fixture(scope="module")
def small_book() -> PortfolioBook:
    """5,000 generated obligors, 4 sectors × 3 countries: 12 factor segments, quick to simulate."""
    return generate_book(5_000, seed=7, n_sectors=4, n_countries=3)


@pytest.fixture(scope="module")
def small_is(small_book: PortfolioBook) -> PortfolioLossResult:
    return _fit(small_book, n_scenarios=5_000, seed=2, chunk_size=2_500)


# -- 1. Vasicek's large homogeneous portfolio ------------------------------------------------------------------

VASICEK_N, VASICEK_PD, VASICEK_RHO = 20_000, 0.01, 0.15
# Granularity: 20,000 obligors are not infinitely many. The exact quantile of this finite book (binomial
# mixed over the factor) exceeds the limit by 0.1 % at 99 % and 0.12 % at 99.5 %; 1 % of allowance covers
# that with room and is still well below what a wrong input would shift (ρ = 0.16 instead of 0.15 moves
# these quantiles by 5–6 %, PD 1.05 % instead of 1 % by 3.5–4 %).
GRANULARITY = 0.01


@pytest.fixture(scope="module")
def vasicek_book() -> PortfolioBook:
    return _homogeneous(VASICEK_N, pd=VASICEK_PD)


def _vasicek(level: float) -> tuple[float, float]:
    """VaR and TVaR of the infinitely granular book, in currency units (EAD 1 each, LGD 1)."""
    var = float(vasicek_quantile(VASICEK_PD, VASICEK_RHO, level)) * VASICEK_N
    tail, _ = integrate.quad(lambda u: float(vasicek_quantile(VASICEK_PD, VASICEK_RHO, u)), level, 1, limit=200)
    return var, tail / (1 - level) * VASICEK_N


def test_importance_sampling_reproduces_the_vasicek_quantiles(vasicek_book: PortfolioBook) -> None:
    result = _fit(
        vasicek_book, n_scenarios=20_000, seed=1, factors="single", asset_correlation=VASICEK_RHO, levels=LEVELS
    )
    assert result.importance_sampling
    for level in LEVELS:
        measure = result.gross.at(level)
        var, tvar = _vasicek(level)
        # The SE must be small for "within 3 SE" to mean anything (IS: about 0.5 % here).
        assert 0 < measure.var_se < 0.01 * var
        assert 0 < measure.tvar_se < 0.01 * tvar
        assert abs(measure.var - var) <= 3 * measure.var_se + GRANULARITY * var, level
        assert abs(measure.tvar - tvar) <= 3 * measure.tvar_se + GRANULARITY * tvar, level


def test_plain_monte_carlo_reproduces_the_vasicek_99_quantile(vasicek_book: PortfolioBook) -> None:
    result = _fit(
        vasicek_book,
        n_scenarios=50_000,
        seed=1,
        factors="single",
        asset_correlation=VASICEK_RHO,
        importance_sampling=False,
        levels=(0.99,),
    )
    assert not result.importance_sampling
    np.testing.assert_array_equal(result.loss_probabilities, np.full(50_000, 1 / 50_000))  # every weight 1
    measure = result.gross.at(0.99)
    var, tvar = _vasicek(0.99)
    assert 0 < measure.var_se < 0.03 * var
    assert abs(measure.var - var) <= 3 * measure.var_se + GRANULARITY * var
    assert abs(measure.tvar - tvar) <= 3 * measure.tvar_se + GRANULARITY * tvar
    # Expected loss (3.): the analytic Σ EAD·PD·LGD = 200, and plain MC's SE is the textbook SD / √N.
    assert result.analytic_expected_loss == pytest.approx(200.0, rel=1e-12)
    assert abs(result.gross.expected_loss - 200.0) <= 4 * result.gross.expected_loss_se
    assert result.gross.expected_loss_se == pytest.approx(result.gross.standard_deviation / math.sqrt(50_000), 1e-6)


# -- 2. and 3. importance sampling against plain Monte Carlo, expected loss -------------------------------------


@pytest.fixture(scope="module")
def generated_book() -> PortfolioBook:
    return generate_book(20_000, seed=3, n_sectors=4, n_countries=3)


@pytest.fixture(scope="module")
def generated_runs(generated_book: PortfolioBook) -> dict[str, PortfolioLossResult]:
    return {
        "is": _fit(generated_book, n_scenarios=20_000, seed=5, levels=LEVELS),
        "plain": _fit(generated_book, n_scenarios=100_000, seed=6, importance_sampling=False, levels=LEVELS),
        "plain_same_n": _fit(generated_book, n_scenarios=20_000, seed=7, importance_sampling=False, levels=LEVELS),
    }


@pytest.mark.parametrize("level", [0.99, 0.995])
def test_importance_sampling_agrees_with_plain_monte_carlo(
    generated_runs: dict[str, PortfolioLossResult], level: float
) -> None:
    # 4 combined SEs: two independent estimates; at these levels 100,000 plain scenarios converge (SE ≈ 1 %).
    weighted, plain = generated_runs["is"].gross.at(level), generated_runs["plain"].gross.at(level)
    assert abs(weighted.var - plain.var) <= 4 * _combined_se(weighted.var_se, plain.var_se)
    assert abs(weighted.tvar - plain.tvar) <= 4 * _combined_se(weighted.tvar_se, plain.tvar_se)
    assert plain.var_se < 0.015 * plain.var  # the comparison is tight enough to catch a wrong weight


def test_importance_sampling_cuts_the_variance_far_in_the_tail(generated_runs: dict[str, PortfolioLossResult]) -> None:
    weighted, plain = generated_runs["is"].gross.at(0.999), generated_runs["plain_same_n"].gross.at(0.999)
    assert generated_runs["is"].n_scenarios == generated_runs["plain_same_n"].n_scenarios
    assert plain.var_se**2 >= 5 * weighted.var_se**2
    assert plain.tvar_se**2 >= 5 * weighted.tvar_se**2


@pytest.mark.parametrize("run", ["is", "plain"])
def test_expected_loss_matches_the_analytic_one(
    generated_runs: dict[str, PortfolioLossResult], generated_book: PortfolioBook, run: str
) -> None:
    result = generated_runs[run]
    analytic = float(np.sum(generated_book.ead * generated_book.pd * generated_book.lgd))
    assert result.analytic_expected_loss == pytest.approx(analytic, rel=1e-12)
    assert 0 < result.gross.expected_loss_se < 0.05 * analytic
    assert abs(result.gross.expected_loss - analytic) <= 4 * result.gross.expected_loss_se


def test_the_weights_estimate_a_probability_distribution(generated_runs: dict[str, PortfolioLossResult]) -> None:
    # Σ likelihood ratios / N estimates 1: its SE is below 1 %, and no weight exceeds 10 (the plain tenth of
    # the defensive mixture).
    probabilities = generated_runs["is"].loss_probabilities
    n = probabilities.size
    assert abs(probabilities.sum() - 1) <= 4 * float(np.std(probabilities * n)) / math.sqrt(n)
    assert probabilities.max() * n <= 10 + 1e-9
    assert not np.allclose(probabilities, 1 / n)  # really weighted


# -- 4. contributions -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_with_riskless_obligors(small_book: PortfolioBook) -> PortfolioBook:
    pd, lgd, ead = small_book.pd.copy(), small_book.lgd.copy(), small_book.ead.copy()
    pd[::10] = 0.0  # a tenth cannot default
    lgd[5::50] = 0.0  # a few lose nothing when they do
    ead[7::50] = 0.0
    return replace(small_book, pd=pd, lgd=lgd, ead=ead)


@pytest.mark.parametrize(
    "parameters",
    [
        {"importance_sampling": True, "contribution_level": 0.995},
        {"importance_sampling": False, "contribution_level": 0.99},
        {"importance_sampling": True, "contribution_level": 0.98},  # not one of `levels`
    ],
    ids=["is-995", "plain-99", "is-98"],
)
def test_contributions_add_up_to_tvar(book_with_riskless_obligors: PortfolioBook, parameters: dict[str, Any]) -> None:
    book = book_with_riskless_obligors
    result = _fit(book, n_scenarios=4_000, seed=3, chunk_size=1_500, **parameters)
    level = parameters["contribution_level"]
    weights = result.loss_probabilities * result.n_scenarios
    tvar = expected_shortfall(result.loss_values, weights, level)
    if level in LEVELS:
        assert tvar == result.gross.at(level).tvar
    contributions = result.obligor_contributions
    assert contributions.shape == (book.size,)
    assert result.obligor_ids == book.obligor_id
    assert float(contributions.sum()) == pytest.approx(tvar, rel=1e-9)
    assert sum(result.sector_contributions.values()) == pytest.approx(tvar, rel=1e-9)
    assert sum(result.country_contributions.values()) == pytest.approx(tvar, rel=1e-9)
    assert np.all(contributions >= 0)
    riskless = (book.pd == 0) | (book.lgd == 0) | (book.ead == 0)
    assert np.all(contributions[riskless] == 0)
    assert np.count_nonzero(contributions[~riskless]) > 100
    # The tail factors sum to 1, so no obligor can contribute more than its own loss given default: this
    # catches contributions credited to the wrong rows (EADs range from 1,000 to millions).
    assert np.all(contributions <= book.ead * book.lgd * (1 + 1e-9))
    for kind, names, codes, totals in (
        ("sector", book.sectors, book.sector, result.sector_contributions),
        ("country", book.countries, book.country, result.country_contributions),
    ):
        assert list(totals) == list(names), kind
        for code, name in enumerate(names):
            assert totals[name] == pytest.approx(float(contributions[codes == code].sum()), rel=1e-12), (kind, name)


def test_top_contributors_are_the_largest_in_order(small_is: PortfolioLossResult) -> None:
    top = small_is.top_contributors(5)
    assert [value for _, value in top] == sorted(small_is.obligor_contributions, reverse=True)[:5]
    index = {obligor: i for i, obligor in enumerate(small_is.obligor_ids)}
    assert all(small_is.obligor_contributions[index[obligor]] == value for obligor, value in top)


# -- 5. reproducibility -----------------------------------------------------------------------------------------

DASK_RUN: dict[str, Any] = {"n_scenarios": 2_000, "chunk_size": 500, "seed": 11}


def _assert_identical(a: PortfolioLossResult, b: PortfolioLossResult) -> None:
    np.testing.assert_array_equal(a.loss_values, b.loss_values)
    np.testing.assert_array_equal(a.loss_probabilities, b.loss_probabilities)
    np.testing.assert_array_equal(a.obligor_contributions, b.obligor_contributions)
    assert a.gross == b.gross
    assert a.sector_contributions == b.sector_contributions


@pytest.fixture(scope="module")
def local_run(small_book: PortfolioBook) -> PortfolioLossResult:
    return _fit(small_book, **DASK_RUN)


def test_same_seed_same_numbers_other_seed_other_numbers(
    small_book: PortfolioBook, local_run: PortfolioLossResult
) -> None:
    calls: list[tuple[int, int]] = []
    again = PortfolioLossModel(**DASK_RUN).fit(small_book, progress=lambda done, total: calls.append((done, total)))
    _assert_identical(again.result_, local_run)
    assert (4, 4) in calls  # 4 chunks of 500 scenarios, reported as they complete
    assert all(1 <= done <= total for done, total in calls)
    # Each chunk has its own stream: no two chunks repeat each other's scenarios.
    chunks = local_run.loss_values.reshape(4, 500)
    assert all(not np.array_equal(chunks[i], chunks[j]) for i in range(4) for j in range(i + 1, 4))
    other = _fit(small_book, **{**DASK_RUN, "seed": 12})
    assert not np.array_equal(other.loss_values, local_run.loss_values)
    assert not np.array_equal(other.obligor_contributions, local_run.obligor_contributions)
    assert other.gross.at(0.99).var != local_run.gross.at(0.99).var


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # another cluster on this machine: any port will do
def test_a_dask_cluster_gives_bit_identical_results(
    small_book: PortfolioBook, local_run: PortfolioLossResult, dask_client: Any
) -> None:
    calls: list[tuple[int, int]] = []
    model = PortfolioLossModel(**DASK_RUN).fit(
        small_book, client=dask_client, progress=lambda done, total: calls.append((done, total))
    )
    _assert_identical(model.result_, local_run)
    assert (4, 4) in calls
    assert len(dask_client.scheduler_info()["workers"]) == 2


def test_adaptive_rounds_continue_the_streams_of_the_first(small_book: PortfolioBook) -> None:
    # Plain MC at 99 % with 1,000 scenarios has a relative SE of several %; asking for 3 % adds whole chunks.
    # Each new chunk must draw from the next stream, so the run equals a fixed run of the same length.
    adaptive = _fit(
        small_book,
        n_scenarios=1_000,
        chunk_size=1_000,
        seed=4,
        importance_sampling=False,
        target_relative_error=0.03,
        precision_level=0.99,
        max_scenarios=30_000,
    )
    n = adaptive.n_scenarios
    assert 1_000 < n <= 30_000
    assert n % 1_000 == 0
    measure = adaptive.gross.at(0.99)
    assert measure.var_se / measure.var <= 0.03 or n == 30_000
    fixed = _fit(small_book, n_scenarios=n, chunk_size=1_000, seed=4, importance_sampling=False)
    _assert_identical(adaptive, fixed)
    assert np.unique(adaptive.loss_values[:1_000]).size > 100  # not a constant sample


def test_adaptive_rounds_after_a_partial_chunk_draw_from_new_streams(small_book: PortfolioBook) -> None:
    # 1,500 scenarios = chunk 0 (1,000) + chunk 1 (500). The next round must start at chunk 2: numbering
    # it from the scenario count (1,500 // 1,000 = 1) would replay chunk 1's stream.
    result = _fit(
        small_book,
        n_scenarios=1_500,
        chunk_size=1_000,
        seed=4,
        importance_sampling=False,
        target_relative_error=0.03,
        precision_level=0.99,
        max_scenarios=30_000,
    )
    assert result.n_scenarios > 1_500
    losses = result.loss_values
    assert not np.array_equal(losses[1_000:1_500], losses[1_500:2_000])
    weights = result.loss_probabilities * result.n_scenarios
    assert float(result.obligor_contributions.sum()) == pytest.approx(
        expected_shortfall(losses, weights, result.contribution_level), rel=1e-9
    )


# -- 6. stress --------------------------------------------------------------------------------------------------

QUICK: dict[str, Any] = {"n_scenarios": 1_000, "importance_sampling": False}


def test_a_sector_pd_multiplier_scales_that_sectors_expected_loss(small_book: PortfolioBook) -> None:
    base = _fit(small_book, **QUICK)
    stressed = _fit(small_book, stress=Stress(name="S02 x2", sector_pd_multipliers={"S02": 2.0}), **QUICK)
    in_sector = small_book.sector == small_book.sectors.index("S02")
    sector_el = float(np.sum((small_book.ead * small_book.pd * small_book.lgd)[in_sector]))
    assert small_book.pd[in_sector].max() * 2 < 1  # no PD capped: the doubling is exact
    assert stressed.analytic_expected_loss - base.analytic_expected_loss == pytest.approx(sector_el, rel=1e-9)
    assert stressed.stress == "S02 x2"
    assert base.stress is None


def test_stressed_pds_are_capped_at_one(small_book: PortfolioBook) -> None:
    stress = Stress(sector_pd_multipliers={"S01": 20.0}, country_pd_multipliers={"FR": 3.0})
    result = _fit(small_book, stress=stress, **QUICK)
    factor = np.where(small_book.sector == small_book.sectors.index("S01"), 20.0, 1.0)
    factor *= np.where(small_book.country == small_book.countries.index("FR"), 3.0, 1.0)
    pd = np.minimum(small_book.pd * factor, 1.0)
    assert np.any(small_book.pd * factor > 1)
    assert result.analytic_expected_loss == pytest.approx(float(np.sum(small_book.ead * pd * small_book.lgd)), 1e-12)


@pytest.mark.parametrize(
    "stress",
    [Stress(sector_pd_multipliers={"S99": 2.0}), Stress(country_pd_multipliers={"ZZ": 2.0})],
    ids=["sector", "country"],
)
def test_a_stress_naming_an_unknown_segment_is_refused(small_book: PortfolioBook, stress: Stress) -> None:
    with pytest.raises(BookError, match=r"names (sector 'S99'|country 'ZZ'), which the book does not have"):
        _fit(small_book, stress=stress, **QUICK)


@pytest.fixture(scope="module")
def correlation_shocks(small_book: PortfolioBook) -> dict[str, PortfolioLossResult]:
    shocks = {
        "factors": Stress(factor_correlation_shift=0.5),
        "assets": Stress(asset_correlation_multiplier=1.5),
        "both": Stress(factor_correlation_shift=0.5, asset_correlation_multiplier=1.5),
    }
    return {name: _fit(small_book, n_scenarios=5_000, seed=2, chunk_size=2_500, stress=s) for name, s in shocks.items()}


@pytest.mark.parametrize("shock", ["factors", "assets", "both"])
def test_correlation_shocks_raise_the_far_tail(
    small_is: PortfolioLossResult, correlation_shocks: dict[str, PortfolioLossResult], shock: str
) -> None:
    base, stressed = small_is.gross.at(0.999), correlation_shocks[shock].gross.at(0.999)
    assert stressed.var > base.var + 3 * _combined_se(base.var_se, stressed.var_se)
    assert stressed.tvar > base.tvar + 3 * _combined_se(base.tvar_se, stressed.tvar_se)
    # Correlation moves the tail, not the mean.
    assert correlation_shocks[shock].analytic_expected_loss == small_is.analytic_expected_loss
    if shock == "both":
        for alone in ("factors", "assets"):
            single = correlation_shocks[alone].gross.at(0.999)
            assert stressed.var > single.var + 3 * _combined_se(single.var_se, stressed.var_se)


def test_a_correlation_shift_applies_to_a_given_matrix_as_to_the_default(small_book: PortfolioBook) -> None:
    stress = Stress(factor_correlation_shift=0.5)
    given = default_factor_correlation(small_book.sectors, small_book.countries)
    a = _fit(small_book, stress=stress, factor_correlation=given, **QUICK)
    b = _fit(small_book, stress=stress, **QUICK)
    unshocked = _fit(small_book, factor_correlation=given, **QUICK)
    _assert_identical(a, b)
    assert not np.array_equal(a.loss_values, unshocked.loss_values)


# -- 7. reinsurance ---------------------------------------------------------------------------------------------


def test_a_quota_share_keeps_its_complement_of_every_figure(small_book: PortfolioBook) -> None:
    result = _fit(small_book, n_scenarios=3_000, seed=2, reinsurance=Reinsurance(quota_share_rate=0.3))
    gross, net = result.gross, result.net
    assert net is not None
    # 0.7 × L is L times a constant: quantiles, means and SDs all scale by it (up to one rounding).
    assert net.expected_loss == pytest.approx(0.7 * gross.expected_loss, rel=1e-12)
    assert net.expected_loss_se == pytest.approx(0.7 * gross.expected_loss_se, rel=1e-12)
    assert net.standard_deviation == pytest.approx(0.7 * gross.standard_deviation, rel=1e-9)
    for g, n in zip(gross.measures, net.measures, strict=True):
        assert n.level == g.level
        assert n.var == pytest.approx(0.7 * g.var, rel=1e-12)
        assert n.tvar == pytest.approx(0.7 * g.tvar, rel=1e-12)
        assert n.var_se == pytest.approx(0.7 * g.var_se, rel=1e-9)
        assert n.tvar_se == pytest.approx(0.7 * g.tvar_se, rel=1e-9)


def test_an_excess_of_loss_above_every_buyer_cedes_nothing(small_book: PortfolioBook) -> None:
    largest = float((small_book.ead * small_book.lgd).max())
    result = _fit(small_book, n_scenarios=2_000, seed=2, reinsurance=Reinsurance(xol_retention=largest))
    assert result.net == result.gross


@pytest.fixture(scope="module")
def equal_loss_book() -> PortfolioBook:
    """2,000 buyers each losing exactly 1,000 on default: every scenario loses a whole number of thousands."""
    return _homogeneous(2_000, ead=1_000.0, pd=0.02)


@pytest.mark.parametrize(
    ("treaty", "kept_per_buyer"),
    [
        (Reinsurance(xol_retention=400.0), 400.0),
        (Reinsurance(xol_retention=400.0, xol_limit=350.0), 650.0),  # the reinsurer pays 350 of the 600 above
        (Reinsurance(xol_retention=2_000.0), 1_000.0),
    ],
)
def test_a_per_buyer_excess_of_loss_applies_to_each_buyer(
    equal_loss_book: PortfolioBook, treaty: Reinsurance, kept_per_buyer: float
) -> None:
    # k defaults lose 1,000 k gross and kept_per_buyer × k net, exactly (whole numbers): an excess of loss
    # applied to the aggregate instead of each buyer would keep at most 400 of the whole scenario.
    ratio = kept_per_buyer / 1_000.0
    result = _fit(
        equal_loss_book,
        n_scenarios=3_000,
        seed=5,
        factors="single",
        asset_correlation=0.2,
        importance_sampling=False,
        reinsurance=treaty,
    )
    assert result.net is not None
    assert result.net.expected_loss == pytest.approx(ratio * result.gross.expected_loss, rel=1e-12)
    for g, n in zip(result.gross.measures, result.net.measures, strict=True):
        assert g.var % 1_000 == 0
        assert n.var == ratio * g.var
        assert n.tvar == pytest.approx(ratio * g.tvar, rel=1e-12)


def test_treaties_inure_excess_of_loss_then_quota_share_then_stop_loss(equal_loss_book: PortfolioBook) -> None:
    treaty = Reinsurance(
        xol_retention=400.0, quota_share_rate=0.5, stop_loss_attachment=5_000.0, stop_loss_limit=3_000.0
    )
    result = _fit(
        equal_loss_book, n_scenarios=3_000, seed=5, factors="single", asset_correlation=0.2, reinsurance=treaty
    )
    assert result.net is not None

    def net(gross: float) -> float:
        kept = gross / 1_000.0 * 400.0 * 0.5
        return kept - min(max(kept - 5_000.0, 0.0), 3_000.0)

    def stop_loss_first(gross: float) -> float:
        kept = gross / 1_000.0 * 400.0
        return (kept - min(max(kept - 5_000.0, 0.0), 3_000.0)) * 0.5

    # net(·) is non-decreasing, so the net VaR is net(gross VaR), scenario for scenario (whole numbers: exact).
    for g, n in zip(result.gross.measures, result.net.measures, strict=True):
        assert n.var == net(g.var), g.level
        assert n.var != stop_loss_first(g.var), g.level  # another order gives other numbers here


def test_an_unlimited_stop_loss_caps_the_net_loss(small_book: PortfolioBook, small_is: PortfolioLossResult) -> None:
    attachment = 0.5 * (small_is.gross.at(0.99).var + small_is.gross.at(0.995).var)
    result = _fit(
        small_book,
        n_scenarios=5_000,
        seed=2,
        chunk_size=2_500,
        reinsurance=Reinsurance(stop_loss_attachment=attachment),
    )
    assert result.gross == small_is.gross  # the treaty changes nothing gross
    net = result.net
    assert net is not None
    assert net.at(0.99).var == result.gross.at(0.99).var  # below the attachment: untouched
    for level in (0.995, 0.999):
        assert net.at(level).var == attachment  # min(L, A) is non-decreasing: its VaR is min(VaR, A)
        assert net.at(level).tvar <= attachment
    assert net.expected_loss < result.gross.expected_loss


@pytest.mark.parametrize(
    "arguments",
    [
        {"quota_share_rate": 1.2},
        {"quota_share_rate": -0.1},
        {"quota_share_rate": float("nan")},
        {"xol_retention": -1.0},
        {"xol_retention": float("inf")},
        {"xol_limit": 100.0},
        {"xol_retention": 10.0, "xol_limit": float("nan")},
        {"stop_loss_attachment": -5.0},
        {"stop_loss_limit": 100.0},
    ],
)
def test_invalid_treaties_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message names its own field
        Reinsurance(**arguments)


def test_no_treaty_no_net_figures(small_is: PortfolioLossResult) -> None:
    assert small_is.net is None
    assert Reinsurance().is_empty


# -- 8. bad input -----------------------------------------------------------------------------------------------

ROWS: dict[str, list[Any]] = {
    "obligor_id": ["A", "B", "C", "D"],
    "ead": [100.0, 200.0, 300.0, 400.0],
    "pd": [0.01, 0.02, 0.03, 0.04],
    "lgd": [0.5, 0.5, 0.5, 0.5],
    "sector": ["S01", "S01", "S02", "S02"],
    "country": ["FR", "DE", "FR", "DE"],
}


@pytest.mark.parametrize(
    ("column", "row", "value"),
    [
        ("pd", 2, 1.5),
        ("pd", 1, -0.01),
        ("pd", 3, float("nan")),
        ("ead", 1, -100.0),
        ("ead", 0, float("inf")),
        ("lgd", 3, 1.2),
        ("lgd", 0, -0.5),
    ],
)
def test_a_book_value_out_of_range_names_its_row_and_column(column: str, row: int, value: float) -> None:
    rows = {name: list(values) for name, values in ROWS.items()}
    rows[column][row] = value
    with pytest.raises(BookError, match=rf"^row {row + 1}, column {column}: ") as raised:
        PortfolioBook.from_rows(**rows)
    assert (raised.value.row, raised.value.column) == (row, column)


def test_a_book_with_mismatched_or_dangling_columns_is_refused() -> None:
    book = PortfolioBook.from_rows(**ROWS)
    with pytest.raises(BookError, match="column lgd") as raised:
        replace(book, lgd=book.lgd[:3])
    assert raised.value.column == "lgd"
    with pytest.raises(BookError, match="row 2, column sector") as raised:
        replace(book, sector=np.array([0, 2, 1, 1]))  # there are two sectors
    assert (raised.value.row, raised.value.column) == (1, "sector")


NAMES = ("sector:A", "sector:B", "country:FR")


@pytest.mark.parametrize(
    ("matrix", "row", "column", "message"),
    [
        ([[1, 0.3, 0.2], [0.4, 1, 0.1], [0.2, 0.1, 1]], "sector:A", "sector:B", "mirror"),
        ([[1, 0.3, 0.2], [0.3, 0.9, 0.1], [0.2, 0.1, 1]], "sector:B", "sector:B", "diagonal"),
        ([[1, 0.3, 1.2], [0.3, 1, 0.1], [1.2, 0.1, 1]], "sector:A", "country:FR", "outside"),
        ([[1, 0.3, 0.2], [0.3, 1, float("nan")], [0.2, float("nan"), 1]], "sector:B", "country:FR", "finite"),
        ([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], None, None, "positive definite"),
    ],
    ids=["asymmetric", "diagonal", "above-one", "nan", "not-positive-definite"],
)
def test_a_bad_factor_correlation_names_the_offending_cell(
    matrix: list[list[float]], row: str | None, column: str | None, message: str
) -> None:
    with pytest.raises(FactorCorrelationError, match=message) as raised:
        FactorCorrelation.from_labelled(NAMES, matrix)
    assert (raised.value.row, raised.value.column) == (row, column)
    if row is not None:
        assert f"row {row}, column {column}" in str(raised.value)


def test_a_factor_correlation_needs_distinct_names_and_a_matching_shape() -> None:
    with pytest.raises(FactorCorrelationError, match="named twice"):
        FactorCorrelation.from_labelled(["sector:A", "sector:A"], np.eye(2))
    with pytest.raises(FactorCorrelationError, match="shape"):
        FactorCorrelation.from_labelled(NAMES, np.eye(2))


@pytest.mark.parametrize(("kind", "missing", "row"), [("sector", "S02", 2), ("country", "FR", 0)])
def test_a_book_segment_missing_from_the_correlation_matrix_names_its_first_row(
    kind: str, missing: str, row: int
) -> None:
    book = PortfolioBook.from_rows(**ROWS)
    names = [f"sector:{s}" for s in book.sectors] + [f"country:{c}" for c in book.countries]
    names.remove(f"{kind}:{missing}")
    correlation = FactorCorrelation.from_labelled(names, np.eye(len(names)))
    with pytest.raises(BookError, match=rf"^row {row + 1}, column {kind}: .*{missing}") as raised:
        PortfolioLossModel(factor_correlation=correlation, **QUICK).fit(book)
    assert (raised.value.row, raised.value.column) == (row, kind)


@pytest.mark.parametrize(
    "parameters",
    [
        {"levels": (0.99, 1.0)},
        {"levels": (0.0, 0.99)},
        {"levels": (1.5,)},
        {"contribution_level": 1.0},
        {"precision_level": 0.0},
        {"n_scenarios": 99},
        {"n_scenarios": 1_000.0},
        {"model": "vasicek"},
        {"factors": "three"},
        {"asset_correlation": 1.0},
        {"asset_correlation": -0.1},
        {"asset_correlation": "irb"},
        {"sector_weight": 1.5},
        {"chunk_size": 0},
        {"seed": -1},
        {"pd_band_ratio": 1.0},
        {"target_relative_error": 0.0},
    ],
    ids=str,
)
def test_bad_parameters_are_refused(parameters: dict[str, Any]) -> None:
    book = PortfolioBook.from_rows(**ROWS)
    with pytest.raises(ValueError):  # noqa: PT011 - each message names its own parameter
        PortfolioLossModel(**{"n_scenarios": 1_000, **parameters}).fit(book)


@pytest.mark.parametrize(
    "arguments",
    [
        {"sector_pd_multipliers": {"S01": -1.0}},
        {"country_pd_multipliers": {"FR": float("inf")}},
        {"asset_correlation_multiplier": 0.0},
        {"factor_correlation_shift": 1.0},
        {"factor_correlation_shift": -1.5},
    ],
)
def test_invalid_stresses_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message names its own field
        Stress(**arguments)


def test_an_empty_book_is_refused() -> None:
    empty = PortfolioBook.from_rows([], [], [], [], [], [])
    with pytest.raises(ValueError, match="no obligors"):
        PortfolioLossModel(**QUICK).fit(empty)


# -- 9. the CreditRisk+ engine ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def creditriskplus(book_with_riskless_obligors: PortfolioBook) -> PortfolioLossResult:
    return _fit(book_with_riskless_obligors, model="creditriskplus", levels=(0.9, 0.95, *LEVELS))


def test_creditriskplus_expected_loss_is_the_analytic_one(creditriskplus: PortfolioLossResult) -> None:
    result = creditriskplus
    assert result.model == "creditriskplus"
    assert not result.importance_sampling
    assert result.gross.expected_loss == pytest.approx(result.analytic_expected_loss, rel=1e-9)
    assert result.gross.expected_loss_se == 0.0
    # The distribution itself: probabilities adding up to 1, its mean the same expected loss (banding keeps
    # it; Panjer's recursion loses no more than the 1e-12 tail it cuts).
    assert result.loss_probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(result.loss_values @ result.loss_probabilities) == pytest.approx(
        result.analytic_expected_loss, rel=1e-6
    )


def test_creditriskplus_tail_measures_grow_with_the_level(creditriskplus: PortfolioLossResult) -> None:
    measures = creditriskplus.gross.measures
    assert [m.level for m in measures] == [0.9, 0.95, *LEVELS]
    vars_ = [m.var for m in measures]
    assert all(a < b for a, b in itertools.pairwise(vars_))
    assert all(m.tvar >= m.var for m in measures)
    assert all(m.var_se == m.tvar_se == 0.0 for m in measures)  # exact distribution, no sampling error
    assert measures[0].var > creditriskplus.gross.expected_loss


def test_creditriskplus_distribution_stops_where_its_tail_is_negligible() -> None:
    # 2,000 obligors of loss 1, PD 1 %, ρ = 0.15: the mass beyond a loss of 1,200 (60,000 units of 0.02) is
    # below 1e-27, so the distribution needs far fewer than 10 million points.
    book = _homogeneous(2_000)
    result = _fit(book, model="creditriskplus", factors="single", asset_correlation=0.15)
    assert result.loss_values.size < 100_000


def test_creditriskplus_contributions_add_up_to_its_tvar(
    creditriskplus: PortfolioLossResult, book_with_riskless_obligors: PortfolioBook
) -> None:
    result = creditriskplus
    tvar = result.gross.at(result.contribution_level).tvar
    assert float(result.obligor_contributions.sum()) == pytest.approx(tvar, rel=1e-9)
    assert sum(result.sector_contributions.values()) == pytest.approx(tvar, rel=1e-9)
    assert sum(result.country_contributions.values()) == pytest.approx(tvar, rel=1e-9)
    assert np.all(result.obligor_contributions >= 0)
    book = book_with_riskless_obligors
    assert np.all(result.obligor_contributions[(book.pd == 0) | (book.lgd == 0) | (book.ead == 0)] == 0)


# -- 10. JSON figures -------------------------------------------------------------------------------------------

AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def _cents(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_to_dict_gives_amounts_as_strings_to_the_cent(small_book: PortfolioBook) -> None:
    result = _fit(small_book, n_scenarios=2_000, seed=2, reinsurance=Reinsurance(quota_share_rate=0.25))
    data = result.to_dict(top=7)
    assert json.loads(json.dumps(data)) == data
    figures = [data["gross"], data["net"]]
    amounts = [data["total_ead"], data["analytic_expected_loss"], data["contributions"]["total"]]
    for f in figures:
        amounts += [f["expected_loss"], f["expected_loss_se"], f["standard_deviation"]]
        amounts += [m[key] for m in f["measures"] for key in ("var", "var_se", "tvar", "tvar_se")]
    amounts += list(data["contributions"]["sectors"].values()) + list(data["contributions"]["countries"].values())
    amounts += [o["contribution"] for o in data["contributions"]["top_obligors"]]
    assert all(isinstance(a, str) and AMOUNT.match(a) for a in amounts), amounts
    assert data["gross"]["expected_loss"] == _cents(result.gross.expected_loss)
    assert data["gross"]["measures"][2]["var"] == _cents(result.gross.at(0.999).var)
    assert [m["level"] for m in data["gross"]["measures"]] == ["0.99", "0.995", "0.999"]
    assert data["contributions"]["level"] == "0.995"
    assert len(data["contributions"]["top_obligors"]) == 7
    assert (data["model"], data["obligors"], data["scenarios"], data["seed"]) == ("mc", 5_000, 2_000, 2)
    assert data["importance_sampling"] is True


def test_to_dict_rounds_half_up_and_drops_what_is_not_a_number() -> None:
    measure = RiskMeasure(level=0.99, var=2.675, var_se=float("nan"), tvar=1e9 + 0.005, tvar_se=0.0)
    figures = LossFigures(expected_loss=0.125, expected_loss_se=0.0, standard_deviation=3.0, measures=(measure,))
    result = PortfolioLossResult(
        model="mc",
        n_obligors=1,
        n_scenarios=100,
        seed=0,
        importance_sampling=False,
        stress=None,
        total_ead=1_000.0,
        analytic_expected_loss=0.125,
        gross=figures,
        net=None,
        contribution_level=0.99,
        obligor_ids=("A",),
        obligor_contributions=np.array([2.675]),
        sector_contributions={"S": 2.675},
        country_contributions={"FR": 2.675},
        loss_values=np.zeros(100),
        loss_probabilities=np.full(100, 0.01),
    )
    data = result.to_dict()
    # 2.675 is 2.67499999… in binary; the figure is rounded as written, half up, as a person would.
    assert data["gross"]["measures"][0]["var"] == "2.68"
    assert data["gross"]["measures"][0]["var_se"] is None
    assert data["gross"]["measures"][0]["tvar"] == "1000000000.01"
    assert data["gross"]["expected_loss"] == "0.13"
    assert data["total_ead"] == "1000.00"
    assert data["net"] is None
    assert data["contributions"]["top_obligors"] == [{"obligor_id": "A", "contribution": "2.68"}]
    json.dumps(data)
