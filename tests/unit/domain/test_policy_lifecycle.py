"""Policy lifecycle (DOMAIN.md §3): notice deadline, late notice, tacit renewal, termination, run-off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.exposure import CoverConditions, Ineligibility, ineligibility
from tradecover.domain.money import Money
from tradecover.domain.periods import Period
from tradecover.domain.policies import (
    NoticeOutcome,
    NoticeParty,
    Policy,
    PolicyStatus,
    TerminationKind,
    ensure_not_terminated,
    ensure_renewable,
    is_terminated,
    renewal_notice_deadline,
    renewals_due,
    status_on,
)
from tradecover.domain.receivables import EntryKind, Invoice

AT = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_2026 = Period(date(2026, 1, 1), date(2027, 1, 1))
YEAR_2027 = Period(date(2027, 1, 1), date(2028, 1, 1))
END_2026 = date(2027, 1, 1)  # exclusive end of the 2026 period: its last covered day is 2026-12-31
DEADLINE_2026 = date(2026, 10, 3)  # 90 days before 2027-01-01


def policy(*periods: Period) -> Policy:
    return Policy("pol-1", "TC-2026-000001", "org-1", "EUR", PolicyStatus.IN_FORCE, list(periods or [YEAR_2026]), AT)


def notice(p: Policy, given_on: date, days: int = 90) -> None:
    p.give_notice(given_by=NoticeParty.INSURED, given_on=given_on, reason="moving insurer", renewal_notice_days=days)


# ------------------------------------------------------------------ the deadline


def test_the_deadline_is_the_period_end_minus_the_notice_days() -> None:
    assert renewal_notice_deadline(END_2026, 90) == DEADLINE_2026
    assert (END_2026 - DEADLINE_2026).days == 90
    assert renewal_notice_deadline(END_2026, 0) == END_2026
    with pytest.raises(InvalidInput):
        renewal_notice_deadline(END_2026, -1)


@pytest.mark.parametrize(
    ("given_on", "in_time", "termination", "outcome"),
    [
        (date(2026, 10, 2), True, date(2027, 1, 1), NoticeOutcome.ENDS_AT_PERIOD_END),  # the day before
        (date(2026, 10, 3), True, date(2027, 1, 1), NoticeOutcome.ENDS_AT_PERIOD_END),  # the deadline itself
        (date(2026, 10, 4), False, date(2028, 1, 1), NoticeOutcome.RENEWED_ONCE_MORE),  # the day after: late
    ],
)
def test_notice_on_the_day_before_of_and_after_the_deadline(
    given_on: date, in_time: bool, termination: date, outcome: NoticeOutcome
) -> None:
    p = policy()

    given = p.give_notice(
        given_by=NoticeParty.INSURED, given_on=given_on, reason="moving insurer", renewal_notice_days=90
    )

    assert given.deadline == DEADLINE_2026
    assert given.in_time is in_time
    assert given.outcome is outcome
    assert given.effective_date == termination
    assert p.termination_date == termination
    assert p.termination_kind is TerminationKind.NOTICE
    assert p.termination_reason == "moving insurer"
    assert ("renewed once more" in given.explain()) is not in_time


def test_late_notice_in_a_renewed_year_is_judged_against_that_years_end() -> None:
    p = policy(YEAR_2026, YEAR_2027)

    notice(p, date(2027, 11, 1))  # after the 2027 deadline (2027-10-03)

    assert p.termination_date == date(2029, 1, 1)


def test_notice_after_the_last_recorded_period_counts_the_years_tacit_renewal_opened() -> None:
    p = policy()  # the renewal batch has not run yet

    notice(p, date(2027, 3, 1))

    assert p.termination_date == date(2028, 1, 1)


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), st.integers(0, 365))
def test_notice_ends_this_period_exactly_when_given_at_least_the_notice_days_before_its_end(
    given_on: date, days: int
) -> None:
    p = policy()

    notice(p, given_on, days)

    in_time = (END_2026 - given_on).days >= days
    assert p.termination_date == (END_2026 if in_time else date(2028, 1, 1))


def test_a_second_notice_and_a_notice_before_the_start_are_refused() -> None:
    p = policy()
    with pytest.raises(InvalidInput) as early:
        notice(p, date(2025, 12, 31))
    assert early.value.code == "policy.notice_before_start"
    notice(p, date(2026, 3, 1))

    with pytest.raises(RuleBroken) as again:
        notice(p, date(2026, 3, 2))

    assert again.value.code == "policy.already_terminated"
    assert p.termination_date == END_2026


# ------------------------------------------------------------------ tacit renewal


def test_tacit_renewal_opens_the_next_period_on_the_day_the_period_ends() -> None:
    p = policy()

    assert renewals_due(p, date(2026, 12, 31)) == []
    assert renewals_due(p, END_2026) == [YEAR_2027]


def test_tacit_renewal_loops_over_several_years_and_runs_once() -> None:
    p = policy()

    added = p.renew_tacitly(date(2029, 6, 1))

    assert added == [YEAR_2027, Period(date(2028, 1, 1), date(2029, 1, 1)), Period(date(2029, 1, 1), date(2030, 1, 1))]
    assert p.periods == [YEAR_2026, *added]
    assert p.renew_tacitly(date(2029, 6, 1)) == []


def test_a_policy_terminated_at_the_period_end_is_not_renewed() -> None:
    p = policy()
    notice(p, date(2026, 9, 1))

    assert p.renew_tacitly(date(2030, 1, 1)) == []
    with pytest.raises(RuleBroken) as caught:
        ensure_renewable(p)
    assert caught.value.code == "policy.terminated"


def test_late_notice_lets_the_policy_renew_once_more_then_stop() -> None:
    p = policy()
    notice(p, date(2026, 11, 1))

    assert p.renew_tacitly(date(2030, 1, 1)) == [YEAR_2027]
    assert p.termination_date == YEAR_2027.end


def test_a_policy_not_in_force_is_not_renewed() -> None:
    p = policy()
    p.status = PolicyStatus.CANCELLED

    assert renewals_due(p, date(2030, 1, 1)) == []


# ------------------------------------------------------------------ termination by the insurer


def test_the_insurer_terminates_inside_the_running_period_or_at_its_end() -> None:
    inside, at_end = policy(), policy()

    inside.terminate(effective_date=date(2026, 5, 1), reason="unpaid premium", today=date(2026, 4, 1))
    at_end.terminate(effective_date=END_2026, reason="unpaid premium", today=date(2026, 4, 1))

    assert inside.termination_date == date(2026, 5, 1)
    assert inside.termination_kind is TerminationKind.INSURER_DECISION
    assert at_end.termination_date == END_2026


@pytest.mark.parametrize(
    ("effective", "code"),
    [
        (date(2025, 12, 31), "policy.termination_retroactive"),
        (date(2026, 3, 31), "policy.termination_retroactive"),  # the day before today
        (date(2027, 1, 2), "policy.termination_outside_period"),
    ],
)
def test_a_termination_outside_the_period_or_backwards_is_refused(effective: date, code: str) -> None:
    p = policy()

    with pytest.raises(RuleBroken) as caught:
        p.terminate(effective_date=effective, reason="unpaid premium", today=date(2026, 4, 1))

    assert caught.value.code == code
    assert p.termination_date is None


def test_a_termination_before_the_running_period_is_refused() -> None:
    p = policy(YEAR_2026, YEAR_2027)

    with pytest.raises(RuleBroken) as caught:
        p.terminate(effective_date=date(2026, 12, 1), reason="unpaid premium", today=date(2027, 2, 1))

    assert caught.value.code == "policy.termination_retroactive"


def test_a_second_termination_is_refused() -> None:
    p = policy()
    p.terminate(effective_date=date(2026, 5, 1), reason="unpaid premium", today=date(2026, 4, 1))

    with pytest.raises(RuleBroken) as caught:
        p.terminate(effective_date=date(2026, 4, 15), reason="again", today=date(2026, 4, 1))

    assert caught.value.code == "policy.already_terminated"
    assert p.termination_date == date(2026, 5, 1)


def test_the_insurer_may_bring_forward_a_termination_set_by_notice_only() -> None:
    p = policy()
    notice(p, date(2026, 3, 1))
    with pytest.raises(RuleBroken) as later:
        p.terminate(effective_date=END_2026, reason="unpaid premium", today=date(2026, 4, 1))
    assert later.value.code == "policy.already_terminated"

    p.terminate(effective_date=date(2026, 6, 1), reason="unpaid premium", today=date(2026, 4, 1))

    assert p.termination_date == date(2026, 6, 1)
    assert p.termination_kind is TerminationKind.INSURER_DECISION
    assert p.termination_notice is not None
    assert p.termination_notice.effective_date == END_2026  # the notice stays on record


def test_terminated_from_the_termination_date_on() -> None:
    p = policy()
    p.terminate(effective_date=date(2026, 5, 1), reason="unpaid premium", today=date(2026, 4, 1))

    assert not is_terminated(p, date(2026, 4, 30))
    assert is_terminated(p, date(2026, 5, 1))
    assert status_on(p, date(2026, 4, 30)) is PolicyStatus.IN_FORCE
    assert status_on(p, date(2026, 5, 1)) is PolicyStatus.TERMINATED
    ensure_not_terminated(p, date(2026, 4, 30))
    with pytest.raises(RuleBroken) as caught:
        ensure_not_terminated(p, date(2026, 5, 1))
    assert caught.value.code == "policy.terminated"
    assert not is_terminated(policy(), date(2090, 1, 1))


# ------------------------------------------------------------------ run-off


def delivered(day: date) -> Invoice:
    eur = Money.of("1000", "EUR")
    return Invoice(
        id=f"i-{day}",
        policy_id="pol-1",
        buyer_id="b-1",
        kind=EntryKind.INVOICE,
        number=f"F-{day}",
        issue_date=day,
        delivery_date=day,
        due_date=day + timedelta(days=60),
        amount_excl_vat=eur,
        vat_amount=Money.of("200", "EUR"),
        recorded_at=AT,
        recorded_by="test",
    )


def test_deliveries_before_the_termination_stay_covered_and_later_ones_are_not() -> None:
    conditions = CoverConditions(
        max_credit_period_days=120,
        policy_periods=((YEAR_2026.start, YEAR_2026.end),),
        stop_ship_from=None,
        buyer_excluded=False,
        termination_date=date(2026, 5, 1),
    )
    on = date(2026, 8, 1)

    assert ineligibility(delivered(date(2026, 4, 30)), conditions, [], on) is None
    assert ineligibility(delivered(date(2026, 5, 1)), conditions, [], on) is Ineligibility.DELIVERED_AFTER_TERMINATION
