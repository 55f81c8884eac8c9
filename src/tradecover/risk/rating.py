"""The buyer's final rating: financial PD adjusted by payment behaviour, sector, country and legal events.

DOMAIN §4: a grade comes from financials, payment behaviour reported by
insureds, legal events, sector and country risk, and keeps the factors that
made it. The combination works on the **log-odds** scale, where independent
pieces of evidence add up (a likelihood-ratio update): start from the
financial model's log-odds, add one documented term per factor, convert back
to a PD, then to a grade. Each term is kept as a column of
:attr:`RatingResult.factors`, so ``expit(factors.sum(axis=1)) == pd`` and
every grade can be explained (:func:`reasons`).

The adjustments (module constants below) are expert settings, not fitted:
no public data set links insureds' payment experience to defaults. They are
deliberately moderate and capped, so that one noisy signal cannot move a
buyer more than a few notches (each notch roughly doubles the PD, i.e. adds
about 0.7 to the log-odds).

Legal events override the arithmetic: a buyer in an insolvency procedure
(*sauvegarde*, *redressement*, *liquidation*) or that has ceased trading is
grade 10 with PD 1 — its ``legal`` factor is ``+inf``, the log-odds of
certainty. Grade 10 is reserved for these events: a buyer without one is
graded at most 9 even if its PD falls in grade 10's band (its PD is kept
as computed, for expected loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, INSOLVENT_GRADE, GradeScale
from tradecover.risk.grading import grades_of_pd

__all__ = [
    "FACTOR_NAMES",
    "FINANCIAL_PD_BOUNDS",
    "OVERDUE_LOG_ODDS_CAP",
    "OVERDUE_LOG_ODDS_EACH",
    "PAYMENT_LOG_ODDS_CAP",
    "PAYMENT_LOG_ODDS_PER_DAY",
    "RatingResult",
    "combine",
    "reasons",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Columns of :attr:`RatingResult.factors`.
FACTOR_NAMES: tuple[str, ...] = ("financial", "payment_experience", "overdues", "sector", "country", "legal")

#: +0.25 log-odds per 10 days paid beyond terms (on average, as reported by
#: insureds), counted per day so that one day more never jumps a notch…
PAYMENT_LOG_ODDS_PER_DAY = 0.025
#: …and at most +1.5 (reached at 60 days): beyond that, overdue notifications
#: and collection carry the information.
PAYMENT_LOG_ODDS_CAP = 1.5
#: +0.7 log-odds (about one notch, PD × 2) per open overdue notification…
OVERDUE_LOG_ODDS_EACH = 0.7
#: …at most three counted (+2.1): several insureds reporting the same buyer
#: is a strong but already saturated signal.
OVERDUE_LOG_ODDS_CAP = 2.1
#: The financial PD is kept in this range before taking log-odds, so that an
#: underflowed 0 or a 1 from a model does not make the log-odds infinite —
#: only a legal event may do that.
FINANCIAL_PD_BOUNDS: tuple[float, float] = (1e-6, 1 - 1e-6)
#: The worst grade the arithmetic can give; grade 10 needs a legal event.
_WORST_GRADE_WITHOUT_LEGAL_EVENT = INSOLVENT_GRADE - 1


@dataclass(frozen=True)
class RatingResult:
    """Ratings of n buyers: PD, grade and the log-odds contribution of each factor.

    ``factors[i, j]`` is factor ``factor_names[j]``'s contribution to buyer
    i's log-odds of default; their sum is the log-odds, so
    ``expit(factors.sum(axis=1)) == pd``. The arrays are read-only.
    """

    pd: FloatArray
    grade: IntArray
    factors: FloatArray
    factor_names: tuple[str, ...] = field(default=FACTOR_NAMES)

    def __post_init__(self) -> None:
        for array in (self.pd, self.grade, self.factors):
            array.setflags(write=False)

    def __len__(self) -> int:
        return int(self.pd.shape[0])

    @property
    def log_odds(self) -> FloatArray:
        """Total log-odds of default per buyer (+inf for a legal event)."""
        total: FloatArray = self.factors.sum(axis=1)
        return total

    def factor(self, name: str) -> FloatArray:
        """One factor's column, by name."""
        column: FloatArray = self.factors[:, self.factor_names.index(name)]
        return column


def _bad(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, code="risk.invalid_input", field=field)


def _numbers(values: ArrayLike | None, n: int, name: str) -> FloatArray:
    """``values`` broadcast to n floats; ``None`` = all NaN (no information)."""
    if values is None:
        return np.full(n, np.nan)
    array = np.asarray(values, dtype=np.float64)
    try:
        return np.broadcast_to(array, (n,)).astype(np.float64)
    except ValueError:
        raise _bad(f"{name} has shape {array.shape}, expected ({n},) or a scalar", name) from None


def _flags(values: ArrayLike | None, n: int, name: str) -> NDArray[np.bool_]:
    """Booleans broadcast to n; NaN (unknown) counts as False; 0/1 accepted."""
    if values is None:
        return np.zeros(n, dtype=bool)
    array = np.asarray(values)
    if array.dtype != np.bool_:
        numbers = np.asarray(array, dtype=np.float64)
        if not np.isin(numbers[~np.isnan(numbers)], (0.0, 1.0)).all():
            raise _bad(f"{name} must be booleans (or 0/1, NaN = unknown)", name)
        array = np.nan_to_num(numbers, nan=0.0) == 1.0
    try:
        return np.broadcast_to(array, (n,)).copy()
    except ValueError:
        raise _bad(f"{name} has shape {array.shape}, expected ({n},) or a scalar", name) from None


