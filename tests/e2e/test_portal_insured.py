"""The insured's portal pages through the app factory: buyers (list, search, add), a buyer's limits (request,
increase, reduction, cancellation), prospect queries, the ledger import as a background job, and a broker
acting for an insured on the same screens.

The world (api_world.py) has insureds A and B, each with a policy and a graded buyer holding a limit of 50,000;
the broker of A holds an ``act`` mandate, the other broker a read-only one on B. Runs on SQLite and, when
configured, PostgreSQL.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from api_world import READ_ONLY_BROKER, World, add_receivables, build_world
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.errors import InvalidInput
from tradecover.ingest.ledger_csv import LEDGER_CSV_TEMPLATE
from tradecover.services import credit_limits
from tradecover.services.authorization import system_actor
from tradecover.web.insured_pages import IMPORT_JOB
from tradecover.web.jobs import JOBS

HEADER = LEDGER_CSV_TEMPLATE.splitlines()[0]
GOOD_LINE = "invoice,C0001,Buyer of A,552100554,,FR,P-0001,2026-03-01,2026-03-01,2026-04-30,1000.00,200.00,EUR,,,,,,,"
BAD_LINE = "invoice,C0001,Buyer of A,552100554,,FR,P-0002,2026-03-01,2026-03-01,2026-04-30,mille,200.00,EUR,,,,,,,"
NEW_SIREN = "443061841"  # a valid SIREN no buyer of the world has
PROSPECT_SIREN = "652014051"
BAD_SIREN = "552100555"  # a wrong check digit
DECISION = re.compile(r'<div id="decision" role="status"[^>]*>(.*?)</div>', re.S)


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


def ask_limit(
    client: TestClient, buyer_id: str, amount: str, *, kind: str = "increase", token: str | None = None
) -> Response:
    html = page(client, f"/buyers/{buyer_id}")
    data = {
        "amount": amount,
        "currency": "EUR",
        "request_type": kind,
        "csrf_token": csrf_token(html) if token is None else token,
    }
    return client.post(f"/buyers/{buyer_id}/limit-requests", data=data)


def add(client: TestClient, identifier: str, name: str, *, token: str | None = None) -> Response:
    html = page(client, "/buyers")
    data = {
        "kind": "siren",
        "identifier": identifier,
        "legal_name": name,
        "country": "FR",
        "csrf_token": csrf_token(html) if token is None else token,
    }
    return client.post("/buyers", data=data)


def upload(client: TestClient, content: str, *, token: str | None = None) -> Response:
    html = page(client, "/invoices/import")
    data = {"csrf_token": csrf_token(html) if token is None else token, "partial": "1"}
    return client.post("/invoices/import", data=data, files={"file": ("ledger.csv", content.encode(), "text/csv")})


def finished_job_page(client: TestClient, url: str) -> str:
    """The job's page once the import is over (it refreshes itself until then)."""
    deadline = time.monotonic() + 30
    while True:
        html = page(client, url)
        if 'http-equiv="refresh"' not in html:
            return html
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.05)


def limits_on(container: Container, world: World, policy_id: str, buyer_id: str) -> int:
    with container.uow() as uow:
        return len(credit_limits.limit_history(uow, system_actor(world.insurer_id), policy_id, buyer_id))


# --- Buyers -----------------------------------------------------------------------------------------------


