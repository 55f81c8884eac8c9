"""Risk grades 1 (best) … 10 (insolvent) and their one-year default probabilities.

A grade is what the insurer shows and reasons with (refuse from grade 9,
alert on a downgrade of two notches); a probability of default (PD) is what
the pricing and the portfolio model compute with. The grade → PD table is an
insurer setting, so it is a validated value (:class:`GradeScale`) rather than
constants sprinkled through the code. Grades are plain ``int`` values checked
by :func:`validate_grade`, which keeps them cheap to store and compare.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from types import MappingProxyType
from typing import TypeAlias

from tradecover.domain.errors import InvalidInput

__all__ = [
    "DEFAULT_GRADE_SCALE",
    "DEFAULT_PD_BY_GRADE",
    "GRADES",
    "INSOLVENT_GRADE",
    "MAX_GRADE",
    "MIN_GRADE",
    "NOT_COVERABLE_FROM_GRADE",
    "GradeScale",
    "RiskGrade",
    "validate_grade",
]

#: A risk grade: an int from 1 (best) to 10 (insolvent).
RiskGrade: TypeAlias = int

MIN_GRADE: RiskGrade = 1
MAX_GRADE: RiskGrade = 10
GRADES: tuple[RiskGrade, ...] = tuple(range(MIN_GRADE, MAX_GRADE + 1))

#: Buyers graded this or worse are never granted a limit (DOMAIN §5 step 1).
NOT_COVERABLE_FROM_GRADE: RiskGrade = 9
#: The grade of a buyer in an insolvency procedure; its PD is 1.
INSOLVENT_GRADE: RiskGrade = 10

#: Default one-year PD per grade: roughly doubling per notch, as in agency
#: scales, up to certain default at grade 10.
DEFAULT_PD_BY_GRADE: Mapping[RiskGrade, Decimal] = MappingProxyType(
    {
        1: Decimal("0.0003"),
        2: Decimal("0.0008"),
        3: Decimal("0.0015"),
        4: Decimal("0.0030"),
        5: Decimal("0.0060"),
        6: Decimal("0.0120"),
        7: Decimal("0.0250"),
        8: Decimal("0.0500"),
        9: Decimal("0.1500"),
        10: Decimal("1"),
    }
)


def validate_grade(g: int) -> RiskGrade:
    """Return ``g`` if it is a grade 1..10, else raise ``grade.out_of_range``."""
    if isinstance(g, bool) or not isinstance(g, int) or not MIN_GRADE <= g <= MAX_GRADE:
        raise InvalidInput(
            f"risk grade must be an integer from {MIN_GRADE} to {MAX_GRADE}, got {g!r}",
            code="grade.out_of_range",
            field="risk_grade",
            context={"risk_grade": g},
        )
    return g


def _invalid_scale(message: str) -> InvalidInput:
    return InvalidInput(message, code="grade.invalid_scale", field="pd_by_grade")


def _pd_value(grade: int, value: object) -> Decimal:
    if isinstance(value, float | bool):
        raise _invalid_scale(f"PD of grade {grade} must be a Decimal, not {value!r}")
    if isinstance(value, Decimal):
        pd = value
    elif isinstance(value, int | str):
        try:
            pd = Decimal(value)
        except InvalidOperation:
            raise _invalid_scale(f"PD of grade {grade} is not a number: {value!r}") from None
    else:
        raise _invalid_scale(f"PD of grade {grade} must be a Decimal, not {value!r}")
    if not pd.is_finite() or not 0 < pd <= 1:
        raise _invalid_scale(f"PD of grade {grade} must be in (0, 1], got {value}")
    return pd


@dataclass(frozen=True)
class GradeScale:
    """A validated grade → one-year PD table.

    Rules: exactly the grades 1..10, each PD in (0, 1], strictly increasing
    with the grade (a worse grade is strictly riskier, otherwise grades would
    not order buyers), and grade 10 — insolvent — has PD 1. The table is
    copied into a read-only mapping so a caller cannot change it afterwards.
    """

    pd_by_grade: Mapping[RiskGrade, Decimal]

    def __post_init__(self) -> None:
        table = self.pd_by_grade
        if not isinstance(table, Mapping):
            raise _invalid_scale("the PD table must be a mapping grade → PD")
        keys = set(table)
        if keys != set(GRADES) or any(isinstance(k, bool) for k in keys):
            raise _invalid_scale(
                f"the PD table must have exactly the grades {MIN_GRADE}..{MAX_GRADE}, got {sorted(map(str, keys))}"
            )
        pds = {grade: _pd_value(grade, table[grade]) for grade in GRADES}
        for better, worse in pairwise(GRADES):
            if pds[worse] <= pds[better]:
                raise _invalid_scale(
                    f"PDs must strictly increase: grade {worse} ({pds[worse]}) "
                    f"is not riskier than grade {better} ({pds[better]})"
                )
        if pds[INSOLVENT_GRADE] != 1:
            raise _invalid_scale(f"grade {INSOLVENT_GRADE} (insolvent) must have PD 1, got {pds[INSOLVENT_GRADE]}")
        object.__setattr__(self, "pd_by_grade", MappingProxyType(pds))

    def __hash__(self) -> int:
        return hash(tuple(self.pd_by_grade.items()))

    def __iter__(self) -> Iterator[tuple[RiskGrade, Decimal]]:
        """(grade, PD) pairs from best to worst."""
        return iter(self.pd_by_grade.items())

    def pd_of(self, grade: int) -> Decimal:
        """The one-year PD of a grade."""
        return self.pd_by_grade[validate_grade(grade)]

    def band_upper_bounds(self) -> tuple[Decimal, ...]:
        """Upper PD bound (inclusive) of grades 1..9; grade 10 takes the rest.

        Each bound is the geometric mean of two consecutive grades' PDs. PDs
        are spread on a log scale (each notch roughly doubles the risk), so
        the geometric midpoint splits the distance between two grades evenly
        where an arithmetic one would push almost everything to the better
        grade.
        """
        return tuple((self.pd_by_grade[g] * self.pd_by_grade[g + 1]).sqrt() for g in GRADES[:-1])

    def grade_of_pd(self, pd: Decimal) -> RiskGrade:
        """The grade whose band contains ``pd`` (a scoring model's output).

        Grade g's band is ``(bound[g-1], bound[g]]`` with the bounds of
        :meth:`band_upper_bounds`; grade 1's band starts at 0 and grade 10's
        ends at 1. A PD exactly on a bound gets the better grade. Each grade's
        own PD lies inside its band, so ``grade_of_pd(pd_of(g)) == g``.
        """
        if isinstance(pd, float | bool) or not isinstance(pd, Decimal | int):
            raise InvalidInput(
                f"probability of default must be a Decimal, got {pd!r}",
                code="grade.invalid_pd",
                field="probability_of_default",
                context={"probability_of_default": pd},
            )
        value = Decimal(pd)
        if not value.is_finite() or not 0 <= value <= 1:
            raise InvalidInput(
                f"probability of default must be in [0, 1], got {pd}",
                code="grade.invalid_pd",
                field="probability_of_default",
                context={"probability_of_default": pd},
            )
        for grade, bound in zip(GRADES, self.band_upper_bounds(), strict=False):
            if value <= bound:
                return grade
        return INSOLVENT_GRADE


#: The insurer's default scale (DOMAIN §4); settings may replace it.
DEFAULT_GRADE_SCALE = GradeScale(DEFAULT_PD_BY_GRADE)
