"""Risk grades and the grade → PD scale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import (
    DEFAULT_GRADE_SCALE,
    DEFAULT_PD_BY_GRADE,
    GRADES,
    INSOLVENT_GRADE,
    NOT_COVERABLE_FROM_GRADE,
    GradeScale,
    validate_grade,
)

probabilities = st.decimals(min_value=0, max_value=1, allow_nan=False, allow_infinity=False)


def test_constants() -> None:
    assert GRADES == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    assert NOT_COVERABLE_FROM_GRADE == 9
    assert INSOLVENT_GRADE == 10


def test_default_scale() -> None:
    assert DEFAULT_GRADE_SCALE.pd_of(1) == Decimal("0.0003")
    assert DEFAULT_GRADE_SCALE.pd_of(5) == Decimal("0.0060")
    assert DEFAULT_GRADE_SCALE.pd_of(9) == Decimal("0.1500")
    assert DEFAULT_GRADE_SCALE.pd_of(10) == 1
    pds = [pd for _, pd in DEFAULT_GRADE_SCALE]
    assert pds == sorted(pds)
    assert len(set(pds)) == 10


@pytest.mark.parametrize("grade", [0, 11, -1, True, "3", 3.0])
def test_validate_grade_refuses_out_of_range(grade: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_grade(grade)  # type: ignore[arg-type]
    assert caught.value.code == "grade.out_of_range"
    assert caught.value.field == "risk_grade"


def test_validate_grade_accepts_1_to_10() -> None:
    assert [validate_grade(g) for g in range(1, 11)] == list(range(1, 11))


def test_pd_of_validates_the_grade() -> None:
    with pytest.raises(InvalidInput) as caught:
        DEFAULT_GRADE_SCALE.pd_of(11)
    assert caught.value.code == "grade.out_of_range"


def _table(**changes: Decimal | float | str) -> dict[int, object]:
    table: dict[int, object] = dict(DEFAULT_PD_BY_GRADE)
    for key, value in changes.items():
        table[int(key.removeprefix("g"))] = value
    return table


@pytest.mark.parametrize(
    "table",
    [
        {g: pd for g, pd in DEFAULT_PD_BY_GRADE.items() if g != 5},  # a grade missing
        {**DEFAULT_PD_BY_GRADE, 11: Decimal(1)},  # an extra grade
        _table(g5=Decimal("0.0030")),  # not strictly increasing
        _table(g3=Decimal("0.0001")),  # decreasing
        _table(g10=Decimal("0.9")),  # insolvent grade must be PD 1
        _table(g1=Decimal(0)),  # PD must be > 0
        _table(g1=Decimal("-0.001")),
        _table(g9=Decimal("1.5")),
        _table(g2=0.0008),  # floats refused
        _table(g2="abc"),
        _table(g2=Decimal("NaN")),
    ],
)
def test_invalid_scales_are_refused(table: dict[int, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        GradeScale(table)  # type: ignore[arg-type]
    assert caught.value.code == "grade.invalid_scale"


def test_scale_is_a_read_only_copy() -> None:
    table = dict(DEFAULT_PD_BY_GRADE)
    scale = GradeScale(table)
    table[1] = Decimal("0.5")
    assert scale.pd_of(1) == Decimal("0.0003")
    with pytest.raises(TypeError):
        scale.pd_by_grade[1] = Decimal("0.5")  # type: ignore[index]
    assert scale == DEFAULT_GRADE_SCALE
    assert hash(scale) == hash(DEFAULT_GRADE_SCALE)


def test_scale_accepts_exact_strings_and_ints() -> None:
    scale = GradeScale({g: str(pd) for g, pd in DEFAULT_PD_BY_GRADE.items()})  # type: ignore[misc]
    assert scale == DEFAULT_GRADE_SCALE


def test_grade_of_pd_named_cases() -> None:
    scale = DEFAULT_GRADE_SCALE
    assert scale.grade_of_pd(Decimal(0)) == 1
    assert scale.grade_of_pd(Decimal("0.0004")) == 1  # below sqrt(0.0003 × 0.0008) ≈ 0.00049
    assert scale.grade_of_pd(Decimal("0.0005")) == 2
    assert scale.grade_of_pd(Decimal("0.02")) == 7  # between sqrt(.012×.025)≈.0173 and .0354
    assert scale.grade_of_pd(Decimal("0.3")) == 9  # below sqrt(0.15) ≈ 0.387
    assert scale.grade_of_pd(Decimal("0.4")) == 10
    assert scale.grade_of_pd(Decimal(1)) == 10


def test_a_pd_on_a_band_bound_gets_the_better_grade() -> None:
    bounds = DEFAULT_GRADE_SCALE.band_upper_bounds()
    assert len(bounds) == 9
    for grade, bound in zip(GRADES, bounds, strict=False):
        assert DEFAULT_GRADE_SCALE.grade_of_pd(bound) == grade
        assert DEFAULT_GRADE_SCALE.grade_of_pd(bound.next_plus()) == grade + 1


@pytest.mark.parametrize("pd", [Decimal("-0.01"), Decimal("1.01"), Decimal("NaN"), 0.5])
def test_grade_of_pd_refuses_non_probabilities(pd: Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        DEFAULT_GRADE_SCALE.grade_of_pd(pd)
    assert caught.value.code == "grade.invalid_pd"
    assert caught.value.field == "probability_of_default"


def test_each_grade_pd_maps_back_to_its_grade() -> None:
    for grade in GRADES:
        assert DEFAULT_GRADE_SCALE.grade_of_pd(DEFAULT_GRADE_SCALE.pd_of(grade)) == grade


@given(a=probabilities, b=probabilities)
def test_grade_of_pd_is_monotonic(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert DEFAULT_GRADE_SCALE.grade_of_pd(low) <= DEFAULT_GRADE_SCALE.grade_of_pd(high)


@given(pd=probabilities)
def test_grade_band_contains_the_pd(pd: Decimal) -> None:
    grade = DEFAULT_GRADE_SCALE.grade_of_pd(pd)
    bounds = DEFAULT_GRADE_SCALE.band_upper_bounds()
    lower = Decimal(0) if grade == 1 else bounds[grade - 2]
    upper = Decimal(1) if grade == 10 else bounds[grade - 1]
    assert lower <= pd <= upper
