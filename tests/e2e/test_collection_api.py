"""Collection cases over HTTP, through the real application (``TestClient``) on each backend, and on the
command line (``tradecover collection ...``, in process through Typer's runner).

The world is api_world's with :func:`add_collection`: each insured has a case on a buyer of its own,
holding COL-x-1 (guaranteed) and COL-x-2 (not guaranteed), 1,200 EUR each incl. VAT, due 2026-02-05,
with a formal notice sent. The clock stands at 2026-03-15.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_world import World, add_collection, build_world, collection_of
from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import text
from typer.testing import CliRunner, Result

from tradecover.bootstrap import Container, build
from tradecover.cli import collection as cli_collection
from tradecover.cli import main as cli_main
from tradecover.domain.periods import FixedClock

API = "/api/v1"
CASES = API + "/collection-cases"
PROBLEM = "application/problem+json"
TODAY = "2026-03-15"

Headers = dict[str, dict[str, str]]


@pytest.fixture
def world(container: Container) -> World:
    return add_collection(container, build_world(container))


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


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def case_a(world: World) -> str:
    return f"{CASES}/{collection_of(world, 'a').case_id}"


# --- Reading ---------------------------------------------------------------------------------------------------


def test_staff_list_every_case_and_an_insured_its_own(app_client: TestClient, world: World, headers: Headers) -> None:
    a, b = collection_of(world, "a"), collection_of(world, "b")
    listed = app_client.get(CASES, headers=headers["collector"]).json()
    assert {c["id"] for c in listed["items"]} == {a.case_id, b.case_id}
    assert listed["total"] == 2
    own = app_client.get(CASES, headers=headers["insured_user"]).json()
    assert [c["id"] for c in own["items"]] == [a.case_id]
    item = own["items"][0]
    assert item["reference"] == a.reference
    assert (item["stage"], item["debt_count"], item["handed_over"]) == ("amicable", 2, eur("2400.00"))
    assert item["commission_rate"] == "0.10"
    by_policy = app_client.get(CASES, params={"policy_id": world.policy_b}, headers=headers["admin"]).json()
    assert [c["id"] for c in by_policy["items"]] == [b.case_id]
    assert app_client.get(CASES, params={"stage": "closed"}, headers=headers["admin"]).json()["total"] == 0
    assert_problem(app_client.get(CASES, params={"stage": "lost"}, headers=headers["admin"]), 422, "request.invalid")
    assert_problem(
        app_client.get(CASES, params={"policy_id": world.policy_b}, headers=headers["insured_user"]),
        404,
        "policy.not_found",
    )


def test_a_case_shows_its_debts_actions_and_balance(app_client: TestClient, world: World, headers: Headers) -> None:
    response = app_client.get(case_a(world), headers=headers["insured_user"])
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["reference"] == collection_of(world, "a").reference
    assert case["buyer_name"].startswith("Collected ")
    assert [(d["number"], d["guaranteed"], d["remaining"]) for d in case["debts"]] == [
        ("COL-A-1", True, eur("1200.00")),
        ("COL-A-2", False, eur("1200.00")),
    ]
    assert [a["kind"] for a in case["actions"]] == ["formal_notice"]
    assert case["actions"][0]["letter_id"] == collection_of(world, "a").letter_id
    assert case["balance"]["remaining"] == eur("2400.00")
    assert case["balance"]["remaining_guaranteed"] == eur("1200.00")
    assert case["administrator_claim"] is None
    assert_problem(
        app_client.get(f"{CASES}/{collection_of(world, 'b').case_id}", headers=headers["insured_user"]),
        404,
        "collection_case.not_found",
    )


# --- Actions -------------------------------------------------------------------------------------------------------


def test_an_action_is_recorded_dated_with_its_author(app_client: TestClient, world: World, headers: Headers) -> None:
    response = app_client.post(
        f"{case_a(world)}/actions",
        json={"kind": "phone_call", "on": TODAY, "note": "will pay half on Friday"},
        headers=headers["collector"],
    )
    assert response.status_code == 201, response.text
    action = response.json()
    assert (action["kind"], action["on"], action["note"]) == ("phone_call", TODAY, "will pay half on Friday")
    assert "collector@example.fr" in action["author"]


def test_bad_actions_are_refused_with_a_stable_code_and_nothing_written(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    url, h = f"{case_a(world)}/actions", headers["collector"]
    before = count(container, "collection_actions")
    assert_problem(
        app_client.post(url, json={"kind": "carrier_pigeon", "on": TODAY}, headers=h),
        422,
        "collection.unknown_action_kind",
        "action_kind",
    )
    assert_problem(
        app_client.post(url, json={"kind": "reminder", "on": "2026-03-16"}, headers=h),
        422,
        "collection.date_in_future",
        "on",
    )
    assert_problem(
        app_client.post(url, json={"kind": "reminder", "on": "2026-03-01"}, headers=h),
        422,
        "collection.date_before_opening",
    )
    assert_problem(app_client.post(url, json={"kind": "reminder"}, headers=h), 422, "request.invalid", "on")
    assert_problem(
        app_client.post(url, json={"kind": "note", "on": TODAY}, headers=headers["insured_user"]), 403, "auth.forbidden"
    )
    assert_problem(
        app_client.post(url, json={"kind": "note", "on": TODAY}, headers=headers["underwriter"]), 403, "auth.forbidden"
    )
    assert count(container, "collection_actions") == before


def test_a_judicial_step_moves_the_case_to_judicial(app_client: TestClient, world: World, headers: Headers) -> None:
    url, h = f"{case_a(world)}/actions", headers["claims_handler"]
    assert app_client.post(url, json={"kind": "order_for_payment", "on": TODAY}, headers=h).status_code == 201
    assert app_client.get(case_a(world), headers=h).json()["stage"] == "judicial"
    body = assert_problem(
        app_client.post(url, json={"kind": "reminder", "on": TODAY}, headers=h), 409, "collection.action_not_allowed"
    )
    assert body["context"]["stage"] == "judicial"
    assert_problem(
        app_client.post(f"{case_a(world)}/formal-notices", json={"language": "fr"}, headers=h),
        409,
        "collection.action_not_allowed",
    )


def test_costs_are_recorded(app_client: TestClient, world: World, headers: Headers) -> None:
    url, h = f"{case_a(world)}/costs", headers["collector"]
    body = {"kind": "lawyer", "amount": eur("350.00"), "incurred_on": TODAY, "description": "Maître Dupont"}
    created = app_client.post(url, json=body, headers=h)
    assert created.status_code == 201, created.text
    assert (created.json()["kind"], created.json()["amount"]) == ("lawyer", eur("350.00"))
    assert_problem(
        app_client.post(url, json=body | {"kind": "bribe"}, headers=h), 422, "collection.unknown_cost_kind", "cost_kind"
    )
    assert_problem(
        app_client.post(url, json=body | {"amount": {"amount": "10", "currency": "USD"}}, headers=h),
        422,
        "collection.currency_mismatch",
    )
    assert app_client.get(case_a(world), headers=h).json()["balance"]["costs"] == eur("350.00")


# --- Cash received ---------------------------------------------------------------------------------------------


def test_cash_received_settles_the_oldest_debt_first_with_a_commission_on_non_guaranteed_debts(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    response = app_client.post(
        f"{case_a(world)}/payments",
        json={"amount": eur("1500.00"), "received_on": TODAY, "reference": "VIR-77"},
        headers=headers["collector"],
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert [(x["number"], x["amount"], x["guaranteed"]) for x in receipt["allocations"]] == [
        ("COL-A-1", eur("1200.00"), True),
        ("COL-A-2", eur("300.00"), False),
    ]
    assert (receipt["guaranteed"], receipt["non_guaranteed"]) == (eur("1200.00"), eur("300.00"))
    assert receipt["commission"] == eur("30.00")
    payments = app_client.get(
        f"{API}/policies/{world.policy_a}/payments", params={"buyer_id": _buyer(container, receipt)},
        headers=headers["insured_user"],
    ).json()  # fmt: skip
    assert [(p["id"], p["amount"], p["reference"]) for p in payments["items"]] == [
        (receipt["ledger_payment_id"], eur("1500.00"), "VIR-77")
    ]
    balance = app_client.get(case_a(world), headers=headers["insured_user"]).json()["balance"]
    assert (balance["received"], balance["remaining"], balance["commission"]) == (
        eur("1500.00"),
        eur("900.00"),
        eur("30.00"),
    )


def _buyer(container: Container, receipt: dict[str, Any]) -> str:
    with container.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT buyer_id FROM ledger_payments WHERE id = :id"), {"id": receipt["ledger_payment_id"]}
            ).scalar_one()
        )


def test_a_payment_larger_than_the_debt_is_refused_with_nothing_written(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    tables = ("ledger_payments", "collection_receipts", "collection_allocations", "audit_events")
    before = {name: count(container, name) for name in tables}
    body = assert_problem(
        app_client.post(
            f"{case_a(world)}/payments",
            json={"amount": eur("2400.01"), "received_on": TODAY},
            headers=headers["collector"],
        ),
        422,
        "collection.receipt_exceeds_debt",
        "amount",
    )
    assert body["context"]["remaining"] == "2400.00 EUR"
    assert_problem(
        app_client.post(
            f"{case_a(world)}/payments",
            json={"amount": {"amount": "10.00", "currency": "USD"}, "received_on": TODAY},
            headers=headers["collector"],
        ),
        422,
        "collection.currency_mismatch",
    )
    assert {name: count(container, name) for name in tables} == before


def test_a_payment_re_sent_with_its_idempotency_key_is_received_once(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    h = headers["collector"] | {"Idempotency-Key": "col-pay-1"}
    body = {"amount": eur("100.00"), "received_on": TODAY}
    first = app_client.post(f"{case_a(world)}/payments", json=body, headers=h)
    second = app_client.post(f"{case_a(world)}/payments", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json() == second.json()
    assert count(container, "collection_receipts") == 1


# --- Closure -------------------------------------------------------------------------------------------------


def test_a_case_with_debt_remaining_cannot_close_as_paid(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    url, h = f"{case_a(world)}/closure", headers["collector"]
    assert_problem(
        app_client.post(url, json={"outcome": "paid", "on": TODAY}, headers=h), 422, "collection.outcome_not_allowed"
    )
    assert_problem(
        app_client.post(url, json={"outcome": "irrecoverable", "on": TODAY}, headers=h),
        422,
        "collection.reason_required",
    )
    assert_problem(
        app_client.post(url, json={"outcome": "written_off", "on": TODAY}, headers=h), 422, "collection.unknown_outcome"
    )
    assert app_client.get(case_a(world), headers=h).json()["stage"] == "amicable"
    paid = app_client.post(
        f"{case_a(world)}/payments", json={"amount": eur("2400.00"), "received_on": TODAY}, headers=h
    )
    assert paid.status_code == 201, paid.text
    closed = app_client.post(url, json={"outcome": "paid", "on": TODAY}, headers=h)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["stage"], closed.json()["outcome"], closed.json()["closed_on"]) == ("closed", "paid", TODAY)
    assert_problem(
        app_client.post(url, json={"outcome": "paid", "on": TODAY}, headers=h), 409, "collection.case_closed"
    )
    assert_problem(
        app_client.post(f"{case_a(world)}/actions", json={"kind": "note", "on": TODAY}, headers=h),
        409,
        "collection.case_closed",
    )
    assert_problem(
        app_client.post(f"{case_a(world)}/payments", json={"amount": eur("1.00"), "received_on": TODAY}, headers=h),
        409,
        "collection.case_closed",
    )


# --- Penalties and the formal notice ---------------------------------------------------------------------------


def test_penalties_are_computed_on_each_unpaid_debt(app_client: TestClient, world: World, headers: Headers) -> None:
    response = app_client.get(f"{case_a(world)}/penalties", params={"on": TODAY}, headers=headers["insured_user"])
    assert response.status_code == 200, response.text
    penalties = response.json()
    assert [p["number"] for p in penalties["invoices"]] == ["COL-A-1", "COL-A-2"]
    first = penalties["invoices"][0]
    assert first["days_late"] == 38  # 6 February to 15 March
    assert first["fixed_indemnity"] == eur("40.00")
    assert first["segments"][0]["first_day"] == "2026-02-06"
    assert penalties["total_unpaid"] == eur("2400.00")
    assert penalties["total_fixed_indemnity"] == eur("80.00")
    rate = app_client.post(
        f"{API}/late-payment-rates", json={"effective_date": "2026-01-01", "rate": "0.03"}, headers=headers["admin"]
    )
    assert rate.status_code == 201, rate.text
    again = app_client.get(f"{case_a(world)}/penalties", params={"on": TODAY}, headers=headers["insured_user"]).json()
    assert again["invoices"][0]["segments"][0]["annual_rate"] == "0.13"
    assert again["invoices"][0]["interest"] == eur("16.24")  # 1,200 × 13 % × 38 / 365 = 16.2410…


def test_the_formal_notice_preview_is_a_pdf_and_records_nothing(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    before = count(container, "collection_actions")
    for language, words in (("fr", "Mise en demeure"), ("en", "Formal notice")):
        response = app_client.get(
            f"{case_a(world)}/formal-notice.pdf", params={"language": language}, headers=headers["insured_user"]
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        content = pdf_text(response.content)
        assert collection_of(world, "a").reference in content
        assert "COL-A-1" in content
        assert words in content
    assert count(container, "collection_actions") == before
    assert_problem(
        app_client.get(f"{case_a(world)}/formal-notice.pdf", params={"language": "de"}, headers=headers["collector"]),
        422,
        "documents.unknown_language",
    )


def test_sending_the_formal_notice_records_the_action_and_keeps_the_letter(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    response = app_client.post(
        f"{case_a(world)}/formal-notices",
        json={"language": "en", "note": "second notice"},
        headers=headers["collector"],
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "COL-A-2" in pdf_text(response.content)
    kept = app_client.get(response.headers["location"], headers=headers["insured_user"])
    assert kept.status_code == 200, kept.text
    assert kept.content == response.content
    actions = app_client.get(case_a(world), headers=headers["insured_user"]).json()["actions"]
    assert [a["kind"] for a in actions] == ["formal_notice", "formal_notice"]
    [action] = [a for a in actions if a["id"] == response.headers["x-action-id"]]
    assert (action["letter_id"], action["note"]) == (response.headers["x-letter-id"], "second notice")
    assert_problem(
        app_client.get(
            f"{CASES}/{collection_of(world, 'b').case_id}/letters/{collection_of(world, 'a').letter_id}",
            headers=headers["collector"],
        ),
        404,
        "collection_letter.not_found",
    )


# --- Base rates ------------------------------------------------------------------------------------------------


def test_late_payment_base_rates_are_configured_by_date(app_client: TestClient, world: World, headers: Headers) -> None:
    listed = app_client.get(f"{API}/late-payment-rates", headers=headers["factor_user"]).json()
    assert listed
    assert {line["source"] for line in listed} == {"ecb"}
    assert listed == sorted(listed, key=lambda line: line["effective_date"], reverse=True)
    url, body = f"{API}/late-payment-rates", {"effective_date": "2027-01-01", "rate": "0.0175"}
    created = app_client.post(url, json=body, headers=headers["collector"])
    assert created.status_code == 201, created.text
    assert (created.json()["rate"], created.json()["source"]) == ("0.0175", "configured")
    assert app_client.get(url, headers=headers["insured_user"]).json()[0] == created.json()
    assert_problem(app_client.post(url, json=body, headers=headers["admin"]), 409, "collection.base_rate_exists")
    assert_problem(
        app_client.post(url, json={"effective_date": "2027-07-01", "rate": "4.5"}, headers=headers["admin"]),
        422,
        "late_payment.invalid_rate",
    )
    assert_problem(
        app_client.post(url, json={"effective_date": "2027-07-01", "rate": "abc"}, headers=headers["admin"]),
        422,
        "request.invalid",
    )
    assert_problem(app_client.post(url, json=body, headers=headers["insured_user"]), 403, "auth.forbidden")


# --- The command line ------------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str, clock: FixedClock) -> Callable[..., Result]:
    """``tradecover ...`` in process, on the test database and clock."""
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    monkeypatch.setattr(cli_main, "build", lambda settings=None: build(settings, clock=clock))
    for console in (cli_main.console, cli_main.errors, cli_collection.console):
        monkeypatch.setattr(console, "_width", 200)

    def run(*args: str | Path, code: int = 0) -> Result:
        result = CliRunner().invoke(cli_main.app, [str(a) for a in args])
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    return run


def test_the_command_line_lists_and_shows_cases(cli: Callable[..., Result], world: World) -> None:
    a = collection_of(world, "a")
    listed = json.loads(cli("collection", "list", "--json").stdout)
    assert {c["reference"] for c in listed["items"]} == {a.reference, collection_of(world, "b").reference}
    own = json.loads(cli("collection", "list", "--as", "insured_user@example.fr", "--json").stdout)
    assert [c["reference"] for c in own["items"]] == [a.reference]
    shown = json.loads(cli("collection", "show", a.reference.lower(), "--json").stdout)
    assert (shown["id"], shown["balance"]["remaining"]) == (a.case_id, "2400.00")
    assert [d["number"] for d in shown["debts"]] == list(a.invoice_numbers)
    assert "COL-A-1" in cli("collection", "show", a.case_id).stdout
    refused = cli("collection", "show", "COL-1999-000001", code=1)
    assert "collection_case.not_found" in refused.output
    assert (
        "collection_case.not_found"
        in cli(
            "collection", "show", collection_of(world, "b").reference, "--as", "insured_user@example.fr", code=1
        ).output
    )


def test_the_command_line_configures_base_rates(cli: Callable[..., Result], world: World) -> None:
    added = json.loads(cli("collection", "add-rate", "2028-01-01", "0.02", "--json").stdout)
    assert added == {"effective_date": "2028-01-01", "rate": "0.02"}
    rates = json.loads(cli("collection", "rates", "--json").stdout)
    assert rates[0] == {"effective_date": "2028-01-01", "rate": "0.02", "source": "configured",
                        "recorded_by": "user:system"}  # fmt: skip
    assert "collection.base_rate_exists" in cli("collection", "add-rate", "2028-01-01", "0.03", code=1).output
    assert "cli.bad_date" in cli("collection", "add-rate", "2028-13-01", "0.03", code=1).output
    assert "late_payment.invalid_rate" in cli("collection", "add-rate", "2029-01-01", "2.5", code=1).output


def test_the_command_line_writes_the_formal_notice(
    cli: Callable[..., Result], container: Container, world: World, tmp_path: Path
) -> None:
    a = collection_of(world, "a")
    before = count(container, "collection_actions")
    preview = tmp_path / "preview.pdf"
    cli("collection", "formal-notice", a.reference, "--language", "en", "--out", preview)
    assert preview.read_bytes().startswith(b"%PDF")
    assert a.reference in pdf_text(preview.read_bytes())
    assert count(container, "collection_actions") == before
    sent = tmp_path / "sent.pdf"
    result = json.loads(cli("collection", "formal-notice", a.reference, "--out", sent, "--send", "--json").stdout)
    assert (result["letter"], result["sent"]) == (f"{a.reference}-MED-2", True)
    assert "COL-A-2" in pdf_text(sent.read_bytes())
    assert count(container, "collection_actions") == before + 1
    refused = cli("collection", "formal-notice", a.reference, "--language", "de", "--out", preview, code=1)
    assert "documents.unknown_language" in refused.output
