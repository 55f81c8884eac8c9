"""The financial grading model: ratios → one-year probability of default (PD).

A penalised logistic regression on the ratios of :mod:`tradecover.risk.ratios`,
written with NumPy and :func:`scipy.optimize.minimize` (no scikit-learn in
the engine). Logistic regression is the industry's scorecard model for a
reason: its log-odds are a sum of per-ratio terms, so every grade can be
explained ratio by ratio (:meth:`GradingModel.log_odds_contributions`), and
its output is a calibrated probability rather than a score to be mapped.

Steps learned in :meth:`GradingModel.fit`, in order:

1. impute a missing ratio (NaN) with the training median — a buyer with an
   unknown ratio is treated as typical, neither rewarded nor punished;
2. clip to the training quantiles (1 % / 99 % by default): accounting ratios
   have huge outliers (a current ratio of 5,000 when liabilities are
   near zero) that would otherwise dominate a linear model;
3. standardise, so the L2 penalty weighs every ratio alike and the
   coefficients are comparable;
4. fit the coefficients by maximum penalised likelihood.

The fitted model is stored as a versioned JSON artifact (:meth:`to_json`),
never pickled: it is human-readable, diff-able, safe to load, and carries
its own validation report. The default model ships as
``default_grading_model.json`` (fitted by ``scripts/fit_default_model.py``).

Also here: model validation (:func:`evaluate`: AUC, Gini, Brier score,
calibration per grade), PD → grade mapping (:func:`grades_of_pd`), a
deterministic stratified hold-out (:func:`fit_and_validate`) and the Altman
Z cross-check (:func:`altman_cross_check`).
"""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, GRADES, GradeScale

__all__ = [
    "ALTMAN_RATIOS",
    "ALTMAN_Z_COEFFICIENTS",
    "ALTMAN_Z_PRIME_COEFFICIENTS",
    "DEFAULT_MODEL_RESOURCE",
    "DEFAULT_SPLIT_SEED",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "ConvergenceWarning",
    "GradingModel",
    "NotFittedError",
    "altman_cross_check",
    "altman_z",
    "auc",
    "evaluate",
    "fit_and_validate",
    "grades_of_pd",
    "load_default_model",
    "stratified_split",
]

MODEL_FORMAT = "tradecover.grading-model"
MODEL_FORMAT_VERSION = 1
#: The packaged artifact, inside ``tradecover.risk``.
DEFAULT_MODEL_RESOURCE = "default_grading_model.json"
#: Seed of the hold-out split; fixed so the shipped validation can be reproduced.
DEFAULT_SPLIT_SEED = 20160410

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class NotFittedError(ValueError, AttributeError):
    """A model was used before :meth:`GradingModel.fit` (or :meth:`GradingModel.from_json`)."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before the gradient vanished (raise ``max_iter``)."""


def _invalid(message: str, code: str = "risk.invalid_input", field: str | None = None) -> InvalidInput:
    return InvalidInput(message, code=code, field=field)


def _as_matrix(X: ArrayLike, name: str = "X") -> FloatArray:
    data = np.asarray(X, dtype=np.float64)
    if data.ndim != 2:
        raise _invalid(f"{name} must be a 2-D array (rows × features), got shape {data.shape}", field=name)
    return data


def _as_outcome(y: ArrayLike, n: int | None = None) -> IntArray:
    raw = np.asarray(y)
    if raw.ndim != 1:
        raise _invalid(f"y must be 1-D, got shape {raw.shape}", field="y")
    if n is not None and raw.shape[0] != n:
        raise _invalid(f"y has {raw.shape[0]} values for {n} rows", field="y")
    if raw.size and not np.isin(raw, (0, 1)).all():
        raise _invalid("y must hold only 0 (no default) and 1 (default)", field="y")
    return raw.astype(np.int64)


def _as_pd(pd: ArrayLike, name: str = "pd") -> FloatArray:
    values = np.asarray(pd, dtype=np.float64)
    if not ((values >= 0) & (values <= 1)).all():  # also catches NaN
        raise InvalidInput(f"{name} must hold probabilities in [0, 1] (no NaN)", code="grade.invalid_pd", field=name)
    return values


