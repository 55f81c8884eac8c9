"""The insured's portal pages through the app factory: buyers, a buyer's limits, a limit request, a ledger import.

The world (api_world.py) has insureds A and B, each with a policy and a graded buyer holding a limit.
Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_world import World, add_receivables, build_world
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.ingest.ledger_csv import LEDGER_CSV_TEMPLATE

HEADER = LEDGER_CSV_TEMPLATE.splitlines()[0]
GOOD_LINE = "invoice,C0001,Buyer of A,552100554,,FR,P-0001,2026-03-01,2026-03-01,2026-04-30,1000.00,200.00,EUR,,,,,,,"
BAD_LINE = "invoice,C0001,Buyer of A,552100554,,FR,P-0002,2026-03-01,2026-03-01,2026-04-30,mille,200.00,EUR,,,,,,,"


@pytest.fixture
def world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


@pytest.fixture
def insured(client: TestClient, world: World) -> TestClient:
    log_in(client, world.emails["insured_user"])
    return client


def ask_limit(client: TestClient, buyer_id: str, amount: str, *, token: str | None = None) -> Response:
    html = page(client, f"/buyers/{buyer_id}")
    data = {"amount": amount, "currency": "EUR", "csrf_token": csrf_token(html) if token is None else token}
    return client.post(f"/buyers/{buyer_id}/limit-requests", data=data)


def upload(client: TestClient, content: str, *, token: str | None = None) -> Response:
    html = page(client, "/invoices/import")
    data = {"csrf_token": csrf_token(html) if token is None else token, "partial": "1"}
    return client.post("/invoices/import", data=data, files={"file": ("ledger.csv", content.encode(), "text/csv")})


# --- Buyers -----------------------------------------------------------------------------------------------


def test_the_buyers_page_lists_the_insureds_own_buyers_with_grade_and_limit(insured: TestClient) -> None:
    html = page(insured, "/buyers")
    assert "Buyer of A" in html
    assert "Buyer of B" not in html
    assert "552100554" in html
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/buyers/[^\"]+\">Buyer of A</a></th>(.*?)</tr>", html, re.S)
    assert row, html
    assert '<td class="num">4</td>' in row.group(1)
    assert "50\u202f000,00\xa0€" in row.group(1)  # the limit granted in the world, in French
    assert "Vos acheteurs" in html


@pytest.mark.parametrize("query", ["buyer of", "552100554"])
def test_the_buyers_page_searches_by_name_or_siren(insured: TestClient, query: str) -> None:
    assert "Buyer of A" in page(insured, f"/buyers?q={query}")


def test_a_search_matching_nothing_says_so(insured: TestClient) -> None:
    html = page(insured, "/buyers?q=zzz-nobody")
    assert 'id="no-buyer"' in html
    assert "Buyer of A" not in html


def test_the_buyer_page_shows_grade_and_limit_history(insured: TestClient, world: World) -> None:
    html = page(insured, f"/buyers/{world.buyer_a}?lang=en")
    assert '<span id="grade-value">4</span>' in html
    assert 'id="limit-history"' in html
    assert "€50,000.00" in html
    assert '<form id="limit-request-form" method="post"' in html
    assert 'id="decision"' not in html


@pytest.mark.parametrize("which", ["another insured's buyer", "an unknown buyer"])
def test_a_buyer_outside_the_book_is_not_found(insured: TestClient, world: World, which: str) -> None:
    buyer_id = world.buyer_b if which == "another insured's buyer" else "no-such-buyer"
    response = insured.get(f"/buyers/{buyer_id}")
    assert response.status_code == 404
    assert 'id="error-message"' in response.text
    assert "Buyer of B" not in response.text
    token = csrf_token(page(insured, f"/buyers/{world.buyer_a}"))
    posted = insured.post(f"/buyers/{buyer_id}/limit-requests", data={"amount": "1000", "csrf_token": token})
    assert posted.status_code == 404


def test_a_visitor_is_sent_to_log_in_and_staff_are_refused(client: TestClient, world: World) -> None:
    assert client.get("/buyers").headers["location"] == "/login"
    log_in(client, world.emails["underwriter"])
    assert client.get("/buyers").status_code == 403


# --- Requesting a limit -----------------------------------------------------------------------------------


def test_a_limit_request_shows_the_decision_at_once(insured: TestClient, world: World) -> None:
    response = ask_limit(insured, world.buyer_a, "60 000,00")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/buyers/{world.buyer_a}?decision=")
    html = page(insured, location.split("#")[0] + "&lang=en")
    decision = re.search(r'<div id="decision" role="status"[^>]*>(.*?)</div>', html, re.S)
    assert decision, html
    outcome = re.search(r'<span id="decision-outcome">([^<]+)</span>', decision.group(1))
    assert outcome
    assert outcome.group(1) in {"Granted", "Partly granted", "Refused", "Referred to an underwriter"}
    assert "€60,000.00" in decision.group(1)


def test_another_insureds_request_is_not_shown_as_a_decision(insured: TestClient, world: World) -> None:
    html = page(insured, f"/buyers/{world.buyer_a}?decision={world.request_b}")
    assert 'id="decision"' not in html


@pytest.mark.parametrize("amount", ["", "abc", "-5", "12.345", "1e9"])
def test_a_bad_amount_shows_the_form_again_with_the_error(insured: TestClient, world: World, amount: str) -> None:
    response = ask_limit(insured, world.buyer_a, amount)
    assert response.status_code == 422
    html = response.text
    error = re.search(r'<p role="alert" id="request-error">([^<]+)</p>', html)
    assert error
    assert "montant" in error.group(1)
    assert 'aria-invalid="true"' in html
    assert '<form id="limit-request-form"' in html


def test_a_limit_request_without_the_csrf_token_is_refused(insured: TestClient, world: World) -> None:
    response = ask_limit(insured, world.buyer_a, "60000", token="")
    assert response.status_code == 403
    assert 'id="decision"' not in page(insured, f"/buyers/{world.buyer_a}")


# --- Importing a ledger -----------------------------------------------------------------------------------


def test_the_import_page_has_the_upload_form(insured: TestClient) -> None:
    html = page(insured, "/invoices/import")
    assert 'enctype="multipart/form-data"' in html
    assert '<input id="file" name="file" type="file"' in html


def test_an_upload_reports_each_refused_line(insured: TestClient) -> None:
    response = upload(insured, "\n".join([HEADER, GOOD_LINE, BAD_LINE]) + "\n")
    assert response.status_code == 200, response.text
    html = response.text
    assert '<dd id="import-accepted">1</dd>' in html
    assert '<dd id="import-refused">1</dd>' in html
    report = re.search(r'<table class="figures" id="import-report">(.*?)</table>', html, re.S)
    assert report
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td class=\"num\">(\d+)</td>\s*<td>([^<]+)</td>", report.group(1))
    assert rows == [("ledger.csv", "3", "amount_excl_vat")]


def test_an_upload_without_a_file_says_so(insured: TestClient) -> None:
    token = csrf_token(page(insured, "/invoices/import"))
    response = insured.post("/invoices/import", data={"csrf_token": token})
    assert response.status_code == 422
    assert 'role="alert" id="import-error"' in response.text


def test_an_upload_without_the_csrf_token_is_refused(insured: TestClient) -> None:
    response = upload(insured, "\n".join([HEADER, GOOD_LINE]) + "\n", token="")
    assert response.status_code == 403
