"""The financial grading model: fitting, scoring, explanation, artifact, validation metrics."""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.
# ruff: noqa: N806

from __future__ import annotations

import doctest
import itertools
import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import tradecover.ingest.default_datasets
import tradecover.risk.grading
import tradecover.risk.rating
import tradecover.risk.ratios
from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, GRADES, GradeScale
from tradecover.ingest.default_datasets import read_altman_tsv, read_polish_arff
from tradecover.risk.grading import (
    MODEL_FORMAT,
    ConvergenceWarning,
    GradingModel,
    NotFittedError,
    _split_digest,
    altman_cross_check,
    altman_z,
    auc,
    evaluate,
    fit_and_validate,
    grades_of_pd,
    load_default_model,
    stratified_split,
)
from tradecover.risk.ratios import (
    FEATURE_RISK_SIGNS,
    FEATURES,
    STATEMENT_FIELDS,
    ratios_from_polish,
    ratios_from_statements,
    safe_ratio,
)

DATA = Path(__file__).parents[3] / ".." / "shared" / "data" / "external" / "default_datasets"
POLISH = DATA / "polish_bankruptcy_1year.arff.gz"
ALTMAN = DATA / "analcatdata_bankruptcy_altman_ratios.tsv"
needs_polish = pytest.mark.skipif(not POLISH.exists(), reason=f"Polish bankruptcy data not found at {POLISH}")
needs_altman = pytest.mark.skipif(not ALTMAN.exists(), reason=f"Altman 50-firm data not found at {ALTMAN}")

TRUE_INTERCEPT = -2.0
TRUE_COEF = np.array([1.0, -0.5, 0.0])


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal features and outcomes drawn from a known logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, TRUE_COEF.size))
    y = (rng.random(n) < special.expit(TRUE_INTERCEPT + X @ TRUE_COEF)).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> GradingModel:
    X, y = synthetic(5_000, seed=11)
    X[::17, 1] = np.nan
    return GradingModel().fit(X, y, feature_names=["a", "b", "c"])


def brute_force_auc(score: np.ndarray, y: np.ndarray) -> float:
    pairs = [(p, q) for p, q in itertools.product(score[y == 1], score[y == 0])]
    return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in pairs) / len(pairs)


# -- fitting --------------------------------------------------------------------


def test_fit_recovers_known_coefficients() -> None:
    # 200,000 rows: each coefficient's standard error is about 0.006, so a
    # tolerance of 0.03 (5 standard errors) fails only if the fit is wrong.
    X, y = synthetic(200_000, seed=7)
    model = GradingModel(l2=1.0, clip_quantiles=(0.0, 1.0)).fit(X, y)
    raw_coef = model.coef_ / model.scale_
    raw_intercept = model.intercept_ - float(raw_coef @ model.mean_)
    np.testing.assert_allclose(raw_coef, TRUE_COEF, atol=0.03)
    assert raw_intercept == pytest.approx(TRUE_INTERCEPT, abs=0.03)
    assert model.feature_names_ == ("x0", "x1", "x2")
    assert model.n_features_in_ == 3


def test_fit_returns_self_and_learns_state(fitted: GradingModel) -> None:
    X, y = synthetic(500, seed=1)
    model = GradingModel()
    assert model.fit(X, y) is model
    for name in ("medians_", "lower_", "upper_", "mean_", "scale_", "coef_"):
        assert getattr(fitted, name).shape == (3,)
    assert (fitted.lower_ <= fitted.medians_).all()
    assert (fitted.medians_ <= fitted.upper_).all()
    assert (fitted.scale_ > 0).all()
    assert fitted.trained_on_["n"] == 5_000


def test_params_only_in_init() -> None:
    model = GradingModel(l2=2.0, clip_quantiles=(0.05, 0.95), max_iter=50)
    assert model.get_params() == {
        "l2": 2.0,
        "clip_quantiles": (0.05, 0.95),
        "max_iter": 50,
        "coef_signs": None,
    }
    assert not hasattr(model, "coef_")
    assert "l2=2.0" in repr(model)


