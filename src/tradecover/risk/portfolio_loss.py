"""The whole book's loss distribution with correlated defaults (DOMAIN.md §11): `PortfolioLossModel`.

Two engines behind one estimator:

* ``model="mc"`` — Monte Carlo of the multi-factor Gaussian copula (see `factor_model`), using
  conditional independence (see `loss_kernels`): the work per scenario grows with the number of
  buckets and of defaults, not of obligors. Tails are sampled by importance, from a defensive
  mixture (see `SimulationPlan`): a tenth of the scenarios plain, the rest split between one
  component per confidence level, each drawing its factors around a shifted mean — the most likely
  factor values whose conditional expected loss reaches that level's quantile of the conditional
  expected loss, found by a pilot of factor draws and a constrained minimisation — and twisting the
  default probabilities, given the factors, towards that loss (Glasserman & Li, *Importance sampling
  for portfolio credit risk*, Management Science 51, 2005). Each scenario carries its likelihood
  ratio against the whole mixture, so no weight exceeds 10.
* ``model="creditriskplus"`` — the analytic CreditRisk+ distribution (`creditriskplus`), each
  sector's relative default variance and the sectors' correlations taken from the same Gaussian
  copula so that both engines describe one book.

Outputs: expected loss, standard deviation, VaR and TVaR at the chosen levels with Monte Carlo
standard errors, the loss distribution, and contributions of each obligor, sector and country to
TVaR at `contribution_level` (expected-shortfall allocation: they add up to that TVaR). With a
`Reinsurance`, the same figures net of it. With a `Stress`, everything is computed on the stressed
book and correlations.

Examples
--------
>>> from tradecover.risk.portfolio_book import PortfolioBook
>>> book = PortfolioBook.from_rows(
...     [f"B{i}" for i in range(1000)], [100.0] * 1000, [0.02] * 1000, [0.5] * 1000, ["S"] * 1000, ["FR"] * 1000
... )
>>> model = PortfolioLossModel(n_scenarios=20_000, seed=1, factors="single", asset_correlation=0.2).fit(book)
>>> round(model.result_.analytic_expected_loss, 2)
1000.0
>>> 900 < model.result_.gross.expected_loss < 1100
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from tradecover.risk.asrf import irb_correlation
from tradecover.risk.creditriskplus import CreditRiskPlus
from tradecover.risk.factor_model import FactorCorrelation, SegmentLoadings, segment_loadings
from tradecover.risk.loss_simulation import (
    MAX_BLOCK,
    PILOT_KEY,
    ChunkLosses,
    SimulationPlan,
    chunk_generator,
    conditional_expected_loss,
    simulate_chunk,
    simulate_contributions,
)
from tradecover.risk.portfolio_book import PortfolioBook
from tradecover.risk.reinsurance import Reinsurance
from tradecover.risk.stress import Stress
from tradecover.risk.tail_measures import RiskMeasure, risk_measures, tail_factors

__all__ = ["LossFigures", "PortfolioLossModel", "PortfolioLossResult"]

Model = Literal["mc", "creditriskplus"]
Progress = Callable[[int, int], None]
PILOT_SCENARIOS = 10_000
PLAIN_SHARE = 0.1  # of scenarios drawn without importance sampling: bounds every weight by 10
MAX_RHO = 0.999


@dataclass(frozen=True)
class LossFigures:
    """Moments and tail measures of one loss distribution (gross or net), in the book's currency units."""

    expected_loss: float
    expected_loss_se: float
    standard_deviation: float
    measures: tuple[RiskMeasure, ...]

    def at(self, level: float) -> RiskMeasure:
        for measure in self.measures:
            if abs(measure.level - level) < 1e-12:
                return measure
        raise KeyError(level)


