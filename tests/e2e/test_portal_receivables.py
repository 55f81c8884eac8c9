"""The insured's aged balance in the portal: the page per policy and date, its CSV and XLSX export.

The world (api_world.py, with its receivables) gives insured A, on 15 March 2026 (the frozen clock), 1,800.00
not yet due from its buyer (WA-1 partly paid, WA-2 disputed); here A also gets an invoice 33 days past due and
one in US dollars, which the report keeps apart. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from api_world import World, add_receivables, build_world, login
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.money import Money
from tradecover.services import ledger
from tradecover.services.authorization import system_actor

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_HEADER = "\ufeffbuyer_id;buyer;currency;not_due;1_30;31_60;61_90;over_90;total;unapplied_cash;dso_days"


@pytest.fixture
def world(container: Container) -> World:
    world = add_receivables(container, build_world(container))
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        for number, currency in (("OLD-1", "EUR"), ("USD-1", "USD")):
            ledger.record_invoice(
                uow, container.clock, admin, policy_id=world.policy_a, buyer_id=world.buyer_a, number=number,
                issue_date=date(2026, 1, 10), delivery_date=None, due_date=date(2026, 2, 10),
                amount_excl_vat=Money.of("1000.00", currency), vat_amount=Money.of("200.00", currency),
            )  # fmt: skip
        uow.commit()
    return world


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def test_the_insured_reads_its_aged_balance_and_exports_it_as_the_api_does(client: TestClient, world: World) -> None:
    log_in(client, world.emails["insured_user"])
    html = page(client, "/aged-balance?lang=en")
    assert 'aria-current="page"' in html
    assert 'id="nav-aged"' in html
    assert f'data-policy-id="{world.policy_a}"' in html
    assert "Buyer of A" in html
    assert "Buyer of B" not in html
    assert "15 March 2026" in html
    row = html.split(f'data-buyer-id="{world.buyer_a}"')[1].split("</tr>")[0]
    assert row.count('<td class="num">') == 7  # five buckets, the total, the unapplied cash
    assert "€1,800.00" in row
    assert "€1,200.00" in row
    assert "€3,000.00" in row
    assert '<dd id="aged-total">€3,000.00</dd>' in html
    assert '<dd id="aged-overdue">€1,200.00</dd>' in html
    assert 'id="aged-dso"' in html
    assert " days</dd>" in html
    others = html.split('id="aged-others"')[1].split("</table>")[0]
    assert 'data-currency="USD"' in others
    assert "US$1,200.00" in others
    later = page(client, "/aged-balance?on=2026-05-15&lang=en")  # WA-1 and WA-2 fall past due
    assert "15 May 2026" in later
    assert 'value="2026-05-15"' in later
    assert "/aged-balance.csv?policy=" in later
    assert "on=2026-05-15" in later
    french = page(client, "/aged-balance?lang=fr")
    assert "Balance âgée" in french
    assert "Non échu" in french
    assert "3\u202f000,00\xa0€" in french

    exported = client.get(f"/aged-balance.csv?policy={world.policy_a}&on=2026-03-15")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"].startswith('attachment; filename="aged-balance-')
    assert exported.headers["content-disposition"].endswith('-2026-03-15.csv"')
    lines = exported.content.decode("utf-8").split("\r\n")
    assert lines[0] == CSV_HEADER
    assert lines[1].startswith(f"{world.buyer_a};Buyer of A;EUR;1800.00;0.00;1200.00;")
    assert lines[2].startswith(";TOTAL;EUR;1800.00;0.00;1200.00;0.00;0.00;3000.00;")
    api = client.get(
        f"/api/v1/policies/{world.policy_a}/aged-balance",
        params={"format": "csv", "on": "2026-03-15"},
        headers=login(client, world.emails["insured_user"]),
    )
    assert api.content == exported.content
    assert api.headers["content-disposition"] == exported.headers["content-disposition"]
    workbook = client.get("/aged-balance.xlsx")  # the first policy, today
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == XLSX
    assert workbook.headers["content-disposition"].endswith('-2026-03-15.xlsx"')
    assert workbook.content[:2] == b"PK"


def test_bad_dates_tenancy_and_roles(client: TestClient, world: World) -> None:
    assert client.get("/aged-balance").headers["location"] == "/login"
    assert client.get("/aged-balance.csv").headers["location"] == "/login"
    log_in(client, world.emails["insured_user"])
    for url in ("/aged-balance?on=2026-02-30&lang=en", "/aged-balance.csv?on=2026-02-30&lang=en"):
        wrong = client.get(url)
        assert wrong.status_code == 422, url
        assert '<p role="alert" id="aged-error">Write the date as YYYY-MM-DD' in wrong.text
        assert 'value="2026-02-30" aria-invalid="true"' in wrong.text
        assert 'id="aged-report"' not in wrong.text
    for url in (
        f"/aged-balance?policy={world.policy_b}",
        f"/aged-balance.csv?policy={world.policy_b}",
        f"/aged-balance.xlsx?policy={world.policy_b}",
        "/aged-balance?policy=no-such-policy",
    ):
        refused = client.get(url)
        assert refused.status_code == 404, url
        assert "Buyer of B" not in refused.text
    client.cookies.clear()
    log_in(client, world.emails["underwriter"])
    assert client.get("/aged-balance").status_code == 403
    assert client.get(f"/aged-balance.csv?policy={world.policy_a}").status_code == 403


def test_a_broker_acting_for_its_insured_sees_that_insureds_aged_balance(client: TestClient, world: World) -> None:
    log_in(client, world.emails["broker_user"])
    assert client.get("/aged-balance").status_code == 409  # for whom? the broker chooses first
    token = csrf_token(page(client, "/home"))
    assert client.post("/acting", data={"insured": world.insured_a}).status_code == 403  # no CSRF token
    assert client.post("/acting", data={"insured": world.insured_a, "csrf_token": token}).status_code == 303
    html = page(client, "/aged-balance?lang=en")
    assert 'id="acting-banner"' in html
    assert "Buyer of A" in html
    assert '<dd id="aged-total">€3,000.00</dd>' in html
    exported = client.get("/aged-balance.csv")
    assert exported.status_code == 200
    assert "Buyer of A" in exported.content.decode("utf-8")
    # Acting for A narrows the broker to A: B's policy (not under its mandate anyway) is not found.
    assert client.get(f"/aged-balance?policy={world.policy_b}").status_code == 404
