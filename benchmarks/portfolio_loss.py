"""Portfolio-loss benchmark: Monte Carlo throughput, importance sampling, 1,000,000 obligors, Dask.

    python -m benchmarks.portfolio_loss [--obligors 1000000] [--quick]

On synthetic books (``generate_book``: 20 sectors × 10 countries, Basel ρ, default factor
correlations) prints:

1. throughput on one book (``--book-obligors``, 200,000), in obligor-scenarios per second
   (obligors × scenarios ÷ seconds) per core, against a naive NumPy latent-variable Monte Carlo of
   the same model (correlated factors from the same Cholesky factor, one standard normal per
   obligor-scenario, default when X < Φ⁻¹(PD), loss = Σ EAD × LGD of defaulters, vectorised over
   blocks of scenarios): the engine's whole plain Monte Carlo ``fit`` (its contribution replay
   included) and its chunk kernel alone (``simulate_chunk`` on a prepared plan), with the ratios
   to the naive figure (target ≥ 10×) and the kernel against 300 million per core; both VaR 99 %
   with their standard errors, to show they estimate the same distribution;
2. the variance reduction of importance sampling at the 99.9 % VaR (target ≥ 50×) on that book with
   the same number of scenarios: from the engine's reported standard errors and from the spread of
   the VaR over ``--seeds`` independent seeds;
3. a ``--obligors`` (1,000,000) book with importance sampling run until the VaR 99.5 % has a
   relative standard error ≤ 1 %: wall time on a Dask LocalCluster of 2 single-threaded worker
   processes (target ≤ 60 s on 2 cores) and in this single process, their ratio (target ≤ 1.3×),
   whether the two runs give bit-identical figures, and the workers' CPU time (hence roughly what
   the Dask run takes on an otherwise idle machine);
4. a summary: figure, value, target, met.

"Per core" figures divide by the process's CPU time (``time.process_time``, every thread of this
process) as well as by wall time: the engine and the naive simulation run on this one process, so
CPU time is what one core spends, whatever else the machine is running. ``--quick`` uses small
sizes for a smoke check (under a minute). Nothing is asserted: figures and ratios only.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from tradecover.risk.book_generator import generate_book
from tradecover.risk.factor_model import SegmentLoadings, segment_loadings
from tradecover.risk.loss_simulation import SimulationPlan, simulate_chunk
from tradecover.risk.portfolio_book import PortfolioBook
from tradecover.risk.portfolio_loss import PortfolioLossModel
from tradecover.risk.reinsurance import Reinsurance
from tradecover.risk.tail_measures import RiskMeasure, risk_measures

KERNEL_TARGET = 300e6  # obligor-scenarios per second per core
NAIVE_RATIO_TARGET = 10.0
VARIANCE_TARGET = 50.0
WALL_TARGET = 60.0  # seconds for the 1,000,000-obligor run on 2 cores
DASK_TARGET = 1.3
BLOCK_ELEMENTS = 1 << 22  # obligor-scenarios per block of the naive simulation (32 MB per float64 array)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


@dataclass
class Summary:
    rows: list[tuple[str, str, str, str]]

    def add(self, figure: str, value: str, target: str, met: bool | None) -> None:
        self.rows.append((figure, value, target, "-" if met is None else ("yes" if met else "NO")))

    def print(self) -> None:
        widths = [max(len(row[i]) for row in [*self.rows, ("figure", "value", "target", "met")]) for i in range(4)]
        header = ("figure", "value", "target", "met")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def timed(action: Callable[[], Any]) -> tuple[Any, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def millions(rate: float) -> str:
    return f"{rate / 1e6:,.1f} M/s"


def load() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def loadings_and_rho(model: PortfolioLossModel, book: PortfolioBook) -> tuple[SegmentLoadings, NDArray[np.float64]]:
    """The engine's own factor loadings and asset correlations (the naive simulation uses the same)."""
    loadings = segment_loadings(book, factors=model.factors, correlation=None, sector_weight=model.sector_weight)
    return loadings, model._asset_correlation(book.pd)


