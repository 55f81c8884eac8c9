"""Policy rules: numbering, endorsement dates, terms in force, renewal periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import RuleBroken
from tradecover.domain.periods import Period, add_months
from tradecover.domain.policies import (
    Policy,
    PolicyStatus,
    TermsVersion,
    TermsVersionRef,
    check_endorsement_date,
    next_period,
    policy_number,
    terms_in_force,
)
from tradecover.domain.terms import PolicyTerms

YEAR = Period(date(2026, 1, 1), date(2027, 1, 1))
AT = datetime(2026, 1, 1, tzinfo=UTC)


def version(number: int, effective: date, rate: str = "0.90") -> TermsVersion:
    terms = PolicyTerms.build(currency_code="EUR", policyholder_country="FR", overrides={"indemnity_rate": rate})
    return TermsVersion("pol-1", number, effective, terms, f"v{number}", "user:u", AT)


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("year", "sequence", "number"),
    [(2026, 1, "TC-2026-000001"), (2026, 42, "TC-2026-000042"), (2031, 999_999, "TC-2031-999999")],
)
def test_policy_numbers_carry_the_year_and_a_padded_sequence(year: int, sequence: int, number: str) -> None:
    assert policy_number(year, sequence) == number


@given(st.integers(min_value=2000, max_value=2999), st.integers(min_value=1, max_value=999_998))
def test_policy_numbers_sort_like_their_sequence(year: int, sequence: int) -> None:
    assert policy_number(year, sequence) < policy_number(year, sequence + 1)
    assert policy_number(year, 999_999) < policy_number(year + 1, 1)


# ------------------------------------------------------- endorsement dates


@pytest.mark.parametrize(
    ("effective", "allowed"),
    [
        (date(2025, 12, 31), False),  # day before the start
        (date(2026, 1, 1), True),  # the start
        (date(2026, 1, 2), True),  # day after the start
        (date(2026, 12, 31), True),  # the last day
        (date(2027, 1, 1), False),  # the end: half-open, outside
        (date(2027, 1, 2), False),  # day after the end
    ],
)
def test_an_endorsement_takes_effect_within_the_current_period(effective: date, allowed: bool) -> None:
    if allowed:
        check_endorsement_date(YEAR, effective, [])
    else:
        with pytest.raises(RuleBroken) as caught:
            check_endorsement_date(YEAR, effective, [])
        assert caught.value.code == "policy.endorsement_outside_period"
        assert caught.value.field == "effective_date"


@pytest.mark.parametrize(
    ("effective", "allowed"),
    [
        (date(2026, 5, 31), False),  # day before the latest version
        (date(2026, 6, 1), True),  # the day of the latest version
        (date(2026, 6, 2), True),  # day after
    ],
)
def test_an_endorsement_cannot_predate_the_latest_version(effective: date, allowed: bool) -> None:
    versions = [TermsVersionRef(1, date(2026, 1, 1)), TermsVersionRef(2, date(2026, 6, 1))]

    if allowed:
        check_endorsement_date(YEAR, effective, versions)
    else:
        with pytest.raises(RuleBroken) as caught:
            check_endorsement_date(YEAR, effective, versions)
        assert caught.value.code == "policy.endorsement_backdated"
        assert caught.value.field == "effective_date"


def test_versions_of_earlier_periods_do_not_block_an_endorsement() -> None:
    renewed = Period(date(2027, 1, 1), date(2028, 1, 1))

    check_endorsement_date(renewed, date(2027, 1, 1), [TermsVersionRef(1, date(2026, 1, 1))])


def test_the_period_rule_is_checked_before_the_backdating_rule() -> None:
    with pytest.raises(RuleBroken) as caught:
        check_endorsement_date(YEAR, date(2025, 6, 1), [TermsVersionRef(1, date(2026, 6, 1))])

    assert caught.value.code == "policy.endorsement_outside_period"


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
def test_an_endorsement_date_is_allowed_exactly_inside_the_period(effective: date) -> None:
    try:
        check_endorsement_date(YEAR, effective, [])
    except RuleBroken:
        assert effective not in YEAR
    else:
        assert effective in YEAR


# ------------------------------------------------------------ terms in force


VERSIONS = [
    version(1, date(2026, 1, 1)),
    version(2, date(2026, 3, 1), "0.85"),
    version(3, date(2026, 6, 1), "0.80"),
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 12, 31), 1),  # before the policy starts: the first version
        (date(2026, 1, 1), 1),
        (date(2026, 2, 28), 1),  # day before version 2
        (date(2026, 3, 1), 2),  # day of version 2
        (date(2026, 3, 2), 2),  # day after
        (date(2026, 5, 31), 2),
        (date(2026, 6, 1), 3),
        (date(2030, 1, 1), 3),
    ],
)
def test_the_terms_in_force_are_the_latest_effective_version(day: date, expected: int) -> None:
    assert terms_in_force(VERSIONS, day).version == expected


def test_the_terms_in_force_do_not_depend_on_the_order_given() -> None:
    shuffled = [VERSIONS[2], VERSIONS[0], VERSIONS[1]]

    assert terms_in_force(shuffled, date(2026, 4, 1)) == VERSIONS[1]


def test_of_two_versions_on_one_day_the_later_one_is_in_force() -> None:
    same_day = [
        version(1, date(2026, 1, 1)),
        version(2, date(2026, 4, 1), "0.85"),
        version(3, date(2026, 4, 1), "0.80"),
    ]

    in_force = terms_in_force(same_day, date(2026, 4, 1))

    assert in_force.version == 3
    assert str(in_force.terms.indemnity_rate) == "0.80"


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_the_version_in_force_is_never_effective_after_the_day_unless_it_is_the_first(day: date) -> None:
    in_force = terms_in_force(VERSIONS, day)

    assert in_force.effective_date <= day or in_force.version == 1
    later = [v for v in VERSIONS if v.version > in_force.version]
    assert all(v.effective_date > day for v in later)


# ----------------------------------------------------------------- renewal


def test_renewal_opens_the_next_twelve_months() -> None:
    assert next_period(YEAR, PolicyStatus.IN_FORCE) == Period(date(2027, 1, 1), date(2028, 1, 1))


def test_renewal_of_a_year_starting_mid_month() -> None:
    year = Period.twelve_months(date(2026, 4, 15))

    assert next_period(year, PolicyStatus.IN_FORCE) == Period(date(2027, 4, 15), date(2028, 4, 15))


def test_a_cancelled_policy_is_not_renewed() -> None:
    with pytest.raises(RuleBroken) as caught:
        next_period(YEAR, PolicyStatus.CANCELLED)

    assert caught.value.code == "policy.not_in_force"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_renewed_periods_tile_time(start: date) -> None:
    current = Period.twelve_months(start)

    following = next_period(current, PolicyStatus.IN_FORCE)

    assert following.start == current.end
    assert not following.overlaps(current)
    assert following.end == add_months(following.start, 12)
    assert 365 <= following.days <= 366


# ------------------------------------------------------------------ policy


def test_a_policy_knows_its_current_period_and_the_period_of_a_day() -> None:
    second = next_period(YEAR, PolicyStatus.IN_FORCE)
    policy = Policy("pol-1", "TC-2026-000001", "org-1", "EUR", PolicyStatus.IN_FORCE, [YEAR, second], AT)

    assert policy.current_period == second
    assert policy.period_on(date(2026, 12, 31)) == YEAR
    assert policy.period_on(date(2027, 1, 1)) == second
    assert policy.period_on(date(2025, 12, 31)) is None
    assert policy.period_on(second.end) is None
    assert policy.period_on(second.end - timedelta(days=1)) == second
