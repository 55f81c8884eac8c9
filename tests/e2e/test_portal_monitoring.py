"""The staff's monitoring pages through the app factory: the buyers to watch, a buyer's file, revising a limit,
re-grading in the background.

The world (api_world.py) has buyers A and B with a 50 000 € limit each; here buyer A is also in insured B's
book with a 20 000 € limit on policy B, then downgraded from grade 4 to 7, and buyer B's liquidation is
published on 10 March 2026 (which cancels its limit at once). The clock is frozen on 15 March 2026.
Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from api_world import World, build_world
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.credit_limits import LimitStatus
from tradecover.domain.monitoring import GradeRecord
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.services import buyers, credit_limits, monitoring
from tradecover.services.authorization import system_actor

LIQUIDATION = BodaccAnnouncement(
    source="test.json",
    record=1,
    announcement_id="A202600777",
    sirens=("542051180",),  # buyer B's
    publication_date=date(2026, 3, 10),
    judgment_date=date(2026, 3, 5),
    kind=ProcedureKind.LIQUIDATION,
    nature="Jugement d'ouverture de liquidation judiciaire",
    tribunal="TRIBUNAL DE COMMERCE DE LYON",
    company_name="BUYER OF B",
    notice_type="initial",
    family="Jugement d'ouverture",
    target=ProcedureKind.LIQUIDATION,
)


@pytest.fixture
def world(container: Container) -> World:
    world = build_world(container)
    clock = container.clock
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        shared, _ = buyers.add_buyer(
            uow,
            clock,
            admin,
            identifiers=[("siren", "552100554")],
            legal_name="Buyer of A",
            country="FR",
            organisation_id=world.insured_b,
        )
        assert shared.id == world.buyer_a
        outcome = credit_limits.request_limit(
            uow, clock, admin, policy_id=world.policy_b, buyer_id=world.buyer_a, amount="20000"
        )
        assert outcome.decision is not None
        assert outcome.decision.granted_amount.amount == Decimal("20000")
        uow.buyers.record_grade(
            GradeRecord(
                world.buyer_a,
                7,
                Decimal("0.04"),
                {"baseline": -4.0, "ratio:equity_ratio": 1.4, "sector": 0.2},
                "test",
                str(uuid.uuid4()),
                1,
                clock.now(),
                4,
            )
        )
        uow.commit()
        summary = monitoring.ingest_bodacc(uow, clock, admin, [LIQUIDATION])
        assert summary.limits_affected == 1
    return world


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def history(container: Container, world: World, policy_id: str, buyer_id: str) -> list[LimitStatus]:
    with container.uow() as uow:
        return [d.status for d in uow.limits.history(policy_id, buyer_id)]


def watched(html: str, buyer_id: str) -> str:
    found = re.search(rf'<article class="watched" id="watched-{buyer_id}".*?</article>', html, re.S)
    assert found, f"buyer {buyer_id} is not on the watch list"
    return found.group(0)


def test_the_underwriter_sees_the_buyers_downgraded_or_insolvent_and_their_limits(
    client: TestClient, world: World
) -> None:
    log_in(client, world.emails["underwriter"])
    html = page(client, "/monitoring?lang=en")  # 30 days back by default
    assert 'aria-current="page"' in html
    assert 'value="2026-02-13"' in html
    downgraded, insolvent = watched(html, world.buyer_a), watched(html, world.buyer_b)
    assert "Downgraded from 4 to 7" in downgraded
    assert f'href="/monitoring/buyers/{world.buyer_a}"' in downgraded
    # Every policy holding a limit on the buyer, with its amount in force and covered exposure.
    assert downgraded.count('<tr data-policy="') == 2
    assert "€50,000.00" in downgraded
    assert "€20,000.00" in downgraded
    assert "Liquidation opened" in insolvent
    assert "10 Mar 2026" in insolvent
    assert "Jugement d&#39;ouverture de liquidation judiciaire" in insolvent
    assert "Cancelled" in insolvent
    assert "€0.00" in insolvent
    assert re.search(r'id="watch-buyer-count">2<', html)
    assert re.search(r'id="watch-limit-count">3<', html)
    assert "€70,000.00" in html.split('id="total-in-force-EUR">')[1][:40]

    # In French, and with a later date only what happened since shows.
    french = page(client, "/monitoring?since=2026-03-12&lang=fr")
    assert "Dégradé de 4 à 7" in watched(french, world.buyer_a)
    since_12 = watched(french, world.buyer_b)  # the judgment (published on 10 March) is before; its grade is not
    assert "Dégradé de 4 à 10" in since_12
    assert "liquidation judiciaire</li>" not in since_12
    assert "70\u202f000,00" in french.split('id="total-in-force-EUR">')[1][:40]
    # A date that is not one, or after today, is refused in the form.
    for since in ("15/03/2026", "2026-02-30", "2026-03-16"):
        refused = client.get(f"/monitoring?since={since}&lang=en")
        assert refused.status_code == 422
        assert 'id="since-error"' in refused.text
        assert f'value="{since}"' in refused.text

    # The buyer's file: grades with their reasons, the legal events, the limits with a form per policy.
    file_a = page(client, f"/monitoring/buyers/{world.buyer_a}?lang=en")
    assert "4 → <strong>7</strong>" in file_a
    assert "Financial ratio equity_ratio" in file_a
    assert f'id="revise-{world.policy_a}"' in file_a
    assert f'id="revise-{world.policy_b}"' in file_a
    file_b = page(client, f"/monitoring/buyers/{world.buyer_b}?lang=en")
    assert "Liquidation opened" in file_b
    assert "In liquidation" in file_b
    assert 'class="revise-form"' not in file_b
    assert "nothing to revise" in file_b
    assert client.get("/monitoring/buyers/nobody").status_code == 404

    # Finding a buyer's file by name.
    found = page(client, "/monitoring?search=Buyer+of+A&lang=en")
    assert f'<a href="/monitoring/buyers/{world.buyer_a}" class="buyer-link">Buyer of A</a>' in found


def test_the_underwriter_revises_limits_and_bad_input_stores_nothing(
    client: TestClient, container: Container, world: World
) -> None:
    log_in(client, world.emails["underwriter"])
    url = f"/monitoring/buyers/{world.buyer_a}"
    token = csrf_token(page(client, url))
    action = f"{url}/limits/{world.policy_a}"
    before = history(container, world, world.policy_a, world.buyer_a)

    assert client.post(action, data={"amount": "30000", "reason": "downgraded"}).status_code == 403  # no token
    for amount, wording in (
        ("thirty", "Write the new limit as an amount"),
        ("-5", "Write the new limit as an amount"),
        ("12.345", "Write the new limit as an amount"),
        ("60000", "write an amount below the limit in force"),
    ):
        refused = client.post(action + "?lang=en", data={"csrf_token": token, "amount": amount, "reason": "why"})
        assert refused.status_code == 422, amount
        assert f'id="revise-error-{world.policy_a}"' in refused.text
        assert wording in refused.text
        assert f'value="{amount}"' in refused.text
        assert ">why</textarea>" in refused.text
    assert history(container, world, world.policy_a, world.buyer_a) == before

    done = client.post(action, data={"csrf_token": token, "amount": "30 000,00", "reason": "downgraded to 7"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"{url}?revised={world.policy_a}")
    shown = page(client, done.headers["location"].split("#")[0] + "&lang=en")
    decision = shown.split('id="revision-decision">')[1].split("</span>")[0]
    assert "Reduced" in decision
    assert "€30,000.00" in decision
    with container.uow() as uow:
        latest = uow.limits.history(world.policy_a, world.buyer_a)[-1]
    assert latest.status is LimitStatus.REDUCED
    assert latest.granted_amount.amount == Decimal("30000")
    assert latest.effective_date >= date(2026, 3, 15)  # after the policy's reduction notice, if any
    assert f"from {latest.effective_date.day} {latest.effective_date:%b} 2026" in decision

    # 0 cancels; the French page says so.
    cancel = client.post(
        f"{url}/limits/{world.policy_b}", data={"csrf_token": token, "amount": "0", "reason": "insolvency risk"}
    )
    assert cancel.status_code == 303
    french = page(client, cancel.headers["location"].split("#")[0] + "&lang=fr")
    assert "Annulée" in french.split('id="revision-decision">')[1].split("</span>")[0]
    assert history(container, world, world.policy_b, world.buyer_a)[-1] is LimitStatus.CANCELLED

    # A policy holding no limit on the buyer is not found; nothing to revise on a cancelled limit is refused.
    assert client.post(f"{url}/limits/nopolicy", data={"csrf_token": token, "amount": "1"}).status_code == 404
    gone = client.post(
        f"/monitoring/buyers/{world.buyer_b}/limits/{world.policy_b}?lang=en",
        data={"csrf_token": token, "amount": "1000", "reason": "x"},
    )
    assert gone.status_code == 422
    assert "There is no limit in force" in gone.text


def test_who_may_monitor_and_revise(client: TestClient, container: Container, world: World) -> None:
    assert client.get("/monitoring").status_code == 303  # to the login page
    for name in ("insured_user", "broker_user", "claims_handler"):
        log_in(client, world.emails[name])
        assert client.get("/monitoring").status_code == 403, name
        assert client.get(f"/monitoring/buyers/{world.buyer_a}").status_code == 403, name
        token = csrf_token(page(client, "/home"))
        assert client.post("/monitoring/regrade", data={"csrf_token": token}).status_code == 403, name
        client.cookies.clear()

    # The risk manager monitors and re-grades, but does not decide limits: no form, and a post is refused.
    log_in(client, world.emails["risk_manager"])
    html = page(client, f"/monitoring/buyers/{world.buyer_a}")
    assert 'class="revise-form"' not in html
    assert 'id="regrade-form"' in page(client, "/monitoring")
    before = history(container, world, world.policy_a, world.buyer_a)
    forbidden = client.post(
        f"/monitoring/buyers/{world.buyer_a}/limits/{world.policy_a}",
        data={"csrf_token": csrf_token(html), "amount": "1000", "reason": "x"},
    )
    assert forbidden.status_code == 403
    assert history(container, world, world.policy_a, world.buyer_a) == before


def test_a_regrading_runs_in_the_background_until_its_summary(client: TestClient, world: World) -> None:
    log_in(client, world.emails["underwriter"])
    token = csrf_token(page(client, "/monitoring"))
    assert client.post("/monitoring/regrade", data={"everything": "yes"}).status_code == 403  # no token
    started = client.post("/monitoring/regrade", data={"csrf_token": token, "everything": "yes"})
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith("/monitoring/regrade/")
    deadline = time.monotonic() + 60
    while True:
        html = page(client, location + "?lang=en")
        if 'id="regrade-summary"' in html or 'id="regrade-error"' in html:
            break
        assert 'http-equiv="refresh"' in html
        assert 'id="regrade-progress"' in html
        assert time.monotonic() < deadline, "the re-grading did not finish"
        time.sleep(0.1)
    assert 'id="regrade-summary"' in html
    assert 'http-equiv="refresh"' not in html
    assert re.search(r'id="regrade-graded">2<', html)
    assert "every buyer" in html
    # The job is its starter's: another user is told it does not exist.
    client.cookies.clear()
    log_in(client, world.emails["risk_manager"])
    assert client.get(location).status_code == 404
