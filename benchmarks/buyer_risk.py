"""Buyer-risk benchmark: scoring rate, full re-grade on SQLite and PostgreSQL, Dask vs single process.

    python -m benchmarks.buyer_risk [--buyers 1000000] [--postgres URL] [--skip-sqlite]

Generates the synthetic book (valid SIRENs, real NAF codes, one statement per
buyer), then prints:
- scoring rows/s on one process (ratios → financial PD → final grade), against
  the target of 1,000,000 rows/s per core;
- the end-to-end ``regrade --all`` time on SQLite and, with ``--postgres`` (or
  TRADECOVER_TEST_DATABASE_URL), on PostgreSQL, against the 5-minute target;
- the scoring pass on a Dask LocalCluster (2 workers) as a ratio to the single
  process, against the 1.3× target.
Nothing is asserted: figures and ratios only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import text

from tradecover.bootstrap import build
from tradecover.config import Environment, Settings
from tradecover.domain.financials import STATEMENT_FIELDS
from tradecover.persistence.engine import make_engine
from tradecover.persistence.migrate import upgrade
from tradecover.persistence.synthetic_book import seed_synthetic_buyers
from tradecover.risk.grading import load_default_model
from tradecover.services import accounts, grading
from tradecover.services.authorization import system_actor
from tradecover.services.grading_ports import GradingBatch


def synthetic_batch(n: int, seed: int = 1) -> GradingBatch:
    rng = np.random.default_rng(seed)
    assets = rng.lognormal(14, 1.5, n)
    columns = {name: assets * rng.normal(0.3, 0.3, n) for name in STATEMENT_FIELDS}
    columns["total_assets"] = assets
    columns["equity"][rng.random(n) < 0.05] = np.nan
    return GradingBatch(
        buyer_ids=[str(i) for i in range(n)],
        inputs_version=np.ones(n, dtype=np.int64),
        previous_grade=np.zeros(n, dtype=np.int64),
        legal_status=np.full(n, "active"),
        naf_code=np.array(["46.69B", "41.20A", "56.10A", "25.11Z"])[np.arange(n) % 4],
        country=np.full(n, "FR"),
        statements=columns,
        days_beyond_terms=np.full(n, np.nan),
        overdue_notifications=np.zeros(n),
    )


def bench_scoring(n: int) -> float:
    model = load_default_model()
    batch = synthetic_batch(n)
    from tradecover.risk.rating import combine
    from tradecover.risk.ratios import ratios_from_statements

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        features = ratios_from_statements(batch.statements)
        pd = model.predict_pd(features)
        combine(pd, days_beyond_terms=batch.days_beyond_terms, overdue_notifications=batch.overdue_notifications)
        best = min(best, time.perf_counter() - start)
    rate = n / best
    print(
        f"scoring (ratios + PD + grade), 1 process: {n:,} rows in {best:.3f} s = {rate:,.0f} rows/s "
        f"(target 1,000,000 rows/s per core: ratio {rate / 1_000_000:.1f}x)"
    )
    start = time.perf_counter()
    grading.score_batch(model, batch)
    full = time.perf_counter() - start
    print(f"full score_batch with per-buyer reasons: {n / full:,.0f} rows/s")
    return full


def bench_dask(n: int, single: float) -> None:
    from distributed import Client, LocalCluster

    model = load_default_model()
    batch = synthetic_batch(n)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        scorer = grading.dask_scorer(client, partitions=2)
        scorer(model, synthetic_batch(1000))  # warm the workers
        start = time.perf_counter()
        result = scorer(model, batch)
        elapsed = time.perf_counter() - start
    reference = grading.score_batch(model, batch)
    same = np.array_equal(result.grade, reference.grade) and np.allclose(result.pd, reference.pd, rtol=0, atol=0)
    print(
        f"Dask LocalCluster (2 workers) score_batch: {elapsed:.2f} s vs single process {single:.2f} s = "
        f"ratio {elapsed / single:.2f}x (target <= 1.3x); identical results: {same}"
    )


def bench_regrade(url: str, n: int, label: str) -> None:
    container = build(Settings(database_url=url, environment=Environment.TEST))
    upgrade(container.engine)
    start = time.perf_counter()
    seed_synthetic_buyers(container.engine, n, batch=20_000)
    seeded = time.perf_counter() - start
    with container.uow() as uow:
        actor = system_actor(accounts.ensure_insurer(uow, container.clock).id)
    start = time.perf_counter()
    summary = grading.regrade(container.uow, container.clock, actor, everything=True, batch_size=20_000)
    elapsed = time.perf_counter() - start
    print(
        f"{label}: seeded {n:,} buyers in {seeded:.0f} s; regrade --all of {summary.graded:,} buyers in "
        f"{elapsed:.1f} s = {summary.graded / elapsed:,.0f} buyers/s (target: 1,000,000 in <= 300 s, "
        f"ratio {elapsed / 300 * 1_000_000 / max(n, 1):.2f} of the budget at 1M)"
    )
    container.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("TRADECOVER_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    single = bench_scoring(args.buyers)
    if not args.skip_dask:
        bench_dask(args.buyers, single)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            bench_regrade(f"sqlite:///{Path(folder) / 'bench.db'}", args.buyers, "SQLite")
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in args.postgres else "?"
            bench_regrade(f"{args.postgres}{separator}options=-csearch_path%3D{schema}", args.buyers, "PostgreSQL")
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
