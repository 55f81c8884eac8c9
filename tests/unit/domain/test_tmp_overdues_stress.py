"""The overdue notification, pure domain (DOMAIN.md §7, §3 ``max_extension_days``): no database.

Each notified invoice is accepted (covered, notified in time) or refused with a
stable ``Refusal`` code. The tests are named after the rules; the policy's
terms are the defaults: maximum credit period 120 days, notification 90 days
after the due date, 30 days after an insolvency publication, extensions up to
60 days. Hypothesis checks that a late notification never keeps the cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecover.domain.deadlines import notification_deadline
from tradecover.domain.errors import InvalidInput
from tradecover.domain.exposure import CoverConditions, Ineligibility, ineligibility
from tradecover.domain.money import Money
from tradecover.domain.overdues import (
    NOTHING_TO_NOTIFY,
    LineVerdict,
    NotificationLine,
    NotificationStatus,
    NotificationTerms,
    NotifiedInvoice,
    OverdueNotification,
    PaymentTermExtension,
    Refusal,
    check_extension,
    effective_due_date,
    judge_invoice,
    notification_status,
)
from tradecover.domain.receivables import Dispute, EntryKind, Invoice

EUR = "EUR"
AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
POLICY_YEAR = ((date(2026, 1, 1), date(2027, 1, 1)),)
TERMS = NotificationTerms(
    max_credit_period_days=120, overdue_notification_days=90, insolvency_notification_days=30, max_extension_days=60
)
ISSUED = date(2026, 1, 5)
DUE = date(2026, 3, 6)  # 5 January + 60 days
DEADLINE = date(2026, 6, 4)  # 6 March + 90 days


def eur(amount: int | str) -> Money:
    return Money.of(amount, EUR)


def invoice(
    number: str = "F-1",
    *,
    issued: date = ISSUED,
    terms: int = 60,
    delivered: date | None = None,
    net: int = 10_000,
    vat: int = 2_000,
) -> Invoice:
    return Invoice(
        id=f"i-{number}",
        policy_id="p-1",
        buyer_id="b-1",
        kind=EntryKind.INVOICE,
        number=number,
        issue_date=issued,
        delivery_date=delivered or issued,
        due_date=issued + timedelta(days=terms),
        amount_excl_vat=eur(net),
        vat_amount=eur(vat),
        recorded_at=AT,
        recorded_by="test",
    )


def conditions(stop_ship_from: date | None = None, *, excluded: bool = False) -> CoverConditions:
    return CoverConditions(
        max_credit_period_days=TERMS.max_credit_period_days,
        policy_periods=POLICY_YEAR,
        stop_ship_from=stop_ship_from,
        buyer_excluded=excluded,
    )


def extension(inv: Invoice, new_due: date, *, granted_on: date, current: date | None = None) -> PaymentTermExtension:
    within = check_extension(
        inv, new_due, max_extension_days=TERMS.max_extension_days, current_due_date=current or inv.due_date
    )
    return PaymentTermExtension(
        id=f"x-{inv.number}-{new_due}",
        policy_id="p-1",
        buyer_id="b-1",
        invoice_id=inv.id,
        invoice_number=inv.number,
        original_due_date=inv.due_date,
        new_due_date=new_due,
        granted_on=granted_on,
        within_allowance=within,
        reason=None,
    )


def dispute(number: str, opened: date, resolved: date | None = None) -> Dispute:
    return Dispute(f"d-{number}", "p-1", "b-1", number, opened, "goods damaged", resolved)


def judge(
    inv: Invoice,
    on: date,
    *,
    cover: CoverConditions | None = None,
    disputes: Sequence[Dispute] = (),
    extensions: Sequence[PaymentTermExtension] = (),
    publication: date | None = None,
    already_notified: bool = False,
    unpaid_gross: Money | None = None,
) -> NotifiedInvoice:
    gross = inv.amount_incl_vat if unpaid_gross is None else unpaid_gross
    return judge_invoice(
        inv,
        unpaid_gross=gross,
        unpaid_net=inv.amount_excl_vat if unpaid_gross is None else eur(0),
        on=on,
        terms=TERMS,
        conditions=cover or conditions(),
        disputes=disputes,
        extensions=extensions,
        insolvency_publication_date=publication,
        already_notified=already_notified,
    )


# --- Deadline (§7) -------------------------------------------------------------------------------------------


def test_late_notification_loses_the_cover() -> None:
    # Due 6 March; deadline = 6 March + 90 days = 4 June (the last day in time).
    inv = invoice()
    for on in (DEADLINE - timedelta(days=1), DEADLINE):
        line = judge(inv, on)
        assert line.verdict is LineVerdict.ACCEPTED
        assert line.refusal is None
        assert line.deadline == DEADLINE
    late = judge(inv, DEADLINE + timedelta(days=1))
    assert late.verdict is LineVerdict.REFUSED
    assert late.refusal is Refusal.DEADLINE_PASSED
    assert late.refusal.value == "overdue.deadline_passed"
    assert late.deadline == DEADLINE
    assert late.detail == "deadline was 2026-06-04"


def test_insolvency_publication_shortens_the_notification_deadline() -> None:
    # Published 1 April: 1 April + 30 days = 1 May comes before 4 June, so it is the deadline.
    inv = invoice()
    published = date(2026, 4, 1)
    on_time = judge(inv, date(2026, 5, 1), publication=published)
    assert on_time.verdict is LineVerdict.ACCEPTED
    assert on_time.deadline == date(2026, 5, 1)
    late = judge(inv, date(2026, 5, 2), publication=published)
    assert late.refusal is Refusal.DEADLINE_PASSED
    # Without the publication, 2 May is well within the 90 days.
    assert judge(inv, date(2026, 5, 2)).verdict is LineVerdict.ACCEPTED


def test_insolvency_publication_after_the_overdue_deadline_changes_nothing() -> None:
    # Published 1 June: 1 July is later than 4 June, the overdue deadline stays.
    inv = invoice()
    line = judge(inv, DEADLINE, publication=date(2026, 6, 1))
    assert line.deadline == DEADLINE
    assert line.verdict is LineVerdict.ACCEPTED
    assert judge(inv, DEADLINE + timedelta(days=1), publication=date(2026, 6, 1)).refusal is Refusal.DEADLINE_PASSED


def test_after_an_insolvency_publication_invoices_not_yet_due_must_be_notified_within_30_days() -> None:
    # Issued 2 March at 90 days: due 31 May. Insolvency published 1 April: notify by 1 May, before it is due.
    inv = invoice(issued=date(2026, 3, 2), terms=90)
    assert inv.due_date == date(2026, 5, 31)
    published = date(2026, 4, 1)
    line = judge(inv, date(2026, 4, 20), publication=published)
    assert line.verdict is LineVerdict.ACCEPTED
    assert line.deadline == date(2026, 5, 1)
    assert judge(inv, date(2026, 5, 2), publication=published).refusal is Refusal.DEADLINE_PASSED
    # Before the publication, an invoice not yet due has nothing to notify.
    assert judge(inv, date(2026, 3, 31), publication=published).refusal is Refusal.NOT_OVERDUE
    assert judge(inv, date(2026, 4, 20)).refusal is Refusal.NOT_OVERDUE


def test_deadline_counts_from_the_due_date_capped_at_the_maximum_credit_period() -> None:
    # Issued 5 January at 100 days (due 15 April), extended within the allowance by 50 days to 4 June: the due
    # date is capped at 5 January + 120 = 5 May, so the deadline is 5 May + 90 = 3 August, not 4 June + 90.
    inv = invoice(terms=100)
    later = extension(inv, inv.due_date + timedelta(days=50), granted_on=date(2026, 4, 1))
    assert later.within_allowance
    line = judge(inv, date(2026, 8, 3), extensions=[later])
    assert line.due_date == date(2026, 6, 4)
    assert line.deadline == date(2026, 8, 3)
    assert line.verdict is LineVerdict.ACCEPTED
    assert judge(inv, date(2026, 8, 4), extensions=[later]).refusal is Refusal.DEADLINE_PASSED


# --- Nothing to notify -------------------------------------------------------------------------------------


def test_an_invoice_due_on_the_notification_day_is_not_overdue_yet() -> None:
    inv = invoice()
    line = judge(inv, DUE)
    assert line.refusal is Refusal.NOT_OVERDUE
    assert line.deadline is None
    assert judge(inv, DUE + timedelta(days=1)).verdict is LineVerdict.ACCEPTED


def test_a_paid_invoice_has_nothing_to_notify() -> None:
    line = judge(invoice(), date(2026, 4, 1), unpaid_gross=eur(0))
    assert line.refusal is Refusal.PAID
    assert line.refusal in NOTHING_TO_NOTIFY


def test_an_invoice_already_accepted_is_not_notified_twice() -> None:
    line = judge(invoice(), date(2026, 4, 1), already_notified=True)
    assert line.refusal is Refusal.ALREADY_NOTIFIED
    assert line.deadline == DEADLINE
    assert Refusal.ALREADY_NOTIFIED in NOTHING_TO_NOTIFY
    assert Refusal.DEADLINE_PASSED not in NOTHING_TO_NOTIFY


# --- Cover (§6) --------------------------------------------------------------------------------------------


def test_notification_refuses_disputed_invoices() -> None:
    inv = invoice()
    on = date(2026, 4, 1)
    line = judge(inv, on, disputes=[dispute("F-1", date(2026, 3, 20))])
    assert line.refusal is Refusal.DISPUTED
    assert line.refusal.value == "overdue.disputed"
    # A dispute on another invoice, or one resolved by the notification date, changes nothing.
    assert judge(inv, on, disputes=[dispute("F-2", date(2026, 3, 20))]).verdict is LineVerdict.ACCEPTED
    resolved = dispute("F-1", date(2026, 3, 20), resolved=on)
    assert judge(inv, on, disputes=[resolved]).verdict is LineVerdict.ACCEPTED


def test_delivery_after_a_notification_is_not_covered() -> None:
    # Stop-ship: the buyer was first notified on 10 March; a delivery that day is covered, the next day's is not.
    notified = date(2026, 3, 10)
    on = date(2026, 6, 1)
    same_day = invoice("F-2", issued=notified, terms=30)
    after = invoice("F-3", issued=notified + timedelta(days=1), terms=30)
    assert judge(same_day, on, cover=conditions(notified)).verdict is LineVerdict.ACCEPTED
    line = judge(after, on, cover=conditions(notified))
    assert line.refusal is Refusal.NOT_COVERED
    assert line.detail == Ineligibility.DELIVERED_AFTER_OVERDUE_NOTIFICATION.value


def test_terms_longer_than_the_maximum_credit_period_are_not_covered() -> None:
    line = judge(invoice(terms=121), date(2026, 6, 1))
    assert line.refusal is Refusal.NOT_COVERED
    assert line.detail == Ineligibility.TERMS_TOO_LONG.value
    assert judge(invoice(terms=120), date(2026, 6, 1)).verdict is LineVerdict.ACCEPTED


def test_a_buyer_never_coverable_has_no_accepted_invoice() -> None:
    line = judge(invoice(), date(2026, 4, 1), cover=conditions(excluded=True))
    assert line.refusal is Refusal.NOT_COVERED
    assert line.detail == Ineligibility.BUYER_NOT_COVERABLE.value


def test_a_late_disputed_invoice_is_refused_for_the_dispute() -> None:
    # The reasons come in the order a claims handler gives them: the cover before the deadline.
    line = judge(invoice(), DEADLINE + timedelta(days=1), disputes=[dispute("F-1", date(2026, 3, 20))])
    assert line.refusal is Refusal.DISPUTED


# --- Extensions (§3 max_extension_days) ------------------------------------------------------------------


def test_extension_within_allowance_moves_the_deadline() -> None:
    # Due 6 March, extended by 30 days to 5 April: deadline 5 April + 90 = 4 July instead of 4 June.
    inv = invoice()
    moved = extension(inv, date(2026, 4, 5), granted_on=date(2026, 3, 1))
    assert moved.within_allowance
    assert effective_due_date(inv, [moved]) == date(2026, 4, 5)
    assert judge(inv, date(2026, 4, 5), extensions=[moved]).refusal is Refusal.NOT_OVERDUE
    line = judge(inv, date(2026, 7, 4), extensions=[moved])
    assert line.verdict is LineVerdict.ACCEPTED
    assert line.due_date == date(2026, 4, 5)
    assert line.deadline == date(2026, 7, 4)
    assert judge(inv, date(2026, 7, 5), extensions=[moved]).refusal is Refusal.DEADLINE_PASSED


def test_extension_beyond_allowance_refused() -> None:
    # Due 6 March: 60 days later is 5 May (within), 6 May is beyond and the invoice loses its cover.
    inv = invoice()
    assert extension(inv, date(2026, 5, 5), granted_on=date(2026, 3, 1)).within_allowance
    beyond = extension(inv, date(2026, 5, 6), granted_on=date(2026, 3, 1))
    assert not beyond.within_allowance
    line = judge(inv, date(2026, 5, 10), extensions=[beyond])
    assert line.refusal is Refusal.EXTENDED_BEYOND_ALLOWANCE
    assert line.refusal.value == "overdue.extended_beyond_allowance"
    assert line.detail == "beyond 60 days"


def test_the_allowance_counts_from_the_original_due_date_across_successive_extensions() -> None:
    # Two extensions of 40 days each: the second ends 80 days after the original due date, beyond 60.
    inv = invoice()
    first = extension(inv, DUE + timedelta(days=40), granted_on=date(2026, 3, 1))
    second = extension(inv, DUE + timedelta(days=80), granted_on=date(2026, 4, 1), current=first.new_due_date)
    assert first.within_allowance
    assert not second.within_allowance
    assert effective_due_date(inv, [second, first]) == DUE + timedelta(days=80)
    assert judge(inv, date(2026, 6, 1), extensions=[first, second]).refusal is Refusal.EXTENDED_BEYOND_ALLOWANCE


def test_an_extension_must_move_the_due_date_later() -> None:
    inv = invoice()
    with pytest.raises(InvalidInput) as error:
        check_extension(inv, DUE, max_extension_days=60, current_due_date=DUE)
    assert error.value.code == "overdue.extension_not_later"


def test_extensions_of_other_invoices_are_ignored() -> None:
    inv = invoice()
    other = extension(invoice("F-9"), date(2026, 4, 5), granted_on=date(2026, 3, 1))
    assert effective_due_date(inv, [other]) == DUE


# --- Notification status -------------------------------------------------------------------------------------


def test_notification_status_follows_its_lines() -> None:
    on = date(2026, 4, 1)
    accepted = judge(invoice("F-1"), on)
    refused = judge(invoice("F-2", terms=150), on)
    assert notification_status([accepted, accepted]) is NotificationStatus.ACCEPTED
    assert notification_status([accepted, refused]) is NotificationStatus.PARTIALLY_ACCEPTED
    assert notification_status([refused]) is NotificationStatus.REFUSED
    assert notification_status([]) is NotificationStatus.REFUSED


def test_a_recorded_notification_reports_its_accepted_lines() -> None:
    def record(number: str, verdict: LineVerdict) -> NotificationLine:
        refusal = None if verdict is LineVerdict.ACCEPTED else Refusal.DEADLINE_PASSED.value
        return NotificationLine(
            f"l-{number}", f"i-{number}", number, verdict, refusal, None, DUE, DEADLINE, eur(1200), eur(1000)
        )

    lines = (record("F-1", LineVerdict.ACCEPTED), record("F-2", LineVerdict.REFUSED))
    notification = OverdueNotification("n-1", "p-1", "b-1", date(2026, 4, 1), "test", AT, lines)
    assert notification.status is NotificationStatus.PARTIALLY_ACCEPTED
    assert [line.invoice_number for line in notification.accepted] == ["F-1"]
    assert OverdueNotification("n-2", "p-1", "b-1", date(2026, 4, 1), "test", AT).status is NotificationStatus.REFUSED


# --- Properties --------------------------------------------------------------------------------------------

BASE = date(2026, 1, 1)


@st.composite
def notified_invoices(draw: st.DrawFn) -> tuple[Invoice, date, tuple[PaymentTermExtension, ...], date | None]:
    issued = BASE + timedelta(days=draw(st.integers(0, 300)))
    inv = invoice(issued=issued, terms=draw(st.integers(0, 150)), delivered=issued - timedelta(draw(st.integers(0, 5))))
    extensions: tuple[PaymentTermExtension, ...] = ()
    if draw(st.booleans()):
        new_due = inv.due_date + timedelta(days=draw(st.integers(1, 90)))
        extensions = (extension(inv, new_due, granted_on=inv.due_date),)
    on = issued + timedelta(days=draw(st.integers(0, 400)))
    publication = None if draw(st.booleans()) else issued + timedelta(days=draw(st.integers(-30, 300)))
    return inv, on, extensions, publication


@given(notified_invoices(), st.booleans())
@settings(max_examples=5000, deadline=None)
def test_a_late_notification_never_yields_an_accepted_invoice(
    case: tuple[Invoice, date, tuple[PaymentTermExtension, ...], date | None], stop_ship: bool
) -> None:
    inv, on, extensions, publication = case
    cover = conditions(inv.issue_date if stop_ship else None)
    line = judge(inv, on, cover=cover, extensions=extensions, publication=publication)
    due = effective_due_date(inv, extensions)
    deadline = notification_deadline(
        issue_date=inv.issue_date,
        due_date=due,
        max_credit_period_days=TERMS.max_credit_period_days,
        overdue_notification_days=TERMS.overdue_notification_days,
        insolvency_publication_date=publication,
        insolvency_notification_days=TERMS.insolvency_notification_days,
    )
    # Never later than the original terms allow: the cap holds whatever the extensions.
    assert deadline <= inv.issue_date + timedelta(days=120 + 90)
    if on > deadline:
        assert line.verdict is LineVerdict.REFUSED
    if line.verdict is LineVerdict.ACCEPTED:
        assert line.refusal is None
        assert line.deadline == deadline
        assert on <= deadline
        assert due < on or (publication is not None and publication <= on)
        assert ineligibility(inv, cover, (), on) is None
        assert all(e.within_allowance for e in extensions)
    else:
        assert line.refusal is not None
