"""Overdue notifications, claims, settlements and recoveries over HTTP (DOMAIN.md §7–8).

Through the real application (``TestClient``) on each backend. The world is api_world's, built on
2026-01-02 so that each buyer's 50,000 EUR limit is in force before any invoice falls due; the clock
then moves through the year (each move logs the users in again: their tokens live 15 minutes).

This container asks a second claims handler to approve any indemnity above 20,000 EUR and refuses
documents above 2,048 bytes.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from api_world import PASSWORD, World, build_world, container_with, login
from fastapi.testclient import TestClient
from httpx import Response
from PIL import ImageChops
from pypdf import PdfReader
from sqlalchemy import text

from tradecover.bootstrap import Container
from tradecover.domain.monitoring import LegalEvent, LegalEventKind
from tradecover.domain.parties import Role
from tradecover.domain.periods import FixedClock
from tradecover.services import accounts
from tradecover.services.authorization import system_actor

API = "/api/v1"
PROBLEM = "application/problem+json"
APPROVAL_AMOUNT = Decimal("20000")
MAX_DOCUMENT_BYTES = 2048
BUILT_ON = date(2026, 1, 2)
TODAY = date(2026, 3, 15)
PDF = b"%PDF-1.4\n% a scanned invoice\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
A4_POINTS = (595, 842)

Headers = dict[str, str]


# ---------------------------------------------------------------------- fixtures


@pytest.fixture
def container(database_url: str, clock: FixedClock) -> Iterator[Container]:
    with container_with(
        database_url, clock, indemnity_approval_amount=APPROVAL_AMOUNT, max_document_bytes=MAX_DOCUMENT_BYTES
    ) as built:
        yield built


@pytest.fixture
def world(container: Container, clock: FixedClock) -> World:
    """api_world's world, built on 2026-01-02 (the limits date from then), plus a second claims handler."""
    on(clock, BUILT_ON)
    built = build_world(container)
    with container.uow() as uow:
        second = accounts.create_user(
            uow, clock, system_actor(built.insurer_id), organisation_id=built.insurer_id,
            email="second_handler@example.fr", full_name="Second Handler", role=Role.CLAIMS_HANDLER,
            password=PASSWORD,
        )  # fmt: skip
    built.emails["second_handler"] = "second_handler@example.fr"
    built.user_ids["second_handler"] = second.id
    on(clock, TODAY)
    return built


