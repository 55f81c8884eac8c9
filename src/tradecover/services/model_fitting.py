"""Fitting the grading model from the public default data, with its validation report.

Used by ``tradecover grading fit`` and by ``scripts/fit_default_model.py``,
which writes the model the product ships.
"""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tradecover.ingest.default_datasets import POLISH_MISSING_SENTINEL, read_altman_tsv, read_polish_arff
from tradecover.risk.grading import DEFAULT_SPLIT_SEED, GradingModel, altman_cross_check, fit_and_validate
from tradecover.risk.ratios import FEATURE_RISK_SIGNS, FEATURES, RATIOS, ratios_from_polish


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_artifact(
    polish_path: Path, altman_path: Path | None, *, seed: int = DEFAULT_SPLIT_SEED, test_size: float = 0.3
) -> dict[str, Any]:
    """Fit, validate and cross-check; return the artifact as a JSON-ready dict."""
    X, y, names = read_polish_arff(polish_path)
    ratios = ratios_from_polish(X, names)
    model, _ = fit_and_validate(
        ratios,
        y,
        test_size=test_size,
        seed=seed,
        feature_names=FEATURES,
        estimator=GradingModel(coef_signs=FEATURE_RISK_SIGNS),
    )
    if altman_path is not None:
        altman_X, altman_y, _ = read_altman_tsv(altman_path)
        altman = altman_cross_check(altman_X, altman_y, model)
        altman["file"] = altman_path.name
        altman["sha256"] = _sha256(altman_path)
        altman["source"] = "Simonoff, Analyzing Categorical Data (2003), via PMLB analcatdata_bankruptcy"
        model.validation_["altman"] = altman
    model.trained_on_.update(
        {
            "dataset": "Polish companies bankruptcy data, 1st year (UCI 365)",
            "citation": "Tomczak 2016, doi:10.24432/C5F600",
            "licence": "CC BY 4.0",
            "file": polish_path.name,
            "sha256": _sha256(polish_path),
            "rows_in_file": int(y.shape[0]),
            "defaults_in_file": int(y.sum()),
            "missing_sentinel": POLISH_MISSING_SENTINEL,
            "features_from": {r.name: r.polish_attribute for r in RATIOS},
            "caveat": (
                "class = bankrupt within the dataset's forecasting period (UCI: status after 5 years), "
                "on a sample of Polish firms 2000-2013; PDs are calibrated to that sample's default rate, "
                "not to a one-year default rate of our book"
            ),
        }
    )
    return model.to_json()