def test_sign_constraints_are_respected() -> None:
    X, y = synthetic(5_000, seed=3)
    # x0 truly raises the PD; forbid that: its coefficient must stop at 0.
    model = GradingModel(coef_signs=(-1, 0, 1)).fit(X, y)
    assert model.coef_[0] == 0.0
    assert model.coef_[2] >= 0.0
    assert model.coef_[1] < 0  # free, and truly negative


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"l2": -1.0}, "l2"),
        ({"clip_quantiles": (0.9, 0.1)}, "clip_quantiles"),
        ({"max_iter": 0}, "max_iter"),
        ({"coef_signs": (1, 2, 0)}, "coef_signs"),
        ({"coef_signs": (1,)}, "coef_signs"),
    ],
)
def test_bad_params_are_refused_at_fit(params: dict[str, object], field: str) -> None:
    X, y = synthetic(200, seed=1)
    with pytest.raises(InvalidInput) as caught:
        GradingModel(**params).fit(X, y)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_bad_training_data_is_refused() -> None:
    X, y = synthetic(200, seed=1)
    with pytest.raises(InvalidInput, match="both"):
        GradingModel().fit(X, np.zeros(200))
    with pytest.raises(InvalidInput, match=r"0 .* and 1"):
        GradingModel().fit(X, np.full(200, 2))
    with pytest.raises(InvalidInput, match="rows"):
        GradingModel().fit(X, y[:-1])
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InvalidInput, match="infinite"):
        GradingModel().fit(bad, y)
    bad[:, 0] = np.nan
    with pytest.raises(InvalidInput, match="never observed"):
        GradingModel().fit(bad, y)
    with pytest.raises(InvalidInput, match="distinct"):
        GradingModel().fit(X, y, feature_names=["a", "a", "b"])


def test_a_short_iteration_budget_warns() -> None:
    X, y = synthetic(2_000, seed=1)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GradingModel(max_iter=1).fit(X, y)


def test_a_constant_feature_gets_no_weight() -> None:
    X, y = synthetic(2_000, seed=1)
    X[:, 2] = 4.0
    model = GradingModel().fit(X, y)
    assert model.scale_[2] == 1.0
    assert model.coef_[2] == 0.0
    assert np.isfinite(model.predict_pd(X)).all()


def test_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        GradingModel().predict_pd(np.zeros((1, 3)))
    with pytest.raises(NotFittedError):
        GradingModel().to_json()


# -- scoring and explanation ---------------------------------------------------


def test_predict_pd_is_monotone_in_a_feature_with_positive_coefficient(fitted: GradingModel) -> None:
    assert fitted.coef_[0] > 0
    grid = np.zeros((200, 3))
    grid[:, 0] = np.linspace(-6, 6, 200)
    pd = fitted.predict_pd(grid)
    assert (np.diff(pd) >= 0).all()
    # strictly increasing inside the clipping bounds, flat outside them
    inside = (grid[:, 0] > fitted.lower_[0]) & (grid[:, 0] < fitted.upper_[0])
    assert (np.diff(pd[inside]) > 0).all()
    assert pd[0] == pd[1]
    assert ((pd > 0) & (pd < 1)).all()


_SHARED_MODEL = GradingModel().fit(*synthetic(3_000, seed=5))


@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(-3, 3), st.floats(-3, 3))
@settings(max_examples=50, deadline=None)
def test_predict_pd_monotone_property(a: float, b: float, other1: float, other2: float) -> None:
    assert _SHARED_MODEL.coef_[0] > 0
    low, high = sorted((a, b))
    rows = np.array([[low, other1, other2], [high, other1, other2]])
    pd = _SHARED_MODEL.predict_pd(rows)
    assert pd[0] <= pd[1]


def test_nan_is_imputed_with_the_median(fitted: GradingModel) -> None:
    rows = np.array([[0.3, np.nan, -1.0], [0.3, fitted.medians_[1], -1.0], [np.nan, np.nan, np.nan]])
    pd = fitted.predict_pd(rows)
    assert pd[0] == pd[1]
    assert np.isfinite(pd).all()
    contributions = fitted.log_odds_contributions(rows[2:])
    expected = fitted.coef_ * (fitted.medians_ - fitted.mean_) / fitted.scale_
    np.testing.assert_allclose(contributions[0], expected)


def test_extreme_values_are_clipped(fitted: GradingModel) -> None:
    rows = np.array([[1e300, 0.0, 0.0], [fitted.upper_[0], 0.0, 0.0], [np.inf, 0.0, 0.0]])
    pd = fitted.predict_pd(rows)
    assert pd[0] == pd[1] == pd[2]


