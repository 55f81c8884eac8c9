"""The final rating: the financial PD combined with payment experience, overdues, sector, country, law."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, INSOLVENT_GRADE
from tradecover.risk.grading import grades_of_pd
from tradecover.risk.rating import (
    FACTOR_NAMES,
    OVERDUE_LOG_ODDS_CAP,
    PAYMENT_LOG_ODDS_CAP,
    combine,
    reasons,
)


def test_without_other_information_the_financial_pd_decides() -> None:
    pd = np.array([0.0004, 0.01, 0.05, 0.2])
    result = combine(pd)
    np.testing.assert_allclose(result.pd, pd, rtol=1e-12)
    assert result.grade.tolist() == grades_of_pd(pd).tolist() == [1, 6, 8, 9]
    assert result.factor_names == FACTOR_NAMES
    assert result.factors.shape == (4, 6)
    np.testing.assert_allclose(result.factor("financial"), special.logit(pd))
    assert (result.factors[:, 1:] == 0).all()


def test_insolvent_buyer_is_grade_10_with_pd_1() -> None:
    result = combine([0.001, 0.001], insolvent=[True, False])
    assert result.grade.tolist() == [INSOLVENT_GRADE, 2]
    assert result.pd[0] == 1.0
    assert result.factor("legal")[0] == math.inf
    assert result.log_odds[0] == math.inf


def test_ceased_buyer_is_grade_10() -> None:
    result = combine([0.001, 0.001], ceased=[False, True])
    assert result.grade.tolist() == [2, INSOLVENT_GRADE]
    assert result.pd[1] == 1.0


def test_a_legal_event_needs_no_financial_pd() -> None:
    result = combine([np.nan, 0.01], insolvent=[1, np.nan])
    assert result.grade.tolist() == [10, 6]
    assert result.factor("financial")[0] == 0.0
    with pytest.raises(InvalidInput, match="fallback PD") as caught:
        combine([np.nan, 0.01])
    assert caught.value.field == "financial_pd"


def test_grade_10_is_reserved_for_legal_events() -> None:
    # PD 0.9 lies in grade 10's band, but the buyer is not insolvent: grade 9, PD kept.
    result = combine([0.9], overdue_notifications=[3])
    assert result.grade.tolist() == [9]
    assert 0.9 < result.pd[0] < 1.0


def test_payment_experience_adds_a_quarter_per_ten_days_up_to_the_cap() -> None:
    days = np.array([np.nan, -15, 0, 10, 30, 60, 365])
    result = combine(np.full(days.size, 0.01), days_beyond_terms=days)
    np.testing.assert_allclose(result.factor("payment_experience"), [0, 0, 0, 0.25, 0.75, 1.5, 1.5])
    assert PAYMENT_LOG_ODDS_CAP == 1.5
    # 30 days late: odds × e^0.75 — from 1 % to about 2.1 %, one notch worse
    assert result.pd[4] == pytest.approx(special.expit(special.logit(0.01) + 0.75))
    assert result.grade[4] == result.grade[0] + 1


def test_overdue_notifications_add_07_each_up_to_three() -> None:
    result = combine(np.full(5, 0.01), overdue_notifications=[np.nan, 0, 1, 3, 10])
    np.testing.assert_allclose(result.factor("overdues"), [0, 0, 0.7, 2.1, 2.1])
    assert pytest.approx(2.1) == OVERDUE_LOG_ODDS_CAP
    with pytest.raises(InvalidInput, match="negative"):
        combine([0.01], overdue_notifications=[-1])


def test_sector_and_country_multiply_the_odds() -> None:
    result = combine([0.01, 0.01, 0.01], sector_factor=[2.0, np.nan, 0.5], country_factor=1.5)
    np.testing.assert_allclose(result.factor("sector"), [math.log(2), 0, math.log(0.5)])
    np.testing.assert_allclose(result.factor("country"), [math.log(1.5)] * 3)
    odds = 0.01 / 0.99 * 2 * 1.5
    assert result.pd[0] == pytest.approx(odds / (1 + odds))
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(InvalidInput, match="positive"):
            combine([0.01], sector_factor=[bad])


def test_inputs_are_checked() -> None:
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        combine([1.5])
    with pytest.raises(InvalidInput, match="shape"):
        combine([0.1, 0.2], days_beyond_terms=[1, 2, 3])
    with pytest.raises(InvalidInput, match="booleans"):
        combine([0.1], insolvent=[2])
    with pytest.raises(InvalidInput, match="1-D"):
        combine([[0.1]])


def test_scalars_broadcast_and_results_are_read_only() -> None:
    result = combine(0.01, days_beyond_terms=20, insolvent=False)
    assert len(result) == 1
    assert result.factor("payment_experience")[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="read-only"):
        result.pd[0] = 0.5


def test_reasons_name_the_heaviest_factors_first() -> None:
    result = combine(
        [0.02, 0.02], days_beyond_terms=[45, np.nan], overdue_notifications=[1, 0], insolvent=[False, True]
    )
    top = reasons(result, 0)
    assert [name for name, _ in top] == ["financial", "payment_experience", "overdues"]
    assert top[1][1] == pytest.approx(1.125)
    assert reasons(result, 0, top=1) == top[:1]
    assert reasons(result, 1)[0] == ("legal", math.inf)
    assert [name for name, _ in reasons(result, 1)] == ["legal", "financial"]  # zeros left out
    assert reasons(result, -1) == reasons(result, 1)
    with pytest.raises(IndexError):
        reasons(result, 2)


finite_pd = st.floats(1e-5, 0.99)
optional_days = st.one_of(st.just(math.nan), st.floats(-30, 400))
optional_count = st.one_of(st.just(math.nan), st.integers(0, 8).map(float))
optional_factor = st.one_of(st.just(math.nan), st.floats(0.2, 5))


@given(finite_pd, optional_days, optional_count, optional_factor, optional_factor, st.booleans())
@settings(max_examples=200, deadline=None)
def test_factors_add_up_to_the_pd(
    pd: float, days: float, count: float, sector: float, country: float, insolvent: bool
) -> None:
    result = combine(
        [pd],
        days_beyond_terms=[days],
        overdue_notifications=[count],
        sector_factor=[sector],
        country_factor=[country],
        insolvent=[insolvent],
    )
    assert result.pd[0] == pytest.approx(special.expit(result.factors[0].sum()), rel=1e-12)
    assert 1 <= result.grade[0] <= 10
    assert (result.grade[0] == INSOLVENT_GRADE) == insolvent
    if not insolvent:
        expected = min(int(grades_of_pd(result.pd)[0]), 9)
        assert result.grade[0] == expected


@given(finite_pd, st.floats(0, 200), st.floats(0, 200), st.integers(0, 5), st.integers(0, 5))
@settings(max_examples=200, deadline=None)
def test_worse_payment_never_improves_the_rating(pd: float, d1: float, d2: float, n1: int, n2: int) -> None:
    result = combine([pd, pd], days_beyond_terms=sorted([d1, d2]), overdue_notifications=sorted([n1, n2]))
    assert result.pd[0] <= result.pd[1]
    assert result.grade[0] <= result.grade[1]


def test_combining_a_million_buyers_is_vectorised() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    result = combine(
        rng.uniform(1e-4, 0.3, n),
        days_beyond_terms=rng.uniform(-10, 90, n),
        overdue_notifications=rng.integers(0, 4, n),
        sector_factor=rng.uniform(0.5, 2, n),
        insolvent=rng.random(n) < 0.01,
        scale=DEFAULT_GRADE_SCALE,
    )
    assert result.grade.shape == (n,)
    assert np.isfinite(result.pd).all()