@dataclass(frozen=True)
class PortfolioLossResult:
    """What `PortfolioLossModel.fit` learns (the `result_` attribute)."""

    model: str
    n_obligors: int
    n_scenarios: int
    seed: int
    importance_sampling: bool
    stress: str | None
    total_ead: float
    analytic_expected_loss: float
    gross: LossFigures
    net: LossFigures | None
    contribution_level: float
    obligor_ids: tuple[str, ...]
    obligor_contributions: NDArray[np.float64]
    sector_contributions: dict[str, float]
    country_contributions: dict[str, float]
    loss_values: NDArray[np.float64]
    loss_probabilities: NDArray[np.float64]

    def top_contributors(self, n: int = 20) -> list[tuple[str, float]]:
        order = np.argsort(-self.obligor_contributions, kind="stable")[:n]
        return [(self.obligor_ids[i], float(self.obligor_contributions[i])) for i in order]

    def to_dict(self, *, top: int = 20) -> dict[str, Any]:
        """JSON-ready figures: amounts as strings rounded half-up to the cent, rates as strings."""

        def figures(f: LossFigures) -> dict[str, Any]:
            return {
                "expected_loss": _amount(f.expected_loss),
                "expected_loss_se": _amount(f.expected_loss_se),
                "standard_deviation": _amount(f.standard_deviation),
                "measures": [
                    {
                        "level": _rate(m.level),
                        "var": _amount(m.var),
                        "var_se": _amount(m.var_se),
                        "tvar": _amount(m.tvar),
                        "tvar_se": _amount(m.tvar_se),
                    }
                    for m in f.measures
                ],
            }

        return {
            "model": self.model,
            "obligors": self.n_obligors,
            "scenarios": self.n_scenarios,
            "seed": self.seed,
            "importance_sampling": self.importance_sampling,
            "stress": self.stress,
            "total_ead": _amount(self.total_ead),
            "analytic_expected_loss": _amount(self.analytic_expected_loss),
            "gross": figures(self.gross),
            "net": figures(self.net) if self.net is not None else None,
            "contributions": {
                "level": _rate(self.contribution_level),
                "total": _amount(float(self.obligor_contributions.sum())),
                "sectors": {k: _amount(v) for k, v in self.sector_contributions.items()},
                "countries": {k: _amount(v) for k, v in self.country_contributions.items()},
                "top_obligors": [{"obligor_id": o, "contribution": _amount(v)} for o, v in self.top_contributors(top)],
            },
        }