def test_contributions_sum_to_the_log_odds(fitted: GradingModel) -> None:
    X, _ = synthetic(1_000, seed=9)
    X[::7, 0] = np.nan
    contributions = fitted.log_odds_contributions(X)
    assert contributions.shape == (1_000, 3)
    log_odds = fitted.log_odds(X)
    np.testing.assert_allclose(fitted.intercept_ + contributions.sum(axis=1), log_odds, rtol=0, atol=1e-12)
    np.testing.assert_allclose(special.expit(log_odds), fitted.predict_pd(X), rtol=1e-15)
    # at the population mean every contribution is zero and the log-odds is the intercept
    at_mean = fitted.mean_[np.newaxis, :]
    np.testing.assert_allclose(fitted.log_odds_contributions(at_mean), 0.0, atol=1e-12)
    assert fitted.log_odds(at_mean)[0] == pytest.approx(fitted.intercept_, abs=1e-12)


def test_wrong_number_of_columns_is_refused(fitted: GradingModel) -> None:
    with pytest.raises(InvalidInput, match="expects 3"):
        fitted.predict_pd(np.zeros((2, 4)))
    with pytest.raises(InvalidInput, match="2-D"):
        fitted.predict_pd(np.zeros(3))


# -- artifact --------------------------------------------------------------------


def test_json_round_trip_gives_identical_predictions(fitted: GradingModel) -> None:
    fitted.validation_ = {"note": "kept"}
    artifact = fitted.to_json()
    assert artifact["format"] == MODEL_FORMAT
    assert artifact["version"] == 1
    assert artifact["features"] == ["a", "b", "c"]
    assert set(artifact) == {"format", "version", "features", "params", "state", "validation", "trained_on"}
    text = json.dumps(artifact, allow_nan=False)
    restored = GradingModel.from_json(json.loads(text))
    X, _ = synthetic(2_000, seed=4)
    X[::3, 2] = np.nan
    assert np.array_equal(restored.predict_pd(X), fitted.predict_pd(X))
    assert np.array_equal(restored.log_odds_contributions(X), fitted.log_odds_contributions(X))
    assert restored.get_params() == {**fitted.get_params(), "clip_quantiles": (0.01, 0.99)}
    assert restored.validation_ == {"note": "kept"}
    assert restored.to_json() == artifact


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.update(format="pickle"),
        lambda a: a.update(version=2),
        lambda a: a.pop("state"),
        lambda a: a["state"]["per_feature"].pop("a"),
        lambda a: a["state"]["per_feature"]["a"].update(scale=0.0),
        lambda a: a["state"]["per_feature"]["a"].update(coef="x"),
        lambda a: a["state"].update(intercept=float("nan")),
    ],
)
def test_from_json_refuses_a_damaged_artifact(fitted: GradingModel, damage: object) -> None:
    artifact = json.loads(json.dumps(fitted.to_json()))
    damage(artifact)  # type: ignore[operator]
    with pytest.raises(InvalidInput) as caught:
        GradingModel.from_json(artifact)
    assert caught.value.code == "risk.bad_model_artifact"


def test_the_shipped_default_model_loads() -> None:
    model = load_default_model()
    assert model.feature_names_ == FEATURES
    assert model.get_params()["coef_signs"] == list(FEATURE_RISK_SIGNS)
    signs = np.sign(model.coef_)
    assert ((signs == 0) | (signs == np.array(FEATURE_RISK_SIGNS))).all()
    validation = model.validation_
    held_out = validation["held_out"]
    assert held_out["auc"] >= 0.70
    assert held_out["gini"] == pytest.approx(2 * held_out["auc"] - 1)
    assert 0 < held_out["brier"] < held_out["default_rate"]  # better than no model at all
    assert [row["grade"] for row in held_out["calibration"]] == list(GRADES)
    assert sum(row["count"] for row in held_out["calibration"]) == held_out["n"]
    altman = validation["altman"]
    assert altman["n"] == 50
    for key in ("auc_altman_z", "auc_altman_z_prime", "auc_model"):
        assert 0.5 < altman[key] <= 1
    assert model.trained_on_["rows_in_file"] == 7_027


@needs_polish
def test_the_shipped_model_reaches_auc_070_on_the_held_out_polish_data() -> None:
    model = load_default_model()
    X, y, names = read_polish_arff(POLISH)
    ratios = ratios_from_polish(X, names)
    validation = model.validation_
    train, test = stratified_split(y, test_size=validation["test_size"], seed=validation["seed"])
    report = evaluate(model.predict_pd(ratios[test]), y[test])
    assert report["auc"] >= 0.70
    assert report["n"] == validation["held_out"]["n"]
    if _split_digest(test) == validation["split_digest"]:  # same split: same figures
        assert report["auc"] == pytest.approx(validation["held_out"]["auc"], abs=1e-12)
        assert report["brier"] == pytest.approx(validation["held_out"]["brier"], abs=1e-12)
    assert len(train) + len(test) == y.shape[0]