class Api:
    """The client, its users (logged in again whenever the clock moves) and a few calls."""

    def __init__(self, client: TestClient, container: Container, world: World) -> None:
        self.client = client
        self.container = container
        self.world = world
        self.clock: FixedClock = container.clock  # type: ignore[assignment]
        self.who: dict[str, Headers] = {}
        self.login()

    def login(self) -> None:
        self.who = {name: login(self.client, email) for name, email in self.world.emails.items()}

    def at(self, day: date) -> None:
        on(self.clock, day)
        self.login()

    def get(self, url: str, who: str, **params: Any) -> Response:
        response: Response = self.client.get(API + url, params=params or None, headers=self.who[who])
        return response

    def post(self, url: str, who: str, body: Any = None, **kw: Any) -> Response:
        response: Response = self.client.post(API + url, json=body, headers=self.who[who], **kw)
        return response

    def ok(self, response: Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def invoice(
        self, who: str, policy_id: str, buyer_id: str, number: str, issued: date, due: date, net: str, vat: str
    ) -> dict[str, Any]:
        body = {
            "buyer_id": buyer_id,
            "number": number,
            "issue_date": issued.isoformat(),
            "due_date": due.isoformat(),
            "amount_excl_vat": eur(net),
            "vat_amount": eur(vat),
        }
        created: dict[str, Any] = self.ok(self.post(f"/policies/{policy_id}/invoices", who, body), 201)
        return created

    def notify(self, who: str, policy_id: str, buyer_id: str, invoices: list[str] | None = None) -> Response:
        body: dict[str, Any] = {"buyer_id": buyer_id}
        if invoices is not None:
            body["invoices"] = invoices
        return self.post(f"/policies/{policy_id}/overdue-notifications", who, body)

    def notifications(self, who: str, policy_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.ok(self.get("/overdue-notifications", who, policy_id=policy_id))["items"]
        return items

    def upload(self, who: str, claim_id: str, kind: str, name: str, content: bytes, content_type: str) -> Response:
        response: Response = self.client.post(
            f"{API}/claims/{claim_id}/documents",
            params={"kind": kind},
            files={"file": (name, content, content_type)},
            headers=self.who[who],
        )
        return response

    def claim(self, claim_id: str, who: str = "claims_handler") -> dict[str, Any]:
        found: dict[str, Any] = self.ok(self.get(f"/claims/{claim_id}", who))
        return found

    def count(self, table: str) -> int:
        with self.container.engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def api(app_client: TestClient, container: Container, world: World) -> Api:
    return Api(app_client, container, world)


# ---------------------------------------------------------------------- helpers


def on(clock: FixedClock, day: date) -> None:
    clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def assert_problem(response: Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    if field is not None:
        assert body.get("field") == field, body
    return body


def by_number(line: dict[str, Any]) -> str:
    return str(line["number"])


def lines_of(computation: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(line["code"], line["amount"]) for line in computation["lines"]]


def zero_sum_transactions(movements: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Each transaction's movements summed: every one must be zero."""
    totals: dict[str, Decimal] = {}
    for movement in movements:
        assert movement["amount"]["currency"] == "EUR"
        totals[movement["transaction_id"]] = totals.get(movement["transaction_id"], Decimal(0)) + Decimal(
            movement["amount"]["amount"]
        )
    return totals


def pdf_text(content: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages)


def squeeze(value: str) -> str:
    """Text without any kind of space: PDF text extraction and French number formatting vary in spaces."""
    return "".join(value.split()).replace("\u202f", "").replace("\u00a0", "")


def assert_a4_page_with_ink(content: bytes, png: Path) -> None:
    document = pdfium.PdfDocument(content)
    image = document[0].render(scale=1).to_pil().convert("RGB")
    image.save(png)
    width, height = image.size
    assert abs(width - A4_POINTS[0]) <= 1, image.size
    assert abs(height - A4_POINTS[1]) <= 1, image.size
    white = image.copy()
    white.paste((255, 255, 255), (0, 0, width, height))
    assert ImageChops.difference(image, white).getbbox() is not None, "the page is blank"
    assert png.stat().st_size > 0


# ---------------------------------------------------------------------- the whole story

NOTIFIED_ON = date(2026, 5, 10)
DATE_OF_LOSS = date(2026, 10, 7)  # 10 May + the 150-day waiting period


def test_from_overdue_invoices_to_a_shared_recovery(api: Api, world: World, tmp_path: Path) -> None:
    policy, buyer = world.policy_a, world.buyer_a
    # --- Insured A's invoices to its buyer (net / incl. VAT), each delivered on its issue date.
    api.invoice("insured_user", policy, buyer, "F-OLD", date(2026, 1, 5), date(2026, 2, 4), "10000.00", "2000.00")
    api.invoice("insured_user", policy, buyer, "F-1", date(2026, 2, 2), date(2026, 3, 4), "20000.00", "4000.00")
    api.invoice("insured_user", policy, buyer, "F-2", date(2026, 2, 10), date(2026, 3, 12), "5000.00", "1000.00")
    api.invoice("insured_user", policy, buyer, "F-DISP", date(2026, 2, 12), date(2026, 3, 14), "3000.00", "600.00")
    api.invoice("insured_user", policy, buyer, "F-NEXT", date(2026, 3, 10), date(2026, 5, 31), "2000.00", "400.00")
    dispute = {"buyer_id": buyer, "invoice": "F-DISP", "date": "2026-03-14", "reason": "goods returned"}
    api.ok(api.post(f"/policies/{policy}/disputes", "insured_user", dispute), 201)

    # --- 10 May: F-OLD's deadline (4 Feb + 90 days = 5 May) has passed; F-1's (2 June) has not.
    api.at(NOTIFIED_ON)
    # A buyer of A with nothing overdue: refused whole, nothing written.
    calm = api.ok(
        api.post(
            "/buyers",
            "insured_user",
            {"identifiers": [{"kind": "siren", "value": "356000000"}], "legal_name": "Calm SA", "country": "FR"},
        ),
        201,
    )["id"]
    api.invoice("insured_user", policy, calm, "C-1", date(2026, 4, 1), date(2026, 6, 30), "500.00", "100.00")
    before = (api.count("overdue_notifications"), api.count("overdue_notification_lines"))
    cases_before = api.count("collection_cases")
    assert_problem(api.notify("insured_user", policy, calm), 422, "overdue.no_overdue_invoice")
    body = assert_problem(api.notify("insured_user", policy, calm, ["C-1"]), 422, "overdue.no_overdue_invoice")
    assert "overdue.not_overdue" in str(body["context"]["invoices"])
    # An invoice the ledger does not know: the notification is refused whole.
    assert_problem(
        api.notify("insured_user", policy, buyer, ["F-1", "F-404"]), 422, "overdue.unknown_invoice", "invoices[1]"
    )
    assert_problem(api.notify("insured_user", policy, buyer, []), 422, "overdue.no_invoice", "invoices")
    assert api.notifications("insured_user", policy) == []
    assert (api.count("overdue_notifications"), api.count("overdue_notification_lines")) == before
    assert api.count("collection_cases") == cases_before

    named = ["F-OLD", "F-1", "F-2", "F-DISP", "F-NEXT"]
    created = api.ok(api.notify("insured_user", policy, buyer, named), 201)
    assert (created["notified_on"], created["status"]) == ("2026-05-10", "partially_accepted")
    verdicts = {line["number"]: (line["status"], line["code"], line["deadline"]) for line in created["invoices"]}
    assert verdicts == {
        "F-OLD": ("refused", "overdue.deadline_passed", "2026-05-05"),
        "F-1": ("accepted", None, "2026-06-02"),
        "F-2": ("accepted", None, "2026-06-10"),
        "F-DISP": ("refused", "overdue.disputed", "2026-06-12"),
        "F-NEXT": ("refused", "overdue.not_overdue", None),
    }
    f1 = next(line for line in created["invoices"] if line["number"] == "F-1")
    assert (f1["unpaid_incl_vat"], f1["unpaid_excl_vat"]) == (eur("24000.00"), eur("20000.00"))
    assert [n["id"] for n in api.notifications("insured_user", policy)] == [created["id"]]
    read_back = api.ok(api.get(f"/overdue-notifications/{created['id']}", "claims_handler"))
    assert sorted(read_back["invoices"], key=by_number) == sorted(created["invoices"], key=by_number)
    assert_problem(
        api.get(f"/overdue-notifications/{created['id']}", "insured_user_b"), 404, "overdue_notification.not_found"
    )
    assert api.notifications("insured_user_b", world.policy_b) == []

    # --- Stop-ship: a delivery after the notification is not covered.
    api.at(date(2026, 5, 12))
    api.invoice("insured_user", policy, buyer, "F-AFTER", date(2026, 5, 12), date(2026, 6, 11), "1000.00", "200.00")
    exposure = api.ok(api.get(f"/policies/{policy}/exposure", "insured_user", buyer_id=buyer, lines="true"))
    [buyer_exposure] = exposure["buyers"]
    reasons = {line["number"]: (line["eligible"], line["reason"]) for line in buyer_exposure["lines"]}
    assert reasons["F-AFTER"] == (False, "delivered_after_overdue_notification")
    assert reasons["F-1"] == (True, None)
    assert reasons["F-DISP"] == (False, "disputed")

    # --- The file went to the collectors: the accepted invoices are the guaranteed debts.
    cases = api.ok(api.get("/collection-cases", "collector", policy_id=policy))["items"]
    assert [c["id"] for c in cases] == [created["collection_case_id"]]
    case_url = f"/collection-cases/{created['collection_case_id']}"
    case = api.ok(api.get(case_url, "insured_user"))
    assert [(d["number"], d["guaranteed"]) for d in case["debts"]] == [
        ("F-OLD", False),
        ("F-1", True),
        ("F-2", True),
        ("F-DISP", False),
    ]

    # --- Too early for protracted default; another insured's buyer or policy is not found.
    claim_body = {"policy_id": policy, "buyer_id": buyer}
    body = assert_problem(api.post("/claims", "insured_user", claim_body), 422, "claim.waiting_period_running")
    assert body["context"]["date_of_loss"] == DATE_OF_LOSS.isoformat()
    missing_buyer = assert_problem(
        api.post("/claims", "insured_user", {"policy_id": policy, "buyer_id": str(uuid.uuid4())}),
        404,
        "buyer.not_found",
    )
    other_buyer = assert_problem(
        api.post("/claims", "insured_user", {"policy_id": policy, "buyer_id": world.buyer_b}), 404, "buyer.not_found"
    )
    assert missing_buyer.keys() == other_buyer.keys()
    assert_problem(
        api.post("/claims", "insured_user", {"policy_id": world.policy_b, "buyer_id": world.buyer_b}),
        404,
        "policy.not_found",
    )
    assert_problem(
        api.post("/claims", "insured_user", {"policy_id": str(uuid.uuid4()), "buyer_id": buyer}),
        404,
        "policy.not_found",
    )
    assert api.count("claims") == 0

    # --- During the waiting period: the buyer pays 1,200 on F-2; the collectors obtain 12,000, all on F-OLD
    # (the oldest debt, not guaranteed: 10 % commission), which is no part of the claim.
    api.at(date(2026, 6, 20))
    paid = {
        "buyer_id": buyer,
        "amount": eur("1200.00"),
        "received_on": "2026-06-01",
        "reference": "VIR-1",
        "invoices": ["F-2"],
    }
    api.ok(api.post(f"/policies/{policy}/payments", "insured_user", paid), 201)
    receipt = api.ok(
        api.post(f"{case_url}/payments", "collector", {"amount": eur("12000.00"), "received_on": "2026-06-15"}), 201
    )
    assert [(a["number"], a["amount"], a["guaranteed"]) for a in receipt["allocations"]] == [
        ("F-OLD", eur("12000.00"), False)
    ]
    assert receipt["commission"] == eur("1200.00")

    # --- 8 October: the waiting period has run. The claim opens, pending its documents.
    api.at(date(2026, 10, 8))
    claim = api.ok(api.post("/claims", "insured_user", claim_body), 201)
    assert claim["reference"] == "CLM-2026-000001"
    assert (claim["cause"], claim["date_of_loss"], claim["status"]) == (
        "protracted_default",
        DATE_OF_LOSS.isoformat(),
        "pending",
    )
    assert claim["notification_id"] == created["id"]
    again = assert_problem(api.post("/claims", "insured_user", claim_body), 409, "claim.already_open")
    assert again["context"]["claim_id"] == claim["id"]
    claim_id = claim["id"]
    assert api.claim(claim_id)["missing_documents"] == ["unpaid_invoices", "proof_of_delivery", "collection_attempts"]
    pending = api.ok(api.post(f"/claims/{claim_id}/settlement", "claims_handler"))
    assert (pending["status"], pending["code"]) == ("pending", "claim.documents_missing")
    assert pending["missing_documents"] == ["unpaid_invoices", "proof_of_delivery", "collection_attempts"]
    assert api.claim(claim_id)["settlements"] == []

    # --- Documents.
    documents_before = api.count("claim_documents")
    assert_problem(
        api.upload(
            "insured_user", claim_id, "unpaid_invoices", "invoices.pdf", b"#!/bin/sh\nrm -rf /\n", "application/pdf"
        ),
        422,
        "claim.document_type",
    )
    assert_problem(
        api.upload("insured_user", claim_id, "unpaid_invoices", "invoices.txt", b"plain text", "text/plain"),
        422,
        "claim.document_type",
    )
    large = PDF + b"0" * MAX_DOCUMENT_BYTES
    too_large = api.upload("insured_user", claim_id, "unpaid_invoices", "big.pdf", large, "application/pdf")
    assert too_large.status_code in (413, 422), too_large.text
    if too_large.status_code == 422:
        assert_problem(too_large, 422, "claim.document_too_large")
    assert_problem(
        api.upload("insured_user", claim_id, "receipts", "invoices.pdf", PDF, "application/pdf"),
        422,
        "claim.document_kind",
    )
    assert api.count("claim_documents") == documents_before
    filed = api.ok(
        api.upload("insured_user", claim_id, "unpaid_invoices", "../../etc/invoices.pdf", PDF, "application/pdf"), 201
    )
    assert (filed["filename"], filed["content_type"], filed["size"]) == ("invoices.pdf", "application/pdf", len(PDF))
    download = api.get(f"/claims/{claim_id}/documents/{filed['id']}", "claims_handler")
    assert download.status_code == 200, download.text
    assert download.content == PDF
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition == "attachment; filename=\"invoices.pdf\"; filename*=UTF-8''invoices.pdf"
    assert download.headers["content-type"].startswith("application/pdf")
    assert_problem(api.get(f"/claims/{claim_id}/documents/{filed['id']}", "insured_user_b"), 404, "claim.not_found")
    api.ok(api.upload("insured_user", claim_id, "proof_of_delivery", "C:\\scans\\cmr.png", PNG, "image/png"), 201)
    detail = api.claim(claim_id)
    assert (detail["status"], detail["missing_documents"]) == ("pending", ["collection_attempts"])
    assert sorted(d["filename"] for d in detail["documents"]) == ["cmr.png", "invoices.pdf"]
    api.ok(api.upload("insured_user", claim_id, "collection_attempts", "letters.pdf", PDF, "application/pdf"), 201)
    detail = api.claim(claim_id)
    assert (detail["status"], detail["missing_documents"]) == ("complete", [])

    # --- The indemnity, by hand (excl. VAT): F-1 20,000 + F-2 5,000 accepted; the buyer's 1,200 incl. VAT
    # on F-2 is 1,000 excl. VAT; loss 24,000, all covered (limit 50,000); × 90 % = 21,600; no deductible,
    # no premium known (no cap). F-OLD, refused, is no part of it whatever the collectors obtained on it.
    expected_lines = [
        ("invoices_unpaid", "25000.00"),
        ("payments_before_settlement", "-1000.00"),
        ("loss", "24000.00"),
        ("covered_loss", "24000.00"),
        ("indemnity_rate", "21600.00"),
        ("indemnity", "21600.00"),
    ]
    preview = api.ok(api.get(f"/claims/{claim_id}/indemnity-preview", "insured_user"))
    assert preview["status"] == "preview"
    assert lines_of(preview) == expected_lines
    assert (preview["loss"], preview["covered_loss"], preview["indemnity"]) == (
        eur("24000.00"),
        eur("24000.00"),
        eur("21600.00"),
    )
    assert_problem(api.post(f"/claims/{claim_id}/settlement", "insured_user"), 403, "auth.forbidden")
    assert_problem(api.post(f"/claims/{claim_id}/settlement", "collector"), 403, "auth.forbidden")

    # --- Four eyes: 21,600 is above the approval amount of 20,000.
    computed = api.ok(api.post(f"/claims/{claim_id}/settlement", "claims_handler"))
    assert computed["status"] == "awaiting_approval"
    assert lines_of(computed) == expected_lines
    detail = api.claim(claim_id)
    assert detail["status"] == "awaiting_approval"
    assert detail["movements"] == []
    assert_problem(api.post(f"/claims/{claim_id}/settlement", "second_handler"), 422, "claim.not_settleable")
    approval = {"approve": True, "reason": "checked the statement"}
    assert_problem(
        api.post(f"/claims/{claim_id}/settlement/approval", "claims_handler", approval), 403, "claim.same_approver"
    )
    assert_problem(api.post(f"/claims/{claim_id}/settlement/approval", "insured_user", approval), 403, "auth.forbidden")
    approved = api.ok(api.post(f"/claims/{claim_id}/settlement/approval", "second_handler", approval))
    assert (approved["status"], approved["indemnity"]) == ("settled", eur("21600.00"))
    assert approved["settlement_id"] == computed["settlement_id"]
    assert approved["payees"] == [{"name": "insured", "role": "insured", "amount": "21600.00"}]
    detail = api.claim(claim_id, "insured_user")
    assert detail["status"] == "settled"
    [settlement] = detail["settlements"]
    assert (settlement["status"], settlement["indemnity"], settlement["loss"]) == (
        "settled",
        eur("21600.00"),
        eur("24000.00"),
    )
    assert settlement["approved_by"] == f"user:{world.user_ids['second_handler']}"
    assert settlement["computed_by"] == f"user:{world.user_ids['claims_handler']}"
    assert [(m["kind"], m["account"], m["amount"]) for m in detail["movements"]] == [
        ("indemnity", "insurer", eur("-21600.00")),
        ("indemnity", f"insured:{world.insured_a}", eur("21600.00")),
    ]
    assert set(zero_sum_transactions(detail["movements"]).values()) == {Decimal(0)}
    assert_problem(api.post(f"/claims/{claim_id}/settlement", "claims_handler"), 422, "claim.not_settleable")
    assert_problem(
        api.upload("insured_user", claim_id, "other", "late.pdf", PDF, "application/pdf"), 422, "claim.closed"
    )
    listed = api.ok(api.get("/claims", "insured_user", status="settled"))
    assert [c["id"] for c in listed["items"]] == [claim_id]
    assert api.ok(api.get("/claims", "insured_user_b"))["items"] == []

    # --- After indemnity, the collectors obtain 6,000 incl. VAT on F-1 (F-OLD was paid in June): 5,000
    # excl. VAT of the loss is recovered. The insurer, subrogated, takes 5,000 × 21,600 ÷ 24,000 = 4,500;
    # the insured the rest of the cash (its 10 % of the loss, 500, and the VAT, 1,000).
    api.at(date(2026, 10, 20))
    recovered = api.ok(
        api.post(f"{case_url}/payments", "collector", {"amount": eur("6000.00"), "received_on": "2026-10-20"}), 201
    )
    assert [(a["number"], a["guaranteed"]) for a in recovered["allocations"]] == [("F-1", True)]
    assert recovered["commission"] == eur("0.00")
    detail = api.claim(claim_id, "insured_user")
    [recovery] = detail["recoveries"]
    assert (recovery["amount"], recovery["insurer_share"], recovery["insured_share"]) == (
        eur("6000.00"),
        eur("4500.00"),
        eur("1500.00"),
    )
    insurer_share = Decimal(recovery["insurer_share"]["amount"])
    assert insurer_share == Decimal("5000.00") * Decimal("21600.00") / Decimal("24000.00")
    assert insurer_share + Decimal(recovery["insured_share"]["amount"]) == Decimal("6000.00")
    shares = [(m["kind"], m["account"], m["amount"]) for m in detail["movements"] if m["kind"] == "recovery_share"]
    assert shares == [
        ("recovery_share", f"insured:{world.insured_a}", eur("-4500.00")),
        ("recovery_share", "insurer", eur("4500.00")),
    ]
    assert set(zero_sum_transactions(detail["movements"]).values()) == {Decimal(0)}
    statement = api.get(f"/claims/{claim_id}/recoveries/{recovery['id']}/statement.pdf", "insured_user", language="en")
    assert statement.status_code == 200, statement.text
    assert statement.content.startswith(b"%PDF")
    recovery_text = squeeze(pdf_text(statement.content))
    assert claim["reference"] in recovery_text
    assert "4,500.00" in recovery_text
    assert_a4_page_with_ink(statement.content, tmp_path / "recovery-en.png")
    assert_problem(
        api.get(f"/claims/{claim_id}/recoveries/{uuid.uuid4()}/statement.pdf", "insured_user"),
        404,
        "recovery.not_found",
    )

    # --- The settlement statement, in French and in English.
    for language, amount in (("fr", "21600,00"), ("en", "21,600.00")):
        response = api.get(f"/claims/{claim_id}/statement.pdf", "insured_user", language=language)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        found = squeeze(pdf_text(response.content))
        assert claim["reference"] in found
        assert amount in found, found
        assert_a4_page_with_ink(response.content, tmp_path / f"statement-{language}.png")
    assert_problem(api.get(f"/claims/{claim_id}/statement.pdf", "insured_user_b"), 404, "claim.not_found")
    assert api.get(f"/claims/{claim_id}/statement.pdf", "insured_user", language="de").status_code == 422


# ---------------------------------------------------------------------- insolvency, below the approval amount


def insolvency(container: Container, buyer_id: str, judged: date, published: date) -> None:
    """A receivership judgment against the buyer, as the BODACC feed records it."""
    with container.uow() as uow:
        uow.monitoring.add_legal_event(
            LegalEvent(
                str(uuid.uuid4()), buyer_id, LegalEventKind.RECEIVERSHIP, "Jugement d'ouverture de redressement",
                judged, published, "bodacc", f"test-{uuid.uuid4().hex[:8]}", None, container.clock.now(),
            )
        )  # fmt: skip
        uow.commit()


def test_an_insolvency_claim_below_the_approval_amount_is_settled_at_once(
    api: Api, world: World, container: Container, tmp_path: Path
) -> None:
    policy, buyer = world.policy_b, world.buyer_b
    api.invoice("insured_user_b", policy, buyer, "B-1", date(2026, 1, 20), date(2026, 2, 19), "8000.00", "1600.00")
    # Judged on 2 March, published on 10 March: every invoice must now be notified by 9 April.
    insolvency(container, buyer, date(2026, 3, 2), date(2026, 3, 10))
    notified = api.ok(api.notify("insured_user_b", policy, buyer), 201)
    [line] = notified["invoices"]
    assert (line["number"], line["status"], line["deadline"]) == ("B-1", "accepted", "2026-04-09")
    claim = api.ok(api.post("/claims", "insured_user_b", {"policy_id": policy, "buyer_id": buyer}), 201)
    assert (claim["cause"], claim["date_of_loss"], claim["status"]) == ("insolvency", "2026-03-02", "pending")
    assert_problem(
        api.post("/claims", "insured_user", {"policy_id": policy, "buyer_id": buyer}), 404, "policy.not_found"
    )
    assert_problem(api.get(f"/claims/{claim['id']}", "insured_user"), 404, "claim.not_found")
    assert_problem(api.get(f"/claims/{uuid.uuid4()}", "insured_user"), 404, "claim.not_found")
    claim_id = claim["id"]
    for kind in ("unpaid_invoices", "proof_of_delivery", "collection_attempts"):
        api.ok(api.upload("insured_user_b", claim_id, kind, f"{kind}.pdf", PDF, "application/pdf"), 201)
    detail = api.claim(claim_id)
    assert (detail["status"], detail["missing_documents"]) == ("pending", ["administrator_claim_filing"])
    pending = api.ok(api.post(f"/claims/{claim_id}/settlement", "claims_handler"))
    assert (pending["status"], pending["missing_documents"]) == ("pending", ["administrator_claim_filing"])
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 16
    filed = api.ok(
        api.upload("insured_user_b", claim_id, "administrator_claim_filing", "declaration.jpg", jpeg, "image/jpeg"),
        201,
    )
    assert filed["content_type"] == "image/jpeg"
    assert api.claim(claim_id)["status"] == "complete"

    # 8,000 excl. VAT unpaid, within the 50,000 limit; × 90 % = 7,200, below the approval amount.
    settled = api.ok(api.post(f"/claims/{claim_id}/settlement", "claims_handler"))
    assert settled["status"] == "settled"
    assert lines_of(settled) == [
        ("invoices_unpaid", "8000.00"),
        ("loss", "8000.00"),
        ("covered_loss", "8000.00"),
        ("indemnity_rate", "7200.00"),
        ("indemnity", "7200.00"),
    ]
    detail = api.claim(claim_id, "insured_user_b")
    assert detail["status"] == "settled"
    assert detail["settlements"][0]["approved_by"] is None
    assert sorted((m["account"], m["amount"]["amount"]) for m in detail["movements"]) == [
        ("insured:" + world.insured_b, "7200.00"),
        ("insurer", "-7200.00"),
    ]
    assert set(zero_sum_transactions(detail["movements"]).values()) == {Decimal(0)}
    assert_problem(
        api.post(f"/claims/{claim_id}/settlement/approval", "second_handler", {"approve": True, "reason": "ok"}),
        422,
        "claim.nothing_to_approve",
    )
    for language, amount in (("fr", "7200,00"), ("en", "7,200.00")):
        response = api.get(f"/claims/{claim_id}/statement.pdf", "insured_user_b", language=language)
        assert response.status_code == 200, response.text
        assert response.content.startswith(b"%PDF")
        found = squeeze(pdf_text(response.content))
        assert claim["reference"] in found
        assert amount in found, found
        assert_a4_page_with_ink(response.content, tmp_path / f"insolvency-{language}.png")


# ---------------------------------------------------------------------- extensions of payment terms


def test_a_payment_term_extension_beyond_the_allowance_loses_the_cover(api: Api, world: World) -> None:
    policy, buyer = world.policy_a, world.buyer_a
    api.invoice("insured_user", policy, buyer, "E-1", date(2026, 1, 10), date(2026, 2, 9), "1000.00", "200.00")
    api.invoice("insured_user", policy, buyer, "E-2", date(2026, 1, 12), date(2026, 2, 11), "1500.00", "300.00")
    api.invoice("insured_user", policy, buyer, "E-3", date(2026, 1, 14), date(2026, 2, 13), "2000.00", "400.00")
    url = f"/policies/{policy}/payment-term-extensions"

    def extend(number: str, new_due: str) -> Response:
        return api.post(url, "insured_user", {"buyer_id": buyer, "invoice_number": number, "new_due_date": new_due})

    # 60 days' allowance from the original due date: 9 Feb + 60 = 10 April.
    within = api.ok(extend("E-1", "2026-04-10"), 201)
    assert (within["original_due_date"], within["new_due_date"], within["within_allowance"]) == (
        "2026-02-09",
        "2026-04-10",
        True,
    )
    beyond = api.ok(extend("E-2", "2026-04-13"), 201)
    assert beyond["within_allowance"] is False
    assert_problem(extend("E-3", "2026-02-01"), 422, "overdue.extension_not_later", "new_due_date")
    assert_problem(extend("E-404", "2026-04-01"), 422, "overdue.unknown_invoice", "invoice_number")
    assert_problem(
        api.post(
            url, "insured_user", {"buyer_id": world.buyer_b, "invoice_number": "E-1", "new_due_date": "2026-04-01"}
        ),
        404,
        "buyer.not_found",
    )
    listed = api.ok(api.get(url, "claims_handler", buyer_id=buyer))
    assert [(e["invoice_number"], e["within_allowance"]) for e in listed] == [("E-1", True), ("E-2", False)]

    # Today, 15 March, the extended invoices are no longer overdue.
    body = assert_problem(api.notify("insured_user", policy, buyer, ["E-1", "E-2"]), 422, "overdue.no_overdue_invoice")
    assert "overdue.not_overdue" in str(body["context"])
    # 20 April: both extended due dates have passed; E-2 was extended too far and lost its cover.
    api.at(date(2026, 4, 20))
    created = api.ok(api.notify("insured_user", policy, buyer), 201)
    verdicts = {line["number"]: (line["status"], line["code"], line["due_date"]) for line in created["invoices"]}
    assert verdicts == {
        "E-1": ("accepted", None, "2026-04-10"),
        "E-2": ("refused", "overdue.extended_beyond_allowance", "2026-04-13"),
        "E-3": ("accepted", None, "2026-02-13"),
    }
    assert_problem(extend("E-3", "2026-04-01"), 422, "overdue.extension_after_notification", "invoice_number")
    assert len(api.ok(api.get(url, "insured_user"))) == 2


def test_a_document_named_outside_latin_1_is_downloaded(api: Api, world: World, container: Container) -> None:
    policy, buyer = world.policy_b, world.buyer_b
    api.invoice("insured_user_b", policy, buyer, "B-1", date(2026, 1, 20), date(2026, 2, 19), "8000.00", "1600.00")
    insolvency(container, buyer, date(2026, 3, 2), date(2026, 3, 10))
    api.ok(api.notify("insured_user_b", policy, buyer), 201)
    claim = api.ok(api.post("/claims", "insured_user_b", {"policy_id": policy, "buyer_id": buyer}), 201)
    name = "relevé – œuvre 12 €.pdf"
    filed = api.ok(api.upload("insured_user_b", claim["id"], "other", name, PDF, "application/pdf"), 201)
    assert filed["filename"] == name
    download = api.get(f"/claims/{claim['id']}/documents/{filed['id']}", "insured_user_b")
    assert download.status_code == 200, download.text
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment")
