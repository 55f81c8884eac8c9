"""The premium portal page through the app factory: the calendar, a declaration, the documents as PDFs.

The world (api_world.py) has insureds A and B, each with a policy from 2026-01-01; here each also holds a
priced policy whose first instalment the premium run issues, so that each has a premium document. The
clock stands on 2026-03-15. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from api_world import World, build_world
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.services import policies, premium
from tradecover.services.authorization import system_actor

TERMS = {"minimum_premium": {"amount": "8000.00", "currency": "EUR"}}
Q1 = "2026-01-01_2026-03-31"


@pytest.fixture
def world(container: Container) -> World:
    return build_world(container)


@pytest.fixture
def documents(container: Container, world: World) -> dict[str, str]:
    """A premium document on a priced policy of each insured: {"a": id, "b": id}."""
    with container.uow() as uow:
        admin = system_actor(world.insurer_id)
        issued = {
            side: policies.issue_policy(
                uow, container.clock, admin, policyholder_id=holder, start_date=date(2026, 1, 1), terms=TERMS
            )[0].id
            for side, holder in (("a", world.insured_a), ("b", world.insured_b))
        }
        run = premium.run_premium(uow, container.clock, admin, as_of=date(2026, 1, 1))
    by_policy = {d.policy_id: d.id for d in run.documents}
    return {side: by_policy[policy_id] for side, policy_id in issued.items()}


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


@pytest.fixture
def insured(client: TestClient, world: World) -> TestClient:
    log_in(client, world.emails["insured_user"])
    return client


def declare(client: TestClient, world: World, domestic: str, *, token: str | None = None) -> Response:
    html = page(client, "/premium")
    data = {
        "policy": world.policy_a,
        "period": Q1,
        "domestic": domestic,
        "export": "0",
        "csrf_token": csrf_token(html) if token is None else token,
    }
    return client.post("/premium/declarations", data=data)


def test_the_premium_page_shows_the_calendar_figures_and_documents(
    insured: TestClient, world: World, documents: dict[str, str]
) -> None:
    html = page(insured, "/premium?lang=en")
    assert 'id="calendar"' in html
    assert "30 Apr 2026" in html  # Q1's due date: 30 days after its last day
    assert "not declared" in html
    assert "Earned premium" in html
    assert f'href="/premium/documents/{documents["a"]}.pdf"' in html
    assert documents["b"] not in html
    assert '<form id="declaration-form" method="post" action="/premium/declarations">' in html
    assert f'<option value="{Q1}"' in html
    assert 'id="declaration"' not in html
    assert "Prime" in page(insured, "/premium")


def test_a_declaration_is_recorded_and_shown(insured: TestClient, world: World) -> None:
    response = declare(insured, world, "1 200 000,50")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/premium?declared=")
    html = page(insured, location.split("#")[0] + "&lang=en")
    recorded = re.search(r'<div id="declaration" role="status"[^>]*>(.*?)</div>', html, re.S)
    assert recorded, html
    assert "€1,200,000.50" in recorded.group(1)
    assert "(version 1)" in recorded.group(1)
    first_row = html.split('id="calendar"')[1].split("<tbody>")[1].split("</tr>")[0]
    assert "€1,200,000.50" in first_row


@pytest.mark.parametrize("amount", ["", "abc", "-5", "12.345", "1e9"])
def test_a_bad_amount_shows_the_form_again_with_the_error(insured: TestClient, world: World, amount: str) -> None:
    response = declare(insured, world, amount)
    assert response.status_code == 422
    error = re.search(r'<div role="alert" id="declaration-error">(.*?)</div>', response.text, re.S)
    assert error, response.text
    assert "chiffre d'affaires France" in error.group(1)
    assert 'id="domestic"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_period_the_service_refuses_is_named(insured: TestClient, world: World) -> None:
    token = csrf_token(page(insured, "/premium"))
    data = {"policy": world.policy_a, "period": "2026-07-01_2026-09-30", "domestic": "1", "export": "0"}
    response = insured.post("/premium/declarations", data={**data, "csrf_token": token})
    assert response.status_code == 422
    error = re.search(r'<div role="alert" id="declaration-error">(.*?)</div>', response.text, re.S)
    assert error
    assert "la période" in error.group(1)
    assert "Cette période n&#39;a pas encore commencé." in error.group(1)  # the service's refusal, in French


def test_a_declaration_without_the_csrf_token_is_refused(insured: TestClient, world: World) -> None:
    response = declare(insured, world, "1000", token="")
    assert response.status_code == 403
    assert "not declared" in page(insured, "/premium?lang=en")


def test_another_insureds_policy_and_documents_are_not_found(
    insured: TestClient, world: World, documents: dict[str, str]
) -> None:
    own = insured.get(f"/premium/documents/{documents['a']}.pdf")
    assert (own.status_code, own.headers["content-type"]) == (200, "application/pdf")
    assert own.content.startswith(b"%PDF")
    for url in (
        f"/premium/documents/{documents['b']}.pdf",
        "/premium/documents/no-such-document.pdf",
        f"/premium?policy={world.policy_b}",
        f"/premium/statement.pdf?policy={world.policy_b}",
    ):
        response = insured.get(url)
        assert response.status_code == 404, url
        assert 'id="error-message"' in response.text
    token = csrf_token(page(insured, "/premium"))
    data = {"policy": world.policy_b, "period": Q1, "domestic": "1", "export": "0", "csrf_token": token}
    assert insured.post("/premium/declarations", data=data).status_code == 404
    statement = insured.get("/premium/statement.pdf")
    assert (statement.status_code, statement.headers["content-type"]) == (200, "application/pdf")


def test_staff_view_a_named_policy_and_visitors_log_in(client: TestClient, world: World) -> None:
    assert client.get("/premium").headers["location"] == "/login"
    log_in(client, world.emails["underwriter"])
    assert client.get("/premium").status_code == 404
    html = page(client, f"/premium?policy={world.policy_b}")
    assert 'id="calendar"' in html
    assert 'id="declaration-form"' not in html