# -- grades ----------------------------------------------------------------------

_BOUND_NEIGHBOURS = [
    float(np.nextafter(float(bound), direction))
    for bound in DEFAULT_GRADE_SCALE.band_upper_bounds()
    for direction in (-np.inf, np.inf)
] + [float(bound) for bound in DEFAULT_GRADE_SCALE.band_upper_bounds()]


@given(st.one_of(st.floats(0, 1), st.sampled_from(_BOUND_NEIGHBOURS), st.sampled_from([0.0, 1.0, 5e-324])))
@settings(max_examples=500, deadline=None)
def test_grades_of_pd_agrees_with_the_domain_scale(pd: float) -> None:
    assert grades_of_pd(np.array([pd]))[0] == DEFAULT_GRADE_SCALE.grade_of_pd(Decimal(pd))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_grades_of_pd_agrees_on_another_scale(pds: list[float]) -> None:
    scale = GradeScale({g: Decimal(g) / 10 for g in GRADES})
    expected = [scale.grade_of_pd(Decimal(p)) for p in pds]
    assert grades_of_pd(pds, scale).tolist() == expected


def test_grades_of_pd_examples_and_bad_input() -> None:
    grades = grades_of_pd([0.0, 0.0003, 0.0200, 0.15, 1.0])
    assert grades.tolist() == [1, 1, 7, 9, 10]
    assert grades.dtype == np.int64
    for pd in (float("nan"), -0.1, 1.5):
        with pytest.raises(InvalidInput) as caught:
            grades_of_pd([pd])
        assert caught.value.code == "grade.invalid_pd"


# -- validation metrics ------------------------------------------------------------


def test_auc_by_hand() -> None:
    # defaulters score 0.35 and 0.8, survivors 0.1 and 0.4: of the four
    # (defaulter, survivor) pairs, three are ordered correctly.
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # a tie between a defaulter and a survivor counts one half: (½ + 1 + 1 + 1) / 4
    assert auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == 0.875
    assert auc([0.3, 0.3, 0.3], [0, 1, 0]) == 0.5
    assert np.isnan(auc([0.1, 0.2], [0, 0]))


@given(st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.9]), st.integers(0, 1)), min_size=2, max_size=40))
@settings(max_examples=100, deadline=None)
def test_auc_matches_pair_counting(rows: list[tuple[float, int]]) -> None:
    score = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    if y.min() == y.max():
        return
    assert auc(score, y) == pytest.approx(brute_force_auc(score, y), abs=1e-12)


def test_evaluate_by_hand() -> None:
    pd = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0, 0, 1, 1])
    report = evaluate(pd, y)
    assert report["n"] == 4
    assert report["defaults"] == 2
    assert report["auc"] == 0.75
    assert report["gini"] == 0.5
    # ((0.1)² + (0.4)² + (0.65)² + (0.2)²) / 4
    assert report["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    calibration = {row["grade"]: row for row in report["calibration"]}
    # grade 9's band is (0.0866, 0.387]: 0.1 and 0.35; grade 10 takes 0.4 and 0.8
    assert calibration[9]["count"] == 2
    assert calibration[9]["mean_pd"] == pytest.approx(0.225)
    assert calibration[9]["default_rate"] == 0.5
    assert calibration[10]["count"] == 2
    assert calibration[10]["mean_pd"] == pytest.approx(0.6)
    assert calibration[1]["count"] == 0
    assert calibration[1]["mean_pd"] is None
    json.dumps(report, allow_nan=False)


def test_stratified_split_is_deterministic_disjoint_and_stratified() -> None:
    y = np.array([1] * 40 + [0] * 960)
    train, test = stratified_split(y, test_size=0.25, seed=5)
    again = stratified_split(y, test_size=0.25, seed=5)
    assert np.array_equal(test, again[1])
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.union1d(train, test), np.arange(1000))
    assert y[test].sum() == 10
    assert test.size == 250
    assert not np.array_equal(test, stratified_split(y, test_size=0.25, seed=6)[1])


def test_fit_and_validate_reports_held_out_and_train() -> None:
    X, y = synthetic(4_000, seed=2)
    model, report = fit_and_validate(X, y, test_size=0.3, seed=1, feature_names=["a", "b", "c"])
    assert report["held_out"]["n"] == 1_200
    assert report["train"]["n"] == 2_800
    assert report["held_out"]["auc"] > 0.7
    assert model.validation_ == json.loads(json.dumps(report))
    assert model.trained_on_["n"] == 2_800  # fitted on the training part only
    assert model.to_json()["validation"]["held_out"]["auc"] == report["held_out"]["auc"]


