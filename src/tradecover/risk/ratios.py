"""The financial ratios the grading model scores, from our statements or from the Polish data.

The model is trained on the Polish bankruptcy data (UCI 365), whose 64
attributes are ratios already computed, and applied to our buyers' financial
statements. Only ratios that can be computed *the same way* on both sides
are features; each is defined once here (numerator, denominator, Polish
attribute) so training and scoring cannot drift apart. The Polish attribute
numbers follow the UCI attribute list (X1 net profit / total assets, X2
total liabilities / total assets, X3 working capital / total assets, X4
current assets / short-term liabilities, X6 retained earnings / total
assets, X7 EBIT / total assets, X9 sales / total assets, X10 equity / total
assets).

Extreme values are kept: clipping them is a learned step of the model
(:class:`tradecover.risk.grading.GradingModel`), so it uses the training
distribution's quantiles rather than constants chosen here.
"""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tradecover.domain.errors import InvalidInput

__all__ = [
    "FEATURES",
    "FEATURE_RISK_SIGNS",
    "RATIOS",
    "STATEMENT_FIELDS",
    "Ratio",
    "ratios_from_polish",
    "ratios_from_statements",
    "safe_ratio",
]


@dataclass(frozen=True)
class Ratio:
    """One feature: ``numerator / denominator`` of statement fields, = Polish ``polish_attribute``.

    ``risk_sign`` is the direction credit analysis expects: +1 if a higher
    ratio means a riskier buyer (leverage), −1 if a safer one (profitability,
    liquidity, solvency). The grading model can be constrained to it, so that
    no grade is ever explained by "your high leverage lowered your risk" — a
    sign flip that collinear ratios otherwise produce.
    """

    name: str
    numerator: str
    denominator: str
    polish_attribute: str
    meaning: str
    risk_sign: int


#: The model's ratios, in feature order.
RATIOS: tuple[Ratio, ...] = (
    Ratio("net_income_to_assets", "net_income", "total_assets", "Attr1", "profitability (ROA)", -1),
    Ratio("liabilities_to_assets", "total_liabilities", "total_assets", "Attr2", "leverage", +1),
    Ratio("working_capital_to_assets", "working_capital", "total_assets", "Attr3", "liquidity", -1),
    Ratio("current_ratio", "current_assets", "current_liabilities", "Attr4", "short-term liquidity", -1),
    Ratio("retained_earnings_to_assets", "retained_earnings", "total_assets", "Attr6", "accumulated profits", -1),
    Ratio("ebit_to_assets", "ebit", "total_assets", "Attr7", "operating profitability", -1),
    Ratio("turnover_to_assets", "turnover", "total_assets", "Attr9", "asset turnover", -1),
    Ratio("equity_to_assets", "equity", "total_assets", "Attr10", "solvency", -1),
)

#: Feature names, in the column order of every array this module returns.
FEATURES: tuple[str, ...] = tuple(r.name for r in RATIOS)

#: Expected sign of each feature's coefficient (for ``GradingModel(coef_signs=...)``).
FEATURE_RISK_SIGNS: tuple[int, ...] = tuple(r.risk_sign for r in RATIOS)

#: Statement fields the ratios need (a buyer's statement for one year).
STATEMENT_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(field for r in RATIOS for field in (r.numerator, r.denominator))
)


def safe_ratio(numerator: ArrayLike, denominator: ArrayLike) -> NDArray[np.float64]:
    """``numerator / denominator`` elementwise, NaN where the denominator is not positive.

    Every denominator here (total assets, current liabilities) is a size: zero
    or negative means a missing or broken statement, and dividing by it would
    give an infinite or sign-flipped ratio that reads as very good or very
    bad. NaN instead lets the model impute a neutral value. NaN in either
    operand gives NaN.

    Examples
    --------
    >>> safe_ratio([1.0, 1.0, 1.0, float("nan")], [4.0, 0.0, -2.0, 1.0]).tolist()
    [0.25, nan, nan, nan]
    """
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def ratios_from_statements(columns: Mapping[str, ArrayLike]) -> NDArray[np.float64]:
    """The (n, k) feature matrix of n financial statements, columns as :data:`FEATURES`.

    Parameters
    ----------
    columns
        One 1-D array per field of :data:`STATEMENT_FIELDS` (all of the same
        length n; NaN = unknown). Other keys are ignored. A field that is
        wholly unknown must still be given (as NaN) so that a typo in a field
        name is an error, not a silently imputed ratio.

    Examples
    --------
    >>> cols = dict.fromkeys(STATEMENT_FIELDS, [float("nan")])
    >>> cols.update(total_assets=[200.0], equity=[50.0], ebit=[10.0])
    >>> ratios = ratios_from_statements(cols)
    >>> ratios.shape, ratios[0, FEATURES.index("equity_to_assets")]
    ((1, 8), np.float64(0.25))
    """
    missing = [f for f in STATEMENT_FIELDS if f not in columns]
    if missing:
        raise InvalidInput(
            f"statement columns missing: {', '.join(missing)}",
            code="risk.missing_column",
            field=missing[0],
        )
    arrays = {f: np.asarray(columns[f], dtype=np.float64) for f in STATEMENT_FIELDS}
    if len({a.shape for a in arrays.values()}) != 1 or any(a.ndim != 1 for a in arrays.values()):
        raise InvalidInput(
            "statement columns must be 1-D arrays of one length, got shapes "
            + ", ".join(f"{f}={a.shape}" for f, a in arrays.items()),
            code="risk.bad_shape",
        )
    return np.column_stack([safe_ratio(arrays[r.numerator], arrays[r.denominator]) for r in RATIOS])


def ratios_from_polish(X: ArrayLike, names: Sequence[str]) -> NDArray[np.float64]:
    """The (n, k) feature matrix from Polish-bankruptcy attributes ``Attr1…Attr64``.

    ``names`` are the column names of ``X`` as returned by
    :func:`tradecover.ingest.default_datasets.read_polish_arff`; the columns
    are picked by name, so a file with another column order works. Returns a
    new array; NaN stays NaN.

    Examples
    --------
    >>> names = [f"Attr{i}" for i in range(1, 11)]
    >>> ratios_from_polish([[float(i) for i in range(1, 11)]], names).tolist()
    [[1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 9.0, 10.0]]
    """
    data = np.asarray(X, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(names):
        raise InvalidInput(
            f"X must be 2-D with one column per name ({len(names)}), got shape {data.shape}",
            code="risk.bad_shape",
        )
    positions = {n: i for i, n in enumerate(names)}
    missing = [r.polish_attribute for r in RATIOS if r.polish_attribute not in positions]
    if missing:
        raise InvalidInput(
            f"Polish attributes missing: {', '.join(missing)}",
            code="risk.missing_column",
            field=missing[0],
        )
    return data[:, [positions[r.polish_attribute] for r in RATIOS]]