def _json_float(value: float) -> float | None:
    """A float for JSON: finite values as numbers, NaN/inf as null (JSON has no NaN)."""
    return float(value) if math.isfinite(value) else None


class GradingModel:
    """Penalised logistic regression from financial ratios to a probability of default.

    Parameters
    ----------
    l2 : float, default 1.0
        Ridge penalty ``l2 / 2 · ‖coef‖²`` added to the *summed* negative
        log-likelihood (so ``l2 = 1`` is scikit-learn's ``C = 1``), on
        standardised ratios; the intercept is not penalised. It keeps the
        fit stable when ratios are collinear (equity/assets and
        liabilities/assets nearly add to 1).
    clip_quantiles : (float, float), default (0.01, 0.99)
        Training quantiles each ratio is clipped to (winsorisation).
        ``(0, 1)`` clips to the observed range.
    max_iter : int, default 500
        Iteration budget of the L-BFGS optimiser.
    coef_signs : sequence of int (−1, 0, +1) per feature, optional
        Constrain each coefficient's sign (0 = free): +1 when a higher ratio
        must not lower the PD. Collinear ratios (equity/assets and
        liabilities/assets) otherwise trade signs, and a grade explained by
        "high leverage lowered your risk" is not an explanation. A feature
        whose constrained best value is 0 drops out of the model.
        See :data:`tradecover.risk.ratios.FEATURE_RISK_SIGNS`.

    Attributes
    ----------
    feature_names_ : tuple of str
    n_features_in_ : int
    medians_, lower_, upper_ : ndarray of shape (k,)
        Imputation value and clipping bounds per feature.
    mean_, scale_ : ndarray of shape (k,)
        Mean and standard deviation of the imputed, clipped training ratios.
    coef_ : ndarray of shape (k,)
        Log-odds per standard deviation of each (clipped) ratio.
    intercept_ : float
        Log-odds of a buyer whose ratios all sit at the training mean.
    n_iter_ : int
    validation_ : dict
        Validation report (:func:`fit_and_validate`, :func:`altman_cross_check`).
    trained_on_ : dict
        Description of the training data (size, defaults, source).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> y = (rng.random(2000) < special.expit(-2 + 1.5 * X[:, 0])).astype(int)
    >>> model = GradingModel(clip_quantiles=(0, 1)).fit(X, y, feature_names=["a", "b"])
    >>> bool(model.predict_pd([[2.0, 0.0]])[0] > model.predict_pd([[-2.0, 0.0]])[0])
    True
    >>> model.log_odds_contributions([[0.0, np.nan]]).shape
    (1, 2)
    """

    feature_names_: tuple[str, ...]
    n_features_in_: int
    medians_: FloatArray
    lower_: FloatArray
    upper_: FloatArray
    mean_: FloatArray
    scale_: FloatArray
    coef_: FloatArray
    intercept_: float
    n_iter_: int
    validation_: dict[str, Any]
    trained_on_: dict[str, Any]

    def __init__(
        self,
        l2: float = 1.0,
        clip_quantiles: tuple[float, float] = (0.01, 0.99),
        max_iter: int = 500,
        coef_signs: Sequence[int] | None = None,
    ) -> None:
        self.l2 = l2
        self.clip_quantiles = clip_quantiles
        self.max_iter = max_iter
        self.coef_signs = coef_signs

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, e.g. to build an unfitted copy."""
        return {
            "l2": self.l2,
            "clip_quantiles": self.clip_quantiles,
            "max_iter": self.max_iter,
            "coef_signs": self.coef_signs,
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"GradingModel({params})"

    # -- fitting -----------------------------------------------------------

    def _sign_bounds(self, k: int) -> list[tuple[float | None, float | None]]:
        """L-BFGS-B bounds: free intercept, then each coefficient per ``coef_signs``."""
        if self.coef_signs is None:
            return [(None, None)] * (k + 1)
        signs = list(self.coef_signs)
        if len(signs) != k or any(isinstance(s, bool) or s not in (-1, 0, 1) for s in signs):
            raise _invalid(
                f"coef_signs must be {k} values among -1, 0, +1, got {self.coef_signs!r}", field="coef_signs"
            )
        by_sign: dict[int, tuple[float | None, float | None]] = {
            -1: (None, 0.0),
            0: (None, None),
            1: (0.0, None),
        }
        return [(None, None), *(by_sign[s] for s in signs)]

    def _check_params(self) -> tuple[float, float, float, int]:
        l2 = float(self.l2)
        if not math.isfinite(l2) or l2 < 0:
            raise _invalid(f"l2 must be a finite number ≥ 0, got {self.l2!r}", field="l2")
        low, high = (float(q) for q in self.clip_quantiles)
        if not 0 <= low < high <= 1:
            raise _invalid(
                f"clip_quantiles must satisfy 0 ≤ low < high ≤ 1, got {self.clip_quantiles!r}",
                field="clip_quantiles",
            )
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise _invalid(f"max_iter must be an int ≥ 1, got {self.max_iter!r}", field="max_iter")
        return l2, low, high, self.max_iter

    def fit(self, X: ArrayLike, y: ArrayLike, *, feature_names: Sequence[str] | None = None) -> GradingModel:
        """Learn imputation, clipping, standardisation and coefficients from ``X``, ``y``.

        Parameters
        ----------
        X : array of shape (n, k)
            Ratios; NaN = missing. Infinite values are refused (a ratio
            computed with :func:`tradecover.risk.ratios.safe_ratio` never is).
        y : array of shape (n,)
            1 = defaulted, 0 = did not; both must occur.
        feature_names : sequence of k str, optional
            Defaults to ``x0 … x{k-1}``.

        Returns
        -------
        self
        """
        l2, low, high, max_iter = self._check_params()
        data = _as_matrix(X)
        n, k = data.shape
        outcome = _as_outcome(y, n)
        if k == 0:
            raise _invalid("X has no feature columns", field="X")
        if outcome.sum() == 0 or outcome.sum() == n:
            raise _invalid("y must contain both defaults and non-defaults", field="y")
        if np.isinf(data).any():
            raise _invalid("X holds infinite values; use NaN for unknown ratios", field="X")
        names = tuple(feature_names) if feature_names is not None else tuple(f"x{i}" for i in range(k))
        if len(names) != k or len(set(names)) != k:
            raise _invalid(f"feature_names must be {k} distinct names, got {names!r}", field="feature_names")
        observed = ~np.isnan(data)
        empty = [names[j] for j in range(k) if not observed[:, j].any()]
        if empty:
            raise _invalid(f"feature(s) never observed: {', '.join(empty)}", field="X")

        medians = np.nanmedian(data, axis=0)
        lower, upper = np.nanquantile(data, [low, high], axis=0)
        clean = np.clip(np.where(observed, data, medians), lower, upper)
        mean = clean.mean(axis=0)
        scale = clean.std(axis=0)
        scale[~(scale > 1e-12)] = 1.0  # a constant feature: z = 0 for all, coefficient 0
        z = (clean - mean) / scale

        y_float = outcome.astype(np.float64)
        bounds = self._sign_bounds(k)

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            eta = theta[0] + z @ theta[1:]
            loss = float(np.sum(np.logaddexp(0.0, eta) - y_float * eta)) + 0.5 * l2 * float(theta[1:] @ theta[1:])
            residual = special.expit(eta) - y_float
            grad = np.empty_like(theta)
            grad[0] = residual.sum()
            grad[1:] = z.T @ residual + l2 * theta[1:]
            return loss, grad

        base_rate = float(y_float.mean())
        theta0 = np.zeros(k + 1)
        theta0[0] = math.log(base_rate / (1 - base_rate))
        result = optimize.minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "gtol": 1e-8 * n, "ftol": 1e-15},
        )
        # L-BFGS-B may also stop on a line-search failure at machine precision:
        # only a projected gradient still far from zero means the fit is unfinished.
        if not result.success and _projected_gradient_norm(result.x, result.jac, bounds) > 1e-6 * n:
            warnings.warn(
                f"logistic fit did not converge in {max_iter} iterations: {result.message}",
                ConvergenceWarning,
                stacklevel=2,
            )
        theta = np.asarray(result.x, dtype=np.float64)

        self.feature_names_ = names
        self.n_features_in_ = k
        self.medians_ = medians
        self.lower_ = lower
        self.upper_ = upper
        self.mean_ = mean
        self.scale_ = scale
        self.coef_ = theta[1:].copy()
        self.intercept_ = float(theta[0])
        self.n_iter_ = int(result.nit)
        self.validation_ = {}
        self.trained_on_ = {"n": n, "defaults": int(outcome.sum()), "default_rate": base_rate}
        return self

    # -- scoring -----------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this GradingModel is not fitted: call fit() or from_json() first")

    def _clean(self, X: ArrayLike) -> FloatArray:
        """Impute NaN with the medians and clip to the learned bounds (a new array)."""
        self._check_fitted()
        data = _as_matrix(X)
        if data.shape[1] != self.n_features_in_:
            raise _invalid(
                f"X has {data.shape[1]} columns, the model expects {self.n_features_in_} "
                f"({', '.join(self.feature_names_)})",
                field="X",
            )
        clean = np.where(np.isnan(data), self.medians_, data)
        np.clip(clean, self.lower_, self.upper_, out=clean)
        return clean

    def log_odds(self, X: ArrayLike) -> FloatArray:
        """Log-odds of default, ``log(PD / (1 − PD))``, for each row of ``X``.

        Standardisation is folded into the coefficients (``coef_ / scale_``)
        so scoring is one matrix–vector product: that is what makes a
        million rows take tens of milliseconds.
        """
        clean = self._clean(X)
        weights = self.coef_ / self.scale_
        result: FloatArray = clean @ weights
        result += self.intercept_ - float(weights @ self.mean_)
        return result

    def predict_pd(self, X: ArrayLike) -> FloatArray:
        """Probability of default for each row of ``X`` (n, k); NaN ratios are imputed."""
        pd: FloatArray = special.expit(self.log_odds(X))
        return pd

    def log_odds_contributions(self, X: ArrayLike) -> FloatArray:
        """Each feature's contribution to each row's log-odds, relative to the population mean.

        ``contributions[i, j] = coef_[j] · (x̃[i, j] − mean_[j]) / scale_[j]``
        where ``x̃`` is the imputed, clipped ratio, so that
        ``intercept_ + contributions.sum(axis=1) == log_odds(X)`` (up to
        rounding). A positive value pushes the PD up: these are the reasons
        for a financial grade. An imputed ratio contributes
        ``coef_ · (median − mean) / scale``, close to zero.
        """
        clean = self._clean(X)
        contributions: FloatArray = (clean - self.mean_) / self.scale_ * self.coef_
        return contributions

    # -- artifact ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready dict (``json.dumps`` it as is).

        Floats are written as JSON numbers; Python writes the shortest
        decimal that reads back to the same float, so :meth:`from_json`
        reproduces predictions bit for bit.
        """
        self._check_fitted()
        per_feature = {
            name: {
                "coef": float(self.coef_[j]),
                "median": float(self.medians_[j]),
                "lower": float(self.lower_[j]),
                "upper": float(self.upper_[j]),
                "mean": float(self.mean_[j]),
                "scale": float(self.scale_[j]),
            }
            for j, name in enumerate(self.feature_names_)
        }
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "features": list(self.feature_names_),
            "params": {
                "l2": float(self.l2),
                "clip_quantiles": [float(q) for q in self.clip_quantiles],
                "max_iter": int(self.max_iter),
                "coef_signs": None if self.coef_signs is None else [int(s) for s in self.coef_signs],
            },
            "state": {"intercept": self.intercept_, "n_iter": self.n_iter_, "per_feature": per_feature},
            "validation": json.loads(json.dumps(self.validation_)),
            "trained_on": json.loads(json.dumps(self.trained_on_)),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GradingModel:
        """Rebuild a fitted model from :meth:`to_json` output; refuse anything else."""

        def bad(message: str) -> InvalidInput:
            return InvalidInput(f"grading model artifact: {message}", code="risk.bad_model_artifact")

        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
            raise bad(f"'format' must be {MODEL_FORMAT!r}")
        if data.get("version") != MODEL_FORMAT_VERSION:
            raise bad(f"unsupported version {data.get('version')!r} (this code reads {MODEL_FORMAT_VERSION})")
        try:
            features = [str(f) for f in data["features"]]
            params = data["params"]
            state = data["state"]
            model = cls(
                l2=float(params["l2"]),
                clip_quantiles=(float(params["clip_quantiles"][0]), float(params["clip_quantiles"][1])),
                max_iter=int(params["max_iter"]),
                coef_signs=None if params.get("coef_signs") is None else [int(s) for s in params["coef_signs"]],
            )
            per_feature = state["per_feature"]
            if set(per_feature) != set(features) or len(set(features)) != len(features) or not features:
                raise bad("state.per_feature must describe exactly the listed features")

            def column(key: str) -> FloatArray:
                values = np.array([float(per_feature[f][key]) for f in features], dtype=np.float64)
                if not np.isfinite(values).all():
                    raise bad(f"non-finite {key}")
                return values

            model.coef_ = column("coef")
            model.medians_ = column("median")
            model.lower_ = column("lower")
            model.upper_ = column("upper")
            model.mean_ = column("mean")
            model.scale_ = column("scale")
            model.intercept_ = float(state["intercept"])
            model.n_iter_ = int(state.get("n_iter", 0))
            model.validation_ = dict(data.get("validation") or {})
            model.trained_on_ = dict(data.get("trained_on") or {})
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise bad(f"missing or malformed entry ({exc!r})") from None
        if not math.isfinite(model.intercept_):
            raise bad("non-finite intercept")
        if (model.scale_ <= 0).any() or (model.lower_ > model.upper_).any():
            raise bad("scale must be > 0 and lower ≤ upper")
        model.feature_names_ = tuple(features)
        model.n_features_in_ = len(features)
        return model


