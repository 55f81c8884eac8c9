"""The ASRF closed forms against numbers nobody here made: the Basel II Annex 5 and Basel III CRE99
illustrative IRB risk weights (every transcribed cell, to 0.01 percentage points), and Vasicek's
large-homogeneous-portfolio quantile against its defining property."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tradecover.risk.asrf import Exposure, irb_capital, irb_risk_weight, vasicek_quantile

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external" / "credit_risk_reference"
TABLES = (
    "bcbs_basel2_annex5_illustrative_irb_risk_weights.csv",
    "basel3_cre99_illustrative_irb_risk_weights_sama.csv",
)
CLASSES: dict[str, Exposure] = {
    "corporate": "corporate",
    "res_mortgage": "residential_mortgage",
    "other_retail": "other_retail",
    "qrre": "qualifying_revolving_retail",
}
COLUMN = re.compile(r"^(?P<kind>corporate|res_mortgage|other_retail|qrre)_lgd(?P<lgd>\d+)(?:_S(?P<size>\d+))?$")


def _cells() -> list[tuple[str, float, str, float]]:
    cells = []
    for name in TABLES:
        with (REFERENCE / name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
        for row in rows:
            for column, value in row.items():
                if column == "pd_pct" or not value:
                    continue
                cells.append((name, float(row["pd_pct"]) / 100, column, float(value)))
    return cells


CELLS = _cells()


def test_every_transcribed_cell_is_read() -> None:
    # 8 columns: Basel II 8 rows (0.03 %–1.00 %) + the 3.00 % row's first 4; Basel III 8 rows.
    assert len(CELLS) >= 120


@pytest.mark.parametrize(("table", "pd", "column", "published"), CELLS, ids=lambda v: str(v))
def test_the_irb_formula_reproduces_the_published_risk_weight(
    table: str, pd: float, column: str, published: float
) -> None:
    match = COLUMN.match(column)
    assert match is not None, column
    exposure = CLASSES[match["kind"]]
    turnover = None if match["size"] is None else float(match["size"])
    weight = irb_risk_weight(pd, int(match["lgd"]) / 100, exposure, turnover_m=turnover)
    assert float(weight) * 100 == pytest.approx(published, abs=0.01), (table, pd, column)


def test_the_vasicek_quantile_is_the_q_quantile_of_the_conditional_default_rate() -> None:
    # P(L ≤ L_q) = q, where L = Φ((Φ⁻¹(PD) − √ρ Z) / √(1 − ρ)) is decreasing in the factor Z.
    pd, rho = 0.02, 0.12
    for q in (0.5, 0.99, 0.999):
        threshold = float(vasicek_quantile(pd, rho, q))
        z = (stats.norm.ppf(pd) - np.sqrt(1 - rho) * stats.norm.ppf(threshold)) / np.sqrt(rho)
        assert 1 - stats.norm.cdf(z) == pytest.approx(q, rel=1e-9)


def test_capital_is_the_unexpected_loss_of_the_large_portfolio() -> None:
    # Residential mortgages have no maturity adjustment: K = LGD × (L_0.999 − PD) exactly.
    k = irb_capital(0.01, 0.45, "residential_mortgage")
    assert float(k) == pytest.approx(0.45 * (float(vasicek_quantile(0.01, 0.15, 0.999)) - 0.01), rel=1e-12)


@pytest.mark.parametrize(("pd", "lgd"), [(0.0, 0.45), (1.0, 0.45), (-0.1, 0.45), (0.01, 1.2), (np.nan, 0.45)])
def test_out_of_range_inputs_are_refused(pd: float, lgd: float) -> None:
    with pytest.raises(ValueError, match="must lie in"):
        irb_capital(pd, lgd, "corporate")
