"""The server's premium run: at start and every interval, the same use case as ``tradecover premium run``."""

from __future__ import annotations

import time
from datetime import date

from tradecover.bootstrap import Container
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import FixedClock
from tradecover.domain.premium import PremiumItem
from tradecover.jobs.premium_run import BackgroundPremiumRun, run_once
from tradecover.services import accounts, policies
from tradecover.services.authorization import system_actor


def _policy(container: Container, clock: FixedClock, start: date) -> str:
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        holder = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Atelier Dupont SAS", country="FR"
        )
        policy, _ = policies.issue_policy(
            uow,
            clock,
            admin,
            policyholder_id=holder.id,
            start_date=start,
            terms={"minimum_premium": "10000.01", "premium_instalments": 4},
        )
    return policy.id


def test_the_run_issues_the_instalments_due_once(container: Container, clock: FixedClock) -> None:
    today = clock.today()
    policy_id = _policy(container, clock, date(today.year, 1, 1))
    first = run_once(container.uow, clock)
    again = run_once(container.uow, clock)
    due = [d for d in first.documents if d.policy_id == policy_id]
    # 10,000.01 in four: the first part takes the odd cent; one instalment per quarter begun by today.
    assert [d.amount.quantize_str() for d in due] == ["2500.01", "2500.00", "2500.00", "2500.00"][: len(due)]
    assert len(due) == (today.month - 1) // 3 + 1
    assert all(d.item is PremiumItem.INSTALMENT for d in due)
    assert again.documents == []


def test_the_server_runs_it_in_the_background(container: Container, clock: FixedClock) -> None:
    today = clock.today()
    policy_id = _policy(container, clock, date(today.year, 1, 1))
    job = BackgroundPremiumRun(container.uow, clock, interval=3600)
    job.start()
    try:
        deadline = time.monotonic() + 20
        issued: list[object] = []
        while time.monotonic() < deadline and not issued:
            with container.uow() as uow:
                issued = list(uow.premium.documents_of(policy_id))
            time.sleep(0.05)
    finally:
        job.stop()
    assert issued
