"""Renewal and termination through the services and the real unit of work, on SQLite and PostgreSQL.

Policies from 1 January 2026 with the default 90 days' notice: the deadline for the 2026 period is
3 October 2026. Tacit renewal runs as of a date and adds nothing the second time; notice in time stops
it, late notice lets it run once more; a terminated policy takes no limit, and its invoices delivered
before the termination stay covered and can be notified (run-off) while later ones cannot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import text

from tradecover.bootstrap import Container
from tradecover.domain.errors import DomainError, Forbidden, InvalidInput, RuleBroken
from tradecover.domain.exposure import Ineligibility
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.overdues import LineVerdict
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import FixedClock, Period
from tradecover.domain.policies import NoticeOutcome, NoticeParty, TerminationKind
from tradecover.services import accounts, buyers, credit_limits, exposure, ledger, overdues, policies
from tradecover.services.authorization import Actor, system_actor

T = TypeVar("T")
TABLES = ("policy_periods", "limit_requests", "limit_decisions", "audit_events")


class Book:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.on(date(2026, 1, 2))
        with container.uow() as uow:
            self.insurer_id = accounts.ensure_insurer(uow, self.clock).id
            uow.commit()
        self.admin = system_actor(self.insurer_id)
        self.underwriter = Actor("uw-1", "uw-1", self.insurer_id, OrganisationKind.INSURER, Role.UNDERWRITER)
        self.holders: dict[str, str] = {}

    def on(self, day: date) -> None:
        self.clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))

    def do(self, action: Callable[..., T], *args: object, **kwargs: object) -> T:
        with self.container.uow() as uow:
            result = action(uow, self.clock, *args, **kwargs)
            uow.commit()
            return result

    def policy(self, name: str) -> str:
        with self.container.uow() as uow:
            holder = accounts.create_organisation(
                uow, self.clock, self.admin, kind=OrganisationKind.POLICYHOLDER, name=name, country="FR"
            )
            uow.commit()
            issued, _ = policies.issue_policy(
                uow, self.clock, self.admin, policyholder_id=holder.id, start_date=date(2026, 1, 1)
            )
        self.holders[issued.id] = holder.id
        return issued.id

    def insured(self, policy_id: str) -> Actor:
        holder = self.holders[policy_id]
        return Actor(f"user-{holder}", "insured", holder, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)

    def periods(self, policy_id: str) -> list[Period]:
        with self.container.uow() as uow:
            found = uow.policies.get(policy_id)
        assert found is not None
        return found.periods

    def counts(self) -> dict[str, int]:
        with self.container.engine.connect() as connection:
            counts = {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}
            counts["terminated"] = int(
                connection.execute(
                    text("SELECT count(*) FROM policies WHERE termination_date IS NOT NULL")
                ).scalar_one()
            )
            return counts

    def refused(self, kind: type[DomainError], code: str, action: Callable[[], object]) -> None:
        """Refused with ``code``, and nothing at all written."""
        before = self.counts()
        with pytest.raises(kind) as caught:
            action()
        assert caught.value.code == code, caught.value
        assert self.counts() == before

    def buyer_with_limit(self, policy_id: str) -> str:
        with self.container.uow() as uow:
            created, _ = buyers.add_buyer(
                uow, self.clock, self.admin, identifiers=[("siren", "552100554")], legal_name="Acheteur SA",
                country="FR", organisation_id=self.holders[policy_id],
            )  # fmt: skip
            uow.buyers.record_grade(
                GradeRecord(
                    created.id, 3, Decimal("0.01"), {"test": 1.0}, "test", str(uuid.uuid4()),
                    created.inputs_version, self.clock.now(), None,
                )
            )  # fmt: skip
            uow.commit()
            credit_limits.set_capacity(uow, self.clock, self.admin, created.id, amount="1000000", reason="test")
        outcome = self.do(
            credit_limits.request_limit, self.insured(policy_id), policy_id=policy_id, buyer_id=created.id,
            amount="50000",
        )  # fmt: skip
        assert outcome.decision is not None
        return created.id


@pytest.fixture
def book(container: Container) -> Book:
    return Book(container)


def test_tacit_renewal_respects_notices_and_runs_once(book: Book) -> None:
    plain, in_time, late = book.policy("Plain SAS"), book.policy("Leaving SAS"), book.policy("Late SAS")
    book.on(date(2026, 10, 3))  # the deadline: still in time
    _, given = book.do(policies.give_termination_notice, book.insured(in_time), in_time, reason="moving insurer")
    assert (given.in_time, given.outcome, given.effective_date) == (
        True,
        NoticeOutcome.ENDS_AT_PERIOD_END,
        date(2027, 1, 1),
    )
    book.on(date(2026, 10, 4))  # the day after: late
    _, given = book.do(policies.give_termination_notice, book.insured(late), late, reason="moving insurer")
    assert (given.in_time, given.outcome, given.effective_date) == (
        False,
        NoticeOutcome.RENEWED_ONCE_MORE,
        date(2028, 1, 1),
    )

    book.on(date(2026, 12, 31))
    assert book.do(policies.renew_due_policies, book.admin, as_of=date(2026, 12, 31)) == []
    book.on(date(2029, 2, 1))
    renewed = book.do(policies.renew_due_policies, book.admin, as_of=date(2029, 2, 1))

    assert [(r.policy_id, r.period.start.year) for r in renewed] == [
        (plain, 2027),
        (plain, 2028),
        (plain, 2029),
        (late, 2027),
    ]
    assert book.periods(plain)[-1] == Period(date(2029, 1, 1), date(2030, 1, 1))
    assert len(book.periods(in_time)) == 1
    assert book.periods(late)[-1] == Period(date(2027, 1, 1), date(2028, 1, 1))
    before = book.counts()
    assert book.do(policies.renew_due_policies, book.admin, as_of=date(2029, 2, 1)) == []
    assert book.counts() == before
    with book.container.engine.connect() as connection:
        reasons = connection.execute(
            text("SELECT reason FROM audit_events WHERE action = 'policy.renewed'")
        ).scalars().all()  # fmt: skip
    assert reasons == ["tacit renewal"] * 4
    # the notice reads back as it was given
    with book.container.uow() as uow:
        stored = policies.get_policy(uow, book.insured(late), late)
    assert stored.termination_kind is TerminationKind.NOTICE
    assert stored.termination_notice == given
    book.refused(
        RuleBroken,
        "policy.terminated",
        lambda: book.do(policies.renew_policy, book.underwriter, in_time, reason="manual"),
    )
    book.refused(
        RuleBroken,
        "policy.terminated",
        lambda: book.do(
            policies.endorse_policy,
            book.underwriter,
            late,
            effective_date=date(2028, 1, 1),
            changes={"indemnity_rate": "0.85"},
            reason="after the end",
        ),
    )


def test_notice_bad_input_writes_nothing(book: Book) -> None:
    policy_id = book.policy("Dupont SAS")
    insured = book.insured(policy_id)
    book.on(date(2026, 3, 15))

    book.refused(
        InvalidInput,
        "policy.notice_party",
        lambda: book.do(policies.give_termination_notice, insured, policy_id, reason="x", given_by=NoticeParty.INSURER),
    )
    book.refused(
        InvalidInput,
        "policy.notice_backdated",
        lambda: book.do(policies.give_termination_notice, insured, policy_id, reason="x", given_on=date(2026, 3, 1)),
    )
    book.refused(
        InvalidInput,
        "policy.reason_required",
        lambda: book.do(policies.give_termination_notice, insured, policy_id, reason="  "),
    )
    book.refused(
        Forbidden,
        "auth.forbidden",
        lambda: book.do(policies.terminate_policy, insured, policy_id, effective_date=date(2026, 4, 1), reason="x"),
    )
    # the insurer records the insured's letter received before the deadline
    _, given = book.do(
        policies.give_termination_notice, book.underwriter, policy_id, reason="letter of 1 March",
        given_by=NoticeParty.INSURED, given_on=date(2026, 3, 1),
    )  # fmt: skip
    assert (given.given_by, given.effective_date) == (NoticeParty.INSURED, date(2027, 1, 1))
    book.refused(
        RuleBroken,
        "policy.already_terminated",
        lambda: book.do(policies.give_termination_notice, insured, policy_id, reason="again"),
    )


def test_termination_stops_new_limits_and_keeps_run_off_cover(book: Book) -> None:
    policy_id = book.policy("Dupont SAS")
    buyer_id = book.buyer_with_limit(policy_id)
    insured = book.insured(policy_id)
    book.on(date(2026, 2, 27))
    book.refused(
        RuleBroken,
        "policy.termination_retroactive",
        lambda: book.do(
            policies.terminate_policy, book.underwriter, policy_id, effective_date=date(2026, 2, 26), reason="late"
        ),
    )
    book.do(
        policies.terminate_policy, book.underwriter, policy_id, effective_date=date(2026, 3, 1),
        reason="premium unpaid after formal notice",
    )  # fmt: skip
    book.on(date(2026, 3, 5))
    for number, delivered in (("F-BEFORE", date(2026, 2, 27)), ("F-AFTER", date(2026, 3, 1))):
        book.do(
            ledger.record_invoice, insured, policy_id=policy_id, buyer_id=buyer_id, number=number,
            issue_date=delivered, delivery_date=None, due_date=delivered + timedelta(days=30),
            amount_excl_vat=Money.of("1000", "EUR"), vat_amount=Money.of("200", "EUR"),
        )  # fmt: skip
    book.refused(
        RuleBroken,
        "policy.already_terminated",
        lambda: book.do(
            policies.terminate_policy, book.underwriter, policy_id, effective_date=date(2026, 3, 5), reason="again"
        ),
    )
    book.refused(
        RuleBroken,
        "policy.terminated",
        lambda: book.do(credit_limits.request_limit, insured, policy_id=policy_id, buyer_id=buyer_id, amount="60000"),
    )

    book.on(date(2026, 4, 10))  # both invoices are overdue
    with book.container.uow() as uow:
        lines = {
            line.number: line.reason
            for _, e in exposure.policy_exposure(uow, insured, policy_id, on=book.clock.today()).buyers
            for line in e.lines
        }
    assert lines == {"F-BEFORE": None, "F-AFTER": Ineligibility.DELIVERED_AFTER_TERMINATION}
    result = book.do(overdues.declare_overdue, insured, policy_id=policy_id, buyer_id=buyer_id)
    verdicts = {line.invoice.number: (line.verdict, line.detail) for line in result.judged}
    assert verdicts["F-BEFORE"] == (LineVerdict.ACCEPTED, None)
    assert verdicts["F-AFTER"][1] == Ineligibility.DELIVERED_AFTER_TERMINATION.value
