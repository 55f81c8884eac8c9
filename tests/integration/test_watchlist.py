"""The watch list's rules (services/watchlist.py) on SQLite and, when configured, PostgreSQL.

Four buyers hold limits on insured A's policy: one downgraded today, one upgraded today, one downgraded 40
days ago, one whose liquidation was published 5 days ago; a fifth buyer, downgraded today, holds no limit.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tradecover.bootstrap import Container
from tradecover.domain.errors import Forbidden, InvalidInput
from tradecover.domain.money import Money
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.services import accounts, buyers, credit_limits, monitoring, policies, watchlist
from tradecover.services.authorization import Actor, system_actor

SIRENS = ("552100554", "542051180", "732829320", "443061841", "356000000")


def _grade(container: Container, buyer_id: str, grade: int, previous: int | None, days_ago: int) -> None:
    with container.uow() as uow:
        uow.buyers.record_grade(
            GradeRecord(
                buyer_id,
                grade,
                Decimal("0.01"),
                {"test": 1.0},
                "test",
                str(uuid.uuid4()),
                1,
                container.clock.now() - timedelta(days=days_ago),
                previous,
            )
        )
        uow.commit()


def test_the_watch_list_holds_buyers_with_limits_newly_insolvent_or_downgraded(container: Container) -> None:
    clock = container.clock
    today = clock.today()
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        holder = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Insured A", country="FR", siren=None
        ).id
        policy, _ = policies.issue_policy(uow, clock, admin, policyholder_id=holder, start_date=date(2026, 1, 1))
        ids = [
            buyers.add_buyer(
                uow,
                clock,
                admin,
                identifiers=[("siren", siren)],
                legal_name=f"Buyer {n}",
                country="FR",
                organisation_id=holder,
            )[0].id
            for n, siren in enumerate(SIRENS)
        ]
    down, up, old, insolvent, unlimited = ids
    for buyer_id in ids:
        _grade(container, buyer_id, 4, None, 60)
    for buyer_id in (down, up, old, insolvent):
        with container.uow() as uow:
            credit_limits.set_capacity(uow, clock, admin, buyer_id, amount="1000000", reason="test")
        with container.uow() as uow:
            credit_limits.request_limit(uow, clock, admin, policy_id=policy.id, buyer_id=buyer_id, amount="10000")
    _grade(container, down, 6, 4, 0)
    _grade(container, up, 3, 4, 0)
    _grade(container, old, 8, 4, 40)
    _grade(container, unlimited, 9, 4, 0)
    published = today - timedelta(days=5)
    with container.uow() as uow:
        monitoring.ingest_bodacc(
            uow,
            clock,
            admin,
            [
                BodaccAnnouncement(
                    source="test.json",
                    record=1,
                    announcement_id="W1",
                    sirens=(SIRENS[3],),
                    publication_date=published,
                    judgment_date=published - timedelta(days=3),
                    kind=ProcedureKind.RECEIVERSHIP,
                    nature="Jugement d'ouverture d'une procédure de redressement judiciaire",
                    tribunal=None,
                    company_name=None,
                    notice_type="initial",
                    family="Jugement d'ouverture",
                )
            ],
        )

    risk_manager = Actor("rm", "rm", insurer.id, OrganisationKind.INSURER, Role.RISK_MANAGER)
    with container.uow() as uow:
        recent = watchlist.watchlist(uow, risk_manager, since=today - timedelta(days=30), on=today)
        longer = watchlist.watchlist(uow, risk_manager, since=today - timedelta(days=50), on=today)
    listed = {w.buyer.id: w for w in recent.buyers}
    assert set(listed) == {down, insolvent}  # not the upgrade, not the old downgrade, not the buyer without limit
    assert [(g.previous_grade, g.grade) for g in listed[down].downgrades] == [(4, 6)]
    assert [e.publication_date for e in listed[insolvent].events] == [published]
    assert [(g.previous_grade, g.grade) for g in listed[insolvent].downgrades] == [(4, 10)]  # the legal grade
    (held,) = listed[down].limits
    assert (held.policy_id, held.in_force, held.covered) == (policy.id, Money.of("10000", "EUR"), Money.zero("EUR"))
    (cancelled,) = listed[insolvent].limits
    assert cancelled.latest.granted_amount.is_zero()
    assert [(t.currency, t.in_force) for t in recent.totals] == [("EUR", Money.of("10000", "EUR") + cancelled.in_force)]
    assert recent.limit_count == 2
    assert {w.buyer.id for w in longer.buyers} == {down, insolvent, old}

    insured = Actor("u", "u", holder, OrganisationKind.POLICYHOLDER, Role.INSURED_USER)
    with container.uow() as uow:
        with pytest.raises(Forbidden):
            watchlist.watchlist(uow, insured, since=today, on=today)
        with pytest.raises(InvalidInput):
            watchlist.watchlist(uow, risk_manager, since=today + timedelta(days=1), on=today)
