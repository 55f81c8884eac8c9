"""Every contractual and legal date of a policy, as named functions (DOMAIN.md §3, §7).

Two kinds of deadline live here and must not be confused:

* **contractual** deadlines (overdue and insolvency notification, waiting
  period, payment-term extension) are plain calendar dates: "within 30 days"
  means the 30th day after the event, whatever weekday it is;
* **procedural** deadlines of French law (the claim filed with the insolvency
  administrator) follow the Code de procédure civile: months are counted
  day-for-day (art. 641 CPC) and a deadline falling on a Saturday, Sunday or
  public holiday moves to the next working day (art. 642 CPC).

Every deadline is the *last day* on which the act is in time: an act on the
deadline is in time, the day after is late (:func:`deadline_passed`). Deadlines
are calendar dates in the policy's time zone (:func:`policy_time_zone`), so the
question "is today past the deadline?" is asked with the *local* date of the
current instant (:func:`local_date`), never its UTC date.

Standard library only (``zoneinfo`` included): this module is pure domain.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradecover.domain import periods
from tradecover.domain.errors import InvalidInput
from tradecover.domain.terms import country_code

__all__ = [
    "add_months",
    "administrator_claim_filing_deadline",
    "days_left",
    "deadline_passed",
    "easter_sunday",
    "extension_within_allowance",
    "french_public_holidays",
    "insolvency_notification_deadline",
    "is_french_working_day",
    "lme_latest_due_date",
    "lme_terms_compliant",
    "local_date",
    "max_extension_due_date",
    "next_working_day",
    "notification_deadline",
    "overdue_notification_deadline",
    "policy_time_zone",
    "waiting_period_end",
]

#: Months to file a claim with the administrator (art. R.622-24 C. com.) …
CLAIM_FILING_MONTHS = 2
#: … extended by two months for a creditor established outside metropolitan France.
CLAIM_FILING_MONTHS_ABROAD = 4

#: LME (art. L441-10 C. com.): at most 60 days from the invoice date …
LME_MAX_DAYS = 60
#: … or 45 days end of month.
LME_MAX_DAYS_END_OF_MONTH = 45


# ------------------------------------------------------------------ checks


def _plain_date(value: object, field: str) -> date:
    # A datetime is a date subclass: adding days to it or comparing it with a
    # date silently means something else, so deadlines take calendar dates only.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            f"{field} must be a calendar date, got {value!r}",
            code="deadlines.invalid_date",
            field=field,
            context={field: value},
        )
    return value


def _days(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"{field} must be a whole number of days ≥ 0, got {value!r}",
            code="deadlines.invalid_days",
            field=field,
            context={field: value},
        )
    return value


def _plus_days(day: date, days: int, field: str) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise InvalidInput(
            f"{day} + {days} days is outside the supported calendar",
            code="deadlines.out_of_range",
            field=field,
        ) from None


# ------------------------------------------------------ notification (§7)


def overdue_notification_deadline(
    *, issue_date: date, due_date: date, max_credit_period_days: int, overdue_notification_days: int
) -> date:
    """Last day to notify an unpaid invoice as overdue (DOMAIN.md §7, terms §3).

    The invoice's due date — capped at issue date + ``max_credit_period_days``
    (a longer term is not covered beyond the maximum credit period) — plus
    ``overdue_notification_days``.
    """
    issue_date = _plain_date(issue_date, "issue_date")
    due_date = _plain_date(due_date, "due_date")
    max_credit = _days(max_credit_period_days, "max_credit_period_days")
    notification = _days(overdue_notification_days, "overdue_notification_days")
    capped = min(due_date, _plus_days(issue_date, max_credit, "max_credit_period_days"))
    return _plus_days(capped, notification, "overdue_notification_days")


def insolvency_notification_deadline(publication_date: date, notification_days: int = 30) -> date:
    """Last day to notify a buyer's invoices once its insolvency is published (DOMAIN.md §7).

    The BODACC publication date + ``insolvency_notification_days`` (30).
    """
    publication_date = _plain_date(publication_date, "publication_date")
    return _plus_days(publication_date, _days(notification_days, "notification_days"), "notification_days")


def notification_deadline(
    *,
    issue_date: date,
    due_date: date,
    max_credit_period_days: int,
    overdue_notification_days: int,
    insolvency_publication_date: date | None = None,
    insolvency_notification_days: int = 30,
) -> date:
    """The invoice's notification deadline: whichever comes first (DOMAIN.md §7).

    Without a published insolvency it is :func:`overdue_notification_deadline`;
    once the buyer's insolvency is published, the earlier of that and
    :func:`insolvency_notification_deadline`. A notification after it is
    refused for the invoice: the cover is lost.
    """
    overdue = overdue_notification_deadline(
        issue_date=issue_date,
        due_date=due_date,
        max_credit_period_days=max_credit_period_days,
        overdue_notification_days=overdue_notification_days,
    )
    if insolvency_publication_date is None:
        return overdue
    return min(overdue, insolvency_notification_deadline(insolvency_publication_date, insolvency_notification_days))


# -------------------------------------------------------- French calendar


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar ``months``, counted as art. 641 CPC counts them.

    A deadline in months expires on the day of the last month bearing the same
    day number as the starting event; without such a day, on the month's last
    day: 31 January + 1 month → 28 (29) February. Same rule as
    :func:`tradecover.domain.periods.add_months`, which it delegates to.
    """
    return periods.add_months(_plain_date(day, "day"), months)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm of Meeus/Jones/Butcher)."""
    if isinstance(year, bool) or not isinstance(year, int) or not 1583 <= year <= 9999:
        raise InvalidInput(
            f"year must be a Gregorian year 1583–9999, got {year!r}",
            code="deadlines.invalid_year",
            field="year",
        )
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (art. L3133-1 C. trav.).

    1 January, Easter Monday, 1 May, 8 May, Ascension Thursday (Easter + 39),
    Whit Monday (Easter + 50), 14 July, 15 August, 1 November, 11 November and
    25 December. The local holidays of Alsace-Moselle (Good Friday, 26 December)
    and the overseas departments are not included.
    """
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),
            easter + timedelta(days=1),
            date(year, 5, 1),
            date(year, 5, 8),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            date(year, 7, 14),
            date(year, 8, 15),
            date(year, 11, 1),
            date(year, 11, 11),
            date(year, 12, 25),
        }
    )