def test_the_buyers_page_lists_searches_and_keeps_to_the_insureds_book(client: TestClient, world: World) -> None:
    assert client.get("/buyers").headers["location"] == "/login"
    log_in(client, world.emails["insured_user"])
    html = page(client, "/buyers")
    assert "Buyer of A" in html
    assert "Buyer of B" not in html
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/buyers/[^\"]+\">Buyer of A</a></th>(.*?)</tr>", html, re.S)
    assert row, html
    assert '<td class="num">4</td>' in row.group(1)
    assert "50\u202f000,00\xa0€" in row.group(1)  # the limit granted in the world, in French
    assert "Vos acheteurs" in html
    assert 'id="add-buyer-form"' in html
    assert 'href="/buyers/prospect"' in html
    for query in ("buyer of", "552100554"):
        assert "Buyer of A" in page(client, f"/buyers?q={query}")
    nothing = page(client, "/buyers?q=zzz-nobody")
    assert 'id="no-buyer"' in nothing
    assert "Buyer of A" not in nothing

    html = page(client, f"/buyers/{world.buyer_a}?lang=en")
    assert '<span id="grade-value">4</span>' in html
    assert 'id="limit-history"' in html
    assert "€50,000.00" in html
    assert '<select id="request-type" name="request_type">' in html  # a limit is in force: increase or reduce
    assert 'id="cancel-form"' in html
    assert 'id="decision"' not in html
    # Another insured's request is no decision here; another insured's buyer, or none, is not found.
    assert 'id="decision"' not in page(client, f"/buyers/{world.buyer_a}?decision={world.request_b}")
    token = csrf_token(html)
    for buyer_id in (world.buyer_b, "no-such-buyer"):
        response = client.get(f"/buyers/{buyer_id}")
        assert response.status_code == 404
        assert 'id="error-message"' in response.text
        assert "Buyer of B" not in response.text
        data = {"amount": "1000", "request_type": "new", "csrf_token": token}
        assert client.post(f"/buyers/{buyer_id}/limit-requests", data=data).status_code == 404
        cancel = {"policy": world.policy_b, "confirm": "1", "csrf_token": token}
        assert client.post(f"/buyers/{buyer_id}/limit-cancellations", data=cancel).status_code == 404

    client.cookies.clear()
    log_in(client, world.emails["underwriter"])
    assert client.get("/buyers").status_code == 403