def _log_factor(values: ArrayLike | None, n: int, name: str) -> FloatArray:
    factor = _numbers(values, n, name)
    known = ~np.isnan(factor)
    if not (np.isfinite(factor[known]) & (factor[known] > 0)).all():
        raise _bad(f"{name} must be a positive finite multiplier of the odds (NaN = none)", name)
    result = np.zeros(n)
    result[known] = np.log(factor[known])
    return result


def combine(
    financial_pd: ArrayLike,
    *,
    days_beyond_terms: ArrayLike | None = None,
    overdue_notifications: ArrayLike | None = None,
    insolvent: ArrayLike | None = None,
    ceased: ArrayLike | None = None,
    sector_factor: ArrayLike | None = None,
    country_factor: ArrayLike | None = None,
    scale: GradeScale = DEFAULT_GRADE_SCALE,
) -> RatingResult:
    """Combine the financial PD with the other factors into a PD and grade per buyer.

    Parameters
    ----------
    financial_pd : array of shape (n,)
        The financial model's PD (:meth:`GradingModel.predict_pd`). NaN is
        allowed only where a legal event makes it irrelevant.
    days_beyond_terms : array (n,) or scalar, optional
        Average days paid beyond terms reported by insureds: +0.025 log-odds
        per day (+0.25 per 10 days), at most +1.5. NaN or absent = no
        experience = no adjustment; early payment earns nothing (≤ 0 → 0),
        since paying early says little about solvency.
    overdue_notifications : array (n,) or scalar, optional
        Open overdue notifications on the buyer: +0.7 each, at most +2.1.
        NaN = none reported.
    insolvent, ceased : bool array (n,) or scalar, optional
        An insolvency procedure opened / the business has ceased: grade 10,
        PD 1, ``legal`` factor +inf. NaN = not known = False.
    sector_factor, country_factor : array (n,) or scalar, optional
        Multipliers of the odds of default for the buyer's sector and
        country (1 = average, 2 = twice the odds); they add ``log(factor)``.
        NaN = no adjustment.
    scale : GradeScale
        PD → grade table.

    Examples
    --------
    >>> result = combine(
    ...     [0.01, 0.01, 0.01], days_beyond_terms=[np.nan, 30, 0], insolvent=[False, False, True]
    ... )
    >>> result.grade.tolist()
    [6, 7, 10]
    >>> [round(float(v), 3) for v in result.factor("payment_experience")]
    [0.0, 0.75, 0.0]
    >>> reasons(result, 1, top=2)
    [('financial', -4.59511985013459), ('payment_experience', 0.75)]
    """
    pd_in = np.atleast_1d(np.asarray(financial_pd, dtype=np.float64))
    if pd_in.ndim != 1:
        raise _bad(f"financial_pd must be 1-D, got shape {pd_in.shape}", "financial_pd")
    n = pd_in.shape[0]
    legal_event = _flags(insolvent, n, "insolvent") | _flags(ceased, n, "ceased")
    known = ~np.isnan(pd_in)
    if not ((pd_in[known] >= 0) & (pd_in[known] <= 1)).all():
        raise _bad("financial_pd must be probabilities in [0, 1]", "financial_pd")
    unexplained = ~known & ~legal_event
    if unexplained.any():
        raise _bad(
            f"financial_pd is NaN for {int(unexplained.sum())} buyer(s) without a legal event; "
            "supply a fallback PD (e.g. the sector's default rate) for buyers without financials",
            "financial_pd",
        )

    factors = np.zeros((n, len(FACTOR_NAMES)))
    low, high = FINANCIAL_PD_BOUNDS
    factors[known, 0] = special.logit(np.clip(pd_in[known], low, high))

    days = np.nan_to_num(_numbers(days_beyond_terms, n, "days_beyond_terms"), nan=0.0)
    factors[:, 1] = np.minimum(np.maximum(days, 0.0) * PAYMENT_LOG_ODDS_PER_DAY, PAYMENT_LOG_ODDS_CAP)

    overdues = _numbers(overdue_notifications, n, "overdue_notifications")
    if (overdues < 0).any():
        raise _bad("overdue_notifications cannot be negative", "overdue_notifications")
    factors[:, 2] = np.minimum(np.nan_to_num(overdues, nan=0.0) * OVERDUE_LOG_ODDS_EACH, OVERDUE_LOG_ODDS_CAP)

    factors[:, 3] = _log_factor(sector_factor, n, "sector_factor")
    factors[:, 4] = _log_factor(country_factor, n, "country_factor")
    factors[legal_event, 5] = np.inf

    log_odds = factors.sum(axis=1)
    pd_out = np.asarray(special.expit(log_odds), dtype=np.float64)
    grade = np.minimum(grades_of_pd(pd_out, scale), _WORST_GRADE_WITHOUT_LEGAL_EVENT)
    grade[legal_event] = INSOLVENT_GRADE
    pd_out[legal_event] = 1.0
    return RatingResult(pd=pd_out, grade=grade, factors=factors)


def reasons(result: RatingResult, i: int, top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` factors that weigh most on buyer ``i``'s rating, largest |contribution| first.

    Factors contributing exactly 0 (no information) are left out. The
    financial factor is the baseline log-odds, usually large and negative
    (a PD of 1 % is −4.6); the others say what moved the buyer from it.
    """
    if not -len(result) <= i < len(result):
        raise IndexError(f"buyer index {i} out of range for {len(result)} ratings")
    row = result.factors[i]
    order = np.argsort(-np.abs(row), kind="stable")
    return [(result.factor_names[j], float(row[j])) for j in order if row[j] != 0][: max(top, 0)]
