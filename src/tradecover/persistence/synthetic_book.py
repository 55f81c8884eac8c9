"""A synthetic buyer book written in bulk: for re-grading tests and the 1,000,000-buyer benchmark.

Buyers get Luhn-valid SIRENs, real NAF codes and one yearly statement whose
ratios follow a latent financial health, so grades spread over the scale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import Engine, Table, insert

from tradecover.domain.identifiers import generate_siren
from tradecover.ingest.reference_codes import naf_codes
from tradecover.persistence import tables as t

BUYERS: Table = t.BuyerRow.__table__  # type: ignore[assignment]
IDENTIFIERS: Table = t.BuyerIdentifierRow.__table__  # type: ignore[assignment]
STATEMENTS: Table = t.FinancialStatementRow.__table__  # type: ignore[assignment]


def seed_synthetic_buyers(
    engine: Engine,
    count: int,
    *,
    seed: int = 7,
    batch: int = 20_000,
    first_siren_body: int = 50_000_000,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Insert ``count`` buyers with statements; SIRENs start at ``first_siren_body`` (8-digit bodies)."""
    rng = np.random.default_rng(seed)
    codes = [c.code for c in naf_codes()]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    written = 0
    while written < count:
        n = min(batch, count - written)
        health = rng.normal(0.0, 1.0, n)
        assets = np.round(rng.lognormal(14.0, 1.5, n))
        liabilities = np.round(assets * np.clip(0.6 - 0.15 * health + rng.normal(0, 0.1, n), 0.05, 1.6))
        equity = assets - liabilities
        turnover = np.round(assets * np.clip(1.2 + 0.2 * health + rng.normal(0, 0.3, n), 0.05, None))
        ebit = np.round(assets * (0.04 + 0.04 * health + rng.normal(0, 0.02, n)))
        net_income = np.round(ebit * 0.7)
        current_assets = np.round(assets * np.clip(0.5 + rng.normal(0, 0.1, n), 0.05, 0.95))
        current_liabilities = np.round(liabilities * np.clip(0.6 + rng.normal(0, 0.1, n), 0.05, 1.0))
        working_capital = current_assets - current_liabilities
        retained = np.round(equity * np.clip(0.5 + 0.2 * health, -1.0, 0.95))
        naf = rng.integers(0, len(codes), n)
        buyers, identifiers, statements = [], [], []
        for i in range(n):
            buyer_id = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | (written + i)))
            siren = generate_siren(first_siren_body + written + i)
            buyers.append(
                {
                    "id": buyer_id,
                    "legal_name": f"Synthetic {siren}",
                    "search_name": f"SYNTHETIC {siren}",
                    "country": "FR",
                    "naf_code": codes[naf[i]],
                    "legal_form": "5710",
                    "legal_status": "active",
                    "parent_id": None,
                    "risk_grade": None,
                    "probability_of_default": None,
                    "graded_at": None,
                    "city": None,
                    "created_at": now,
                    "inputs_version": 1,
                    "graded_version": 0,
                }
            )
            identifiers.append({"kind": "siren", "value": siren, "buyer_id": buyer_id})
            statements.append(
                {
                    "buyer_id": buyer_id,
                    "fiscal_year_end": date(2025, 12, 31),
                    "version": 1,
                    "currency": "EUR",
                    "total_assets_minor": int(assets[i]) * 100,
                    "equity_minor": int(equity[i]) * 100,
                    "turnover_minor": int(turnover[i]) * 100,
                    "ebit_minor": int(ebit[i]) * 100,
                    "net_income_minor": int(net_income[i]) * 100,
                    "working_capital_minor": int(working_capital[i]) * 100,
                    "retained_earnings_minor": int(retained[i]) * 100,
                    "current_assets_minor": int(current_assets[i]) * 100,
                    "current_liabilities_minor": int(current_liabilities[i]) * 100,
                    "total_liabilities_minor": int(liabilities[i]) * 100,
                    "source": "synthetic",
                    "recorded_by": "synthetic book",
                    "recorded_at": now,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(BUYERS), buyers)
            connection.execute(insert(IDENTIFIERS), identifiers)
            connection.execute(insert(STATEMENTS), statements)
        written += n
        if on_progress is not None:
            on_progress(written, count)
    return written
