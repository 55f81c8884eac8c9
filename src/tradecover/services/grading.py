"""Re-grading: score buyers in column batches, keep the history, alert on downgrades.

The job is restartable: each batch commits its grades, its alerts and the run's
cursor together, so a run killed at any point resumes where it stopped and ends
in the state an uninterrupted run reaches.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradecover.domain.buyers import INSOLVENCY_STATUSES, LegalStatus
from tradecover.domain.monitoring import Alert, AlertKind, is_significant_downgrade
from tradecover.domain.periods import Clock
from tradecover.risk.grading import GradingModel, load_default_model
from tradecover.risk.rating import combine
from tradecover.risk.ratios import ratios_from_statements
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.grading_ports import FloatArray, GradeBatchResult, GradingBatch, RunState, StrArray
from tradecover.services.ports import UnitOfWork
from tradecover.services.recording import INSURER_TENANT, new_id, record

# Insurer settings: sector and country risk multipliers on the odds of default.
SECTOR_FACTORS_BY_DIVISION: dict[range, float] = {
    range(41, 44): 1.35,  # construction
    range(55, 57): 1.30,  # accommodation and food service
    range(47, 48): 1.15,  # retail trade
    range(49, 54): 1.10,  # transport and storage
    range(68, 69): 1.10,  # real estate
    range(45, 47): 1.05,  # wholesale and motor trade
}
LEGAL_WEIGHT = 50.0
LOW_RISK_COUNTRIES = frozenset({"FR", "DE", "NL", "BE", "LU", "AT", "CH", "DK", "SE", "NO", "FI"})
MEDIUM_RISK_COUNTRIES = frozenset({"IT", "ES", "PT", "IE", "GB", "US", "CA", "JP", "AU", "NZ", "PL", "CZ"})


def sector_factor(naf_code: str | None) -> float:
    if not naf_code or not naf_code[:2].isdigit():
        return 1.0
    division = int(naf_code[:2])
    return next((f for span, f in SECTOR_FACTORS_BY_DIVISION.items() if division in span), 1.0)


def country_factor(country: str) -> float:
    if country in LOW_RISK_COUNTRIES:
        return 1.0
    return 1.1 if country in MEDIUM_RISK_COUNTRIES else 1.5


def _mapped(values: StrArray, mapping: Callable[[Any], float]) -> FloatArray:
    """Apply ``mapping`` once per distinct value (thousands of buyers share a few codes)."""
    distinct, inverse = np.unique(values, return_inverse=True)
    table = np.array([mapping(str(v) or None) for v in distinct], dtype=np.float64)
    result: FloatArray = table[inverse]
    return result


def score_batch(model: GradingModel, batch: GradingBatch) -> GradeBatchResult:
    """Vectorised grading of one batch: no Python loop per buyer in the arithmetic."""
    features = ratios_from_statements(batch.statements)
    financial_pd = model.predict_pd(features)
    status = batch.legal_status
    insolvent = np.isin(status, [s.value for s in INSOLVENCY_STATUSES])
    ceased = status == LegalStatus.CEASED.value
    has_statement = ~np.isnan(batch.statements["total_assets"])
    rated = combine(
        financial_pd,
        days_beyond_terms=batch.days_beyond_terms,
        overdue_notifications=batch.overdue_notifications,
        insolvent=insolvent,
        ceased=ceased,
        sector_factor=_mapped(batch.naf_code, sector_factor),
        country_factor=_mapped(batch.country, country_factor),
    )
    # The financial factor is split into the population baseline and each ratio's share, so that a
    # grade's reasons say which ratio weighed; a legal event decides the grade outright (+inf), kept
    # in JSON as a large finite weight.
    ratio_parts = model.log_odds_contributions(features)
    baseline = rated.factor("financial") - ratio_parts.sum(axis=1)
    others = [j for j, name in enumerate(rated.factor_names) if name != "financial"]
    names = ["baseline", *(f"ratio:{name}" for name in model.feature_names_), *(rated.factor_names[j] for j in others)]
    columns = np.column_stack([baseline, ratio_parts, rated.factors[:, others]])
    # float32 halves what travels back from Dask workers; 4 decimals of log-odds are kept.
    columns = np.round(np.clip(columns, -LEGAL_WEIGHT, LEGAL_WEIGHT), 4).astype(np.float32)
    columns[~has_statement, 1 : 1 + ratio_parts.shape[1]] = 0.0  # imputed medians explain nothing
    return GradeBatchResult(
        buyer_ids=list(batch.buyer_ids),
        grade=rated.grade.astype(np.int64),
        pd=rated.pd.astype(np.float64),
        factor_names=names,
        factor_values=columns,
        has_statement=has_statement,
        inputs_version=batch.inputs_version,
        previous_grade=batch.previous_grade,
    )


Scorer = Callable[[GradingModel, GradingBatch], GradeBatchResult]


def dask_scorer(client: Any, partitions: int = 4) -> Scorer:
    """Score each batch's partitions on a Dask cluster; results equal the single-process ones."""

    def score(model: GradingModel, batch: GradingBatch) -> GradeBatchResult:
        n = len(batch)
        bounds = np.linspace(0, n, min(partitions, n) + 1, dtype=int)
        # Buyer ids stay here: workers need only the numeric and coded columns.
        parts = [_slice(batch, int(a), int(b), with_ids=False) for a, b in itertools.pairwise(bounds) if b > a]
        # Hold the scattered data until the results are back, or the scheduler may drop it.
        shared_model = client.scatter(model, broadcast=True, hash=False)
        scattered = client.scatter(parts, hash=False)
        futures = client.map(score_batch, [shared_model] * len(parts), scattered)
        results: list[GradeBatchResult] = client.gather(futures)
        del scattered, shared_model
        return GradeBatchResult(
            buyer_ids=list(batch.buyer_ids),
            grade=np.concatenate([r.grade for r in results]),
            pd=np.concatenate([r.pd for r in results]),
            factor_names=results[0].factor_names,
            factor_values=np.concatenate([r.factor_values for r in results]),
            has_statement=np.concatenate([r.has_statement for r in results]),
            inputs_version=batch.inputs_version,
            previous_grade=batch.previous_grade,
        )

    return score


