"""The loss model on the live book through the app factory: figures (JSON), charts (PNG), staff only, 422s.

The API world with its receivables, on 15 March 2026: two French buyers without a NAF code (sector "?"),
500.00 covered each, PD 0.003 (see ``test_portfolio_api.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from api_world import World, add_receivables, build_world
from fastapi.testclient import TestClient

from tradecover.bootstrap import Container

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n"
ROUTES = ("/portfolio/loss", "/portfolio/loss/distribution.png", "/portfolio/loss/contributions.png")
BODY: dict[str, Any] = {"as_of": "2026-03-15", "scenarios": 2000, "seed": 3, "top": 5}


@pytest.fixture
def world(container: Container) -> World:
    return add_receivables(container, build_world(container))


def post(client: TestClient, headers: dict[str, dict[str, str]], path: str, body: dict[str, Any], role: str) -> Any:
    return client.post(API + path, json=body, headers=headers[role])


def test_staff_get_the_figures_gross_and_net(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    body = BODY | {
        "lgd": "0.5",
        "stress": {"name": "French recession", "country_pd_multipliers": {"FR": "2"}},
        "reinsurance": {"quota_share_rate": "0.5"},
    }
    response = post(app_client, headers, "/portfolio/loss", body, "risk_manager")
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["as_of"], data["currency"], data["lgd"], data["model"]) == ("2026-03-15", "EUR", "0.5", "mc")
    assert (data["obligors"], data["scenarios"], data["seed"], data["stress"]) == (2, 2000, 3, "French recession")
    assert data["total_ead"] == {"amount": "1000.00", "currency": "EUR"}
    # Σ EAD × PD × LGD of the stressed book: 1000 × 0.006 × 0.5
    assert data["analytic_expected_loss"] == {"amount": "3.00", "currency": "EUR"}
    gross, net = data["gross"], data["net"]
    assert [m["level"] for m in gross["measures"]] == ["0.99", "0.995", "0.999"]
    for g, n in zip(gross["measures"], net["measures"], strict=True):
        assert Decimal(n["tvar"]["amount"]) == pytest.approx(Decimal(g["tvar"]["amount"]) / 2, abs=Decimal("0.01"))
    assert Decimal(gross["measures"][2]["var"]["amount"]) in (Decimal("250.00"), Decimal("500.00"))
    contributions = data["contributions"]
    assert contributions["level"] == "0.995"
    assert [(s["key"], s["contribution"]) for s in contributions["sectors"]] == [("?", contributions["total"])]
    assert {o["key"] for o in contributions["top_obligors"]} == {world.buyer_a, world.buyer_b}
    # the same body, the same figures
    assert post(app_client, headers, "/portfolio/loss", body, "underwriter").json() == data


def test_the_analytic_model_and_the_default_body(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    data = post(app_client, headers, "/portfolio/loss", {"model": "creditriskplus"}, "admin").json()
    assert (data["model"], data["scenarios"], data["net"], data["lgd"]) == ("creditriskplus", 0, None, "0.60")
    assert data["gross"]["expected_loss"] == {"amount": "1.80", "currency": "EUR"}  # 1000 × 0.003 × 0.6, exact


def test_staff_only(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    for path in ROUTES:
        for role in ("insured_user", "broker_user", "factor_user"):
            response = post(app_client, headers, path, BODY, role)
            assert response.status_code == 403, (path, role, response.text)
            assert response.json()["code"] == "auth.forbidden"
            assert world.buyer_a not in response.text
        assert app_client.post(API + path, json=BODY).status_code == 401


def test_the_charts_are_pngs(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    body = BODY | {"reinsurance": {"xol_retention": "100"}}
    for path in ROUTES[1:]:
        response = post(app_client, headers, path, body, "risk_manager")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(PNG)
        assert post(app_client, headers, path, body, "collector").content == response.content


BAD_BODIES: list[tuple[dict[str, Any], str, str | None]] = [
    ({"scenarios": 1_000_000}, "scenarios", "request.invalid"),
    ({"scenarios": "2000"}, "scenarios", "request.invalid"),
    ({"model": "vasicek"}, "model", "request.invalid"),
    ({"asset_correlation": "1.2"}, "asset_correlation", "request.invalid"),
    ({"levels": []}, "levels", "request.invalid"),
    ({"levels": ["99.5"]}, "levels", None),
    ({"contribution_level": "1"}, "contribution_level", None),
    ({"lgd": "1.5"}, "lgd", "portfolio.invalid_lgd"),
    ({"lgd": 0.5}, "lgd", "request.invalid"),
    ({"planet": "mars"}, "planet", "request.invalid"),
    ({"reinsurance": {"quota_share_rate": "1.5"}}, "reinsurance.quota_share_rate", None),
    ({"reinsurance": {"xol_limit": "10"}}, "reinsurance.xol_limit", None),
    ({"stress": {"asset_correlation_multiplier": "0"}}, "stress.asset_correlation_multiplier", None),
    ({"stress": {"sector_pd_multipliers": {"C": "2"}}}, "stress", None),  # no buyer in section C
    ({"stress": {"country_pd_multipliers": {"FR": "-1"}}}, "stress.country_pd_multipliers", None),
]


def test_bad_bodies_are_422_problems_naming_the_field(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    for change, field, code in BAD_BODIES:
        response = post(app_client, headers, "/portfolio/loss", BODY | change, "risk_manager")
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["field"], problem["code"]) == (field, code or "portfolio_loss.invalid_parameter"), change
