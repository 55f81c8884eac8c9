"""Insurers' offers through the API: a broker records them under its mandate, imports limits, and compares
them on the insured's ledger; bad input is refused whole with a stable code."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from api_world import World
from fastapi.testclient import TestClient
from sqlalchemy import text

from tradecover.bootstrap import Container

API = "/api/v1"
BUYER_A = "552100554"  # world.buyer_a, in A's book
UNKNOWN = "552081317"  # a valid SIREN in nobody's book

LEDGER = (
    "record_type,siren,customer_name,number,issue_date,due_date,amount_excl_vat,vat_amount,date,amount,invoice\n"
    f"invoice,{BUYER_A},Buyer A,A-1,2025-02-01,2025-04-01,10000.00,2000.00,,,\n"
    f"payment,{BUYER_A},Buyer A,,,,,,2025-04-01,12000.00,A-1\n"
    f"invoice,{BUYER_A},Buyer A,A-2,2026-03-01,2026-05-01,20000.00,4000.00,,,\n"
    f"invoice,{BUYER_A},Buyer A,A-3,2026-04-01,2026-06-01,5000.00,1000.00,,,\n"
)
HISTORY = (
    "insolvencies:\n"
    f"  - {{buyer: '{BUYER_A}', procedure: liquidation_judiciaire, judgment_date: 2026-06-10}}\n"
    "assumptions: {declaration_delay_days: 10}\n"
)


def _offer(insurer: str, rate: str, limit: str, **extra: Any) -> dict[str, Any]:
    return {
        "insurer": insurer,
        "terms": {"indemnity_rate": rate, "minimum_premium": {"amount": "1000", "currency": "EUR"}},
        "fees": {"annual_fee": "150"},
        "limits": [{"identifier": BUYER_A, "amount": limit}],
        **extra,
    }


def _count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_broker_records_offers_imports_limits_and_compares_them_on_the_ledger(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    broker = headers["broker_user"]
    url = f"{API}/insureds/{world.insured_a}/offers"
    first = app_client.post(url, json=_offer("Alpha", "0.90", "30000"), headers=broker)
    assert first.status_code == 201, first.text
    offer = first.json()
    assert offer["annual_fee"] == {"amount": "150.00", "currency": "EUR"}
    assert offer["limits"] == [
        {"buyer_id": world.buyer_a, "identifier": BUYER_A, "amount": {"amount": "30000.00", "currency": "EUR"}}
    ]
    second = app_client.post(url, json=_offer("Beta", "0.80", "10000"), headers=headers["underwriter"])
    assert second.status_code == 201, second.text
    # the audit says the broker acted under its mandate
    events = app_client.get(f"{API}/audit/events", headers=headers["admin"]).json()["items"]
    recorded = next(e for e in events if e["action"] == "offer.recorded" and e["object_id"] == offer["id"])
    assert "(broker mandate)" in recorded["actor"]
    # the insured reads them; the other insured's users do not see them
    listed = app_client.get(url, headers=headers["insured_user"]).json()["items"]
    assert [o["insurer"] for o in listed] == ["Alpha", "Beta"]
    assert app_client.get(f"{API}/offers/{offer['id']}", headers=headers["insured_user_b"]).status_code == 404

    # limits imported as CSV: a new version replaces the set
    limits_url = f"{API}/offers/{offer['id']}/limits"
    imported = app_client.post(
        limits_url, files={"file": ("limits.csv", f"identifier,amount\n{BUYER_A},40000\n", "text/csv")}, headers=broker
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["limits_version"] == 2
    assert imported.json()["limits"][0]["amount"]["amount"] == "40000.00"

    # bad input: refused whole, nothing written
    offers_before, limits_before = _count(container, "offers"), _count(container, "offer_limits")
    unknown = app_client.post(
        limits_url,
        files={"file": ("limits.csv", f"identifier,amount\n{BUYER_A},1\n{UNKNOWN},2\n", "text/csv")},
        headers=broker,
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "offer.unknown_buyer"
    assert "limits.csv, line 3" in unknown.json()["detail"]
    bad_line = app_client.post(
        limits_url, files={"file": ("limits.csv", f"identifier,amount\n{BUYER_A},-5\n", "text/csv")}, headers=broker
    )
    assert bad_line.json()["code"] == "offer_limits_csv.invalid_amount", bad_line.text
    out_of_range = app_client.post(url, json=_offer("Gamma", "0.99", "1"), headers=broker)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["code"] == "terms.out_of_range"
    unknown_buyer = app_client.post(
        url, json=_offer("Gamma", "0.90", "1") | {"limits": [{"identifier": UNKNOWN, "amount": "1"}]}, headers=broker
    )
    assert unknown_buyer.json()["code"] == "offer.unknown_buyer", unknown_buyer.text
    assert (_count(container, "offers"), _count(container, "offer_limits")) == (offers_before, limits_before)
    # the insured's own user may read but not record offers
    assert app_client.post(url, json=_offer("Delta", "0.9", "1"), headers=headers["insured_user"]).status_code == 403

    # the recorded offers compared on the insured's ledger, with the past insolvency
    compared = app_client.post(
        f"{url}/comparison",
        files={"ledger": ("ledger.csv", LEDGER, "text/csv"), "offers": ("history.yaml", HISTORY, "text/yaml")},
        data={"chart": "true"},
        headers=broker,
    )
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert base64.b64decode(body["chart_png_base64"]).startswith(b"\x89PNG")
    document = body["comparison"]
    assert document["period"]["years"] == [2025, 2026]
    alpha, beta = document["offers"]
    # 24,000 + 6,000 incl. VAT unpaid = 25,000 excl. VAT lost; Alpha covers all of it at 90 %, Beta up to its
    # 10,000 limit at 80 %
    assert [c["indemnity_amount"] for c in alpha["claims"]] == ["22500.00"]
    assert [c["indemnity_amount"] for c in beta["claims"]] == ["8000.00"]
    for result in (alpha, beta):
        assert Decimal(result["net_cost_amount"]) == (
            Decimal(result["premium_amount"]) + Decimal(result["fees_amount"]) - Decimal(result["indemnity_amount"])
        )
    assert sorted(body["scenarios"]) == ["offer-1-alpha.yaml", "offer-2-beta.yaml"]
    # a ledger naming the insured itself (A's SIREN) as a customer is not A's
    foreign = LEDGER.replace(BUYER_A, "732829320")
    refused = app_client.post(
        f"{url}/comparison", files={"ledger": ("ledger.csv", foreign, "text/csv")}, headers=broker
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "compare.ledger_not_of_insured"

    # without a ledger file, the ledger held by tradecover: none yet, then the same ledger imported
    stored_url = f"{url}/comparison"
    history = {"offers": ("history.yaml", HISTORY, "text/yaml")}
    none_yet = app_client.post(stored_url, files=history, headers=broker)
    assert none_yet.status_code == 422, none_yet.text
    assert none_yet.json()["code"] == "compare.no_history"
    imported_ledger = app_client.post(
        f"{API}/policies/{world.policy_a}/ledger/imports",
        files={"file": ("ledger.csv", LEDGER, "text/csv")},
        headers=broker,
    )
    assert imported_ledger.status_code == 200, imported_ledger.text
    assert app_client.post(stored_url, files=history, headers=headers["insured_user_b"]).status_code == 404
    on_stored = app_client.post(stored_url, files=history, headers=broker)
    assert on_stored.status_code == 200, on_stored.text
    assert on_stored.json()["comparison"]["ledger"] == "tradecover ledger of Insured A SAS"
    assert on_stored.json()["comparison"]["offers"] == document["offers"]
