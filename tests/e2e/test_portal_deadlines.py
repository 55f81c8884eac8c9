"""The insured's home lists its deadlines coming: overdue invoices to notify, claims waiting for documents,
turnover to declare — passed ones first and marked, each with the page where it is done.

The world (api_world.py, with receivables, claims and premium) is read on 10 April 2026: each insured gets two
overdue invoices nobody notified (one whose notification deadline, 5 April, has passed; one due by 2 May), has
two claims waiting for documents, and has declared only January of its first quarter (due 30 April). Runs on
SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from api_world import World, add_claims, add_premium, add_receivables, build_world, claims_of
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.money import Money
from tradecover.domain.periods import FixedClock
from tradecover.services import ledger, overdues, portal, premium
from tradecover.services.authorization import system_actor

TODAY = date(2026, 4, 10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 4, 10, 10, 0, tzinfo=UTC))


@pytest.fixture
def world(container: Container) -> World:
    world = add_premium(container, add_claims(container, add_receivables(container, build_world(container))))
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        for side, policy_id, buyer_id in (("A", world.policy_a, world.buyer_a), ("B", world.policy_b, world.buyer_b)):
            for number, issued, due in (
                (f"LATE-{side}", date(2026, 1, 1), date(2026, 1, 5)),  # notify by 5 April: passed
                (f"SOON-{side}", date(2026, 1, 2), date(2026, 2, 1)),  # notify by 2 May
            ):
                ledger.record_invoice(
                    uow, container.clock, admin, policy_id=policy_id, buyer_id=buyer_id, number=number,
                    issue_date=issued, delivery_date=None, due_date=due,
                    amount_excl_vat=Money.of("1000.00", "EUR"), vat_amount=Money.of("200.00", "EUR"),
                )  # fmt: skip
        uow.commit()
    return world


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def section(html: str) -> str:
    found = re.search(r'<section id="deadlines".*?</section>', html, re.S)
    assert found, "no deadlines section on the home page"
    return found.group(0)


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="deadline .*?</tr>', section(html), re.S)


def numbers(container: Container, world: World) -> tuple[str, str]:
    with container.uow() as uow:
        a, b = uow.policies.get(world.policy_a), uow.policies.get(world.policy_b)
        assert a is not None
        assert b is not None
        return a.number, b.number


def test_the_insured_home_lists_its_deadlines_by_date(client: TestClient, container: Container, world: World) -> None:
    number_a, number_b = numbers(container, world)
    claims_a, claims_b = claims_of(world, "a"), claims_of(world, "b")
    with container.uow() as uow:
        pending = {c: uow.claims.get_claim(c) for c in (claims_a.claim_id, claims_a.document_claim_id)}
        other = uow.claims.get_claim(claims_b.claim_id)
    assert other is not None

    log_in(client, world.emails["insured_user"])
    html = page(client, "/home?lang=en")
    listed = rows(html)
    assert [re.search(r'data-kind="([a-z_]+)"', r).group(1) for r in listed] == [  # type: ignore[union-attr]
        "overdue_notification",  # 5 April, passed: first
        "turnover_declaration",  # 30 April
        "claim_documents",  # undated: last
        "claim_documents",
    ]
    notify, declare, *documents = listed
    assert "deadline-passed" in notify
    assert "Passed" in notify
    assert "5 Apr 2026" in notify
    assert "Notify the overdue invoices of Buyer of A" in notify
    assert "Invoices to notify: 2" in notify  # LATE-A and SOON-A, grouped per buyer
    assert "2,400.00" in notify
    assert 'href="/overdues/new"' in notify
    assert number_a in notify
    assert "deadline-passed" not in declare
    assert "Passed" not in declare
    assert "30 Apr 2026" in declare
    assert "Declare the turnover from 1 Jan 2026 to 31 Mar 2026" in declare
    assert f'href="/premium?policy={quote(world.policy_a, safe="")}"' in declare
    for claim in pending.values():
        assert claim is not None
        [row] = [r for r in documents if claim.reference in r]
        assert f'href="/claims/{claim.id}"' in row
        assert "No date" in row
    assert "Proof of delivery" in documents[0]
    assert "Unpaid invoices" in "".join(documents)
    # Another insured's deadlines never show.
    assert number_b not in section(html)
    assert "Buyer of B" not in section(html)
    assert other.reference not in html

    french = section(page(client, "/home?lang=fr"))
    assert "Échéances à venir" in french
    assert "Dépassée" in french
    assert "Déclarer les impayés de Buyer of A" in french
    assert "Déclarer le chiffre d'affaires du 1 janv. 2026 au 31 mars 2026" in french
    assert "30 avr. 2026" in french
    assert "Manquent :" in french
    assert "Ouvrir le sinistre" in french

    # The same computation read straight from the service: the passed deadline, the earliest one, comes first.
    with container.uow() as uow:
        home = portal.insured_home(uow, system_actor(world.insurer_id), on=TODAY, organisation_id=world.insured_b)
    first = home.deadlines[0]
    assert (first.kind, first.due, first.passed, first.count) == (
        portal.DeadlineKind.OVERDUE_NOTIFICATION,
        date(2026, 4, 5),
        True,
        2,
    )
    assert first.amount == Money.of("2400.00", "EUR")
    assert first.subject == "Buyer of B"
    declaration = home.deadlines[1]
    assert (declaration.kind, declaration.due, declaration.passed) == (
        portal.DeadlineKind.TURNOVER_DECLARATION,
        date(2026, 4, 30),
        False,
    )


def test_a_broker_acting_for_an_insured_sees_its_deadlines_only(
    client: TestClient, container: Container, world: World
) -> None:
    number_a, number_b = numbers(container, world)
    log_in(client, world.emails["broker_user"])
    token = csrf_token(client.get("/home").text)
    assert client.post("/acting", data={"insured": world.insured_a, "csrf_token": token}).status_code == 303
    html = page(client, "/home?lang=en")
    listed = section(html)
    assert "Notify the overdue invoices of Buyer of A" in listed
    assert number_a in listed
    assert number_b not in listed
    assert claims_of(world, "a").claim_id in listed
    assert claims_of(world, "b").claim_id not in listed

    # Once the buyer is notified (SOON-A accepted, LATE-A refused for good: notified after its deadline) and
    # the quarter declared, only the claims' documents are left.
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        overdues.declare_overdue(uow, container.clock, admin, policy_id=world.policy_a, buyer_id=world.buyer_a)
        premium.declare_turnover(
            uow, container.clock, admin, world.policy_a, period_start=date(2026, 2, 1),
            period_end=date(2026, 3, 31), domestic="1000.00", export="0.00",
        )  # fmt: skip
        uow.commit()
    left = rows(page(client, "/home?lang=en"))
    assert left
    assert all('data-kind="claim_documents"' in r for r in left)
