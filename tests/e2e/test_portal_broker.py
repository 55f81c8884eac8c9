"""One insured's page, ``/insureds/{id}``: a broker opens its mandated insureds, nobody else's, and acts for one
with the insured's own screens.

The world (api_world.py): insureds A and B; ``broker_user`` mandated by A; ``broker_user_b`` with a read-only
mandate on B; the insurer's staff. An insured the user may not read answers exactly as an unknown id.
Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_world import READ_ONLY_BROKER, World, add_receivables, build_world
from fastapi.testclient import TestClient
from portal_support import csrf_token
from test_portal_pages import FR_AMOUNT, log_in

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.services.ports import Page

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def portal_world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def visitor(container: Container, portal_world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as client:
        yield client


def logged_in(client: TestClient, world: World, name: str) -> TestClient:
    assert log_in(client, world.emails[name]).status_code == 303
    return client


def assert_not_found_as_unknown(client: TestClient, organisation_id: str) -> None:
    """The page of an insured the user may not read is, byte for byte, the page of an id that exists nowhere."""
    refused = client.get(f"/insureds/{organisation_id}")
    unknown = client.get(f"/insureds/{UNKNOWN_ID}")
    assert refused.status_code == unknown.status_code == 404
    assert refused.text == unknown.text
    assert '<h1 id="page-title">Page introuvable</h1>' in refused.text
    assert organisation_id not in refused.text


def test_a_broker_opens_its_mandated_insured(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    home = client.get("/home").text
    assert f'href="/insureds/{portal_world.insured_a}"' in home
    response = client.get(f"/insureds/{portal_world.insured_a}")
    assert response.status_code == 200, response.text
    html = response.text
    assert '<h1 id="page-title">Insured A SAS</h1>' in html
    assert f'<section id="insured-page" data-organisation-id="{portal_world.insured_a}">' in html
    assert f'data-policy-id="{portal_world.policy_a}"' in html
    assert 'id="total-outstanding">' + FR_AMOUNT in html
    assert 'id="total-covered">' in html
    assert 'id="total-uncovered">' in html
    assert 'id="utilisation-chart"' in html
    assert "Buyer of A" in html
    assert "world alert of a" in html
    assert '<p class="alert-message" lang="en">world alert of a</p>' in html  # the service's words, marked
    assert 'id="mandate-scope">' in html
    assert "Buyer of B" not in html
    assert "world alert of b" not in html
    english = client.get(f"/insureds/{portal_world.insured_a}?lang=en").text
    assert '<html lang="en">' in english
    assert "Alerts to act on" in english
    assert '<p class="alert-message">world alert of a</p>' in english


def test_what_a_user_may_not_read_is_not_found_like_an_unknown_id(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    assert_not_found_as_unknown(client, portal_world.insured_b)  # another broker's insured
    assert "Buyer of B" not in client.get(f"/insureds/{portal_world.insured_b}").text
    assert_not_found_as_unknown(client, portal_world.broker_id)  # its own organisation: no insured
    assert_not_found_as_unknown(client, portal_world.insurer_id)
    assert_not_found_as_unknown(client, "x" * 500)
    client.cookies.clear()

    client = logged_in(visitor, portal_world, READ_ONLY_BROKER)  # a read-only mandate opens the page too
    assert "Buyer of B" in client.get(f"/insureds/{portal_world.insured_b}").text
    assert_not_found_as_unknown(client, portal_world.insured_a)
    client.cookies.clear()

    client = logged_in(visitor, portal_world, "insured_user")  # an insured opens itself only
    assert "Buyer of A" in client.get(f"/insureds/{portal_world.insured_a}").text
    assert_not_found_as_unknown(client, portal_world.insured_b)
    client.cookies.clear()

    response = visitor.get(f"/insureds/{portal_world.insured_a}")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_the_insurers_staff_open_any_insured(visitor: TestClient, portal_world: World) -> None:
    for role in ("underwriter", "admin", "claims_handler"):
        client = logged_in(visitor, portal_world, role)
        for insured, buyer in ((portal_world.insured_a, "Buyer of A"), (portal_world.insured_b, "Buyer of B")):
            response = client.get(f"/insureds/{insured}")
            assert response.status_code == 200, response.text
            assert buyer in response.text
            assert 'id="mandate-scope"' not in response.text
            assert 'id="act-for"' not in response.text  # staff never act for an insured
        assert client.get(f"/insureds/{UNKNOWN_ID}").status_code == 404
        client.cookies.clear()


def act_for(client: TestClient, insured_id: str) -> int:
    token = csrf_token(client.get("/home").text)
    return client.post("/acting", data={"insured": insured_id, "csrf_token": token}).status_code


def test_a_broker_acts_for_its_insured_with_the_insureds_screens(
    visitor: TestClient, portal_world: World, container: Container
) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    chooser = client.get("/buyers")
    assert chooser.status_code == 409  # whose buyers? the broker chooses an insured first
    assert 'id="page-title">Choisissez d\'abord un assuré' in chooser.text
    assert 'id="act-for"' in client.get(f"/insureds/{portal_world.insured_a}").text

    assert client.post("/acting", data={"insured": portal_world.insured_a}).status_code == 403  # no CSRF token
    assert act_for(client, portal_world.insured_b) == 404  # not under its mandate: unknown
    assert act_for(client, portal_world.insured_a) == 303
    buyers_page = client.get("/buyers").text
    assert 'id="acting-banner"' in buyers_page
    assert "Insured A SAS" in buyers_page
    assert "Buyer of A" in buyers_page
    assert "Buyer of B" not in buyers_page
    assert 'id="nav-buyers"' in buyers_page
    home = client.get("/home").text
    assert "Buyer of A" in home
    assert 'id="acting-banner"' in home
    assert client.get(f"/buyers/{portal_world.buyer_b}").status_code == 404

    token = csrf_token(buyers_page)
    response = client.post(
        f"/buyers/{portal_world.buyer_a}/limit-requests",
        data={"amount": "60000", "currency": "EUR", "policy": portal_world.policy_a, "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    decided = client.get(response.headers["location"]).text
    assert 'id="decision"' in decided
    with container.uow() as uow:
        events, _ = uow.audit.list_page(tenants=None, page=Page(limit=1000))
    acted = [e for e in events if e.object_type == "credit_limit" and "broker mandate" in e.actor]
    assert acted, "recorded as the broker acting for the insured, by mandate"
    assert portal_world.insured_a in acted[0].actor

    client.cookies.set("tc_acting", portal_world.insured_b)  # a forged cookie narrows nothing open
    assert client.get("/buyers").status_code == 409
    assert act_for(client, portal_world.insured_a) == 303
    token = csrf_token(client.get("/buyers").text)
    ended = client.post("/acting/end", data={"csrf_token": token})
    assert ended.status_code == 303
    assert ended.headers["location"] == "/home"
    assert client.get("/buyers").status_code == 409
    client.cookies.clear()

    reader = logged_in(visitor, portal_world, READ_ONLY_BROKER)  # a read-only mandate reads, never acts
    assert act_for(reader, portal_world.insured_b) == 303
    page = reader.get("/buyers").text
    assert "Buyer of B" in page
    token = csrf_token(page)
    refused = reader.post(
        f"/buyers/{portal_world.buyer_b}/limit-requests",
        data={"amount": "60000", "currency": "EUR", "policy": portal_world.policy_b, "csrf_token": token},
    )
    assert refused.status_code == 403