def _projected_gradient_norm(
    x: FloatArray, gradient: FloatArray, bounds: Sequence[tuple[float | None, float | None]]
) -> float:
    """Largest gradient component not blocked by an active bound (0 at a constrained optimum)."""
    projected = np.asarray(gradient, dtype=np.float64).copy()
    for i, (low, high) in enumerate(bounds):
        if low is not None and x[i] <= low and projected[i] > 0:
            projected[i] = 0.0
        if high is not None and x[i] >= high and projected[i] < 0:
            projected[i] = 0.0
    return float(np.max(np.abs(projected)))


def load_default_model() -> GradingModel:
    """The packaged default grading model (a fresh instance on each call).

    Examples
    --------
    >>> model = load_default_model()
    >>> model.feature_names_[0]
    'net_income_to_assets'
    """
    text = resources.files("tradecover.risk").joinpath(DEFAULT_MODEL_RESOURCE).read_text(encoding="utf-8")
    return GradingModel.from_json(json.loads(text))


# -- grades ------------------------------------------------------------------


@lru_cache(maxsize=8)
def _float_bounds(scale: GradeScale) -> FloatArray:
    """The scale's band bounds as the largest float64 ≤ each exact Decimal bound.

    Comparing a float PD with that float gives the same answer as comparing
    it exactly with the Decimal bound, so :func:`grades_of_pd` agrees with
    :meth:`GradeScale.grade_of_pd` even on PDs one ulp from a bound.
    """
    bounds = []
    for bound in scale.band_upper_bounds():
        value = float(bound)
        if Decimal(value) > bound:
            value = float(np.nextafter(value, -np.inf))
        bounds.append(value)
    result = np.array(bounds, dtype=np.float64)
    result.setflags(write=False)
    return result


