"""Premium over HTTP and from the command line (DOMAIN.md §9): declarations, the run, the year end, statements.

Through the real application on each backend. Besides api_world's two insureds, insured A holds a second
policy priced for these tests: minimum premium 8,000 EUR in 4 instalments of 2,000, rates 0.30 % domestic
and 0.50 % export, no-claims bonus 20 % below a 50 % loss ratio. The clock stands on 2026-03-15 and moves
to the next January for the year end (each move logs the users in again: their tokens live 15 minutes).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_world import World, login
from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from typer.testing import CliRunner

from tradecover.bootstrap import Container
from tradecover.cli import premium as premium_cli
from tradecover.cli.main import app as cli_app
from tradecover.domain.periods import FixedClock

API = "/api/v1"
PROBLEM = "application/problem+json"
Q1 = {"period_start": "2026-01-01", "period_end": "2026-03-31"}
Q2 = {"period_start": "2026-04-01", "period_end": "2026-06-30"}
TERMS = {
    "minimum_premium": {"amount": "8000.00", "currency": "EUR"},
    "premium_rates": {"domestic_rate": "0.003", "export_rate": "0.005"},
}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def on(clock: FixedClock, day: date) -> None:
    clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))


def assert_problem(response: Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.fixture
def policy(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> str:
    """Insured A's priced policy, issued by an administrator."""
    issued = app_client.post(
        f"{API}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-01-01", "terms": TERMS},
        headers=headers["admin"],
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["id"])


def declare(client: TestClient, policy: str, headers: dict[str, str], **body: Any) -> Response:
    return client.post(f"{API}/policies/{policy}/turnover-declarations", json=body, headers=headers)


def year_of(client: TestClient, policy: str, headers: dict[str, str]) -> dict[str, Any]:
    years = client.get(f"{API}/policies/{policy}/premium/years", headers=headers)
    assert years.status_code == 200, years.text
    first: dict[str, Any] = years.json()[0]
    return first


# ------------------------------------------------------------------------------------------- declarations


def test_the_insured_declares_a_quarter_then_corrects_it(
    app_client: TestClient, policy: str, headers: dict[str, dict[str, str]]
) -> None:
    insured = headers["insured_user"]
    first = declare(
        app_client, policy, insured, **Q1, domestic="1200000.00",
        export={"turnover": "310000.00", "cash_sales": "10000.00"},
    )  # fmt: skip
    assert first.status_code == 201, first.text
    body = first.json()
    # 1,200,000 × 0.003 + (310,000 − 10,000) × 0.005 = 3,600.00 + 1,500.00
    assert body["premium"] == eur("5100.00")
    assert [(line["territory"], line["premium"]["amount"]) for line in body["lines"]] == [
        ("domestic", "3600.00"),
        ("export", "1500.00"),
    ]
    declaration = body["declaration"]
    assert (declaration["version"], declaration["current"]) == (1, True)
    assert (declaration["period_start"], declaration["period_end"]) == ("2026-01-01", "2026-03-31")
    assert declaration["export"]["insurable"] == eur("300000.00")
    assert (body["due_date"], body["late"], body["documents"], body["reclosing"]) == ("2026-04-30", False, [], None)
    assert (body["year"]["earned"], body["year"]["premium"]) == (eur("5100.00"), eur("8000.00"))

    corrected = declare(
        app_client, policy, insured, **Q1, domestic="1000000.00", export="300000.00", reason="figures revised"
    )
    assert corrected.status_code == 201, corrected.text
    body = corrected.json()
    assert body["declaration"]["version"] == 2
    assert body["supersedes_id"] == declaration["id"]
    assert body["declaration"]["reason"] == "figures revised"
    # Recomputed from the latest version: 1,000,000 × 0.003 + 300,000 × 0.005.
    year = year_of(app_client, policy, insured)
    assert (year["earned"], year["premium"], year["declared_periods"], year["expected_periods"]) == (
        eur("4500.00"),
        eur("8000.00"),
        1,
        4,
    )
    listed = app_client.get(f"{API}/policies/{policy}/turnover-declarations", headers=insured).json()
    assert [(d["version"], d["current"]) for d in listed] == [(1, False), (2, True)]

    # A period overlapping the declared quarter without being it: refused, nothing written.
    overlapping = declare(
        app_client, policy, insured, period_start="2026-03-01", period_end="2026-04-30", domestic="1", export="0"
    )
    assert_problem(overlapping, 422, "turnover.overlapping_period", "period_start")
    # Negative turnover, as an amount or in the detailed form; and a number where a string is expected.
    negative = declare(app_client, policy, insured, **Q2, domestic="-5.00", export="0")
    assert_problem(negative, 422, "turnover.negative", "domestic.turnover")
    detailed = declare(app_client, policy, insured, **Q2, domestic={"turnover": "-5.00"}, export="0")
    assert_problem(detailed, 422, "turnover.negative", "domestic.turnover")
    unknown = declare(app_client, policy, insured, **Q2, domestic={"turnover": "5", "vat": "1"}, export="0")
    assert_problem(unknown, 422, "turnover.unknown_field", "domestic.vat")
    number = declare(app_client, policy, insured, **Q2, domestic=1000.5, export="0")
    assert_problem(number, 422, "request.invalid", "domestic")
    future = declare(
        app_client, policy, insured, period_start="2026-07-01", period_end="2026-09-30", domestic="1", export="0"
    )
    assert_problem(future, 422, "turnover.future_period", "period_start")
    listed = app_client.get(f"{API}/policies/{policy}/turnover-declarations", headers=insured).json()
    assert len(listed) == 2


