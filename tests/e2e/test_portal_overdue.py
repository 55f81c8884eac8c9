"""The insured's overdue pages through the app factory: choose overdue invoices, file, read the outcome and list.

The world (api_world.py) has insureds A and B; each gets here two invoices past due on 15 March 2026 (the
frozen clock): one in time (accepted) and one disputed (refused). Runs on SQLite and, when configured,
PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from api_world import World, add_receivables, build_world
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.money import Money
from tradecover.services import ledger
from tradecover.services.authorization import system_actor


@dataclass(frozen=True)
class Overdue:
    in_time: dict[str, str]  # side -> invoice id
    disputed: dict[str, str]


@pytest.fixture
def world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def overdue(container: Container, world: World) -> Overdue:
    admin = system_actor(world.insurer_id)
    in_time: dict[str, str] = {}
    disputed: dict[str, str] = {}
    for side, policy_id, buyer_id in (("a", world.policy_a, world.buyer_a), ("b", world.policy_b, world.buyer_b)):
        with container.uow() as uow:
            for number, issued, due in (
                (f"OD{side.upper()}-1", date(2026, 2, 1), date(2026, 3, 3)),
                (f"OD{side.upper()}-2", date(2026, 2, 5), date(2026, 3, 7)),
            ):
                entry = ledger.record_invoice(
                    uow, container.clock, admin, policy_id=policy_id, buyer_id=buyer_id, number=number,
                    issue_date=issued, delivery_date=None, due_date=due,
                    amount_excl_vat=Money.of("2000.00", "EUR"), vat_amount=Money.of("400.00", "EUR"),
                ).entry  # fmt: skip
                (in_time if number.endswith("-1") else disputed)[side] = entry.id
            ledger.open_dispute(
                uow, container.clock, admin, policy_id=policy_id, buyer_id=buyer_id,
                invoice_number=f"OD{side.upper()}-2", on=date(2026, 3, 10), reason="goods returned",
            )  # fmt: skip
            uow.commit()
    return Overdue(in_time, disputed)


@pytest.fixture
def client(container: Container, world: World, overdue: Overdue) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


@pytest.fixture
def insured(client: TestClient, world: World) -> TestClient:
    log_in(client, world.emails["insured_user"])
    return client


def file(client: TestClient, invoices: list[str], *, token: str | None = None) -> Response:
    html = page(client, "/overdues/new")
    data = {"csrf_token": csrf_token(html) if token is None else token, "invoices": invoices}
    return client.post("/overdues", data=data)


def verdicts(html: str) -> dict[str, str]:
    outcome = re.search(r'<section id="overdue-outcome"[^>]*role="status">(.*?)</section>', html, re.S)
    assert outcome, html
    return dict(re.findall(r'data-invoice="([^"]+)" data-verdict="(\w+)"', outcome.group(1)))


def test_the_form_lists_the_insureds_own_overdue_invoices(insured: TestClient, overdue: Overdue) -> None:
    html = page(insured, "/overdues/new?lang=en")
    form = re.search(r'<form id="overdue-form".*?</form>', html, re.S)
    assert form, html
    assert f'value="{overdue.in_time["a"]}"' in form.group(0)
    assert f'value="{overdue.disputed["a"]}"' in form.group(0)
    assert overdue.in_time["b"] not in html
    assert "ODA-1" in html
    assert "Buyer of A" in html
    assert "WA-1" not in html  # due on 30 April: not overdue
    assert "€2,400.00" in html
    assert '<td class="num">12</td>' in html  # ODA-1, due on 3 March, 12 days overdue
    assert 'id="overdue-outcome"' not in html


def test_filing_shows_each_invoice_accepted_or_refused_with_its_reason(insured: TestClient, overdue: Overdue) -> None:
    response = file(insured, [overdue.in_time["a"], overdue.disputed["a"]])
    assert response.status_code == 200, response.text
    html = response.text
    assert verdicts(html) == {"ODA-1": "accepted", "ODA-2": "refused"}
    assert '<dd id="outcome-accepted">1</dd>' in html
    assert "Contestée par l'acheteur" in html  # the disputed invoice's reason, in French
    # Accepted once, the invoice leaves the form; the notification shows in the list.
    form = re.search(r'<form id="overdue-form".*?</form>', html, re.S)
    assert form
    assert overdue.in_time["a"] not in form.group(0)
    listed = page(insured, "/overdues?lang=en")
    rows = re.findall(r'<tr data-notification="[^"]+">(.*?)</tr>', listed, re.S)
    assert len(rows) == 1
    assert "Buyer of A" in rows[0]
    assert "15 Mar 2026" in rows[0]
    assert "€4,800.00" in rows[0]
    assert "Partly accepted" in rows[0]


def test_filing_nothing_overdue_is_refused_whole(insured: TestClient, overdue: Overdue, world: World) -> None:
    response = file(insured, [world.ledger("a").invoice_id])
    assert response.status_code == 200
    assert verdicts(response.text) == {"WA-1": "refused"}
    assert "rien n'a été enregistré" in response.text
    assert "Pas encore échue" in response.text
    assert 'id="no-notification"' in page(insured, "/overdues")


def test_choosing_nothing_says_so(insured: TestClient) -> None:
    response = file(insured, [])
    assert response.status_code == 422
    assert re.search(r'<p role="alert" id="overdue-error">[^<]+</p>', response.text)
    assert 'aria-invalid="true"' in response.text


def test_filing_without_the_csrf_token_is_refused(insured: TestClient, overdue: Overdue) -> None:
    response = file(insured, [overdue.in_time["a"]], token="")
    assert response.status_code == 403
    assert 'id="no-notification"' in page(insured, "/overdues")


@pytest.mark.parametrize("which", ["another insured's invoice", "an unknown invoice"])
def test_an_invoice_outside_the_book_is_not_found(insured: TestClient, overdue: Overdue, which: str) -> None:
    invoice_id = overdue.in_time["b"] if which == "another insured's invoice" else "no-such-invoice"
    response = file(insured, [overdue.in_time["a"], invoice_id])
    assert response.status_code == 404
    assert 'id="error-message"' in response.text
    assert 'id="no-notification"' in page(insured, "/overdues")


def test_insured_b_sees_only_its_own_notifications(client: TestClient, world: World, overdue: Overdue) -> None:
    log_in(client, world.emails["insured_user"])
    assert file(client, [overdue.in_time["a"]]).status_code == 200
    client.cookies.clear()
    log_in(client, world.emails["insured_user_b"])
    assert 'id="no-notification"' in page(client, "/overdues")
    assert "ODB-1" in page(client, "/overdues/new")


def test_a_visitor_is_sent_to_log_in_and_staff_are_refused(client: TestClient, world: World) -> None:
    assert client.get("/overdues").headers["location"] == "/login"
    assert client.get("/overdues/new").headers["location"] == "/login"
    log_in(client, world.emails["underwriter"])
    assert client.get("/overdues/new").status_code == 403
    assert client.get("/overdues").status_code == 403