def grades_of_pd(pd: ArrayLike, scale: GradeScale = DEFAULT_GRADE_SCALE) -> IntArray:
    """The grade (1..10) of each PD, vectorised; agrees with :meth:`GradeScale.grade_of_pd`.

    Examples
    --------
    >>> grades_of_pd([0.0, 0.0003, 0.01, 0.2, 1.0]).tolist()
    [1, 1, 6, 9, 10]
    """
    values = _as_pd(pd)
    grades: IntArray = np.searchsorted(_float_bounds(scale), values, side="left").astype(np.int64) + 1
    return grades


# -- validation ----------------------------------------------------------------


def auc(score: ArrayLike, y: ArrayLike) -> float:
    """Area under the ROC curve of ``score`` for outcome ``y`` (higher score = more defaults).

    Computed as the Mann–Whitney U statistic with mid-ranks, so a tie
    between a default and a non-default counts one half — the probability
    that a random defaulter scores above a random survivor. NaN when ``y``
    has only one class.

    Examples
    --------
    >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    values = np.asarray(score, dtype=np.float64)
    outcome = _as_outcome(y, values.shape[0] if values.ndim == 1 else None)
    if values.ndim != 1 or np.isnan(values).any():
        raise _invalid("score must be a 1-D array without NaN", field="score")
    positives = int(outcome.sum())
    negatives = int(outcome.shape[0]) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = stats.rankdata(values)
    u = float(ranks[outcome == 1].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)


def evaluate(pd: ArrayLike, y: ArrayLike, scale: GradeScale = DEFAULT_GRADE_SCALE) -> dict[str, Any]:
    """Discrimination and calibration of predicted PDs against outcomes.

    Returns a JSON-ready dict: ``n``, ``defaults``, ``default_rate``,
    ``mean_pd``, ``auc`` (Mann–Whitney, ties count ½), ``gini`` (= 2·AUC − 1,
    the accuracy ratio), ``brier`` (mean squared error of the PD),
    ``log_loss``, and ``calibration``: per grade 1..10 of ``scale`` the
    ``count``, ``mean_pd`` predicted and observed ``default_rate`` (``None``
    for an empty grade), next to the grade's nominal ``scale_pd``. AUC
    says whether the model *orders* buyers; calibration whether its PDs
    are *right* — pricing needs both.

    Examples
    --------
    >>> report = evaluate([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> report["auc"], report["gini"], round(report["brier"], 4)
    (0.75, 0.5, 0.1581)
    """
    values = _as_pd(pd)
    if values.ndim != 1:
        raise _invalid("pd must be 1-D", field="pd")
    outcome = _as_outcome(y, values.shape[0])
    n = int(values.shape[0])
    area = auc(values, outcome)
    clipped = np.clip(values, 1e-15, 1 - 1e-15)
    grades = grades_of_pd(values, scale)
    calibration = []
    for grade in GRADES:
        mask = grades == grade
        count = int(mask.sum())
        calibration.append(
            {
                "grade": grade,
                "count": count,
                "mean_pd": float(values[mask].mean()) if count else None,
                "default_rate": float(outcome[mask].mean()) if count else None,
                "scale_pd": float(scale.pd_of(grade)),
            }
        )
    return {
        "n": n,
        "defaults": int(outcome.sum()),
        "default_rate": _json_float(float(outcome.mean())) if n else None,
        "mean_pd": _json_float(float(values.mean())) if n else None,
        "auc": _json_float(area),
        "gini": _json_float(2 * area - 1),
        "brier": _json_float(float(np.mean((values - outcome) ** 2))) if n else None,
        "log_loss": _json_float(float(-np.mean(outcome * np.log(clipped) + (1 - outcome) * np.log1p(-clipped))))
        if n
        else None,
        "calibration": calibration,
    }


def stratified_split(
    y: ArrayLike, *, test_size: float = 0.3, seed: int = DEFAULT_SPLIT_SEED
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Deterministic stratified hold-out: (train indices, test indices), both sorted.

    Each class is shuffled with ``numpy.random.default_rng(seed)`` and
    ``round(test_size · count)`` of it goes to the test part, so both parts
    keep the default rate — with 4 % defaults, a plain random split can
    leave the test part with too few defaulters to measure anything.

    Examples
    --------
    >>> train, test = stratified_split([0] * 8 + [1] * 2, test_size=0.5, seed=1)
    >>> len(train), len(test)
    (5, 5)
    """
    outcome = _as_outcome(y)
    if not 0 < test_size < 1:
        raise _invalid(f"test_size must be in (0, 1), got {test_size!r}", field="test_size")
    rng = np.random.default_rng(seed)
    test_parts = []
    for cls in (0, 1):
        members = rng.permutation(np.flatnonzero(outcome == cls))
        test_parts.append(members[: round(test_size * members.shape[0])])
    test = np.sort(np.concatenate(test_parts)).astype(np.intp)
    train = np.setdiff1d(np.arange(outcome.shape[0], dtype=np.intp), test)
    return train, test


def _split_digest(test: NDArray[np.intp]) -> str:
    return hashlib.sha256(np.asarray(test, dtype="<i8").tobytes()).hexdigest()[:16]


def fit_and_validate(
    X: ArrayLike,
    y: ArrayLike,
    *,
    test_size: float = 0.3,
    seed: int = DEFAULT_SPLIT_SEED,
    feature_names: Sequence[str] | None = None,
    estimator: GradingModel | None = None,
    scale: GradeScale = DEFAULT_GRADE_SCALE,
) -> tuple[GradingModel, dict[str, Any]]:
    """Fit on a stratified training part, report on the held-out part and on the training part.

    The returned model is the one fitted on the training part, so the
    held-out figures describe exactly the model that is shipped; the report
    is also stored in ``model.validation_``. ``estimator`` supplies the
    parameters (it is not modified). ``split_digest`` identifies the test
    rows, so a reader can check that a re-run reproduced the same split.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> X = rng.normal(size=(3000, 1))
    >>> y = (rng.random(3000) < special.expit(-2 + 2 * X[:, 0])).astype(int)
    >>> model, report = fit_and_validate(X, y)
    >>> report["held_out"]["auc"] > 0.8, report["held_out"]["n"]
    (True, 900)
    """
    data = _as_matrix(X)
    outcome = _as_outcome(y, data.shape[0])
    train, test = stratified_split(outcome, test_size=test_size, seed=seed)
    params = (estimator or GradingModel()).get_params()
    model = GradingModel(**params).fit(data[train], outcome[train], feature_names=feature_names)
    report: dict[str, Any] = {
        "method": "stratified hold-out",
        "test_size": test_size,
        "seed": seed,
        "split_digest": _split_digest(test),
        "held_out": evaluate(model.predict_pd(data[test]), outcome[test], scale),
        "train": evaluate(model.predict_pd(data[train]), outcome[train], scale),
    }
    model.validation_ = json.loads(json.dumps(report))
    return model, report


# -- Altman Z cross-check ------------------------------------------------------

#: Column order of the Altman ratios (as ``ingest.default_datasets.read_altman_tsv``
#: returns them, as fractions): working capital, retained earnings, EBIT and
#: sales over total assets, then book equity over book liabilities.
ALTMAN_RATIOS: tuple[str, ...] = ("WC/TA", "RE/TA", "EBIT/TA", "S/TA", "BVE/BVL")
#: Altman (1968), public manufacturers: X1 WC/TA, X2 RE/TA, X3 EBIT/TA,
#: X4 market equity / liabilities, X5 sales/TA (all fractions).
ALTMAN_Z_COEFFICIENTS: tuple[float, ...] = (1.2, 1.4, 3.3, 0.6, 1.0)
#: Altman Z′ (private firms): the same ratios with *book* equity in X4.
ALTMAN_Z_PRIME_COEFFICIENTS: tuple[float, ...] = (0.717, 0.847, 3.107, 0.420, 0.998)

# Which of our features each Altman ratio is (see tradecover.risk.ratios).
_ALTMAN_TO_FEATURE = {
    "WC/TA": "working_capital_to_assets",
    "RE/TA": "retained_earnings_to_assets",
    "EBIT/TA": "ebit_to_assets",
    "S/TA": "turnover_to_assets",
}


def altman_z(
    x1: ArrayLike, x2: ArrayLike, x3: ArrayLike, x4: ArrayLike, x5: ArrayLike, *, private: bool = False
) -> FloatArray:
    """Altman's Z-score (or Z′ with ``private=True``); higher is safer.

    Arguments are **fractions** (0.093, not 9.3) in Altman's order: x1 =
    working capital / total assets, x2 = retained earnings / total assets,
    x3 = EBIT / total assets, x4 = equity / total liabilities (market value
    for Z, book value for Z′), x5 = sales / total assets. Beware: the
    50-firm file lists sales/TA *before* equity/liabilities.
    Zones: Z < 1.81 distress, > 2.99 safe; Z′ < 1.23 distress, > 2.90 safe.

    Examples
    --------
    >>> round(float(altman_z(0.1, 0.2, 0.1, 1.0, 1.0)[0]), 6)
    2.33
    """
    coefficients = ALTMAN_Z_PRIME_COEFFICIENTS if private else ALTMAN_Z_COEFFICIENTS
    columns = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (x1, x2, x3, x4, x5)))
    z: FloatArray = sum(
        (c * col for c, col in zip(coefficients, columns, strict=True)), start=np.zeros(columns[0].shape)
    )
    return z