def is_french_working_day(day: date) -> bool:
    """Neither a Saturday, a Sunday nor a French public holiday (art. 642 CPC)."""
    day = _plain_date(day, "day")
    return day.weekday() < 5 and day not in french_public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the next one (art. 642 CPC).

    "Le délai qui expirerait normalement un samedi, un dimanche ou un jour
    férié ou chômé, est prorogé jusqu'au premier jour ouvrable suivant."
    """
    day = _plain_date(day, "day")
    while not is_french_working_day(day):
        day = _plus_days(day, 1, "day")
    return day


def administrator_claim_filing_deadline(publication_date: date, *, creditor_abroad: bool = False) -> date:
    """Last day to file the claim with the insolvency administrator (DOMAIN.md §7).

    Art. R.622-24 C. com.: two months from the BODACC publication of the
    opening judgment, four months for a creditor established outside
    metropolitan France; months counted by art. 641 CPC (:func:`add_months`)
    and, being a procedural deadline, extended to the next working day when it
    falls on a Saturday, Sunday or public holiday (art. 642 CPC).
    """
    months = CLAIM_FILING_MONTHS_ABROAD if creditor_abroad else CLAIM_FILING_MONTHS
    return next_working_day(add_months(_plain_date(publication_date, "publication_date"), months))


# ------------------------------------------------ claims and terms (§3, §8)


def waiting_period_end(notified_on: date, waiting_period_days: int) -> date:
    """End of the waiting period (délai de carence, DOMAIN.md §3 ``waiting_period_days``).

    The overdue notification date + ``waiting_period_days``: for a protracted
    default this is the date of loss, when the indemnity becomes due.
    """
    notified_on = _plain_date(notified_on, "notified_on")
    return _plus_days(notified_on, _days(waiting_period_days, "waiting_period_days"), "waiting_period_days")


def max_extension_due_date(original_due_date: date, max_extension_days: int) -> date:
    """Latest due date the insured may grant without asking (DOMAIN.md §3 ``max_extension_days``).

    The original due date + ``max_extension_days`` (prorogation); beyond it the
    invoice is not covered.
    """
    original_due_date = _plain_date(original_due_date, "original_due_date")
    return _plus_days(original_due_date, _days(max_extension_days, "max_extension_days"), "max_extension_days")


def extension_within_allowance(*, original_due_date: date, new_due_date: date, max_extension_days: int) -> bool:
    """Whether a payment-term extension stays within ``max_extension_days`` (DOMAIN.md §3).

    An extension up to and including :func:`max_extension_due_date` is within
    the allowance. A "new" due date before the original one is no extension and
    is refused (``overdue.extension_before_due_date``).
    """
    original_due_date = _plain_date(original_due_date, "original_due_date")
    new_due_date = _plain_date(new_due_date, "new_due_date")
    if new_due_date < original_due_date:
        raise InvalidInput(
            f"the new due date {new_due_date} is before the original due date {original_due_date}",
            code="overdue.extension_before_due_date",
            field="new_due_date",
            context={"original_due_date": original_due_date, "new_due_date": new_due_date},
        )
    return new_due_date <= max_extension_due_date(original_due_date, max_extension_days)


# ---------------------------------------------------------------- LME (§7)


def _end_of_month(day: date) -> date:
    first_of_next = periods.add_months(day.replace(day=1), 1)
    return first_of_next - timedelta(days=1)


def lme_latest_due_date(issue_date: date) -> date:
    """Latest lawful due date of an invoice under the LME (art. L441-10 C. com., DOMAIN.md §7).

    "Le délai convenu entre les parties pour régler les sommes dues ne peut
    dépasser soixante jours à compter de la date d'émission de la facture. Par
    dérogation, un délai maximal de quarante-cinq jours fin de mois […] peut
    être convenu." Both readings of "45 days end of month" are in use (the end
    of the month reached after 45 days, or 45 days after the end of the
    invoice's month); the latest of the three dates is accepted.
    """
    issue_date = _plain_date(issue_date, "issue_date")
    sixty_days = _plus_days(issue_date, LME_MAX_DAYS, "issue_date")
    month_end_after_45 = _end_of_month(_plus_days(issue_date, LME_MAX_DAYS_END_OF_MONTH, "issue_date"))
    forty_five_after_month_end = _plus_days(_end_of_month(issue_date), LME_MAX_DAYS_END_OF_MONTH, "issue_date")
    return max(sixty_days, month_end_after_45, forty_five_after_month_end)


def lme_terms_compliant(issue_date: date, due_date: date) -> bool:
    """Whether the payment terms respect the LME maximum (art. L441-10 C. com.)."""
    return _plain_date(due_date, "due_date") <= lme_latest_due_date(issue_date)


# -------------------------------------------------------------- local time

_POLICY_TIME_ZONES: dict[str, str] = {
    # European Union
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GR": "Europe/Athens",
    "EL": "Europe/Athens",  # the EU's own code for Greece
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    # European Economic Area
    "IS": "Atlantic/Reykjavik",
    "LI": "Europe/Vaduz",
    "NO": "Europe/Oslo",
    # Others
    "GB": "Europe/London",
    "UK": "Europe/London",
    "CH": "Europe/Zurich",
    "US": "America/New_York",
}


def policy_time_zone(country: str) -> str:
    """IANA time zone in which a policy's deadlines are dates (DOMAIN.md §7).

    The zone of the policyholder's country (its capital's, for countries with
    several): EU/EEA countries, the UK, Switzerland; the US maps to
    America/New_York. Any other well-formed ISO 3166 code falls back to UTC.
    """
    return _POLICY_TIME_ZONES.get(country_code(country), "UTC")


def local_date(instant: datetime, time_zone: str) -> date:
    """The calendar date of ``instant`` in ``time_zone`` (DOMAIN.md §7, DESIGN "Money and time").

    Contract deadlines are dates in the policy's time zone: 23:30 UTC on
    30 June is already 1 July in Paris, so a deadline of 30 June has passed
    there. ``instant`` must be timezone-aware (naive → ``clock.naive_datetime``).
    """
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(
            f"unknown time zone {time_zone!r}",
            code="deadlines.unknown_time_zone",
            field="time_zone",
            context={"time_zone": time_zone},
        ) from None
    return periods.utc(instant).astimezone(zone).date()


# ---------------------------------------------------------- checking a date


def deadline_passed(deadline: date, on: date) -> bool:
    """Whether an act done ``on`` is late for ``deadline`` (DESIGN "Money and time").

    The deadline is the last day in time: an act on the deadline is in time,
    the day after is late.
    """
    return _plain_date(on, "on") > _plain_date(deadline, "deadline")


def days_left(deadline: date, on: date) -> int:
    """Days from ``on`` to ``deadline``: 0 on the deadline itself, negative once passed."""
    return (_plain_date(deadline, "deadline") - _plain_date(on, "on")).days