# -- Altman ---------------------------------------------------------------------------


def test_altman_z_by_hand() -> None:
    # 1.2·0.1 + 1.4·0.2 + 3.3·0.1 + 0.6·1.0 + 1.0·1.5 = 2.83
    assert altman_z(0.1, 0.2, 0.1, 1.0, 1.5)[0] == pytest.approx(2.83)
    # Z′: 0.717·0.1 + 0.847·0.2 + 3.107·0.1 + 0.420·1.0 + 0.998·1.5
    assert altman_z(0.1, 0.2, 0.1, 1.0, 1.5, private=True)[0] == pytest.approx(0.0717 + 0.1694 + 0.3107 + 0.42 + 1.497)
    assert altman_z([0.0, 0.1], 0.0, 0.0, 0.0, 0.0).tolist() == pytest.approx([0.0, 0.12])


@needs_altman
def test_altman_cross_check_on_the_50_us_firms() -> None:
    X, y, _ = read_altman_tsv(ALTMAN)
    report = altman_cross_check(X, y, load_default_model())
    assert report["n"] == 50
    assert report["defaults"] == 25
    assert report["auc_altman_z"] > 0.85  # Altman's Z separates these firms well
    assert report["auc_model"] > 0.8
    assert report["features_mapped"] == [
        "working_capital_to_assets",
        "retained_earnings_to_assets",
        "ebit_to_assets",
        "turnover_to_assets",
    ]
    assert sum(zone["n"] for zone in report["zones_altman_z"].values()) == 50
    stored = load_default_model().validation_["altman"]
    assert stored["auc_altman_z"] == report["auc_altman_z"]
    assert stored["auc_model"] == pytest.approx(report["auc_model"])


# -- ratios ----------------------------------------------------------------------------


def test_safe_ratio_gives_nan_for_non_positive_denominators() -> None:
    out = safe_ratio([1.0, 1.0, 1.0, np.nan, 3.0], [4.0, 0.0, -2.0, 1.0, np.nan])
    assert out[0] == 0.25
    assert np.isnan(out[1:]).all()


def test_ratios_from_statements() -> None:
    columns = {
        "total_assets": [1000.0, 0.0],
        "equity": [400.0, 10.0],
        "turnover": [1500.0, 5.0],
        "ebit": [80.0, 1.0],
        "net_income": [50.0, 1.0],
        "working_capital": [200.0, 1.0],
        "retained_earnings": [100.0, 1.0],
        "current_assets": [500.0, 3.0],
        "current_liabilities": [250.0, 0.0],
        "total_liabilities": [600.0, np.nan],
    }
    ratios = ratios_from_statements(columns)
    assert ratios.shape == (2, len(FEATURES))
    first = dict(zip(FEATURES, ratios[0], strict=True))
    assert first == {
        "net_income_to_assets": 0.05,
        "liabilities_to_assets": 0.6,
        "working_capital_to_assets": 0.2,
        "current_ratio": 2.0,
        "retained_earnings_to_assets": 0.1,
        "ebit_to_assets": 0.08,
        "turnover_to_assets": 1.5,
        "equity_to_assets": 0.4,
    }
    assert np.isnan(ratios[1]).all()  # no assets, no current liabilities: nothing to divide by
    assert set(STATEMENT_FIELDS) == set(columns)


def test_ratios_from_statements_refuses_missing_columns_and_ragged_arrays() -> None:
    with pytest.raises(InvalidInput, match="retained_earnings") as caught:
        ratios_from_statements({f: [1.0] for f in STATEMENT_FIELDS if f != "retained_earnings"})
    assert caught.value.code == "risk.missing_column"
    ragged: dict[str, list[float]] = {f: [1.0] for f in STATEMENT_FIELDS}
    ragged["equity"] = [1.0, 2.0]
    with pytest.raises(InvalidInput, match="one length"):
        ratios_from_statements(ragged)


def test_ratios_from_polish_picks_attributes_by_name() -> None:
    names = [f"Attr{i}" for i in range(64, 0, -1)]  # reversed order
    X = np.array([[float(int(n.removeprefix("Attr"))) for n in names]])
    assert ratios_from_polish(X, names).tolist() == [[1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 9.0, 10.0]]
    with pytest.raises(InvalidInput, match="Attr10"):
        ratios_from_polish(X[:, :-10], names[:-10])


# -- documentation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        tradecover.risk.grading,
        tradecover.risk.ratios,
        tradecover.risk.rating,
        tradecover.ingest.default_datasets,
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