def test_adding_a_buyer_opens_its_page_and_refuses_duplicates_and_bad_numbers(
    insured: TestClient, world: World
) -> None:
    # Without the token: refused, nothing stored.
    assert add(insured, NEW_SIREN, "Nouveau Client SAS", token="").status_code == 403
    assert "Nouveau Client" not in page(insured, "/buyers")
    # A wrong check digit: the form again, with the typed values and the message.
    response = add(insured, BAD_SIREN, "Mauvais Numéro SARL")
    assert response.status_code == 422
    error = re.search(r'<p role="alert" id="add-error">([^<]+)</p>', response.text)
    assert error
    assert "identifiant n'est pas valide" in error.group(1)
    assert 'value="552100555"' in response.text
    assert 'value="Mauvais Numéro SARL"' in response.text
    assert 'aria-invalid="true"' in response.text
    # A buyer already in the book (typed with spaces): named, with a link to it, nothing added.
    response = add(insured, "552 100 554", "Buyer of A again")
    assert response.status_code == 422
    assert 'id="add-error"' in response.text
    assert f'href="/buyers/{world.buyer_a}" id="duplicate-link"' in response.text
    # A missing name for a company the register does not know, in English.
    response = insured.post(
        "/buyers?lang=en",
        data={"kind": "siren", "identifier": NEW_SIREN, "legal_name": " ", "country": "FR",
              "csrf_token": csrf_token(page(insured, "/buyers"))},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Give the company's name (up to 300 characters)." in response.text
    assert "Nouveau Client" not in page(insured, "/buyers?lang=fr")

    response = add(insured, NEW_SIREN, "Nouveau Client SAS")
    assert response.status_code == 303
    buyer_page = page(insured, response.headers["location"])
    assert '<h1 id="page-title">Nouveau Client SAS</h1>' in buyer_page
    assert "SIREN 443061841" in buyer_page
    assert '<input type="hidden" name="request_type" value="new">' in buyer_page  # no limit yet
    assert "Nouveau Client SAS" in page(insured, f"/buyers?q={NEW_SIREN}")
    # Insured B may add the same company: the register has one buyer, each book its own entry.
    insured.cookies.clear()
    log_in(insured, world.emails["insured_user_b"])
    assert add(insured, NEW_SIREN, "Nouveau Client SAS").status_code == 303
    assert "Buyer of A" not in page(insured, "/buyers")


# --- Limits: request, increase, reduction, cancellation ---------------------------------------------------


def test_a_limit_is_increased_then_cancelled_and_each_decision_shown_at_once(
    insured: TestClient, container: Container, world: World
) -> None:
    before = limits_on(container, world, world.policy_a, world.buyer_a)
    for amount in ("", "abc", "-5", "12.345", "1e9"):
        response = ask_limit(insured, world.buyer_a, amount)
        assert response.status_code == 422
        error = re.search(r'<p role="alert" id="request-error">([^<]+)</p>', response.text)
        assert error
        assert "montant" in error.group(1)
        assert 'aria-invalid="true"' in response.text
    response = ask_limit(insured, world.buyer_a, "80000", kind="reduction")
    assert response.status_code == 422
    assert "Une réduction doit être inférieure à la limite en vigueur." in response.text
    assert ask_limit(insured, world.buyer_a, "60000", token="").status_code == 403
    assert limits_on(container, world, world.policy_a, world.buyer_a) == before

    response = ask_limit(insured, world.buyer_a, "60 000,00")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/buyers/{world.buyer_a}?decision=")
    decision = DECISION.search(page(insured, location.split("#")[0] + "&lang=en"))
    assert decision
    assert '<span id="decision-outcome">Granted</span>' in decision.group(1)  # within the buyer's capacity
    assert "€60,000.00" in decision.group(1)
    assert '<ul id="decision-reasons">' in decision.group(1)

    # Cancelling takes the ticked box, then is decided at once; the history keeps every decision.
    token = csrf_token(page(insured, f"/buyers/{world.buyer_a}?lang=fr"))
    cancel = {"policy": world.policy_a, "csrf_token": token}
    response = insured.post(f"/buyers/{world.buyer_a}/limit-cancellations", data=cancel)
    assert response.status_code == 422
    assert 'id="cancel-error"' in response.text
    assert "Cochez la case" in response.text
    response = insured.post(f"/buyers/{world.buyer_a}/limit-cancellations", data={**cancel, "confirm": "1"})
    assert response.status_code == 303
    html = page(insured, response.headers["location"].split("#")[0])
    decision = DECISION.search(html)
    assert decision
    assert "Décision sur votre résiliation" in decision.group(1)
    assert "Annulée à votre demande" in decision.group(1)
    assert "En vigueur aujourd'hui : 0,00\xa0€" in html
    assert 'id="cancel-form"' not in html
    assert 'id="request-type"' not in html
    history = re.search(r'<table class="figures" id="limit-history">(.*?)</table>', html, re.S)
    assert history
    assert len(re.findall(r"<tr>", history.group(1))) == before + 3  # the header, the increase, the cancellation
    assert limits_on(container, world, world.policy_a, world.buyer_a) == before + 2
    # Nothing left to cancel.
    response = insured.post(f"/buyers/{world.buyer_a}/limit-cancellations", data={**cancel, "confirm": "1"})
    assert response.status_code == 422
    assert "Aucune limite en vigueur à résilier." in response.text


def test_a_prospect_query_answers_without_storing_a_limit(
    insured: TestClient, container: Container, world: World
) -> None:
    html = page(insured, "/buyers/prospect")
    assert '<form id="prospect-form" method="post" action="/buyers/prospect">' in html
    data = {
        "kind": "siren",
        "identifier": PROSPECT_SIREN,
        "legal_name": "Prospect SA",
        "country": "FR",
        "amount": "25000",
        "currency": "EUR",
        "csrf_token": csrf_token(html),
    }
    assert insured.post("/buyers/prospect", data={**data, "csrf_token": ""}).status_code == 403
    response = insured.post("/buyers/prospect", data={**data, "amount": "beaucoup"})
    assert response.status_code == 422
    assert 'id="prospect-error"' in response.text
    assert 'value="beaucoup"' in response.text
    response = insured.post("/buyers/prospect", data={**data, "identifier": BAD_SIREN})
    assert response.status_code == 422
    assert "identifiant n'est pas valide" in response.text
    assert "Prospect SA" not in page(insured, "/buyers")

    response = insured.post("/buyers/prospect?lang=en", data=data)
    assert response.status_code == 200, response.text
    answer = re.search(r'<section id="prospect-answer" role="status"[^>]*>(.*?)</section>', response.text, re.S)
    assert answer
    assert "Indication for Prospect SA" in answer.group(1)
    assert re.search(r'<span id="prospect-outcome">[^<]+</span>', answer.group(1))
    assert '<dd id="prospect-amount">€' in answer.group(1)
    assert "Indication only" in answer.group(1)  # the engine says so itself
    link = re.search(r'href="/buyers/([^"]+)" id="prospect-buyer-link"', answer.group(1))
    assert link
    assert limits_on(container, world, world.policy_a, link.group(1)) == 0
    assert "Aucune décision sur cet acheteur pour l'instant." in page(insured, f"/buyers/{link.group(1)}?lang=fr")
    # A buyer of the book is asked about as it is.
    response = insured.post("/buyers/prospect", data={**data, "identifier": "552100554", "legal_name": ""})
    assert response.status_code == 200
    assert "Indication pour Buyer of A" in response.text
    assert '<dd id="prospect-grade">4</dd>' in response.text


# --- Ledger import ----------------------------------------------------------------------------------------


def test_an_import_runs_as_a_job_and_reports_each_refused_line(client: TestClient, world: World) -> None:
    log_in(client, world.emails["insured_user"])
    html = page(client, "/invoices/import")
    assert 'enctype="multipart/form-data"' in html
    assert '<input id="file" name="file" type="file"' in html
    assert upload(client, "\n".join([HEADER, GOOD_LINE]) + "\n", token="").status_code == 403
    response = client.post("/invoices/import", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 422
    assert 'role="alert" id="import-error"' in response.text

    response = upload(client, "\n".join([HEADER, GOOD_LINE, BAD_LINE]) + "\n")
    assert response.status_code == 303
    job_url = response.headers["location"]
    assert re.fullmatch(r"/invoices/import/[0-9a-f]{32}", job_url)
    html = finished_job_page(client, job_url)
    assert '<dd id="import-accepted">1</dd>' in html
    assert '<dd id="import-refused">1</dd>' in html
    assert "Les lignes acceptées sont enregistrées." in html
    report = re.search(r'<table class="figures" id="import-report">(.*?)</table>', html, re.S)
    assert report
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td class=\"num\">(\d+)</td>\s*<td>([^<]+)</td>", report.group(1))
    assert rows == [("ledger.csv", "3", "amount_excl_vat")]
    # The same file again: its line is a duplicate now.
    again = finished_job_page(client, upload(client, "\n".join([HEADER, GOOD_LINE]) + "\n").headers["location"])
    assert '<dd id="import-duplicates">1</dd>' in again
    assert client.get("/invoices/import/no-such-job").status_code == 404

    # A long import: its page shows the progress and refreshes itself; a failure says nothing was recorded.
    release = threading.Event()

    def long_work(progress: Callable[[int, int], None]) -> None:
        progress(1000, 4000)
        release.wait(10)
        raise InvalidInput("the file is not a ledger", code="ledger_import.unreadable")

    job = JOBS.start(IMPORT_JOB, world.user_ids["insured_user"], long_work, parameters={"file": "long.csv"})
    try:
        html = page(client, f"/invoices/import/{job.id}")
        assert '<meta http-equiv="refresh" content="1">' in html
        assert '<progress id="progress" max="4000" value="1000">' in html
        assert "Contrôle des lignes : 1\u202f000 sur 4\u202f000" in html
    finally:
        release.set()
    html = finished_job_page(client, f"/invoices/import/{job.id}")
    assert 'id="import-failed"' in html
    assert "rien n'a été enregistré" in html

    # Another user's import is not found.
    client.cookies.clear()
    log_in(client, world.emails["insured_user_b"])
    response = client.get(job_url)
    assert response.status_code == 404
    assert "ledger.csv" not in response.text


# --- A broker acting for its insured ----------------------------------------------------------------------


def test_a_broker_acting_for_its_insured_requests_a_limit_and_a_read_only_one_may_not(
    client: TestClient, container: Container, world: World
) -> None:
    log_in(client, world.emails["broker_user"])
    assert client.get("/buyers").status_code == 409  # whom it acts for, first
    token = csrf_token(page(client, "/home"))
    assert client.post("/acting", data={"insured": world.insured_a}).status_code == 403  # no token
    response = client.post("/acting", data={"insured": world.insured_a, "csrf_token": token})
    assert response.status_code == 303
    html = page(client, "/buyers")
    assert "Buyer of A" in html
    assert "Buyer of B" not in html
    assert client.get(f"/buyers/{world.buyer_b}").status_code == 404
    response = ask_limit(client, world.buyer_a, "55000")
    assert response.status_code == 303
    decision = DECISION.search(page(client, response.headers["location"].split("#")[0]))
    assert decision
    assert "55\u202f000,00\xa0€" in decision.group(1)

    client.cookies.clear()
    log_in(client, world.emails[READ_ONLY_BROKER])
    token = csrf_token(page(client, "/home"))
    assert client.post("/acting", data={"insured": world.insured_b, "csrf_token": token}).status_code == 303
    assert "Buyer of B" in page(client, "/buyers")  # reading is within its mandate
    before = limits_on(container, world, world.policy_b, world.buyer_b)
    assert ask_limit(client, world.buyer_b, "55000").status_code == 403
    assert add(client, NEW_SIREN, "Nouveau Client SAS").status_code == 403
    assert limits_on(container, world, world.policy_b, world.buyer_b) == before
