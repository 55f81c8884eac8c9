"""One insured's page, ``/insureds/{id}``: a broker opens its mandated insureds, nobody else's.

The world (api_world.py): insureds A and B; ``broker_user`` mandated by A; ``broker_user_b`` with a read-only
mandate on B; the insurer's staff. An insured the user may not read answers exactly as an unknown id.
Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_world import READ_ONLY_BROKER, World, add_receivables, build_world
from fastapi.testclient import TestClient
from test_portal_pages import FR_AMOUNT, log_in

from tradecover.api.app import create_app
from tradecover.bootstrap import Container

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
    assert 'id="mandate-scope">' in html
    assert "Buyer of B" not in html
    assert "world alert of b" not in html


def test_the_page_speaks_english_on_request(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    html = client.get(f"/insureds/{portal_world.insured_a}?lang=en").text
    assert '<html lang="en">' in html
    assert "Policy " in html
    assert "Alerts to act on" in html


def test_another_brokers_insured_is_not_found_like_an_unknown_id(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    assert_not_found_as_unknown(client, portal_world.insured_b)
    response = client.get(f"/insureds/{portal_world.insured_b}")
    assert "Insured B SARL" not in response.text
    assert "Buyer of B" not in response.text


def test_a_read_only_mandate_opens_the_page_too(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, READ_ONLY_BROKER)
    response = client.get(f"/insureds/{portal_world.insured_b}")
    assert response.status_code == 200
    assert "Buyer of B" in response.text
    assert_not_found_as_unknown(client, portal_world.insured_a)


def test_organisations_that_are_no_insured_are_not_found(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "broker_user")
    assert_not_found_as_unknown(client, portal_world.broker_id)  # its own organisation: no insured
    assert_not_found_as_unknown(client, portal_world.insurer_id)
    assert_not_found_as_unknown(client, "x" * 500)


def test_an_insured_opens_itself_only(visitor: TestClient, portal_world: World) -> None:
    client = logged_in(visitor, portal_world, "insured_user")
    own = client.get(f"/insureds/{portal_world.insured_a}")
    assert own.status_code == 200
    assert "Buyer of A" in own.text
    assert_not_found_as_unknown(client, portal_world.insured_b)


@pytest.mark.parametrize("role", ["underwriter", "admin", "claims_handler"])
def test_the_insurers_staff_open_any_insured(visitor: TestClient, portal_world: World, role: str) -> None:
    client = logged_in(visitor, portal_world, role)
    for insured, buyer in ((portal_world.insured_a, "Buyer of A"), (portal_world.insured_b, "Buyer of B")):
        response = client.get(f"/insureds/{insured}")
        assert response.status_code == 200, response.text
        assert buyer in response.text
        assert 'id="mandate-scope"' not in response.text
    assert client.get(f"/insureds/{UNKNOWN_ID}").status_code == 404


def test_a_visitor_is_sent_to_the_login_page(visitor: TestClient, portal_world: World) -> None:
    response = visitor.get(f"/insureds/{portal_world.insured_a}")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