# ---------------------------------------------------------------------------- the run, payments, year end


def test_the_run_issues_instalments_once_and_staff_close_the_year(
    app_client: TestClient,
    container: Container,
    clock: FixedClock,
    world: World,
    policy: str,
    headers: dict[str, dict[str, str]],
) -> None:
    admin, insured = headers["admin"], headers["insured_user"]
    assert declare(app_client, policy, insured, **Q1, domestic="1000000.00", export="300000.00").status_code == 201

    assert_problem(app_client.post(f"{API}/premium/run", headers=insured), 403, "auth.forbidden")
    ahead = app_client.post(f"{API}/premium/run", params={"as_of": "2026-04-01"}, headers=admin)
    assert_problem(ahead, 422, "batch.as_of_in_future", "as_of")  # never ahead of today: 2026-03-15
    on(clock, date(2026, 4, 1))
    admin, insured = login(app_client, world.emails["admin"]), login(app_client, world.emails["insured_user"])
    run = app_client.post(f"{API}/premium/run", params={"as_of": "2026-04-01"}, headers=admin)
    assert run.status_code == 200, run.text
    issued = run.json()["documents"]
    # The world's own policies have no minimum premium: only this policy's first two instalments are due.
    assert [(d["policy_id"], d["item"], d["issued_on"], d["amount"]["amount"]) for d in issued] == [
        (policy, "instalment", "2026-01-01", "2000.00"),
        (policy, "instalment", "2026-04-01", "2000.00"),
    ]
    again = app_client.post(f"{API}/premium/run", params={"as_of": "2026-04-01"}, headers=admin)
    assert again.json()["documents"] == []

    payment = app_client.post(
        f"{API}/policies/{policy}/premium/payments",
        json={"amount": eur("2500.00"), "received_on": "2026-03-10", "reference": '=HYPERLINK("http://x.invalid")'},
        headers=admin,
    )
    assert payment.status_code == 201, payment.text
    usd = app_client.post(
        f"{API}/policies/{policy}/premium/payments",
        json={"amount": {"amount": "10.00", "currency": "USD"}, "received_on": "2026-03-10", "reference": "USD"},
        headers=admin,
    )
    assert_problem(usd, 422, "premium.currency_mismatch", "amount.currency")
    refused = app_client.post(
        f"{API}/policies/{policy}/premium/payments",
        json={"amount": eur("1.00"), "received_on": "2026-03-10", "reference": "mine"},
        headers=insured,
    )
    assert_problem(refused, 403, "auth.forbidden")
    documents = app_client.get(f"{API}/policies/{policy}/premium/documents", headers=insured).json()
    assert [d["settled"]["amount"] for d in documents] == ["2000.00", "500.00"]  # oldest first
    one = app_client.get(f"{API}/policies/{policy}/premium/documents/{documents[1]['id']}", headers=insured)
    assert one.json()["number"] == documents[1]["number"]
    assert year_of(app_client, policy, insured)["paid"] == eur("2500.00")

    close = f"{API}/policies/{policy}/premium/years/2026-01-01/close"
    assert_problem(app_client.post(close, headers=admin), 422, "premium.year_not_ended")
    assert_problem(app_client.post(close, headers=insured), 403, "auth.forbidden")

    # The year end, without the last two instalments ever called: the adjustment invoices what is left.
    on(clock, date(2027, 1, 10))
    admin, insured = login(app_client, world.emails["admin"]), login(app_client, world.emails["insured_user"])
    late = declare(app_client, policy, insured, **Q2, domestic="1500000.00", export="0")
    assert late.status_code == 201, late.text
    assert late.json()["late"] is True  # due 2026-07-30
    closed = app_client.post(close, json={"reason": "year end"}, headers=admin)
    assert closed.status_code == 201, closed.text
    body = closed.json()
    figures = body["closing"]["figures"]
    # earned 4,500 + 4,500 = 9,000 > minimum 8,000; called 4,000: adjustment 5,000; bonus 20 % × 9,000.
    assert [figures[k]["amount"] for k in ("earned", "premium", "called", "adjustment", "bonus", "balance")] == [
        "9000.00",
        "9000.00",
        "4000.00",
        "5000.00",
        "1800.00",
        "3200.00",
    ]
    assert [(d["kind"], d["item"], d["amount"]["amount"]) for d in body["documents"]] == [
        ("invoice", "adjustment", "5000.00"),
        ("credit_note", "no_claims_bonus", "1800.00"),
    ]
    assert_problem(app_client.post(close, headers=admin), 409, "premium.year_already_closed")
    # A later run calls no instalment of the closed year (its adjustment settled the premium).
    later = app_client.post(f"{API}/premium/run", params={"as_of": "2027-01-10"}, headers=admin).json()
    assert [d for d in later["documents"] if d["year_start"] == "2026-01-01"] == []

    # A correction after the year end re-closes it: only the difference is invoiced or credited.
    corrected = declare(app_client, policy, insured, **Q2, domestic="1800000.00", export="0", reason="audited")
    assert corrected.status_code == 201, corrected.text
    body = corrected.json()
    assert body["reclosing"]["version"] == 2
    assert [(d["kind"], d["item"], d["amount"]["amount"]) for d in body["documents"]] == [
        ("invoice", "adjustment", "900.00"),  # premium 9,900 − called 4,000 − 5,000 already invoiced
        ("credit_note", "no_claims_bonus", "180.00"),  # 20 % × 9,900 − 1,800 already credited
    ]
    year = year_of(app_client, policy, insured)
    assert (year["closed"], [c["version"] for c in year["closings"]]) == (True, [1, 2])

    # ------------------------------------------------------------------ statement and documents as files
    statement = app_client.get(f"{API}/policies/{policy}/premium/statement.csv", headers=insured)
    assert statement.status_code == 200, statement.text
    assert statement.headers["content-type"] == "text/csv; charset=utf-8"
    assert statement.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(statement.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["date", "kind", "number", "label"]
    entries = rows[1 : rows.index([])]
    payments = [r for r in entries if r[1] == "payment"]
    assert [r[2] for r in payments] == ['\'=HYPERLINK("http://x.invalid")']  # neutralised, never a formula
    assert not any(cell.startswith(("=", "+", "-", "@")) and not cell[1:2].isdigit() for r in rows for cell in r)
    listed = app_client.get(f"{API}/policies/{policy}/premium/documents", headers=insured).json()
    owed = sum(Decimal(d["signed"]["amount"]) for d in listed) - Decimal("2500.00")
    assert entries[-1][1] == "total"
    assert entries[-1][7] == str(owed)
    assert entries[-2][7] == str(owed)  # the running balance of the last entry
    years_header = rows[rows.index([]) + 1]
    assert years_header[:3] == ["policy_year", "year_end", "status"]
    assert rows[rows.index([]) + 2][:3] == ["2026-01-01", "2026-12-31", "closed v2"]

    pdf = app_client.get(f"{API}/policies/{policy}/premium/statement.pdf", headers=insured)
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Premium statement" in text
    assert "closed v2" in text
    assert all(d["number"] in text for d in listed)
    invoice = app_client.get(
        f"{API}/policies/{policy}/premium/documents/{body['documents'][0]['id']}.pdf", headers=insured
    )
    assert (invoice.status_code, invoice.headers["content-type"]) == (200, "application/pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(invoice.content)).pages)
    assert body["documents"][0]["number"] in text
    assert "Régularisation" in text
    assert "Premium adjustment" in text
    assert "version 2" in text


# --------------------------------------------------------------------------------------------- tenancy


def test_another_insured_sees_nothing_of_the_premium_of_a(
    app_client: TestClient, world: World, policy: str, headers: dict[str, dict[str, str]]
) -> None:
    """Insured B gets, on A's policy, what it gets on a policy that does not exist."""
    admin, own, other = headers["admin"], headers["insured_user"], headers["insured_user_b"]
    issued = app_client.post(
        f"{API}/policies",
        json={"policyholder_id": world.insured_b, "start_date": "2026-01-01", "terms": TERMS},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    assert declare(app_client, policy, own, **Q1, domestic="1000.00", export="0").status_code == 201
    run = app_client.post(f"{API}/premium/run", params={"as_of": "2026-01-01"}, headers=admin).json()
    by_policy = {d["policy_id"]: d["id"] for d in run["documents"]}
    document, foreign_document = by_policy[policy], by_policy[issued.json()["id"]]
    base = f"{API}/policies/{policy}"
    reads = [
        "/turnover-declarations",
        "/premium/years",
        "/premium/documents",
        f"/premium/documents/{document}",
        f"/premium/documents/{document}.pdf",
        "/premium/statement.csv",
        "/premium/statement.pdf",
    ]
    for suffix in reads:
        assert app_client.get(base + suffix, headers=own).status_code == 200, suffix
        assert_problem(app_client.get(base + suffix, headers=other), 404, "policy.not_found")
    declared = declare(app_client, policy, other, **Q1, domestic="1.00", export="0")
    assert_problem(declared, 404, "policy.not_found")
    # Staff-only writes: refused for want of the permission, on A's policy as on a missing one.
    writes = [
        ("/premium/years/2026-01-01/close", None),
        ("/premium/payments", {"amount": eur("1.00"), "received_on": "2026-03-10", "reference": "B"}),
    ]
    for suffix, body in writes:
        foreign = app_client.post(base + suffix, json=body, headers=other)
        missing = app_client.post(f"{API}/policies/00000000-0000-0000-0000-000000000000{suffix}", json=body,
                                  headers=other)  # fmt: skip
        assert_problem(foreign, 403, "auth.forbidden")
        assert (missing.status_code, missing.json()["code"]) == (403, "auth.forbidden")
    # A's policy with a document of another policy: not found either.
    for suffix in ("", ".pdf"):
        crossed = app_client.get(f"{base}/premium/documents/{foreign_document}{suffix}", headers=own)
        assert_problem(crossed, 404, "premium_document.not_found")
    assert len(app_client.get(base + "/turnover-declarations", headers=own).json()) == 1


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_premium_run_as_of_issues_what_is_due_once(
    monkeypatch: pytest.MonkeyPatch, database_url: str, policy: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.setattr(premium_cli.console, "_width", 200)
    runner = CliRunner()

    result = runner.invoke(cli_app, ["premium", "run", "--as-of", "2026-04-01", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-04-01"
    assert [(d["item"], d["issued_on"], d["amount"]) for d in data["documents"]] == [
        ("instalment", "2026-01-01", "2000.00"),
        ("instalment", "2026-04-01", "2000.00"),
    ]
    again = runner.invoke(cli_app, ["premium", "run", "--as-of", "2026-04-01"])
    assert again.exit_code == 0, again.output
    assert "0 document(s) issued" in " ".join(again.output.split())

    years = runner.invoke(cli_app, ["premium", "years", policy, "--json"])
    assert years.exit_code == 0, years.output
    assert json.loads(years.stdout)[0]["called_amount"] == "4000.00"
    out = tmp_path / "statement.csv"
    written = runner.invoke(cli_app, ["premium", "statement", policy, "--format", "csv", "--output", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_bytes().startswith("\ufeffdate;kind;number".encode())

    bad = runner.invoke(cli_app, ["premium", "run", "--as-of", "01/04/2026"])
    assert bad.exit_code == 1
    assert "cli.bad_date" in bad.output


def test_the_premium_schedule_terms_are_set_at_issue_and_by_endorsement(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    terms = {"premium_instalments": 12, "declaration_frequency": "monthly", "declaration_days": 20}
    body = {"policyholder_id": world.insured_a, "start_date": "2026-01-01", "terms": terms}
    issued = app_client.post(f"{API}/policies", json=body, headers=headers["admin"])
    assert issued.status_code == 201, issued.text
    shown = issued.json()["terms"]["terms"]
    assert {k: shown[k] for k in terms} == terms
    bad = {**body, "terms": {"premium_instalments": 3}}
    assert_problem(app_client.post(f"{API}/policies", json=bad, headers=headers["admin"]), 422, "terms.out_of_range")
    endorsed = app_client.post(
        f"{API}/policies/{issued.json()['id']}/endorsements",
        json={"effective_date": "2026-03-01", "changes": {"declaration_frequency": "quarterly"}, "reason": "asked"},
        headers=headers["underwriter"],
    )
    assert endorsed.status_code == 201, endorsed.text
    assert endorsed.json()["terms"]["declaration_frequency"] == "quarterly"