def naive_losses(
    book: PortfolioBook, loadings: SegmentLoadings, rho: NDArray[np.float64], n_scenarios: int, seed: int
) -> NDArray[np.float64]:
    """Plain latent-variable Monte Carlo: X_i = √ρ_i Y_seg(i) + √(1 − ρ_i) ε_i, default when X_i < Φ⁻¹(PD_i).

    As a competent NumPy user would write it: blocks of scenarios, buffers allocated once, the
    default test rewritten as ε < (Φ⁻¹(PD) − √ρ Y) / √(1 − ρ) so each obligor-scenario costs one
    normal, a multiply-add and a comparison; the block's losses are one matrix-vector product.
    """
    rng = np.random.default_rng(seed)
    n = book.size
    idiosyncratic = np.sqrt(1.0 - rho)
    a_scaled = special.ndtri(book.pd) / idiosyncratic
    r_scaled = np.sqrt(rho) / idiosyncratic
    loss = book.loss_given_default
    segment = loadings.obligor_segment
    block = max(1, BLOCK_ELEMENTS // n)
    eps = np.empty((block, n))
    threshold = np.empty((block, n))
    defaulted = np.empty((block, n), dtype=bool)
    out = np.empty(n_scenarios)
    for first in range(0, n_scenarios, block):
        size = min(block, n_scenarios - first)
        factors = rng.standard_normal((size, loadings.n_factors)) @ loadings.cholesky.T
        composite = loadings.segment_factors(factors)
        t, e, d = threshold[:size], eps[:size], defaulted[:size]
        np.take(composite, segment, axis=1, out=t)
        t *= -r_scaled
        t += a_scaled
        rng.standard_normal(out=e)
        np.less(e, t, out=d)
        out[first : first + size] = d @ loss
    return out


def engine_plan(model: PortfolioLossModel, book: PortfolioBook) -> SimulationPlan:
    loadings, rho = loadings_and_rho(model, book)
    return model._plan(book, loadings, rho, Reinsurance())


def run_kernel(plan: SimulationPlan, n_scenarios: int, chunk_size: int) -> None:
    for chunk, first in enumerate(range(0, n_scenarios, chunk_size)):
        simulate_chunk(plan, chunk, min(chunk_size, n_scenarios - first))


def kernel_breakdown(plan: SimulationPlan, chunk_size: int) -> str:
    """Shares of one kernel chunk's time: the two Numba loops, and NumPy's draws and bookkeeping."""
    profiler = cProfile.Profile()
    profiler.runcall(simulate_chunk, plan, 10_000, chunk_size)
    stats: dict[Any, Any] = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    named = {"bound_probabilities": 0.0, "scenario_losses": 0.0, "twist": 0.0}
    for (_, _, function), entry in stats.items():
        if function in named:
            named[function] += entry[2]
    rest = total - sum(named.values())
    parts = [f"{name} {seconds / total:.0%}" for name, seconds in named.items() if seconds > 0]
    parts.append(f"NumPy factor draws and the rest {rest / total:.0%}")
    return ", ".join(parts)


def var_at(losses: NDArray[np.float64], level: float) -> RiskMeasure:
    return risk_measures(losses, np.ones(losses.size), [level])[0]


def warm_up() -> None:
    """Numba loads or compiles its kernels on first call: one tiny fit of each kind."""
    book = generate_book(2_000, seed=99)
    for importance in (False, True):
        PortfolioLossModel(n_scenarios=1_000, chunk_size=500, importance_sampling=importance).fit(book)


# -- 1. throughput ------------------------------------------------------------------------------------
def bench_throughput(
    book: PortfolioBook, naive_scenarios: int, engine_scenarios: int, chunk_size: int, summary: Summary
) -> None:
    n = book.size
    plain = PortfolioLossModel(n_scenarios=engine_scenarios, seed=11, importance_sampling=False, chunk_size=chunk_size)
    loadings, rho = loadings_and_rho(plain, book)
    naive_losses(book, loadings, rho, 8, seed=0)  # first-touch of the buffers' code paths
    naive, naive_time = timed(lambda: naive_losses(book, loadings, rho, naive_scenarios, seed=5))
    naive_cpu = n * naive_scenarios / naive_time.cpu
    print(
        f"naive NumPy latent-variable MC: {naive_scenarios:,} scenarios in {naive_time.wall:.1f} s "
        f"(CPU {naive_time.cpu:.1f} s), block {max(1, BLOCK_ELEMENTS // n)} scenarios = "
        f"{millions(n * naive_scenarios / naive_time.wall)} wall, {millions(naive_cpu)} per core (CPU time)"
    )

    _, fit_time = timed(lambda: plain.fit(book))
    fit_cpu = n * engine_scenarios / fit_time.cpu
    fit_wall = n * engine_scenarios / fit_time.wall
    print(
        f"engine, plain MC, whole fit (plan, scenarios, measures, contribution replay): {engine_scenarios:,} "
        f"scenarios in {fit_time.wall:.1f} s (CPU {fit_time.cpu:.1f} s) = {millions(fit_wall)} wall, "
        f"{millions(fit_cpu)} per core = {fit_cpu / naive_cpu:.1f}x naive (target >= {NAIVE_RATIO_TARGET:.0f}x)"
    )

    plan = engine_plan(plain, book)
    _, kernel_time = timed(lambda: run_kernel(plan, engine_scenarios, chunk_size))
    kernel_cpu = n * engine_scenarios / kernel_time.cpu
    print(
        f"engine kernel alone (simulate_chunk on a prepared plan of {plan.n_buckets:,} buckets: factor draws, "
        f"bucket PD bounds, twisting, candidates by geometric gaps, thinning, loss sums; "
        f"no plan, no measures, no replay): "
        f"{engine_scenarios:,} scenarios in {kernel_time.wall:.1f} s (CPU {kernel_time.cpu:.1f} s) = "
        f"{millions(n * engine_scenarios / kernel_time.wall)} wall, {millions(kernel_cpu)} per core "
        f"(target >= {KERNEL_TARGET / 1e6:.0f} M/s: ratio {kernel_cpu / KERNEL_TARGET:.2f}x) = "
        f"{kernel_cpu / naive_cpu:.1f}x naive"
    )
    print(f"  kernel time by part (cProfile, one chunk): {kernel_breakdown(plan, chunk_size)}")

    engine_var = plain.result_.gross.at(0.99)
    naive_var = var_at(naive, 0.99)
    gap = engine_var.var - naive_var.var
    z = gap / np.hypot(engine_var.var_se, naive_var.var_se)
    print(
        f"VaR 99 %: engine {engine_var.var:,.0f} ± {engine_var.var_se:,.0f}, naive {naive_var.var:,.0f} ± "
        f"{naive_var.var_se:,.0f}: difference {gap:,.0f} = {z:+.2f} combined standard errors"
    )
    print(
        f"mean loss: engine {plain.result_.gross.expected_loss:,.0f} ± {plain.result_.gross.expected_loss_se:,.0f}, "
        f"naive {naive.mean():,.0f} ± {naive.std() / np.sqrt(naive.size):,.0f}, analytic {book.expected_loss:,.0f}"
    )
    summary.add(
        "engine fit vs naive NumPy, per core",
        f"{fit_cpu / naive_cpu:.1f}x ({millions(fit_cpu)} vs {millions(naive_cpu)})",
        f">= {NAIVE_RATIO_TARGET:.0f}x",
        fit_cpu / naive_cpu >= NAIVE_RATIO_TARGET,
    )
    summary.add(
        "engine kernel vs naive NumPy, per core",
        f"{kernel_cpu / naive_cpu:.1f}x",
        f">= {NAIVE_RATIO_TARGET:.0f}x",
        kernel_cpu / naive_cpu >= NAIVE_RATIO_TARGET,
    )
    summary.add(
        "kernel obligor-scenarios/s per core",
        millions(kernel_cpu),
        f">= {KERNEL_TARGET / 1e6:.0f} M/s",
        kernel_cpu >= KERNEL_TARGET,
    )
    summary.add("naive vs engine VaR 99 %", f"{z:+.2f} SE apart", "|z| < 3", abs(z) < 3)


# -- 2. variance reduction ----------------------------------------------------------------------------
def bench_variance(book: PortfolioBook, n_scenarios: int, seeds: int, chunk_size: int, summary: Summary) -> None:
    level = 0.999
    figures: dict[bool, list[RiskMeasure]] = {False: [], True: []}
    walls: dict[bool, float] = {False: 0.0, True: 0.0}
    for seed in range(seeds):
        for importance in (False, True):
            model = PortfolioLossModel(
                n_scenarios=n_scenarios,
                seed=1000 + seed,
                importance_sampling=importance,
                chunk_size=chunk_size,
                levels=(0.99, 0.995, level),
            )
            _, spent = timed(lambda model=model: model.fit(book))
            walls[importance] += spent.wall
            figures[importance].append(model.result_.gross.at(level))
    for importance, label in ((False, "plain"), (True, "IS")):
        values = np.array([m.var for m in figures[importance]])
        ses = np.array([m.var_se for m in figures[importance]])
        print(
            f"VaR 99.9 % {label:>5}: mean over {seeds} seeds {values.mean():,.0f}, "
            f"spread (SD) {values.std(ddof=1):,.0f}, root-mean-square reported SE {np.sqrt((ses**2).mean()):,.0f}; "
            f"{walls[importance] / seeds:.1f} s per fit"
        )
    from_se = np.mean([m.var_se**2 for m in figures[False]]) / np.mean([m.var_se**2 for m in figures[True]])
    spread_plain = np.var([m.var for m in figures[False]], ddof=1)
    spread_is = np.var([m.var for m in figures[True]], ddof=1)
    from_spread = spread_plain / spread_is if spread_is > 0 else float("inf")
    cost = walls[True] / walls[False]
    print(
        f"variance reduction at 99.9 %, {n_scenarios:,} scenarios each: {from_se:,.0f}x from the reported SEs, "
        f"{from_spread:,.0f}x from the spread over {seeds} seeds (an F({seeds - 1},{seeds - 1}) estimate: rough) "
        f"(target >= {VARIANCE_TARGET:.0f}x); an IS scenario costs {cost:.1f}x a plain one, so the work to a given "
        f"precision falls {from_se / cost:,.0f}x"
    )
    summary.add(
        "IS variance reduction at 99.9 % (reported SE)",
        f"{from_se:,.0f}x",
        f">= {VARIANCE_TARGET:.0f}x",
        from_se >= VARIANCE_TARGET,
    )
    summary.add(
        f"IS variance reduction at 99.9 % ({seeds}-seed spread)",
        f"{from_spread:,.0f}x",
        f">= {VARIANCE_TARGET:.0f}x",
        from_spread >= VARIANCE_TARGET,
    )


# -- 3. large book, Dask ------------------------------------------------------------------------------
def bench_large(n_obligors: int, start_scenarios: int, chunk_size: int, summary: Summary) -> None:
    from distributed import Client, LocalCluster

    book, made = timed(lambda: generate_book(n_obligors, seed=3))
    print(f"book of {n_obligors:,} obligors generated in {made.wall:.1f} s (not counted below)")

    def model() -> PortfolioLossModel:
        return PortfolioLossModel(
            n_scenarios=start_scenarios,
            seed=2026,
            importance_sampling=True,
            chunk_size=chunk_size,
            target_relative_error=0.01,
            precision_level=0.995,
        )

    single = model()
    _, single_time = timed(lambda: single.fit(book))
    report(single, "single process", single_time)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        small = generate_book(2_000, seed=99)
        PortfolioLossModel(n_scenarios=1_000, chunk_size=500).fit(small, client=client)  # warm the workers
        distributed = model()
        before = client.run(time.process_time)
        _, dask_time = timed(lambda: distributed.fit(book, client=client))
        after = client.run(time.process_time)
    report(distributed, "Dask LocalCluster, 2 workers × 1 thread", dask_time)
    workers = sorted(after[worker] - before[worker] for worker in after)
    print(
        f"  workers' CPU time: {', '.join(f'{cpu:.1f} s' for cpu in workers)}; on an otherwise idle machine the run "
        f"would take about this process's CPU + the busiest worker's = {dask_time.cpu + workers[-1]:.1f} s"
    )

    a, b = single.result_, distributed.result_
    identical = (
        a.n_scenarios == b.n_scenarios
        and a.gross.measures == b.gross.measures
        and np.array_equal(a.loss_values, b.loss_values)
        and np.array_equal(a.obligor_contributions, b.obligor_contributions)
    )
    ratio = dask_time.wall / single_time.wall
    print(
        f"Dask / single process: {dask_time.wall:.1f} s / {single_time.wall:.1f} s = {ratio:.2f}x "
        f"(target <= {DASK_TARGET}x); bit-identical VaR, TVaR, losses and contributions: {identical}"
    )
    measure = b.gross.at(0.995)
    summary.add(
        f"{n_obligors:,} obligors, VaR 99.5 % to 1 % RSE, 2 cores (Dask)",
        f"{dask_time.wall:.1f} s (RSE {measure.var_se / measure.var:.2%}, {b.n_scenarios:,} scenarios)",
        f"<= {WALL_TARGET:.0f} s",
        dask_time.wall <= WALL_TARGET and measure.var_se <= 0.01 * measure.var,
    )
    summary.add(
        f"{n_obligors:,} obligors, same run, single process",
        f"{single_time.wall:.1f} s",
        "(reference)",
        None,
    )
    summary.add("Dask / single process", f"{ratio:.2f}x", f"<= {DASK_TARGET}x", ratio <= DASK_TARGET)
    summary.add("Dask and single process bit-identical", str(identical), "True", identical)


def report(model: PortfolioLossModel, label: str, spent: Timing) -> None:
    result = model.result_
    measure = result.gross.at(0.995)
    print(
        f"{label}: {spent.wall:.1f} s wall (this process's CPU {spent.cpu:.1f} s) for plan, pilot and IS shifts, "
        f"{result.n_scenarios:,} scenarios, measures and contributions; VaR 99.5 % {measure.var:,.0f} ± "
        f"{measure.var_se:,.0f} (relative SE {measure.var_se / measure.var:.2%}, target <= 1 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obligors", type=int, default=None, help="obligors of the large run (1,000,000)")
    parser.add_argument("--book-obligors", type=int, default=None, help="obligors of the throughput book (200,000)")
    parser.add_argument("--naive-scenarios", type=int, default=None, help="scenarios of the naive simulation (4,000)")
    parser.add_argument("--scenarios", type=int, default=None, help="engine scenarios for throughput (50,000)")
    parser.add_argument("--variance-scenarios", type=int, default=None, help="scenarios per variance fit (20,000)")
    parser.add_argument("--seeds", type=int, default=None, help="independent seeds for the variance spread (8)")
    parser.add_argument("--start-scenarios", type=int, default=10_000, help="first scenarios of the large run")
    parser.add_argument("--chunk-size", type=int, default=None, help="scenarios per chunk (10,000; large run 2,500)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check in under a minute")
    parser.add_argument("--skip-dask", action="store_true", help="skip the large run (section 3)")
    args = parser.parse_args()
    quick = args.quick
    obligors = args.obligors or (50_000 if quick else 1_000_000)
    book_obligors = args.book_obligors or (20_000 if quick else 200_000)
    naive_scenarios = args.naive_scenarios or (1_000 if quick else 4_000)
    scenarios = args.scenarios or (5_000 if quick else 50_000)
    variance_scenarios = args.variance_scenarios or (5_000 if quick else 20_000)
    seeds = args.seeds or (3 if quick else 8)
    chunk_size = args.chunk_size or (2_500 if quick else 10_000)
    start_scenarios = min(args.start_scenarios, 5_000) if quick else args.start_scenarios
    large_chunk = args.chunk_size or 2_500

    print(f"{os.cpu_count()} CPUs; load average at start: {load()}")
    busy = hasattr(os, "getloadavg") and os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    _, warm = timed(warm_up)
    print(f"warm-up (Numba kernels loaded or compiled): {warm.wall:.1f} s")
    summary = Summary([])
    book = generate_book(book_obligors, seed=1)
    print(
        f"\n1. throughput: {book.size:,} obligors, {len(book.sectors)} sectors × {len(book.countries)} countries, "
        f"Basel ρ; one process = one core (rates per core use this process's CPU time)"
    )
    bench_throughput(book, naive_scenarios, scenarios, chunk_size, summary)
    print(f"\n2. importance sampling at the 99.9 % VaR: same book, {variance_scenarios:,} scenarios, {seeds} seeds")
    bench_variance(book, variance_scenarios, seeds, chunk_size, summary)
    if not args.skip_dask:
        print(f"\n3. {obligors:,} obligors, importance sampling, VaR 99.5 % to <= 1 % relative standard error")
        bench_large(obligors, start_scenarios, large_chunk, summary)
    print(f"\n4. summary (load average at the end: {load()})")
    summary.print()
    if quick:
        print(
            "note: --quick is a smoke check; on its small books the per-bucket work outweighs the per-obligor work, "
            "so the throughput, variance and wall-time figures say nothing about the targets"
        )
    if busy:
        print(
            "note: the machine was already busy when the benchmark started (load average above); wall times, "
            "section 3's above all, are inflated by the other work, the per-core rates (CPU time) much less"
        )


if __name__ == "__main__":
    main()