def _altman_zones(z: FloatArray, y: IntArray, distress: float, safe: float) -> dict[str, dict[str, int]]:
    zones = {"distress": z < distress, "grey": (z >= distress) & (z <= safe), "safe": z > safe}
    return {name: {"n": int(mask.sum()), "defaults": int(y[mask].sum())} for name, mask in zones.items()}


def altman_cross_check(altman_ratios: ArrayLike, y: ArrayLike, model: GradingModel) -> dict[str, Any]:
    """Compare our model with Altman's Z on an independent sample (the 50 US firms).

    Parameters
    ----------
    altman_ratios : array of shape (n, 5)
        :data:`ALTMAN_RATIOS` as fractions (what ``read_altman_tsv`` returns).
        Arrays rather than a path: the numeric engine reads no files and
        does not depend on ``ingest``.
    y : array of shape (n,)
        1 = went bankrupt.
    model : GradingModel
        Fitted on ratios named as in :mod:`tradecover.risk.ratios`.

    Returns
    -------
    dict
        ``auc_altman_z`` and ``auc_altman_z_prime`` (AUC of −Z: higher Z is
        safer), ``auc_model`` (our PD with WC/TA, RE/TA, EBIT/TA and S/TA
        mapped onto our features and the others imputed with the training
        medians), ``auc_model_balance_identity`` (also deriving
        liabilities/assets = 1 / (1 + E/L) and equity/assets = (E/L) / (1 + E/L)
        from BVE/BVL, assuming assets = equity + liabilities), the features
        used, and Altman's zone counts. Altman's Z was fitted on firms like
        these, so it is the benchmark our model should approach, not beat.
    """
    ratios = _as_matrix(altman_ratios, "altman_ratios")
    if ratios.shape[1] != len(ALTMAN_RATIOS):
        raise _invalid(
            f"altman_ratios must have the {len(ALTMAN_RATIOS)} columns {ALTMAN_RATIOS}", field="altman_ratios"
        )
    outcome = _as_outcome(y, ratios.shape[0])
    wc, re, ebit, sales, bve_bvl = ratios.T
    z = altman_z(wc, re, ebit, bve_bvl, sales)
    z_prime = altman_z(wc, re, ebit, bve_bvl, sales, private=True)

    def features(extra: Mapping[str, FloatArray]) -> tuple[FloatArray, list[str]]:
        X = np.full((ratios.shape[0], model.n_features_in_), np.nan)
        provided = {feature: ratios[:, ALTMAN_RATIOS.index(name)] for name, feature in _ALTMAN_TO_FEATURE.items()}
        provided.update(extra)
        used = []
        for j, name in enumerate(model.feature_names_):
            if name in provided:
                X[:, j] = provided[name]
                used.append(name)
        return X, used

    plain, mapped = features({})
    with np.errstate(divide="ignore", invalid="ignore"):
        liabilities_share = np.where(bve_bvl > -1, 1 / (1 + bve_bvl), np.nan)
    identity, mapped_identity = features(
        {"liabilities_to_assets": liabilities_share, "equity_to_assets": 1 - liabilities_share}
    )
    model_auc = auc(model.predict_pd(plain), outcome)
    identity_auc = auc(model.predict_pd(identity), outcome)
    return {
        "n": int(outcome.shape[0]),
        "defaults": int(outcome.sum()),
        "auc_altman_z": _json_float(auc(-z, outcome)),
        "auc_altman_z_prime": _json_float(auc(-z_prime, outcome)),
        "auc_model": _json_float(model_auc),
        "features_mapped": mapped,
        "features_imputed": [f for f in model.feature_names_ if f not in mapped],
        "auc_model_balance_identity": _json_float(identity_auc),
        "features_mapped_balance_identity": mapped_identity,
        "zones_altman_z": _altman_zones(z, outcome, 1.81, 2.99),
        "zones_altman_z_prime": _altman_zones(z_prime, outcome, 1.23, 2.90),
    }
