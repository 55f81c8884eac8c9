"""Behaviour of the HTTP API through the application factory, on each backend.

Authentication (passwords, JWTs, API keys), policies and their terms, the buyer
register, error mapping to problem+json, idempotency and pagination.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from api_world import PASSWORD, World, login
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from stdnum import luhn

from tradecover.api.tokens import issue_access_token
from tradecover.bootstrap import Container
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.periods import FixedClock

API = "/api/v1"
PROBLEM = "application/problem+json"


def assert_problem(response: Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:tradecover:problem:{code}"
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def siret_of(siren: str, nic: str = "0001") -> str:
    body = siren + nic
    return body + luhn.calc_check_digit(body)


# ---------------------------------------------------------------- authentication


def test_token_for_the_right_password(app_client: TestClient, world: World) -> None:
    response = app_client.post(
        f"{API}/auth/token", data={"username": world.emails["underwriter"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    me = app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == world.emails["underwriter"]


def test_e_mail_is_case_insensitive_at_login(app_client: TestClient, world: World) -> None:
    response = app_client.post(
        f"{API}/auth/token", data={"username": world.emails["admin"].upper(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("email", "password"),
    [("underwriter@example.fr", "wrong password"), ("nobody@example.fr", PASSWORD), ("not-an-email", "x")],
    ids=["wrong-password", "unknown-email", "malformed-email"],
)
def test_bad_credentials_are_refused_alike(app_client: TestClient, world: World, email: str, password: str) -> None:
    response = app_client.post(f"{API}/auth/token", data={"username": email, "password": password})
    body = assert_problem(response, 401, "auth.invalid_credentials")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body


def test_unknown_email_and_wrong_password_look_the_same(app_client: TestClient, world: World) -> None:
    wrong = app_client.post(
        f"{API}/auth/token", data={"username": world.emails["admin"], "password": "not the password"}
    )
    unknown = app_client.post(f"{API}/auth/token", data={"username": "ghost@example.fr", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


def test_no_credentials(app_client: TestClient, world: World) -> None:
    response = app_client.get(f"{API}/me")
    assert_problem(response, 401, "auth.not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"],
    ids=["garbage", "three-dots", "bad-signature"],
)
def test_garbage_bearer_token(app_client: TestClient, world: World, token: str) -> None:
    response = app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "auth.invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_signed_with_another_secret(app_client: TestClient, world: World, container: Container) -> None:
    forged = issue_access_token(
        world.user_ids["admin"], "another-secret-of-at-least-32-characters!!", container.clock.now(), 15
    )
    response = app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401, "auth.invalid_token")
    # the same claims signed with the server's secret are accepted
    genuine = issue_access_token(world.user_ids["admin"], container.settings.secret_key, container.clock.now(), 15)
    assert app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {genuine}"}).status_code == 200


def test_expired_token(app_client: TestClient, world: World, container: Container) -> None:
    clock = cast(FixedClock, container.clock)
    headers = login(app_client, world.emails["underwriter"])
    assert app_client.get(f"{API}/me", headers=headers).status_code == 200
    clock.advance(timedelta(minutes=14, seconds=59))
    assert app_client.get(f"{API}/me", headers=headers).status_code == 200
    clock.advance(timedelta(minutes=16))
    response = app_client.get(f"{API}/me", headers=headers)
    assert_problem(response, 401, "auth.token_expired")
    assert response.headers["www-authenticate"] == "Bearer"
    # a fresh login works again at the new time
    assert app_client.get(f"{API}/me", headers=login(app_client, world.emails["underwriter"])).status_code == 200


def test_me_for_staff_insured_and_broker(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    staff = app_client.get(f"{API}/me", headers=headers["underwriter"]).json()
    assert staff["role"] == "underwriter"
    assert staff["user_id"] == world.user_ids["underwriter"]
    assert staff["organisation"]["id"] == world.insurer_id
    assert staff["organisation"]["kind"] == "insurer"
    assert staff["mandates"] == {}
    assert staff["via_api_key"] is None

    insured = app_client.get(f"{API}/me", headers=headers["insured_user"]).json()
    assert insured["role"] == "insured_user"
    assert insured["organisation"]["id"] == world.insured_a
    assert insured["organisation"]["kind"] == "policyholder"
    assert insured["organisation"]["siren"] == "732829320"
    assert insured["mandates"] == {}

    broker = app_client.get(f"{API}/me", headers=headers["broker_user"]).json()
    assert broker["role"] == "broker_user"
    assert broker["organisation"]["id"] == world.broker_id
    assert broker["organisation"]["kind"] == "broker"
    assert broker["mandates"] == {world.insured_a: "act"}


# ---------------------------------------------------------------------- API keys


def create_key(client: TestClient, headers: dict[str, str], name: str = "ERP export") -> dict[str, Any]:
    response = client.post(f"{API}/api-keys", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_api_key_lifecycle(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    created = create_key(app_client, headers["insured_user"], "  ERP   export ")
    token = created["token"]
    assert token.startswith("tck_")
    assert created["name"] == "ERP export"
    assert created["active"] is True
    assert created["revoked_at"] is None
    assert created["user_id"] == world.user_ids["insured_user"]
    assert created["organisation_id"] == world.insured_a
    assert token.startswith(f"tck_{created['prefix']}_")

    listed = app_client.get(f"{API}/api-keys", headers=headers["insured_user"]).json()
    assert listed["total"] == 1
    [item] = listed["items"]
    assert item["id"] == created["id"]
    assert "token" not in item
    assert token not in json.dumps(listed)

    by_header = app_client.get(f"{API}/me", headers={"X-API-Key": token})
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["via_api_key"] == created["id"]
    assert by_header.json()["user_id"] == world.user_ids["insured_user"]
    by_bearer = app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert by_bearer.status_code == 200, by_bearer.text
    assert by_bearer.json()["via_api_key"] == created["id"]
    used = app_client.get(f"{API}/api-keys", headers=headers["insured_user"]).json()["items"][0]
    assert used["last_used_at"] is not None

    revoked = app_client.delete(f"{API}/api-keys/{created['id']}", headers=headers["insured_user"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    assert revoked.json()["revoked_at"] is not None
    for refused in (
        app_client.get(f"{API}/me", headers={"X-API-Key": token}),
        app_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}),
    ):
        assert_problem(refused, 401, "auth.invalid_api_key")
        assert refused.headers["www-authenticate"] == "Bearer"
    again = app_client.delete(f"{API}/api-keys/{created['id']}", headers=headers["insured_user"])
    assert_problem(again, 409, "api_key.already_revoked")


def test_api_key_with_a_wrong_secret_is_refused(app_client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    token = create_key(app_client, headers["admin"])["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_problem(app_client.get(f"{API}/me", headers={"X-API-Key": tampered}), 401, "auth.invalid_api_key")
    assert_problem(app_client.get(f"{API}/me", headers={"X-API-Key": "tck_nonsense"}), 401, "auth.invalid_api_key")


def test_api_key_acts_with_its_users_rights(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    token = create_key(app_client, headers["insured_user"])["token"]
    mine = app_client.get(f"{API}/policies/{world.policy_a}", headers={"X-API-Key": token})
    assert mine.status_code == 200
    other = app_client.get(f"{API}/policies/{world.policy_b}", headers={"X-API-Key": token})
    assert other.status_code == 404


def test_the_admin_disables_a_user_and_changes_its_role(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    token = create_key(app_client, headers["insured_user"])["token"]
    url = f"{API}/organisations/{world.insured_a}/users/{world.user_ids['insured_user']}"
    for body, status, code in (
        ({"active": False}, 422, "validation.invalid_request"),  # no reason
        ({"active": False, "reason": " "}, 422, "user.reason_required"),
        ({"reason": "rien"}, 422, "user.nothing_to_change"),
        ({"role": "underwriter", "active": False, "reason": "essai"}, 422, "user.role_not_allowed"),
    ):
        response = app_client.patch(url, json=body, headers=headers["admin"])
        assert response.status_code == status, response.text
        if code != "validation.invalid_request":
            assert_problem(response, status, code)
    assert app_client.get(f"{API}/me", headers={"X-API-Key": token}).status_code == 200  # nothing changed
    assert_problem(
        app_client.patch(url, json={"active": False, "reason": "x"}, headers=headers["underwriter"]),
        403,
        "auth.forbidden",
    )
    other = f"{API}/organisations/{world.insured_b}/users/{world.user_ids['insured_user']}"
    assert app_client.patch(other, json={"active": False, "reason": "x"}, headers=headers["admin"]).status_code == 404
    own = f"{API}/organisations/{world.insurer_id}/users/{world.user_ids['admin']}"
    response = app_client.patch(own, json={"active": False, "reason": "x"}, headers=headers["admin"])
    assert_problem(response, 422, "user.cannot_disable_self")
    response = app_client.patch(own, json={"role": "collector", "reason": "x"}, headers=headers["admin"])
    assert_problem(response, 422, "user.cannot_change_own_role")

    response = app_client.patch(url, json={"active": False, "reason": "Départ"}, headers=headers["admin"])
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert response.json()["role"] == "insured_user"
    assert_problem(app_client.get(f"{API}/me", headers={"X-API-Key": token}), 401, "auth.invalid_credentials")
    assert app_client.get(f"{API}/me", headers=headers["insured_user"]).status_code == 401
    response = app_client.patch(url, json={"active": True, "reason": "Retour"}, headers=headers["admin"])
    assert response.json()["active"] is True
    assert app_client.get(f"{API}/me", headers={"X-API-Key": token}).status_code == 200

    staff = f"{API}/organisations/{world.insurer_id}/users/{world.user_ids['collector']}"
    response = app_client.patch(staff, json={"role": "risk_manager", "reason": "Mutation"}, headers=headers["admin"])
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "risk_manager"
    events = app_client.get(f"{API}/audit/events", headers=headers["admin"]).json()["items"]
    changes = {e["action"]: e for e in events if e["object_id"] in set(world.user_ids.values())}
    assert set(changes) >= {"user.disabled", "user.enabled", "user.role_changed"}
    assert changes["user.role_changed"]["reason"] == "Mutation"
    assert changes["user.role_changed"]["summary"] == {
        "before": {"role": "collector"},
        "after": {"role": "risk_manager"},
    }


def test_someone_elses_api_key_cannot_be_revoked(app_client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    created = create_key(app_client, headers["insured_user"])
    response = app_client.delete(f"{API}/api-keys/{created['id']}", headers=headers["insured_user_b"])
    assert response.status_code == 404
    assert app_client.get(f"{API}/me", headers={"X-API-Key": created["token"]}).status_code == 200


# ---------------------------------------------------------------------- policies

DEFAULT_TERMS = {
    "currency": "EUR",
    "indemnity_rate": "0.90",
    "deductible": {"amount": "0.00", "currency": "EUR"},
    "deductible_kind": "per_claim",
    "non_qualifying_loss": {"amount": "1000.00", "currency": "EUR"},
    "max_credit_period_days": 120,
    "overdue_notification_days": 90,
    "insolvency_notification_days": 30,
    "waiting_period_days": 150,
    "max_liability_multiple": "30",
    "max_liability_amount": None,
    "discretionary_limit": {"amount": "10000.00", "currency": "EUR"},
    "covered_countries": ["FR"],
    "premium_rates": {"domestic_rate": "0.0025", "export_rate": "0.0040"},
    "minimum_premium": {"amount": "0.00", "currency": "EUR"},
    "request_fee": {"amount": "0.00", "currency": "EUR"},
    "monitoring_fee": {"amount": "0.00", "currency": "EUR"},
    "no_claims_bonus_rate": "0.20",
    "no_claims_bonus_threshold": "0.50",
    "reduction_notice_days": 0,
    "max_extension_days": 60,
    "renewal_notice_days": 90,
    "declaration_frequency": "quarterly",
    "declaration_days": 30,
    "premium_instalments": 4,
}


def issue(client: TestClient, headers: dict[str, str], holder: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"policyholder_id": holder, "start_date": "2026-01-01", **extra}
    return client.post(f"{API}/policies", json=body, headers=headers)


def test_issue_with_default_terms(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = issue(app_client, headers["underwriter"], world.insured_b)
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy["policyholder_id"] == world.insured_b
    assert policy["currency"] == "EUR"
    assert policy["status"] == "in_force"
    assert policy["number"] == "TC-2026-000003"  # the world issued 000001 and 000002
    assert policy["periods"] == [{"start_date": "2026-01-01", "end_date": "2027-01-01"}]
    assert policy["current_period"] == policy["periods"][0]
    terms = policy["terms"]
    assert terms["version"] == 1
    assert terms["effective_date"] == "2026-01-01"
    assert terms["reason"] == "policy issued"
    assert terms["created_by"] == f"user:{world.user_ids['underwriter']}"
    assert terms["terms"] == DEFAULT_TERMS
    # the same terms are read back
    read = app_client.get(f"{API}/policies/{policy['id']}", headers=headers["underwriter"]).json()
    assert read["terms"]["terms"] == DEFAULT_TERMS
    assert read["number"] == policy["number"]


def test_amounts_and_rates_are_strings(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    terms = {
        "indemnity_rate": "0.85",
        "deductible": {"amount": "2500", "currency": "EUR"},
        "premium_rates": {"domestic_rate": "0.003"},
        "covered_countries": ["fr", "DE", "FR"],
    }
    response = issue(app_client, headers["underwriter"], world.insured_b, terms=terms)
    assert response.status_code == 201, response.text
    got = response.json()["terms"]["terms"]
    assert got["indemnity_rate"] == "0.85"
    assert got["deductible"] == {"amount": "2500.00", "currency": "EUR"}
    assert got["premium_rates"] == {"domestic_rate": "0.003", "export_rate": "0.0040"}
    assert got["covered_countries"] == ["FR", "DE"]
    for name in ("indemnity_rate", "no_claims_bonus_rate", "max_liability_multiple"):
        assert isinstance(got[name], str)
    for name in ("deductible", "non_qualifying_loss", "discretionary_limit"):
        assert isinstance(got[name]["amount"], str)


def test_out_of_range_indemnity_rate_writes_nothing(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = {t: count(container, t) for t in ("policies", "policy_terms_versions", "audit_events")}
    listed_before = app_client.get(f"{API}/policies", headers=headers["admin"]).json()["total"]
    events_before = app_client.get(f"{API}/audit/events", headers=headers["admin"]).json()["total"]

    response = issue(app_client, headers["underwriter"], world.insured_b, terms={"indemnity_rate": "0.97"})
    body = assert_problem(response, 422, "terms.out_of_range", field="indemnity_rate")
    assert "0.95" in body["detail"]

    assert {t: count(container, t) for t in before} == before
    assert app_client.get(f"{API}/policies", headers=headers["admin"]).json()["total"] == listed_before
    assert app_client.get(f"{API}/audit/events", headers=headers["admin"]).json()["total"] == events_before


@pytest.mark.parametrize(
    ("terms", "field", "code"),
    [
        ({"indemnity_rate": "0.49"}, "indemnity_rate", "terms.out_of_range"),
        ({"max_credit_period_days": 0}, "max_credit_period_days", "terms.out_of_range"),
        ({"premium_rates": {"export_rate": "0.25"}}, "premium_rates.export_rate", "terms.out_of_range"),
        ({"deductible": {"amount": "10.001", "currency": "EUR"}}, "deductible", "terms.invalid"),
        ({"deductible": {"amount": "10", "currency": "USD"}}, "deductible", "terms.currency_mismatch"),
        ({"deductible_kind": "yearly"}, "deductible_kind", "terms.invalid"),
        ({"covered_countries": []}, "covered_countries", "terms.invalid"),
    ],
)
def test_invalid_terms_name_their_field(
    app_client: TestClient,
    world: World,
    headers: dict[str, dict[str, str]],
    container: Container,
    terms: dict[str, Any],
    field: str,
    code: str,
) -> None:
    before = count(container, "policies")
    response = issue(app_client, headers["underwriter"], world.insured_b, terms=terms)
    assert_problem(response, 422, code, field=field)
    assert count(container, "policies") == before


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"indemnity_rate": 0.9}, "terms.indemnity_rate"),
        ({"premium_rates": {"domestic_rate": 0.0025}}, "terms.premium_rates.domestic_rate"),
        ({"deductible": {"amount": 100, "currency": "EUR"}}, "terms.deductible.amount"),
        ({"max_credit_period_days": "120"}, "terms.max_credit_period_days"),
        ({"unknown_term": "1"}, "terms.unknown_term"),
    ],
    ids=["rate-number", "premium-number", "amount-number", "days-string", "unknown-field"],
)
def test_json_numbers_for_decimals_are_refused(
    app_client: TestClient,
    world: World,
    headers: dict[str, dict[str, str]],
    container: Container,
    terms: dict[str, Any],
    field: str,
) -> None:
    before = count(container, "policies")
    response = issue(app_client, headers["underwriter"], world.insured_b, terms=terms)
    body = assert_problem(response, 422, "request.invalid", field=field)
    assert body["errors"]
    assert count(container, "policies") == before


def test_unknown_currency(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = count(container, "policies")
    response = issue(app_client, headers["underwriter"], world.insured_b, currency="EUX")
    assert_problem(response, 422, "money.unknown_currency")
    assert count(container, "policies") == before


def test_policy_in_another_currency(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = issue(app_client, headers["underwriter"], world.insured_b, currency="CHF")
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy["currency"] == "CHF"
    assert policy["terms"]["terms"]["non_qualifying_loss"] == {"amount": "1000.00", "currency": "CHF"}


def test_policy_for_a_non_policyholder(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = issue(app_client, headers["underwriter"], world.broker_id)
    assert_problem(response, 422, "policy.not_a_policyholder", field="policyholder_id")


def test_endorsement_adds_a_version(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    url = f"{API}/policies/{world.policy_a}"
    original = app_client.get(f"{url}/terms", headers=headers["underwriter"]).json()
    assert [v["version"] for v in original] == [1]
    events_before = count(container, "audit_events")

    response = app_client.post(
        f"{url}/endorsements",
        json={
            "effective_date": "2026-04-01",
            "changes": {"indemnity_rate": "0.80", "covered_countries": ["FR", "BE"]},
            "reason": "broker negotiation",
        },
        headers=headers["underwriter"],
    )
    assert response.status_code == 201, response.text
    version = response.json()
    assert version["version"] == 2
    assert version["effective_date"] == "2026-04-01"
    assert version["reason"] == "broker negotiation"
    assert version["terms"]["indemnity_rate"] == "0.80"
    assert version["terms"]["covered_countries"] == ["FR", "BE"]
    assert version["terms"]["waiting_period_days"] == 150  # unchanged terms carry over
    assert count(container, "audit_events") == events_before + 1

    history = app_client.get(f"{url}/terms", headers=headers["insured_user"]).json()
    assert [v["version"] for v in history] == [1, 2]
    assert history[0] == original[0]  # version 1 unchanged
    assert history[0]["terms"]["indemnity_rate"] == "0.90"
    assert history[1]["terms"] == version["terms"]
    # today (2026-03-15) version 1 is still in force
    current = app_client.get(url, headers=headers["underwriter"]).json()
    assert current["terms"]["version"] == 1


@pytest.mark.parametrize(
    ("effective_date", "code"),
    [
        ("2025-12-31", "policy.endorsement_outside_period"),
        ("2027-01-01", "policy.endorsement_outside_period"),
    ],
)
def test_endorsement_outside_the_period(
    app_client: TestClient,
    world: World,
    headers: dict[str, dict[str, str]],
    container: Container,
    effective_date: str,
    code: str,
) -> None:
    before = count(container, "policy_terms_versions")
    response = app_client.post(
        f"{API}/policies/{world.policy_a}/endorsements",
        json={"effective_date": effective_date, "changes": {"indemnity_rate": "0.80"}, "reason": "r"},
        headers=headers["underwriter"],
    )
    assert_problem(response, 422, code, field="effective_date")
    assert count(container, "policy_terms_versions") == before


def test_endorsement_before_the_latest_version(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    url = f"{API}/policies/{world.policy_a}/endorsements"
    first = app_client.post(
        url,
        json={"effective_date": "2026-06-01", "changes": {"indemnity_rate": "0.80"}, "reason": "r"},
        headers=headers["underwriter"],
    )
    assert first.status_code == 201, first.text
    backdated = app_client.post(
        url,
        json={"effective_date": "2026-05-31", "changes": {"indemnity_rate": "0.85"}, "reason": "r"},
        headers=headers["underwriter"],
    )
    assert_problem(backdated, 422, "policy.endorsement_backdated", field="effective_date")
    same_day = app_client.post(
        url,
        json={"effective_date": "2026-06-01", "changes": {"indemnity_rate": "0.85"}, "reason": "r"},
        headers=headers["underwriter"],
    )
    assert same_day.status_code == 201, same_day.text
    assert same_day.json()["version"] == 3
    assert same_day.json()["terms"]["indemnity_rate"] == "0.85"


def test_insured_cannot_endorse_its_own_policy(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = app_client.post(
        f"{API}/policies/{world.policy_a}/endorsements",
        json={"effective_date": "2026-06-01", "changes": {"indemnity_rate": "0.95"}, "reason": "r"},
        headers=headers["insured_user"],
    )
    assert_problem(response, 403, "auth.forbidden")


def test_endorsement_that_changes_nothing(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = app_client.post(
        f"{API}/policies/{world.policy_a}/endorsements",
        json={"effective_date": "2026-04-01", "changes": {"indemnity_rate": "0.90"}, "reason": "r"},
        headers=headers["underwriter"],
    )
    assert_problem(response, 422, "policy.no_change", field="changes")


def test_renewal_opens_the_next_period(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    url = f"{API}/policies/{world.policy_a}"
    response = app_client.post(f"{url}/renewals", json={"reason": "tacit renewal"}, headers=headers["underwriter"])
    assert response.status_code == 201, response.text
    renewed = response.json()
    assert renewed["periods"] == [
        {"start_date": "2026-01-01", "end_date": "2027-01-01"},
        {"start_date": "2027-01-01", "end_date": "2028-01-01"},
    ]
    assert renewed["current_period"] == {"start_date": "2027-01-01", "end_date": "2028-01-01"}
    read = app_client.get(url, headers=headers["insured_user"]).json()
    assert read["periods"] == renewed["periods"]

    def endorse(effective_date: str, rate: str) -> Response:
        return app_client.post(
            f"{url}/endorsements",
            json={"effective_date": effective_date, "changes": {"indemnity_rate": rate}, "reason": "r"},
            headers=headers["underwriter"],
        )

    # the running year may still be endorsed, and so may the new period; nothing beyond them
    running_year = endorse("2026-06-01", "0.80")
    assert running_year.status_code == 201, running_year.text
    assert_problem(endorse("2028-01-01", "0.85"), 422, "policy.endorsement_outside_period", "effective_date")
    next_year = endorse("2027-01-01", "0.85")
    assert next_year.status_code == 201, next_year.text
    assert next_year.json()["version"] == 3
    history = app_client.get(f"{url}/terms", headers=headers["underwriter"]).json()
    assert [(v["effective_date"], v["terms"]["indemnity_rate"]) for v in history] == [
        ("2026-01-01", "0.90"),
        ("2026-06-01", "0.80"),
        ("2027-01-01", "0.85"),
    ]


def test_renewal_needs_a_reason(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = app_client.post(
        f"{API}/policies/{world.policy_a}/renewals", json={"reason": ""}, headers=headers["underwriter"]
    )
    assert_problem(response, 422, "request.invalid", field="reason")


# ------------------------------------------------------------------------ buyers


def add_buyer(
    client: TestClient,
    headers: dict[str, str],
    identifiers: list[tuple[str, str]],
    name: str = "Buyer SAS",
    **extra: Any,
) -> Response:
    body = {"identifiers": [{"kind": k, "value": v} for k, v in identifiers], "legal_name": name, **extra}
    return client.post(f"{API}/buyers", json=body, headers=headers)


def test_invalid_siren_check_digit(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = count(container, "buyers")
    response = add_buyer(app_client, headers["insured_user"], [("siren", "732829321")])
    body = assert_problem(response, 422, "identifier.invalid_siren", field="siren")
    assert "732829321" in body["detail"]
    assert body["context"]["value"] == "732829321"
    assert count(container, "buyers") == before


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("siret", "73282932000075", "identifier.invalid_siret"),
        ("vat_fr", "FR00732829320", "identifier.invalid_vat_fr"),
        ("siren", "12345", "identifier.invalid_siren"),
    ],
)
def test_other_invalid_identifiers(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], kind: str, value: str, code: str
) -> None:
    response = add_buyer(app_client, headers["insured_user"], [(kind, value)])
    assert_problem(response, 422, code, field=kind)


def test_two_insureds_naming_the_same_siren_share_one_buyer(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    siren = generate_siren(4242)
    first = add_buyer(app_client, headers["insured_user"], [("siren", siren)], "Shared Buyer SA")
    assert first.status_code == 201, first.text
    before = count(container, "buyers")
    second = add_buyer(
        app_client,
        headers["insured_user_b"],
        [("siren", f"{siren[:3]} {siren[3:6]} {siren[6:]}")],
        "Other name",
    )
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["legal_name"] == "Shared Buyer SA"
    assert count(container, "buyers") == before
    for who in ("insured_user", "insured_user_b"):
        found = app_client.get(f"{API}/buyers", params={"search": siren}, headers=headers[who]).json()
        assert [b["id"] for b in found["items"]] == [first.json()["id"]]
    # the same insured adding it again: still 200, still one buyer
    third = add_buyer(app_client, headers["insured_user"], [("siren", siren)], "Shared Buyer SA")
    assert third.status_code == 200
    assert third.json()["id"] == first.json()["id"]


def test_siret_implies_siren_and_vat(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    siren = generate_siren(777)
    siret = siret_of(siren)
    response = add_buyer(app_client, headers["insured_user"], [("siret", siret)], "Établissements Durand")
    assert response.status_code == 201, response.text
    identifiers = response.json()["identifiers"]
    key = (12 + 3 * (int(siren) % 97)) % 97
    assert identifiers == {"siret": siret, "siren": siren, "vat_fr": f"FR{key:02d}{siren}"}
    # the SIREN alone now names the same buyer
    again = add_buyer(app_client, headers["insured_user_b"], [("siren", siren)])
    assert again.status_code == 200
    assert again.json()["id"] == response.json()["id"]


def test_identifiers_of_different_companies(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = add_buyer(
        app_client,
        headers["insured_user"],
        [("siren", generate_siren(1)), ("siret", siret_of(generate_siren(2)))],
    )
    assert_problem(response, 422, "buyer.identifiers_disagree", field="identifiers")


def test_search_by_name_prefix_without_accents_and_by_siren(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    h = headers["insured_user"]
    names = ["Société Générale d'Équipements", "Sociétal Conseil", "Électricité Dupont"]
    ids = {}
    for number, name in enumerate(names):
        response = add_buyer(app_client, h, [("siren", generate_siren(9000 + number))], name)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]

    def search(term: str) -> list[str]:
        result = app_client.get(f"{API}/buyers", params={"search": term}, headers=h)
        assert result.status_code == 200, result.text
        return [b["legal_name"] for b in result.json()["items"]]

    assert search("societe gen") == ["Société Générale d'Équipements"]
    assert search("SOCIETE") == ["Société Générale d'Équipements"]
    assert sorted(search("soci")) == sorted(["Société Générale d'Équipements", "Sociétal Conseil"])
    assert search("electricite") == ["Électricité Dupont"]
    assert search("Électricité") == ["Électricité Dupont"]
    assert search("generale") == []  # a prefix, not a substring
    siren = generate_siren(9001)
    assert search(siren) == ["Sociétal Conseil"]
    assert search(f"{siren[:3]} {siren[3:6]} {siren[6:]}") == ["Sociétal Conseil"]
    # another insured does not find them
    other = app_client.get(f"{API}/buyers", params={"search": "soci"}, headers=headers["insured_user_b"])
    assert other.json()["total"] == 0


# ------------------------------------------------------------------------ errors


def test_malformed_json(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = app_client.post(
        f"{API}/policies",
        content=b'{"policyholder_id": "x", ',
        headers={**headers["underwriter"], "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "request.malformed_json")


def test_unknown_route(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = app_client.get(f"{API}/no-such-thing", headers=headers["admin"])
    body = assert_problem(response, 404, "route.not_found")
    assert body["instance"] == f"{API}/no-such-thing"


def test_wrong_method(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = app_client.put(f"{API}/policies", json={}, headers=headers["admin"])
    assert_problem(response, 405, "route.method_not_allowed")


def test_unknown_object_is_a_problem(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    response = app_client.get(f"{API}/policies/00000000-0000-0000-0000-000000000000", headers=headers["admin"])
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


def big_body(size: int) -> bytes:
    padding = "x" * size
    return json.dumps({"name": padding}).encode()


def test_body_over_the_limit(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    limit = container.settings.max_request_bytes
    assert limit == 1_048_576
    before = count(container, "api_keys")
    response = app_client.post(
        f"{API}/api-keys",
        content=big_body(limit),
        headers={**headers["admin"], "Content-Type": "application/json"},
    )
    body = assert_problem(response, 413, "request.too_large")
    assert str(limit) in body["detail"]
    assert count(container, "api_keys") == before


def test_body_just_under_the_limit_is_read(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    limit = container.settings.max_request_bytes
    content = big_body(limit - 20)
    assert len(content) <= limit
    response = app_client.post(
        f"{API}/api-keys", content=content, headers={**headers["admin"], "Content-Type": "application/json"}
    )
    # read in full and validated: the name is too long, which is a 422, not a 413
    assert_problem(response, 422, "request.invalid", field="name")


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    payload = big_body(total)
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


@pytest.mark.parametrize("idempotency", [False, True], ids=["plain", "with-idempotency-key"])
def test_chunked_body_over_the_limit(
    app_client: TestClient,
    world: World,
    headers: dict[str, dict[str, str]],
    container: Container,
    idempotency: bool,
) -> None:
    limit = container.settings.max_request_bytes
    before = count(container, "api_keys")
    request_headers = {**headers["admin"], "Content-Type": "application/json"}
    if idempotency:
        request_headers["Idempotency-Key"] = "chunked-1"
    request = app_client.build_request("POST", f"{API}/api-keys", content=chunks(limit + 1), headers=request_headers)
    assert "content-length" not in request.headers
    assert request.headers.get("transfer-encoding") == "chunked"
    response = app_client.send(request)
    assert_problem(response, 413, "request.too_large")
    assert count(container, "api_keys") == before
    assert count(container, "idempotency_keys") == 0


def test_chunked_body_under_the_limit_is_accepted(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    def small() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"chunked key"}'

    request = app_client.build_request(
        "POST",
        f"{API}/api-keys",
        content=small(),
        headers={**headers["admin"], "Content-Type": "application/json", "Idempotency-Key": "c-2"},
    )
    assert "content-length" not in request.headers
    response = app_client.send(request)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "chunked key"


def test_declared_length_over_the_limit_is_refused_before_reading(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    response = app_client.post(
        f"{API}/api-keys",
        content=b"{}",
        headers={**headers["admin"], "Content-Type": "application/json", "Content-Length": "2000000"},
    )
    assert_problem(response, 413, "request.too_large")


def test_wrong_role_is_forbidden(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = count(container, "policies")
    response = issue(app_client, headers["claims_handler"], world.insured_b)
    assert_problem(response, 403, "auth.forbidden")
    assert "www-authenticate" not in response.headers
    assert count(container, "policies") == before


# ------------------------------------------------------------------- idempotency


def test_idempotent_replay(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = count(container, "policies")
    request_headers = {**headers["underwriter"], "Idempotency-Key": "issue-b-2026"}
    body = {"policyholder_id": world.insured_b, "start_date": "2026-01-01"}
    first = app_client.post(f"{API}/policies", json=body, headers=request_headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = app_client.post(f"{API}/policies", json=body, headers=request_headers)
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.content == first.content
    assert count(container, "policies") == before + 1

    other_body = {**body, "currency": "CHF"}
    reused = app_client.post(f"{API}/policies", json=other_body, headers=request_headers)
    assert_problem(reused, 422, "idempotency.key_reused")
    assert count(container, "policies") == before + 1

    # the same key is another key for another principal
    admin_headers = {**headers["admin"], "Idempotency-Key": "issue-b-2026"}
    third = app_client.post(f"{API}/policies", json=body, headers=admin_headers)
    assert third.status_code == 201, third.text
    assert "idempotent-replayed" not in third.headers
    assert third.json()["id"] != first.json()["id"]
    assert count(container, "policies") == before + 2


def test_idempotent_replay_of_an_error(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    request_headers = {**headers["underwriter"], "Idempotency-Key": "bad-rate"}
    body = {
        "policyholder_id": world.insured_b,
        "start_date": "2026-01-01",
        "terms": {"indemnity_rate": "0.97"},
    }
    first = app_client.post(f"{API}/policies", json=body, headers=request_headers)
    assert_problem(first, 422, "terms.out_of_range", field="indemnity_rate")
    second = app_client.post(f"{API}/policies", json=body, headers=request_headers)
    assert second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"].startswith(PROBLEM)
    assert second.json() == first.json()


def test_idempotency_key_with_an_api_key(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    token = create_key(app_client, headers["insured_user"])["token"]
    before = count(container, "buyers")
    siren = generate_siren(31337)
    body = {"identifiers": [{"kind": "siren", "value": siren}], "legal_name": "Idem SAS"}
    request_headers = {"X-API-Key": token, "Idempotency-Key": "erp-batch-7"}
    first = app_client.post(f"{API}/buyers", json=body, headers=request_headers)
    second = app_client.post(f"{API}/buyers", json=body, headers=request_headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert count(container, "buyers") == before + 1


def test_idempotent_replay_needs_valid_credentials(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    """A replay is a read of the stored response: a forged or revoked API key must not get it."""
    parent = create_key(app_client, headers["insured_user"], "ERP")
    body = {"name": "child"}
    first = app_client.post(
        f"{API}/api-keys", json=body, headers={"X-API-Key": parent["token"], "Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201, first.text
    # the prefix is no secret: it is listed by GET /api-keys and in the audit log
    forged = f"tck_{parent['prefix']}_not-the-secret"
    replay = app_client.post(f"{API}/api-keys", json=body, headers={"X-API-Key": forged, "Idempotency-Key": "k-1"})
    assert first.json()["token"] not in replay.text
    assert_problem(replay, 401, "auth.invalid_api_key")
    app_client.delete(f"{API}/api-keys/{parent['id']}", headers=headers["insured_user"])
    revoked = app_client.post(
        f"{API}/api-keys", json=body, headers={"X-API-Key": parent["token"], "Idempotency-Key": "k-1"}
    )
    assert_problem(revoked, 401, "auth.invalid_api_key")


def test_invalid_idempotency_key(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = count(container, "api_keys")
    response = app_client.post(
        f"{API}/api-keys", json={"name": "k"}, headers={**headers["admin"], "Idempotency-Key": "x" * 201}
    )
    assert_problem(response, 400, "idempotency.invalid_key")
    assert count(container, "api_keys") == before


# -------------------------------------------------------------------- pagination


def test_pagination(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    h = headers["insured_user_b"]
    existing = app_client.get(f"{API}/buyers", headers=h).json()["total"]
    assert existing == 1  # the world's buyer of B
    for number in range(11):
        response = add_buyer(app_client, h, [("siren", generate_siren(5000 + number))], f"Paged {number:02d}")
        assert response.status_code == 201, response.text
    total = existing + 11

    seen: list[str] = []
    for offset in range(0, total, 5):
        page = app_client.get(f"{API}/buyers", params={"limit": 5, "offset": offset}, headers=h)
        assert page.status_code == 200, page.text
        data = page.json()
        assert data["total"] == total
        assert data["limit"] == 5
        assert data["offset"] == offset
        assert len(data["items"]) == min(5, total - offset)
        seen += [b["id"] for b in data["items"]]
    assert len(seen) == len(set(seen)) == total
    everything = app_client.get(f"{API}/buyers", params={"limit": 100}, headers=h).json()
    assert [b["id"] for b in everything["items"]] == seen  # a stable order

    beyond = app_client.get(f"{API}/buyers", params={"limit": 5, "offset": 100}, headers=h).json()
    assert beyond["items"] == []
    assert beyond["total"] == total

    searched = app_client.get(f"{API}/buyers", params={"search": "paged", "limit": 4, "offset": 8}, headers=h)
    assert searched.json()["total"] == 11
    assert [b["legal_name"] for b in searched.json()["items"]] == ["Paged 08", "Paged 09", "Paged 10"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "x"}, "limit"),
    ],
)
def test_bad_page_parameters(
    app_client: TestClient,
    world: World,
    headers: dict[str, dict[str, str]],
    params: dict[str, Any],
    field: str,
) -> None:
    response = app_client.get(f"{API}/buyers", params=params, headers=headers["admin"])
    assert_problem(response, 422, "request.invalid", field=field)


def test_page_size_is_capped(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    response = app_client.get(f"{API}/buyers", params={"limit": 100_000}, headers=headers["admin"])
    assert response.status_code == 200
    assert response.json()["limit"] == container.settings.page_size_max


def test_idempotency_keys_expire_after_the_configured_hours(
    app_client: TestClient, world: World, container: Container
) -> None:
    clock = cast(FixedClock, container.clock)
    key_headers = {"Idempotency-Key": "yearly-run"}

    def headers_now() -> dict[str, str]:
        return {**login(app_client, world.emails["underwriter"]), **key_headers}

    first = app_client.post(
        f"{API}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-04-01"},
        headers=headers_now(),
    )
    assert first.status_code == 201, first.text
    clock.advance(timedelta(hours=container.settings.idempotency_hours - 1))
    reused = app_client.post(
        f"{API}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-05-01"},
        headers=headers_now(),
    )
    assert_problem(reused, 422, "idempotency.key_reused")
    clock.advance(timedelta(hours=2))
    after_expiry = app_client.post(
        f"{API}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-05-01"},
        headers=headers_now(),
    )
    assert after_expiry.status_code == 201, after_expiry.text
    assert after_expiry.json()["id"] != first.json()["id"]


def test_password_guessing_on_the_token_endpoint_is_slowed(app_client: TestClient, world: World) -> None:
    email = world.emails["underwriter"]
    for _ in range(5):
        wrong = app_client.post(f"{API}/auth/token", data={"username": email, "password": "guess"})
        assert wrong.status_code == 401
    refused = app_client.post(f"{API}/auth/token", data={"username": email, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["code"] == "auth.too_many_attempts"
    other = app_client.post(f"{API}/auth/token", data={"username": world.emails["admin"], "password": PASSWORD})
    assert other.status_code == 200