def _slice(batch: GradingBatch, a: int, b: int, *, with_ids: bool = True) -> GradingBatch:
    return GradingBatch(
        buyer_ids=batch.buyer_ids[a:b] if with_ids else [],
        inputs_version=batch.inputs_version[a:b],
        previous_grade=batch.previous_grade[a:b],
        legal_status=batch.legal_status[a:b],
        naf_code=batch.naf_code[a:b],
        country=batch.country[a:b],
        statements={k: v[a:b] for k, v in batch.statements.items()},
        days_beyond_terms=batch.days_beyond_terms[a:b],
        overdue_notifications=batch.overdue_notifications[a:b],
    )


@dataclass
class RegradeSummary:
    run_id: str
    mode: str
    resumed: bool
    model_version: str
    graded: int
    changed: int
    downgrades: int
    alerts: int


def model_version(model: GradingModel) -> str:
    """A short digest of the learned state: two runs with the same model share it."""
    state = json.dumps(model.to_json()["state"], sort_keys=True)
    return f"grading-v1-{hashlib.sha256(state.encode()).hexdigest()[:12]}"


def regrade(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Actor,
    *,
    everything: bool = False,
    model: GradingModel | None = None,
    batch_size: int = 20_000,
    scorer: Scorer = score_batch,
    on_progress: Callable[[int, int], None] | None = None,
    stop_after_batches: int | None = None,
    pause_seconds: float = 0.0,
) -> RegradeSummary:
    """Re-grade the buyers whose inputs changed (all of them with ``everything``).

    ``pause_seconds`` between batches leaves the database to other users (on SQLite, a writer
    committing back to back keeps readers waiting).
    """
    require(actor, Permission.GRADING_RUN)
    model = model or load_default_model()
    version = model_version(model)
    with uow_factory() as uow:
        run = uow.grading.open_run(
            mode="all" if everything else "changed", model_version=version, run_id=new_id(), now=clock.now()
        )
        total = run.processed + uow.grading.count_to_grade(run)
        uow.commit()
    downgrades = alerts = batches = 0
    while True:
        with uow_factory() as uow:
            batch = uow.grading.next_batch(run, batch_size)
            if batch is None:
                uow.grading.finish_run(run, clock.now())
                record(
                    uow,
                    clock,
                    actor,
                    tenant=INSURER_TENANT,
                    action="grading.run_completed",
                    object_type="job_run",
                    object_id=run.id,
                    summary={
                        "mode": run.mode,
                        "graded": run.processed,
                        "changed": run.changed,
                        "model_version": run.model_version,
                        "resumed": run.resumed,
                    },
                )
                uow.commit()
                break
            result = scorer(model, batch)
            raised, found = _downgrade_alerts(uow, clock, run, batch, result)
            downgrades += found
            alerts += raised
            run = uow.grading.write_batch(run, result, clock.now())
            uow.commit()
        batches += 1
        if on_progress is not None:
            on_progress(run.processed, max(total, run.processed))
        if stop_after_batches is not None and batches >= stop_after_batches:
            break
        if pause_seconds > 0:
            time.sleep(pause_seconds)
    return RegradeSummary(
        run.id, run.mode, run.resumed, run.model_version, run.processed, run.changed, downgrades, alerts
    )


def _downgrade_alerts(
    uow: UnitOfWork, clock: Clock, run: RunState, batch: GradingBatch, result: GradeBatchResult
) -> tuple[int, int]:
    previous = result.previous_grade.tolist()
    grades = result.grade.tolist()
    downgraded = [i for i in range(len(grades)) if is_significant_downgrade(previous[i] or None, grades[i])]
    if not downgraded:
        return 0, 0
    books = uow.grading.book_organisations([result.buyer_ids[i] for i in downgraded])
    insurer = uow.organisations.insurer()
    raised = 0
    for i in downgraded:
        buyer_id = result.buyer_ids[i]
        text = f"Buyer downgraded from grade {previous[i]} to {grades[i]}."
        targets = [(o, AlertKind.BUYER_DOWNGRADED, text) for o in books.get(buyer_id, [])]
        if insurer is not None:
            targets.append((insurer.id, AlertKind.LIMIT_REVIEW_PROPOSED, f"{text} Review its credit limits."))
        for organisation_id, kind, message in targets:
            alert = Alert(
                new_id(),
                organisation_id,
                kind,
                buyer_id,
                message,
                f"{kind.value}:{run.id}:{buyer_id}:{organisation_id}",
                clock.now(),
            )
            raised += int(uow.monitoring.raise_alert(alert))
    return raised, len(downgraded)