def _amount(value: float) -> str | None:
    if not np.isfinite(value):
        return None
    from decimal import ROUND_HALF_UP, Decimal

    return str(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _rate(value: float) -> str:
    return format(value, ".6g")


class PortfolioLossModel:
    """Loss distribution of a book of obligors under a correlated-default factor model.

    Parameters
    ----------
    model : {"mc", "creditriskplus"}
        Monte Carlo of the Gaussian copula, or the analytic CreditRisk+ engine.
    n_scenarios : int
        Monte Carlo scenarios (a multiple of `chunk_size` is not required).
    seed : int
        Seed of every random stream; the same seed gives the same numbers on any number of processes.
    factors : {"sector_country", "single"}
        One factor per sector and per country, or the one-factor Vasicek model.
    factor_correlation : FactorCorrelation, optional
        Correlations between the factors (names ``sector:X``, ``country:Y``); a block default otherwise.
    sector_weight : float
        Weight w of the sector factor in an obligor's composite factor (1 − w for its country).
    asset_correlation : float or "basel"
        ρ, the share of an obligor's latent variance that is systematic: a number in [0, 1), or the
        Basel corporate formula of its PD (0.12 to 0.24).
    importance_sampling : bool
        Draw scenarios from a mixture aimed at each confidence level's tail: factors shifted, default
        probabilities twisted (see the module doc and `SimulationPlan`).
    levels : sequence of float
        Confidence levels of VaR and TVaR.
    contribution_level : float
        Level of the TVaR allocated to obligors, sectors and countries.
    reinsurance : Reinsurance, optional
        Treaties for the net figures.
    stress : Stress, optional
        PD multipliers and correlation shocks applied before anything is computed.
    chunk_size : int
        Scenarios per chunk (the unit of parallel work and of random streams).
    pd_band_ratio : float
        Width of a bucket's PD band (highest / lowest PD); narrower bands thin less.
    target_relative_error : float, optional
        Keep adding chunks until the VaR at `precision_level` has this relative standard error
        (or `max_scenarios` is reached).
    """

    def __init__(
        self,
        *,
        model: Model = "mc",
        n_scenarios: int = 10_000,
        seed: int = 0,
        factors: str = "sector_country",
        factor_correlation: FactorCorrelation | None = None,
        sector_weight: float = 0.5,
        asset_correlation: float | Literal["basel"] = "basel",
        importance_sampling: bool = True,
        levels: Sequence[float] = (0.99, 0.995, 0.999),
        contribution_level: float = 0.995,
        reinsurance: Reinsurance | None = None,
        stress: Stress | None = None,
        chunk_size: int = 1_000,
        pd_band_ratio: float = 1.25,
        target_relative_error: float | None = None,
        precision_level: float = 0.995,
        max_scenarios: int = 2_000_000,
    ) -> None:
        self.model = model
        self.n_scenarios = n_scenarios
        self.seed = seed
        self.factors = factors
        self.factor_correlation = factor_correlation
        self.sector_weight = sector_weight
        self.asset_correlation = asset_correlation
        self.importance_sampling = importance_sampling
        self.levels = levels
        self.contribution_level = contribution_level
        self.reinsurance = reinsurance
        self.stress = stress
        self.chunk_size = chunk_size
        self.pd_band_ratio = pd_band_ratio
        self.target_relative_error = target_relative_error
        self.precision_level = precision_level
        self.max_scenarios = max_scenarios

    # -- parameters -----------------------------------------------------------------------------
    def _check(self) -> None:
        if self.model not in ("mc", "creditriskplus"):
            raise ValueError(f"model must be 'mc' or 'creditriskplus', not {self.model!r}")
        if not (isinstance(self.n_scenarios, int) and self.n_scenarios >= 100):
            raise ValueError(f"n_scenarios {self.n_scenarios!r} must be an integer ≥ 100")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise ValueError(f"seed {self.seed!r} must be an integer ≥ 0")
        if not (isinstance(self.chunk_size, int) and self.chunk_size >= 1):
            raise ValueError(f"chunk_size {self.chunk_size!r} must be an integer ≥ 1")
        if self.asset_correlation != "basel" and not (
            isinstance(self.asset_correlation, int | float) and 0.0 <= float(self.asset_correlation) < 1.0
        ):
            raise ValueError(f"asset_correlation {self.asset_correlation!r} must be 'basel' or lie in [0, 1)")
        for level in (*self.levels, self.contribution_level, self.precision_level):
            if not 0.0 < level < 1.0:
                raise ValueError(f"confidence level {level!r} must lie in (0, 1)")
        if not self.pd_band_ratio > 1.0:
            raise ValueError(f"pd_band_ratio {self.pd_band_ratio!r} must be > 1")
        if self.target_relative_error is not None and not self.target_relative_error > 0:
            raise ValueError("target_relative_error must be > 0")

    def _correlations(self) -> FactorCorrelation | None:
        corr = self.factor_correlation
        if corr is not None and self.stress is not None and self.stress.factor_correlation_shift:
            corr = corr.shocked(self.stress.factor_correlation_shift)
        return corr

    def _asset_correlation(self, pd: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.asset_correlation == "basel":
            rho = irb_correlation(np.clip(pd, 1e-12, 1 - 1e-12), "corporate")
        else:
            rho = np.full(pd.shape, float(self.asset_correlation))
        if self.stress is not None:
            rho = rho * self.stress.asset_correlation_multiplier
        return np.minimum(rho, MAX_RHO)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, book: PortfolioBook, *, client: Any = None, progress: Progress | None = None) -> PortfolioLossModel:
        """Compute the loss distribution of `book`; `client` is a dask.distributed Client to run chunks on.

        `progress(done, total)` is called as chunks complete.
        """
        self._check()
        if book.size == 0:
            raise ValueError("the book has no obligors")
        stressed = self.stress.apply(book) if self.stress is not None else book
        correlation = self._correlations()
        if correlation is None and self.stress is not None and self.stress.factor_correlation_shift:
            from tradecover.risk.factor_model import default_factor_correlation

            correlation = default_factor_correlation(stressed.sectors, stressed.countries).shocked(
                self.stress.factor_correlation_shift
            )
        loadings = segment_loadings(
            stressed, factors=self.factors, correlation=correlation, sector_weight=self.sector_weight
        )
        rho = self._asset_correlation(stressed.pd)
        if self.model == "creditriskplus":
            self.result_ = self._fit_creditriskplus(stressed, loadings, rho)
        else:
            self.result_ = self._fit_monte_carlo(stressed, loadings, rho, client, progress)
        return self

    def _fit_monte_carlo(
        self,
        book: PortfolioBook,
        loadings: SegmentLoadings,
        rho: NDArray[np.float64],
        client: Any,
        progress: Progress | None,
    ) -> PortfolioLossResult:
        reinsurance = self.reinsurance or Reinsurance()
        plan = self._plan(book, loadings, rho, reinsurance)
        n_total = self.n_scenarios
        runner = _Runner(plan, self.chunk_size, client, progress)
        parts = runner.losses(n_total)
        weights, gross, retained = _concatenate(parts)
        if self.target_relative_error is not None:
            while n_total < self.max_scenarios:
                measure = risk_measures(gross, weights, [self.precision_level])[0]
                relative = measure.var_se / measure.var if measure.var > 0 else 0.0
                if not relative > self.target_relative_error:
                    break
                wanted = int(n_total * (relative / self.target_relative_error) ** 2 * 1.1)
                # whole chunks, so that each round's streams follow the last one's
                extra = -(-max(wanted - n_total, 1) // self.chunk_size) * self.chunk_size
                extra = min(extra, self.max_scenarios - n_total)
                parts += runner.losses(extra)
                n_total += extra
                weights, gross, retained = _concatenate(parts)
        net = reinsurance.net_aggregate(retained) if not reinsurance.is_empty else None
        factors = tail_factors(gross, weights, self.contribution_level)
        in_order = runner.contributions(factors)
        contributions = np.zeros(book.size)
        contributions[plan.obligor_row] = in_order
        return self._result(
            book,
            gross_figures=_figures(gross, weights, self.levels),
            net_figures=_figures(net, weights, self.levels) if net is not None else None,
            n_scenarios=n_total,
            contributions=contributions,
            loss_values=gross,
            loss_probabilities=weights / n_total,
            model="mc",
        )

    def _result(
        self,
        book: PortfolioBook,
        *,
        gross_figures: LossFigures,
        net_figures: LossFigures | None,
        n_scenarios: int,
        contributions: NDArray[np.float64],
        loss_values: NDArray[np.float64],
        loss_probabilities: NDArray[np.float64],
        model: str,
    ) -> PortfolioLossResult:
        sector = np.bincount(book.sector, weights=contributions, minlength=len(book.sectors))
        country = np.bincount(book.country, weights=contributions, minlength=len(book.countries))
        return PortfolioLossResult(
            model=model,
            n_obligors=book.size,
            n_scenarios=n_scenarios,
            seed=self.seed,
            importance_sampling=self.importance_sampling and model == "mc",
            stress=self.stress.name if self.stress is not None else None,
            total_ead=float(book.ead.sum()),
            analytic_expected_loss=book.expected_loss,
            gross=gross_figures,
            net=net_figures,
            contribution_level=self.contribution_level,
            obligor_ids=book.obligor_id,
            obligor_contributions=contributions,
            sector_contributions={s: float(v) for s, v in zip(book.sectors, sector, strict=True)},
            country_contributions={c: float(v) for c, v in zip(book.countries, country, strict=True)},
            loss_values=loss_values,
            loss_probabilities=loss_probabilities,
        )

    def _plan(
        self, book: PortfolioBook, loadings: SegmentLoadings, rho: NDArray[np.float64], reinsurance: Reinsurance
    ) -> SimulationPlan:
        loss = book.loss_given_default
        keep = np.flatnonzero((book.pd > 0) & (loss > 0))
        if keep.size == 0:
            keep = np.zeros(0, dtype=np.int64)
        pd = book.pd[keep]
        segment = loadings.obligor_segment[keep]
        band = np.where(pd >= 1.0, np.iinfo(np.int64).max, np.floor(np.log(pd) / np.log(self.pd_band_ratio)))
        order = np.lexsort((pd, band, segment))
        rows = keep[order]
        pd, segment, band = pd[order], segment[order], band[order]
        a = special.ndtri(pd)
        r = np.sqrt(rho[rows])
        new_bucket = np.ones(rows.size, dtype=bool)
        new_bucket[1:] = (segment[1:] != segment[:-1]) | (band[1:] != band[:-1])
        start = np.flatnonzero(new_bucket).astype(np.int64)
        size = np.diff(np.append(start, rows.size)).astype(np.int64)
        a_high = np.maximum.reduceat(a, start) if rows.size else np.zeros(0)
        a_low = np.minimum.reduceat(a, start) if rows.size else np.zeros(0)
        r_low = np.minimum.reduceat(r, start) if rows.size else np.zeros(0)
        r_high = np.maximum.reduceat(r, start) if rows.size else np.zeros(0)
        obligor_loss = loss[rows]
        mean_loss = np.add.reduceat(obligor_loss, start) / size if rows.size else np.zeros(0)
        plan = SimulationPlan(
            seed=self.seed,
            block=MAX_BLOCK,
            shifts=np.zeros((0, loadings.n_factors)),
            targets=np.zeros(0),
            mixture=np.ones(1),
            loadings=loadings,
            bucket_start=start,
            bucket_size=size,
            bucket_segment=segment[start] if rows.size else np.zeros(0, dtype=np.int64),
            bucket_a_high=a_high,
            bucket_r_low=r_low,
            bucket_r_high=r_high,
            bucket_exact=(a_high == a_low) & (r_high == r_low),
            bucket_mean_loss=mean_loss,
            obligor_row=rows.astype(np.int64),
            obligor_a=a,
            obligor_r=r,
            obligor_loss=obligor_loss,
            # the same array without an excess of loss: the kernel then reads one cache line, not two
            obligor_net_loss=obligor_loss
            if reinsurance.xol_retention is None
            else reinsurance.retained_per_buyer(obligor_loss),
        )
        a_mean = special.ndtri(np.add.reduceat(pd, start) / size) if rows.size else np.zeros(0)
        r_mean = np.add.reduceat(r, start) / size if rows.size else np.zeros(0)
        if self.importance_sampling and rows.size:
            shifts, targets = self._importance(plan, a_mean, r_mean)
            mixture = np.concatenate([[PLAIN_SHARE], np.full(targets.size, (1 - PLAIN_SHARE) / max(targets.size, 1))])
            plan = _replace_plan(plan, shifts=shifts, targets=targets, mixture=mixture if targets.size else np.ones(1))
        block = int(np.clip(4_000_000 // max(plan.n_buckets, 1), 1, MAX_BLOCK))
        return _replace_plan(plan, block=block)

    def _importance(
        self, plan: SimulationPlan, a_mean: NDArray[np.float64], r_mean: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """One mixture component per confidence level: its factor mean shift and its twisting target.

        The target is the level's quantile of the conditional expected loss in a pilot of factor
        draws (its own random stream); the shift is the smallest factor vector whose conditional
        expected loss reaches the target (SLSQP, started from the closest pilot draw that does).
        """
        d = plan.loadings.n_factors
        rng = chunk_generator(self.seed, PILOT_KEY)
        eps = rng.standard_normal((PILOT_SCENARIOS, d))
        cel = np.concatenate(
            [conditional_expected_loss(plan, eps[i : i + 2000], a_mean, r_mean) for i in range(0, len(eps), 2000)]
        )
        norms = np.einsum("ij,ij->i", eps, eps)
        shifts: list[NDArray[np.float64]] = []
        targets: list[float] = []
        for level in sorted(set(self.levels)):
            target = float(np.quantile(cel, level))
            if not target > 0 or target in targets:
                continue
            reaching = np.flatnonzero(cel >= target)
            start = eps[reaching[np.argmin(norms[reaching])]]

            def excess(z: NDArray[np.float64], target: float = target) -> float:
                return float(conditional_expected_loss(plan, z[None, :], a_mean, r_mean)[0]) / target - 1.0

            solution = optimize.minimize(
                lambda z: 0.5 * float(z @ z),
                start,
                jac=lambda z: z,
                constraints=[{"type": "ineq", "fun": excess}],
                method="SLSQP",
                options={"maxiter": 200, "ftol": 1e-10},
            )
            shift = solution.x if solution.success and excess(solution.x) > -1e-3 else start
            shifts.append(np.asarray(shift, dtype=np.float64))
            targets.append(target)
        return np.array(shifts, dtype=np.float64).reshape(len(shifts), d), np.array(targets, dtype=np.float64)

    def _fit_creditriskplus(
        self, book: PortfolioBook, loadings: SegmentLoadings, rho: NDArray[np.float64]
    ) -> PortfolioLossResult:
        loss = book.loss_given_default
        n_sectors = len(book.sectors)
        el = np.bincount(book.sector, weights=loss * book.pd, minlength=n_sectors)
        weight = np.where(el > 0, el, 1.0)
        pd_bar = np.clip(
            np.bincount(book.sector, weights=loss * book.pd * book.pd, minlength=n_sectors) / weight, 1e-9, 1 - 1e-9
        )
        rho_bar = np.bincount(book.sector, weights=loss * book.pd * rho, minlength=n_sectors) / weight
        a = special.ndtri(pd_bar)
        sector_factor_corr = _sector_factor_correlation(book, loadings)
        joint = np.array(
            [
                [
                    _bivariate_normal_cdf(a[k], a[m], np.sqrt(rho_bar[k] * rho_bar[m]) * sector_factor_corr[k, m])
                    for m in range(n_sectors)
                ]
                for k in range(n_sectors)
            ]
        )
        covariance = joint - np.outer(pd_bar, pd_bar)
        relative = np.maximum(np.diag(covariance) / pd_bar**2, 0.0)
        sd = np.sqrt(np.diag(covariance).clip(min=1e-300))
        correlation = covariance / np.outer(sd, sd)
        np.fill_diagonal(correlation, 1.0)
        # Exposure bands: each loss rounded to a whole number (≥ 1) of units, its PD scaled so that
        # PD × loss — the expected loss — is unchanged (the usual CreditRisk+ banding).
        unit = max(float(loss.max(initial=0.0)) / 5000.0, float((loss * book.pd).sum()) / 1000.0, 1e-9)
        banded = np.maximum(np.rint(loss / unit), 1.0) * unit
        banded_pd = np.where(loss > 0, np.minimum(book.pd * loss / banded, 1.0), 0.0)
        engine = CreditRiskPlus(
            relative_variances=[float(v) for v in relative], correlation=correlation, loss_unit=unit
        )
        engine.fit(exposures=banded, pds=banded_pd, sectors=book.sector)
        values = np.arange(engine.loss_distribution_.size, dtype=np.float64) * unit
        probabilities = engine.loss_distribution_
        gross = _figures(values, probabilities * values.size, self.levels, exact=True)
        measure = _exact_measure(values, probabilities, self.contribution_level)
        sigma_el = np.sqrt(relative) * engine.sector_expected_loss_
        systematic = correlation @ sigma_el * np.sqrt(relative)
        ul = engine.unexpected_loss_
        marginal = banded_pd * banded * (banded + systematic[book.sector]) / ul if ul > 0 else np.zeros(book.size)
        contributions = (
            loss * book.pd + (measure.tvar - engine.expected_loss_) * marginal / ul if ul > 0 else loss * book.pd
        )
        return self._result(
            book,
            gross_figures=LossFigures(
                expected_loss=engine.expected_loss_,
                expected_loss_se=0.0,
                standard_deviation=engine.unexpected_loss_,
                measures=gross.measures,
            ),
            net_figures=None,
            n_scenarios=0,
            contributions=contributions,
            loss_values=values,
            loss_probabilities=probabilities,
            model="creditriskplus",
        )


class _Runner:
    """Runs chunks in order locally, or on a Dask client; results always come back in chunk order."""

    def __init__(self, plan: SimulationPlan, chunk_size: int, client: Any, progress: Progress | None) -> None:
        self.plan = plan
        self.chunk_size = chunk_size
        self.client = client
        self.progress = progress
        self._plan_ref: Any = client.scatter(plan, broadcast=True) if client is not None else plan
        self.ran: list[tuple[int, int]] = []

    def _chunks(self, n: int) -> list[tuple[int, int]]:
        """The next chunks for n more scenarios: numbered after every chunk run so far, never reused."""
        first = self.ran[-1][0] + 1 if self.ran else 0
        sizes = [self.chunk_size] * (n // self.chunk_size) + ([n % self.chunk_size] if n % self.chunk_size else [])
        return [(first + i, size) for i, size in enumerate(sizes)]

    def _map(self, function: Callable[..., Any], chunks: list[tuple[int, int]], *extra: list[Any]) -> list[Any]:
        total = len(chunks)
        if self.client is None:
            results = []
            for i, (chunk, size) in enumerate(chunks):
                results.append(function(self.plan, chunk, size, *(e[i] for e in extra)))
                if self.progress is not None:
                    self.progress(i + 1, total)
            return results
        from distributed import as_completed

        futures = self.client.map(
            function,
            [self._plan_ref] * total,
            [c for c, _ in chunks],
            [s for _, s in chunks],
            *extra,
            pure=False,
        )
        for done, _ in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
            if self.progress is not None:
                self.progress(done, total)
        return [f.result() for f in futures]

    def losses(self, n: int) -> list[ChunkLosses]:
        chunks = self._chunks(n)
        results = list(self._map(simulate_chunk, chunks))
        self.ran += chunks
        return results

    def contributions(self, factors: NDArray[np.float64]) -> NDArray[np.float64]:
        chunks = self.ran
        slices: list[NDArray[np.float64]] = []
        wanted: list[tuple[int, int]] = []
        offset = 0
        for chunk, size in chunks:
            part = factors[offset : offset + size]
            if np.any(part > 0):
                wanted.append((chunk, size))
                slices.append(part)
            offset += size
        total = np.zeros(self.plan.obligor_loss.size)
        for part_result in self._map(simulate_contributions, wanted, slices):
            total += part_result
        return total


def _concatenate(parts: list[ChunkLosses]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    log_weight = np.concatenate([p.log_weight for p in parts])
    gross = np.concatenate([p.gross for p in parts])
    retained = np.concatenate([p.retained for p in parts])
    return np.exp(log_weight), gross, retained


def _figures(
    losses: NDArray[np.float64], weights: NDArray[np.float64], levels: Sequence[float], *, exact: bool = False
) -> LossFigures:
    n = losses.size
    weighted = weights * losses
    mean = float(weighted.sum() / n)
    second = float((weighted * losses).sum() / n)
    se = 0.0 if exact else float(np.std(weighted) / np.sqrt(n))
    measures = risk_measures(losses, weights, levels)
    if exact:
        measures = [RiskMeasure(m.level, m.var, 0.0, m.tvar, 0.0) for m in measures]
    return LossFigures(
        expected_loss=mean,
        expected_loss_se=se,
        standard_deviation=float(np.sqrt(max(second - mean * mean, 0.0))),
        measures=tuple(measures),
    )


def _exact_measure(values: NDArray[np.float64], probabilities: NDArray[np.float64], level: float) -> RiskMeasure:
    return risk_measures(values, probabilities * values.size, [level])[0]


def _replace_plan(plan: SimulationPlan, **changes: Any) -> SimulationPlan:
    from dataclasses import replace

    return replace(plan, **changes)


def _sector_factor_correlation(book: PortfolioBook, loadings: SegmentLoadings) -> NDArray[np.float64]:
    """Correlation between the sectors' average composite factors (1 in the one-factor model)."""
    n_sectors = len(book.sectors)
    chol = loadings.cholesky
    factor_cov = chol @ chol.T
    load = np.zeros((n_sectors, factor_cov.shape[0]))
    weight = book.loss_given_default * book.pd
    for segment in range(loadings.n_segments):
        members = loadings.obligor_segment == segment
        if not members.any():
            continue
        sector = int(book.sector[members][0])
        w = float(weight[members].sum())
        load[sector, loadings.first[segment]] += w * loadings.first_weight[segment]
        load[sector, loadings.second[segment]] += w * loadings.second_weight[segment]
    cov = load @ factor_cov @ load.T
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return np.asarray(np.clip(corr, -1.0, 1.0), dtype=np.float64)


def _bivariate_normal_cdf(x: float, y: float, correlation: float) -> float:
    if abs(correlation) < 1e-12:
        return float(special.ndtr(x) * special.ndtr(y))
    c = float(np.clip(correlation, -0.999999, 0.999999))
    return float(stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, c], [c, 1.0]]).cdf([x, y]))
