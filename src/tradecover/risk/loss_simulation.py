"""The simulation plan of the Monte Carlo loss model and the work of one chunk of scenarios.

A plan holds everything a chunk needs (arrays only, so it pickles cheaply to Dask workers). Chunk k
draws from its own stream ``SeedSequence(seed, spawn_key=(k,))`` — exactly the k-th child that
``SeedSequence(seed).spawn`` would give — so chunk k produces the same numbers wherever and with
whatever other chunks it runs, and the whole run is identical on one process or many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from tradecover.risk import loss_kernels
from tradecover.risk.factor_model import SegmentLoadings

__all__ = ["ChunkLosses", "SimulationPlan", "chunk_generator", "simulate_chunk", "simulate_contributions"]

# Scenarios per block: bounds the scenario × bucket arrays held at once.
MAX_BLOCK = 500
PILOT_KEY = 2**31


@dataclass(frozen=True)
class SimulationPlan:
    """Buckets and obligors in bucket order, and the importance-sampling mixture.

    Scenarios come from a defensive mixture: with probability ``mixture[0]`` plain Monte Carlo, with
    probability ``mixture[j + 1]`` factors shifted by ``shifts[j]`` and default probabilities twisted
    towards ``targets[j]``. Each scenario's weight is p / Σ_j mixture_j q_j — the density of the
    model over that of the mixture, evaluated for every component — so it never exceeds
    1 / mixture[0] and every quantile of the distribution keeps a sound estimate.
    """

    seed: int
    block: int
    shifts: NDArray[np.float64]
    targets: NDArray[np.float64]
    mixture: NDArray[np.float64]
    loadings: SegmentLoadings
    bucket_start: NDArray[np.int64]
    bucket_size: NDArray[np.int64]
    bucket_segment: NDArray[np.int64]
    bucket_a_high: NDArray[np.float64]
    bucket_r_low: NDArray[np.float64]
    bucket_r_high: NDArray[np.float64]
    bucket_exact: NDArray[np.bool_]
    bucket_mean_loss: NDArray[np.float64]
    obligor_row: NDArray[np.int64]
    obligor_a: NDArray[np.float64]
    obligor_r: NDArray[np.float64]
    obligor_loss: NDArray[np.float64]
    obligor_net_loss: NDArray[np.float64]

    @property
    def n_buckets(self) -> int:
        return int(self.bucket_size.size)


@dataclass(frozen=True)
class ChunkLosses:
    """Per scenario of a chunk: gross loss, loss after the per-buyer excess of loss, log of the IS weight."""

    gross: NDArray[np.float64]
    retained: NDArray[np.float64]
    log_weight: NDArray[np.float64]


def _dot(rows: NDArray[Any], matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """rows @ matrix.T without BLAS: the summation order, hence every bit, must not depend on threads."""
    return np.asarray(np.einsum("ij,kj->ik", rows, matrix, optimize=False), dtype=np.float64)


def chunk_generator(seed: int, chunk: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def _blocks(plan: SimulationPlan, n_scenarios: int) -> list[int]:
    full, rest = divmod(n_scenarios, plan.block)
    return [plan.block] * full + ([rest] if rest else [])


def _run(
    plan: SimulationPlan, chunk: int, n_scenarios: int, tail_factor: NDArray[np.float64] | None
) -> tuple[ChunkLosses, NDArray[np.float64] | None]:
    rng = chunk_generator(plan.seed, chunk)
    n_obligors = plan.obligor_loss.size
    contributions = np.zeros(n_obligors) if tail_factor is not None else None
    sink = np.zeros(1) if contributions is None else contributions
    gross = np.zeros(n_scenarios)
    retained = np.zeros(n_scenarios)
    log_weight = np.empty(n_scenarios)
    n_components = plan.targets.size
    done = 0
    for size in _blocks(plan, n_scenarios):
        eps = rng.standard_normal((size, plan.loadings.n_factors))
        if n_components:
            component = np.minimum(
                np.searchsorted(np.cumsum(plan.mixture), rng.random(size), side="right"), n_components
            )
            shifted = component > 0
            eps[shifted] += plan.shifts[component[shifted] - 1]
        seeds = rng.integers(0, np.iinfo(np.uint64).max, size=size, dtype=np.uint64, endpoint=True)
        block = slice(done, done + size)
        done += size
        factor = np.zeros(size) if tail_factor is None else tail_factor[block]
        if tail_factor is not None and not np.any(factor > 0):
            continue  # every draw of the block is made above, so the next block's are unchanged
        segment_factor = plan.loadings.segment_factors(_dot(eps, plan.loadings.cholesky))
        bound = np.empty((size, plan.n_buckets))
        loss_kernels.bound_probabilities(
            segment_factor, plan.bucket_segment, plan.bucket_a_high, plan.bucket_r_low, plan.bucket_r_high, bound
        )
        probabilities = bound
        if n_components:
            probabilities = bound.copy()
            log_ratio = np.empty((n_components, size))  # log q_j / p without the twisting's candidate term
            thetas = np.empty((n_components, size))
            twisted = np.empty_like(bound)
            psi = np.empty(size)
            for j in range(n_components):
                loss_kernels.twist(
                    bound, plan.bucket_size, plan.bucket_mean_loss, plan.targets[j], twisted, psi, thetas[j]
                )
                mu = plan.shifts[j]
                log_ratio[j] = _dot(eps, mu[None, :])[:, 0] - 0.5 * float(np.sum(mu * mu)) - psi
                chosen = component == j + 1
                probabilities[chosen] = twisted[chosen]
        candidate_loss = np.zeros(size)
        loss_kernels.scenario_losses(
            probabilities,
            bound,
            segment_factor,
            plan.bucket_start,
            plan.bucket_size,
            plan.bucket_segment,
            plan.bucket_exact,
            plan.bucket_mean_loss,
            plan.obligor_a,
            plan.obligor_r,
            plan.obligor_loss,
            plan.obligor_net_loss,
            seeds,
            factor,
            tail_factor is not None,
            sink,
            gross[block],
            retained[block],
            candidate_loss,
        )
        if n_components:
            terms = np.vstack(
                [
                    np.full(size, np.log(plan.mixture[0])),
                    np.log(plan.mixture[1:, None]) + log_ratio + thetas * candidate_loss,
                ]
            )
            log_weight[block] = -special.logsumexp(terms, axis=0)
        else:
            log_weight[block] = 0.0
    return ChunkLosses(gross=gross, retained=retained, log_weight=log_weight), contributions


def simulate_chunk(plan: SimulationPlan, chunk: int, n_scenarios: int) -> ChunkLosses:
    """The losses of scenarios of chunk `chunk` (a top-level function, so Dask can ship it)."""
    losses, _ = _run(plan, chunk, n_scenarios, None)
    return losses


def simulate_contributions(
    plan: SimulationPlan, chunk: int, n_scenarios: int, tail_factor: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Replays chunk `chunk` and adds tail_factor[s] × loss to each defaulter's contribution (bucket order)."""
    _, contributions = _run(plan, chunk, n_scenarios, tail_factor)
    assert contributions is not None
    return contributions


def conditional_expected_loss(
    plan: SimulationPlan,
    eps: NDArray[np.float64],
    bucket_a_mean: NDArray[np.float64],
    bucket_r_mean: NDArray[np.float64],
) -> NDArray[np.float64]:
    """E[L | factors] per row of independent factor draws, each bucket at its average PD and ρ."""
    y = plan.loadings.segment_factors(_dot(eps, plan.loadings.cholesky))[:, plan.bucket_segment]
    p = special.ndtr((bucket_a_mean - bucket_r_mean * y) / np.sqrt(1.0 - bucket_r_mean**2))
    return _dot(p, (plan.bucket_size * plan.bucket_mean_loss)[None, :])[:, 0]
