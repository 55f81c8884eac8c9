"""The deadline engine: every contractual and legal date (DOMAIN.md §3, §7).

Each deadline is checked on the day before, the day of and the day after: an
act on the deadline is in time, the next day is late.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecover.domain import monitoring
from tradecover.domain.deadlines import (
    add_months,
    administrator_claim_filing_deadline,
    days_left,
    deadline_passed,
    easter_sunday,
    extension_within_allowance,
    french_public_holidays,
    insolvency_notification_deadline,
    is_french_working_day,
    lme_latest_due_date,
    lme_terms_compliant,
    local_date,
    max_extension_due_date,
    next_working_day,
    notification_deadline,
    overdue_notification_deadline,
    policy_time_zone,
    waiting_period_end,
)
from tradecover.domain.errors import InvalidInput

ONE_DAY = timedelta(days=1)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
day_counts = st.integers(min_value=0, max_value=400)


def assert_deadline(deadline: date, expected: date) -> None:
    """The deadline is ``expected``: in time the day before and on it, late the day after."""
    assert deadline == expected
    assert not deadline_passed(deadline, expected - ONE_DAY)
    assert not deadline_passed(deadline, expected)
    assert deadline_passed(deadline, expected + ONE_DAY)
    assert days_left(deadline, expected - ONE_DAY) == 1
    assert days_left(deadline, expected) == 0
    assert days_left(deadline, expected + ONE_DAY) == -1


# ------------------------------------------------- overdue notification (§7)


def test_overdue_notification_deadline_is_due_date_plus_notification_period() -> None:
    # Issued 10 Jan, due 10 Mar (59 days, under the 120-day maximum): 10 Mar + 90 days.
    deadline = overdue_notification_deadline(
        issue_date=date(2026, 1, 10),
        due_date=date(2026, 3, 10),
        max_credit_period_days=120,
        overdue_notification_days=90,
    )
    assert_deadline(deadline, date(2026, 6, 8))


def test_overdue_notification_deadline_caps_the_due_date_at_the_maximum_credit_period() -> None:
    # Due 10 Jul = 181 days after issue: the cover stops at issue + 120 = 10 May, + 90 days.
    deadline = overdue_notification_deadline(
        issue_date=date(2026, 1, 10),
        due_date=date(2026, 7, 10),
        max_credit_period_days=120,
        overdue_notification_days=90,
    )
    assert_deadline(deadline, date(2026, 8, 8))


def test_overdue_notification_deadline_at_exactly_the_maximum_credit_period() -> None:
    deadline = overdue_notification_deadline(
        issue_date=date(2026, 1, 10),
        due_date=date(2026, 5, 10),
        max_credit_period_days=120,
        overdue_notification_days=90,
    )
    assert deadline == date(2026, 8, 8)


@pytest.mark.parametrize("field", ["max_credit_period_days", "overdue_notification_days"])
@pytest.mark.parametrize("bad", [-1, True, "90"])
def test_overdue_notification_deadline_refuses_bad_day_counts(field: str, bad: object) -> None:
    days: dict[str, Any] = {"max_credit_period_days": 120, "overdue_notification_days": 90, field: bad}
    with pytest.raises(InvalidInput) as caught:
        overdue_notification_deadline(issue_date=date(2026, 1, 10), due_date=date(2026, 3, 10), **days)
    assert caught.value.code == "deadlines.invalid_days"
    assert caught.value.field == field


def test_deadlines_refuse_datetimes() -> None:
    with pytest.raises(InvalidInput) as caught:
        insolvency_notification_deadline(datetime(2026, 4, 15, tzinfo=UTC))
    assert caught.value.code == "deadlines.invalid_date"
    assert caught.value.field == "publication_date"


# ----------------------------------------------- insolvency notification (§7)


def test_insolvency_notification_deadline_is_publication_plus_30_days() -> None:
    assert_deadline(insolvency_notification_deadline(date(2026, 4, 15)), date(2026, 5, 15))
    assert insolvency_notification_deadline(date(2026, 4, 15), 45) == date(2026, 5, 30)


def test_insolvency_notification_deadline_is_still_importable_from_monitoring() -> None:
    assert monitoring.insolvency_notification_deadline is insolvency_notification_deadline


def invoice_deadline(
    publication: date | None = None, *, issue: date = date(2026, 1, 10), due: date = date(2026, 3, 10), days: int = 30
) -> date:
    """An invoice issued 10 Jan, due 10 Mar: its overdue deadline is 8 Jun (see above)."""
    return notification_deadline(
        issue_date=issue,
        due_date=due,
        max_credit_period_days=120,
        overdue_notification_days=90,
        insolvency_publication_date=publication,
        insolvency_notification_days=days,
    )


def test_notification_deadline_without_publication_is_the_overdue_one() -> None:
    assert invoice_deadline() == date(2026, 6, 8)


def test_notification_deadline_insolvency_comes_first() -> None:
    # Published 15 Apr: the 30-day clock ends 15 May, before the overdue deadline of 8 Jun.
    deadline = invoice_deadline(date(2026, 4, 15))
    assert_deadline(deadline, date(2026, 5, 15))


def test_notification_deadline_overdue_comes_first() -> None:
    # Published 1 Jun: the 30-day clock ends 1 Jul, after the overdue deadline of 8 Jun.
    deadline = invoice_deadline(date(2026, 6, 1))
    assert_deadline(deadline, date(2026, 6, 8))


def test_notification_deadline_uses_the_insolvency_notification_days() -> None:
    assert invoice_deadline(date(2026, 4, 15), days=10) == date(2026, 4, 25)


# ---------------------------------------------------- months (art. 641 CPC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 15), 2, date(2026, 3, 15)),  # same day number
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 Feb: the month's last day
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # leap year
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2028, 2, 29), 1, date(2028, 3, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 8, 31), 4, date(2026, 12, 31)),
    ],
)
def test_add_months_counts_day_for_day(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


# ------------------------------------------------- French public holidays


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2028, date(2028, 4, 16)),
        (2038, date(2038, 4, 25)),  # the latest possible date
        (2285, date(2285, 3, 22)),  # the earliest possible date
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_french_public_holidays_2027() -> None:
    assert french_public_holidays(2027) == {
        date(2027, 1, 1),
        date(2027, 3, 29),  # Easter Monday
        date(2027, 5, 1),
        date(2027, 5, 6),  # Ascension Thursday
        date(2027, 5, 8),
        date(2027, 5, 17),  # Whit Monday
        date(2027, 7, 14),
        date(2027, 8, 15),
        date(2027, 11, 1),
        date(2027, 11, 11),
        date(2027, 12, 25),
    }


def test_easter_sunday_refuses_non_gregorian_years() -> None:
    with pytest.raises(InvalidInput) as caught:
        easter_sunday(1500)
    assert caught.value.code == "deadlines.invalid_year"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 15), date(2026, 5, 15)),  # a Friday: itself
        (date(2026, 5, 16), date(2026, 5, 18)),  # Saturday → Monday
        (date(2026, 11, 1), date(2026, 11, 2)),  # Sunday and All Saints → Monday
        (date(2026, 8, 15), date(2026, 8, 17)),  # Saturday and Assumption → Monday
        (date(2026, 12, 25), date(2026, 12, 28)),  # Christmas on a Friday → Monday
        (date(2027, 3, 27), date(2027, 3, 30)),  # Saturday, Easter Sunday, Easter Monday → Tuesday
        (date(2026, 5, 14), date(2026, 5, 15)),  # Ascension Thursday → Friday
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert next_working_day(day) == expected
    assert is_french_working_day(expected)


# ------------------------------- claim with the administrator (R.622-24 C. com.)


def test_claim_filing_deadline_is_publication_plus_two_months() -> None:
    # 12 Mar + 2 months = Tuesday 12 May 2026, a working day.
    assert_deadline(administrator_claim_filing_deadline(date(2026, 3, 12)), date(2026, 5, 12))


def test_claim_filing_deadline_is_four_months_for_a_creditor_abroad() -> None:
    # 12 Mar + 4 months = Sunday 12 Jul 2026 → Monday 13 Jul.
    assert_deadline(administrator_claim_filing_deadline(date(2026, 3, 12), creditor_abroad=True), date(2026, 7, 13))


def test_claim_filing_deadline_on_a_saturday_moves_to_monday() -> None:
    # 16 Mar + 2 months = Saturday 16 May 2026 → Monday 18 May (art. 642 CPC).
    assert_deadline(administrator_claim_filing_deadline(date(2026, 3, 16)), date(2026, 5, 18))


def test_claim_filing_deadline_on_easter_monday_moves_to_tuesday() -> None:
    # 29 Jan + 2 months = Easter Monday 29 Mar 2027 → Tuesday 30 Mar.
    assert_deadline(administrator_claim_filing_deadline(date(2027, 1, 29)), date(2027, 3, 30))


def test_claim_filing_deadline_on_14_july_moves_to_the_next_day() -> None:
    # 14 May + 2 months = Tuesday 14 Jul 2026 (Bastille Day) → Wednesday 15 Jul.
    assert_deadline(administrator_claim_filing_deadline(date(2026, 5, 14)), date(2026, 7, 15))
    # The same date reached in four months by a creditor abroad.
    assert administrator_claim_filing_deadline(date(2026, 3, 14), creditor_abroad=True) == date(2026, 7, 15)


def test_claim_filing_deadline_across_the_end_of_february() -> None:
    # 31 Dec 2026 + 2 months = 28 Feb 2027, a Sunday → Monday 1 Mar.
    assert_deadline(administrator_claim_filing_deadline(date(2026, 12, 31)), date(2027, 3, 1))
    # 31 Dec 2027 + 2 months = 29 Feb 2028 (leap year), a Tuesday.
    assert_deadline(administrator_claim_filing_deadline(date(2027, 12, 31)), date(2028, 2, 29))


# ------------------------------------------------------- waiting period (§3)


def test_waiting_period_end_is_notification_plus_waiting_period() -> None:
    assert_deadline(waiting_period_end(date(2026, 6, 8), 150), date(2026, 11, 5))
    assert waiting_period_end(date(2026, 6, 8), 0) == date(2026, 6, 8)


# -------------------------------------------------- term extensions (§3)


def test_max_extension_due_date() -> None:
    assert_deadline(max_extension_due_date(date(2026, 3, 31), 60), date(2026, 5, 30))


@pytest.mark.parametrize(
    ("new_due_date", "within"),
    [
        (date(2026, 3, 31), True),  # no extension at all
        (date(2026, 5, 29), True),  # the day before the limit
        (date(2026, 5, 30), True),  # the limit itself
        (date(2026, 5, 31), False),  # the day after: not covered without asking
    ],
)
def test_extension_within_allowance(new_due_date: date, within: bool) -> None:
    assert (
        extension_within_allowance(
            original_due_date=date(2026, 3, 31), new_due_date=new_due_date, max_extension_days=60
        )
        is within
    )


def test_an_extension_before_the_due_date_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        extension_within_allowance(
            original_due_date=date(2026, 3, 31), new_due_date=date(2026, 3, 30), max_extension_days=60
        )
    assert caught.value.code == "overdue.extension_before_due_date"
    assert caught.value.field == "new_due_date"


# ------------------------------------------------- LME (L441-10 C. com.)


@pytest.mark.parametrize(
    ("issue_date", "latest"),
    [
        # +60 = 11 Mar; end of month of (+45 = 24 Feb) = 28 Feb; 31 Jan + 45 = 17 Mar.
        (date(2026, 1, 10), date(2026, 3, 17)),
        # +60 = 1 Apr; end of month of (+45 = 17 Mar) = 31 Mar; 31 Jan + 45 = 17 Mar.
        (date(2026, 1, 31), date(2026, 4, 1)),
        # +60 = 21 Apr; end of month of (+45 = 6 Apr) = 30 Apr; 28 Feb + 45 = 14 Apr.
        (date(2026, 2, 20), date(2026, 4, 30)),
    ],
)
def test_lme_latest_due_date_takes_the_latest_reading(issue_date: date, latest: date) -> None:
    assert lme_latest_due_date(issue_date) == latest
    assert lme_terms_compliant(issue_date, latest - ONE_DAY)
    assert lme_terms_compliant(issue_date, latest)
    assert not lme_terms_compliant(issue_date, latest + ONE_DAY)


# ------------------------------------------------------------ local time


def test_local_date_across_midnight_in_paris() -> None:
    instant = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert local_date(instant, "Europe/Paris") == date(2026, 7, 1)
    assert local_date(instant, "UTC") == date(2026, 6, 30)
    # Summer time in Paris is UTC+2: midnight local is 22:00 UTC.
    assert local_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC), "Europe/Paris") == date(2026, 6, 30)
    assert local_date(datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "Europe/Paris") == date(2026, 7, 1)
    # Winter time is UTC+1.
    assert local_date(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "Europe/Paris") == date(2027, 1, 1)
    assert local_date(datetime(2026, 12, 31, 22, 59, tzinfo=UTC), "Europe/Paris") == date(2026, 12, 31)


def test_local_date_behind_utc() -> None:
    assert local_date(datetime(2026, 7, 1, 3, 0, tzinfo=UTC), "America/New_York") == date(2026, 6, 30)


def test_local_date_accepts_any_aware_instant() -> None:
    instant = datetime(2026, 7, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # = 23:30 UTC on 30 Jun
    assert local_date(instant, "UTC") == date(2026, 6, 30)
    assert local_date(instant, "Europe/Paris") == date(2026, 7, 1)


def test_a_deadline_passes_at_local_midnight() -> None:
    deadline = date(2026, 6, 30)
    zone = policy_time_zone("FR")
    assert not deadline_passed(deadline, local_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC), zone))
    assert deadline_passed(deadline, local_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), zone))


def test_local_date_refuses_naive_instants_and_unknown_zones() -> None:
    with pytest.raises(InvalidInput) as caught:
        local_date(datetime(2026, 6, 30, 23, 30), "Europe/Paris")
    assert caught.value.code == "clock.naive_datetime"
    for zone in ("Europe/Atlantis", "", "../etc/passwd"):
        with pytest.raises(InvalidInput) as caught:
            local_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), zone)
        assert caught.value.code == "deadlines.unknown_time_zone"


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("FR", "Europe/Paris"),
        ("fr", "Europe/Paris"),
        ("DE", "Europe/Berlin"),
        ("NO", "Europe/Oslo"),
        ("GB", "Europe/London"),
        ("CH", "Europe/Zurich"),
        ("US", "America/New_York"),
        ("JP", "UTC"),
    ],
)
def test_policy_time_zone(country: str, zone: str) -> None:
    assert policy_time_zone(country) == zone


def test_every_policy_time_zone_exists() -> None:
    eu_eea = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO GB CH US"
    for country in eu_eea.split():
        zone = policy_time_zone(country)
        assert zone != "UTC", country
        ZoneInfo(zone)


def test_policy_time_zone_refuses_malformed_codes() -> None:
    with pytest.raises(InvalidInput):
        policy_time_zone("FRA")


# ----------------------------------------------------------- properties


@given(
    issue=dates,
    term=day_counts,
    extra=st.integers(min_value=0, max_value=30),
    max_credit=day_counts,
    notification=day_counts,
)
def test_overdue_notification_deadline_is_monotonic(
    issue: date, term: int, extra: int, max_credit: int, notification: int
) -> None:
    due = issue + timedelta(days=term)

    def deadline(issue: date = issue, due: date = due, max_credit: int = max_credit, notif: int = notification) -> date:
        return overdue_notification_deadline(
            issue_date=issue, due_date=due, max_credit_period_days=max_credit, overdue_notification_days=notif
        )

    base = deadline()
    assert deadline(due=due + timedelta(days=extra)) >= base
    assert deadline(issue=issue + timedelta(days=extra)) >= base
    assert deadline(max_credit=max_credit + extra) >= base
    assert deadline(notif=notification + extra) == base + timedelta(days=extra)
    assert base <= due + timedelta(days=notification)


@given(issue=dates, term=day_counts, publication=dates, later=st.integers(min_value=0, max_value=60))
def test_notification_deadline_is_the_earlier_and_monotonic(
    issue: date, term: int, publication: date, later: int
) -> None:
    due = issue + timedelta(days=term)
    overdue = invoice_deadline(issue=issue, due=due)
    combined = invoice_deadline(publication, issue=issue, due=due)
    assert combined == min(overdue, insolvency_notification_deadline(publication))
    moved = invoice_deadline(publication + timedelta(days=later), issue=issue, due=due)
    assert combined <= moved <= overdue


@given(publication=dates, later=st.integers(min_value=0, max_value=60), abroad=st.booleans())
def test_claim_filing_deadline_is_a_monotonic_working_day(publication: date, later: int, abroad: bool) -> None:
    deadline = administrator_claim_filing_deadline(publication, creditor_abroad=abroad)
    nominal = add_months(publication, 4 if abroad else 2)
    assert is_french_working_day(deadline)
    assert nominal <= deadline <= nominal + timedelta(days=3)
    assert administrator_claim_filing_deadline(publication + timedelta(days=later), creditor_abroad=abroad) >= deadline
    assert administrator_claim_filing_deadline(publication, creditor_abroad=True) >= (
        administrator_claim_filing_deadline(publication)
    )


@given(day=dates, days=day_counts, extra=st.integers(min_value=0, max_value=60))
def test_day_count_deadlines_are_monotonic(day: date, days: int, extra: int) -> None:
    later = day + timedelta(days=extra)
    assert waiting_period_end(later, days) >= waiting_period_end(day, days)
    assert waiting_period_end(day, days + extra) >= waiting_period_end(day, days)
    assert max_extension_due_date(later, days) >= max_extension_due_date(day, days)
    assert max_extension_due_date(day, days + extra) >= max_extension_due_date(day, days)
    assert insolvency_notification_deadline(later, days) >= insolvency_notification_deadline(day, days)


@given(issue=dates, extra=st.integers(min_value=0, max_value=60))
def test_lme_latest_due_date_is_monotonic_and_at_least_60_days(issue: date, extra: int) -> None:
    latest = lme_latest_due_date(issue)
    assert latest >= issue + timedelta(days=60)
    assert latest <= issue + timedelta(days=45 + 31 + 30)
    assert lme_latest_due_date(issue + timedelta(days=extra)) >= latest


@given(day=dates, months=st.integers(min_value=-120, max_value=120))
def test_add_months_lands_in_the_target_month(day: date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day <= day.day
    if result.day < day.day:  # no such day in the target month: its last day
        assert (result + ONE_DAY).day == 1


@given(day=dates, extra=st.integers(min_value=0, max_value=60))
def test_add_months_is_monotonic(day: date, extra: int) -> None:
    assert add_months(day + timedelta(days=extra), 2) >= add_months(day, 2)


@given(deadline=dates, on=dates)
def test_deadline_passed_agrees_with_days_left(deadline: date, on: date) -> None:
    assert deadline_passed(deadline, on) == (days_left(deadline, on) < 0)
