"""The portfolio endpoints through the app factory: accumulation (JSON, CSV) and the live book (JSON, CSV).

The API world with its receivables, on 15 March 2026: A's buyer and B's buyer each hold a 50,000 limit
and a covered exposure of 500.00 (1,000 invoiced, 600 incl. VAT paid, the disputed invoice not covered);
both are French, without a NAF code, graded 4 (PD 0.003).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from api_world import World, add_receivables, build_world
from fastapi.testclient import TestClient

from tradecover.bootstrap import Container

API = "/api/v1"
STAFF = ("admin", "underwriter", "claims_handler", "collector", "risk_manager")


@pytest.fixture
def world(container: Container) -> World:
    return add_receivables(container, build_world(container))


def get(client: TestClient, headers: dict[str, dict[str, str]], path: str, role: str = "risk_manager") -> Any:
    response = client.get(API + path, headers=headers[role])
    assert response.status_code == 200, response.text
    return response


def test_accumulation_per_buyer(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    data = get(app_client, headers, "/portfolio/accumulation?dimension=buyer&top=1&as_of=2026-03-15").json()
    assert (data["as_of"], data["dimension"], data["top"], data["lines"]) == ("2026-03-15", "buyer", 1, 2)
    [book] = data["books"]
    assert book["currency"] == "EUR"
    assert book["total_limit"] == {"amount": "100000.00", "currency": "EUR"}
    assert book["total_covered_exposure"] == {"amount": "1000.00", "currency": "EUR"}
    assert book["keys"] == 2
    assert book["hhi"] == {
        "covered_exposure": "0.500000",
        "limit": "0.500000",
        "covered_exposure_points": "5000.00",
        "limit_points": "5000.00",
    }
    [first] = book["top"]
    assert first["rank"] == 1
    assert first["key"] in (world.buyer_a, world.buyer_b)
    assert first["limit"] == {"amount": "50000.00", "currency": "EUR"}
    assert first["covered_exposure"] == {"amount": "500.00", "currency": "EUR"}
    assert (first["limit_share"], first["covered_exposure_share"], first["breached"]) == ("0.500000", "0.500000", True)
    # The default caps: a buyer at most 5 % of the covered exposure; each holds half of it.
    assert data["caps"][0]["description"] == "covered_exposure ≤ 5% of the total"
    buyer_breaches = [b for b in data["breaches"] if b["dimension"] == "buyer"]
    assert len(buyer_breaches) == 2
    assert buyer_breaches[0]["amount"] == {"amount": "500.00", "currency": "EUR"}
    assert buyer_breaches[0]["cap_amount"] == {"amount": "50.00", "currency": "EUR"}
    assert buyer_breaches[0]["excess"] == {"amount": "450.00", "currency": "EUR"}
    assert buyer_breaches[0]["cap"]["max_share"] == "0.05"
    # France, the home market, may hold the whole book; "?" (no NAF code) is one sector above 30 %.
    assert {(b["dimension"], b["key"]) for b in data["breaches"]} >= {("sector", "?")}
    assert not any(b["dimension"] == "country" for b in data["breaches"])


def test_accumulation_per_country_and_policy(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    country = get(app_client, headers, "/portfolio/accumulation?dimension=country", "underwriter").json()
    assert [(t["key"], t["covered_exposure"]["amount"]) for t in country["books"][0]["top"]] == [("FR", "1000.00")]
    assert country["books"][0]["hhi"]["covered_exposure"] == "1.000000"
    policy = get(app_client, headers, "/portfolio/accumulation?dimension=policy", "admin").json()
    assert {t["key"] for t in policy["books"][0]["top"]} == {world.policy_a, world.policy_b}


def test_caps_come_from_the_settings(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    container.settings.accumulation_caps = (
        '[{"dimension": "policy", "measure": "limit", "max_amount": {"amount": "40000", "currency": "EUR"}}]'
    )
    data = get(app_client, headers, "/portfolio/accumulation?dimension=policy").json()
    assert [c["dimension"] for c in data["caps"]] == ["policy"]
    assert {(b["key"], b["measure"], b["excess"]["amount"]) for b in data["breaches"]} == {
        (world.policy_a, "limit", "10000.00"),
        (world.policy_b, "limit", "10000.00"),
    }


def test_accumulation_csv(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = get(app_client, headers, "/portfolio/accumulation.csv?dimension=buyer&as_of=2026-03-15")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="accumulation-buyer-2026-03-15.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == [
        "dimension",
        "key",
        "name",
        "limit_amount",
        "covered_exposure_amount",
        "currency",
        "share",
        "cap",
        "breach",
    ]
    by_key = {row[1]: row for row in rows[1:]}
    assert set(by_key) == {world.buyer_a, world.buyer_b}
    assert by_key[world.buyer_a] == [
        "buyer",
        world.buyer_a,
        "Buyer of A",
        "50000.00",
        "500.00",
        "EUR",
        "0.500000",
        "covered_exposure ≤ 5% of the total = 50.00",
        "450.00",
    ]


def test_the_live_book(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    data = get(app_client, headers, "/portfolio/book?as_of=2026-03-15&lgd=0.45").json()
    assert (data["currency"], data["obligors"]) == ("EUR", 2)
    assert data["total_ead"] == {"amount": "1000.00", "currency": "EUR"}
    # Σ EAD × PD × LGD = 1000 × 0.003 × 0.45 = 1.35
    assert data["expected_loss"] == {"amount": "1.35", "currency": "EUR"}
    item = next(i for i in data["items"] if i["obligor_id"] == world.buyer_a)
    assert item == {
        "obligor_id": world.buyer_a,
        "name": "Buyer of A",
        "ead": "500.00",
        "pd": "0.003",
        "lgd": "0.45",
        "sector": "?",
        "country": "FR",
        "limit": "50000.00",
        "graded": True,
    }
    assert (data["total"], data["limit"], data["offset"]) == (2, 50, 0)
    # A page at a time, by obligor id; the figures stay those of the whole book.
    page = get(app_client, headers, "/portfolio/book?limit=1&offset=1").json()
    assert [i["obligor_id"] for i in page["items"]] == [max(world.buyer_a, world.buyer_b)]
    assert (page["total"], page["obligors"], page["total_ead"]["amount"]) == (2, 2, "1000.00")


def test_the_live_book_csv_is_the_loss_model_input(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = get(app_client, headers, "/portfolio/book.csv?as_of=2026-03-15")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="book-2026-03-15.csv"' in response.headers["content-disposition"]
    lines = response.content.decode("utf-8").splitlines()
    assert lines[0] == "obligor_id,ead,pd,lgd,sector,country"
    assert sorted(lines[1:]) == sorted(f"{b},500.00,0.003,0.60,?,FR" for b in (world.buyer_a, world.buyer_b))


@pytest.mark.parametrize(
    "path",
    ["/portfolio/accumulation", "/portfolio/accumulation.csv", "/portfolio/book", "/portfolio/book.csv"],
)
def test_staff_only(app_client: TestClient, world: World, headers: dict[str, dict[str, str]], path: str) -> None:
    for role in ("insured_user", "broker_user", "factor_user", "insured_user_b"):
        response = app_client.get(API + path, headers=headers[role])
        assert response.status_code == 403, (role, response.text)
        assert response.json()["code"] == "auth.forbidden"
        assert world.buyer_a not in response.text
    for role in STAFF:
        assert app_client.get(API + path, headers=headers[role]).status_code == 200, role
    assert app_client.get(API + path).status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("/portfolio/accumulation?dimension=planet", 422, None),
        ("/portfolio/accumulation?top=0", 422, None),
        ("/portfolio/accumulation?top=1001", 422, None),
        ("/portfolio/accumulation?as_of=yesterday", 422, None),
        ("/portfolio/book?lgd=1.5", 422, "portfolio.invalid_lgd"),
        ("/portfolio/book?lgd=abc", 422, None),
        ("/portfolio/book.csv?currency=XYZ", 422, "money.unknown_currency"),
        ("/portfolio/book?currency=USD", 422, "portfolio.no_exchange_rate"),  # the book is in EUR: no rate
    ],
)
def test_bad_queries_are_refused(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], query: str, status: int, code: str | None
) -> None:
    response = app_client.get(API + query, headers=headers["admin"])
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["code"] == code
