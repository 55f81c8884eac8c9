"""The analytic CreditRisk+ engine against QuantLib's reference values (Bürgisser et al., Risk 1999),
read from ../shared/data/external/credit_risk_reference with QuantLib's own tolerances."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tradecover.risk.creditriskplus import CreditRiskPlus

REFERENCE = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "external"
    / "credit_risk_reference"
    / "quantlib_creditriskplus_reference_values.json"
)
DATA = json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model() -> CreditRiskPlus:
    inputs = DATA["inputs"]
    exposures, pds, sectors = [], [], []
    for group in inputs["obligors"]:
        exposures += [group["exposure"]] * group["count"]
        pds += [group["pd"]] * group["count"]
        sectors += [group["sector"]] * group["count"]
    return CreditRiskPlus(
        inputs["relative_default_variance_per_sector"], inputs["sector_correlation_matrix"], inputs["loss_unit"]
    ).fit(exposures, pds, sectors)


def _value(model: CreditRiskPlus, quantity: str) -> float:
    if quantity.startswith("loss_quantile_"):
        return model.loss_quantile(float(quantity.removeprefix("loss_quantile_")))
    match = re.fullmatch(r"(?P<name>\w+?)(?:\[(?P<index>\d+)\])?", quantity)
    assert match is not None
    aliases = {"total_expected_loss": "expected_loss", "total_unexpected_loss": "unexpected_loss"}
    aliases["total_relative_default_variance"] = "relative_default_variance"
    name = aliases.get(match["name"], match["name"])
    value = getattr(model, f"{name}_")
    return float(value if match["index"] is None else value[int(match["index"])])


@pytest.mark.parametrize("expected", DATA["expected"], ids=lambda e: e["quantity"])
def test_quantlib_reference_values(model: CreditRiskPlus, expected: dict[str, object]) -> None:
    value = _value(model, str(expected["quantity"]))
    assert value == pytest.approx(expected["value"], abs=expected["abs_tol"])


def test_the_distribution_sums_to_one_and_its_mean_is_the_expected_loss(model: CreditRiskPlus) -> None:
    distribution = model.loss_distribution_
    losses = np.arange(distribution.size) * model.loss_unit
    assert distribution.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(losses @ distribution) == pytest.approx(model.expected_loss_, rel=1e-6)
    variance = float((losses - model.expected_loss_) ** 2 @ distribution)
    assert np.sqrt(variance) == pytest.approx(model.unexpected_loss_, rel=1e-3)


@pytest.mark.parametrize(
    ("exposures", "pds", "sectors", "message"),
    [
        ([1.0, -1.0], [0.01, 0.01], [0, 0], "row 1: exposure"),
        ([1.0, 1.0], [0.01, 1.5], [0, 0], "row 1: pd"),
        ([1.0, 1.0], [0.01, 0.01], [0, 3], "row 1: sector 3"),
    ],
)
def test_bad_rows_are_named(exposures: list[float], pds: list[float], sectors: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CreditRiskPlus([0.5]).fit(exposures, pds, sectors)


def test_a_correlation_matrix_that_is_not_positive_semi_definite_is_refused() -> None:
    bad = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
    with pytest.raises(ValueError, match="positive semi-definite"):
        CreditRiskPlus([0.5, 0.5, 0.5], bad).fit([1.0], [0.01], [0])
