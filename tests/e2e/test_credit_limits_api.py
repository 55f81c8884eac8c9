"""Credit limits over HTTP: requests, referrals with four eyes, revisions, limits in force, prospect queries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from api_world import World, login
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from tradecover.bootstrap import Container
from tradecover.domain.monitoring import GradeRecord
from tradecover.services import credit_limits
from tradecover.services.authorization import system_actor

API = "/api/v1"
PROBLEM = "application/problem+json"
SIREN_A = "552100554"  # world.buyer_a
Headers = dict[str, dict[str, str]]


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert body["detail"]
    return body


def count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def money(amount: str, currency: str = "EUR") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def prepare(container: Container, world: World, buyer_id: str, capacity: str, grade: int = 3) -> None:
    """As the insurer: grade the buyer and set its capacity.

    The world may already hold an override set at the same instant; the latest override wins by
    its time, so the clock moves on a second first.
    """
    clock = container.clock
    clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    insurer = system_actor(world.insurer_id)
    with container.uow() as uow:
        current = uow.buyers.get(buyer_id)
        assert current is not None
        uow.buyers.record_grade(
            GradeRecord(
                buyer_id=buyer_id,
                grade=grade,
                probability_of_default=Decimal("0.004"),
                factors={"ratio:equity_to_assets": -0.4},
                model_version="test",
                run_id=str(uuid.uuid4()),
                inputs_version=current.inputs_version,
                graded_at=clock.now(),
                previous_grade=current.risk_grade,
            )
        )
        uow.commit()
    with container.uow() as uow:
        credit_limits.set_capacity(uow, clock, insurer, buyer_id, amount=capacity, reason="underwriting review")


@pytest.fixture
def ready(container: Container, world: World) -> World:
    prepare(container, world, world.buyer_a, "200000")
    prepare(container, world, world.buyer_b, "200000")
    return world


def ask(client: TestClient, who: dict[str, str], policy_id: str, buyer_id: str, amount: str, **extra: Any) -> Response:
    body = {"buyer_id": buyer_id, "amount": money(amount), **extra}
    response: Response = client.post(f"{API}/policies/{policy_id}/limit-requests", headers=who, json=body)
    return response


def assert_labelled(reasons: list[dict[str, str]]) -> None:
    assert reasons
    for reason in reasons:
        assert set(reason) == {"code", "label_fr", "label_en"}
        assert reason["label_fr"]
        assert reason["label_en"]


# ------------------------------------------------------------------ requests


def test_an_insured_gets_its_decision_at_once_with_reasons_in_french_and_english(
    app_client: TestClient, ready: World, headers: Headers
) -> None:
    listing = f"{API}/policies/{ready.policy_a}/limit-requests"
    before = app_client.get(listing, headers=headers["insured_user"]).json()["total"]
    response = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "80000.00")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["status"]) == ("decided", "approved")
    assert body["granted_amount"] == money("80000.00")
    assert body["requested_amount"] == money("80000.00")
    assert body["request_type"] == "new"
    assert body["decided_at"]
    assert body["reasons"] == [
        {"code": "approved_in_full", "label_fr": "Accordée en totalité", "label_en": "Approved in full"}
    ]
    referred = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "250000.00")
    assert referred.status_code == 201, referred.text
    assert referred.json()["state"] == "referred"
    assert_labelled(referred.json()["reasons"])
    fetched = app_client.get(f"{API}/limit-requests/{body['id']}", headers=headers["insured_user"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == body["id"]
    listed = app_client.get(listing, headers=headers["insured_user"])
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == before + 2


def test_a_refusal_carries_its_reasons(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    prepare(container, world, world.buyer_a, "1000000", grade=9)
    response = ask(app_client, headers["insured_user"], world.policy_a, world.buyer_a, "20000.00")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["granted_amount"]) == ("refused", money("0.00"))
    assert [r["code"] for r in body["reasons"]] == ["grade_too_low"]
    assert_labelled(body["reasons"])


def test_the_broker_acts_for_its_insured(app_client: TestClient, ready: World, headers: Headers) -> None:
    response = ask(app_client, headers["broker_user"], ready.policy_a, ready.buyer_a, "80000.00")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved"
    seen = app_client.get(f"{API}/policies/{ready.policy_a}/limits", headers=headers["insured_user"])
    assert {row["buyer_id"]: row["amount_in_force"] for row in seen.json()}[ready.buyer_a] == money("80000.00")
    # The broker has no mandate from B.
    foreign = ask(app_client, headers["broker_user"], ready.policy_b, ready.buyer_b, "30000.00")
    assert_problem(foreign, 404, "policy.not_found")


def test_insured_b_gets_404_on_insured_as_policy(
    app_client: TestClient, ready: World, headers: Headers, container: Container
) -> None:
    b = headers["insured_user_b"]
    before = count(container, "limit_requests")
    decided = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "30000.00").json()
    foreign = assert_problem(ask(app_client, b, ready.policy_a, ready.buyer_b, "30000.00"), 404, "policy.not_found")
    random = assert_problem(ask(app_client, b, "no-such-policy", ready.buyer_b, "30000.00"), 404, "policy.not_found")
    assert foreign["detail"].replace(ready.policy_a, "?") == random["detail"].replace("no-such-policy", "?")
    for path in (
        f"/policies/{ready.policy_a}/limits",
        f"/policies/{ready.policy_a}/limits/{ready.buyer_a}",
        f"/policies/{ready.policy_a}/limit-requests",
    ):
        assert_problem(app_client.get(API + path, headers=b), 404, "policy.not_found")
    assert_problem(app_client.get(f"{API}/limit-requests/{decided['id']}", headers=b), 404, "limit_request.not_found")
    prospect = app_client.post(
        f"{API}/policies/{ready.policy_a}/prospect-queries",
        headers=b,
        json={"buyer_id": ready.buyer_b, "amount": money("1000.00")},
    )
    assert_problem(prospect, 404, "policy.not_found")
    # A buyer outside the insured's book is as unknown as a random id.
    assert_problem(ask(app_client, b, ready.policy_b, ready.buyer_a, "30000.00"), 404, "buyer.not_found")
    assert_problem(ask(app_client, b, ready.policy_b, "no-such-buyer", "30000.00"), 404, "buyer.not_found")
    assert count(container, "limit_requests") == before + 1


# ------------------------------------------------------------------ referrals and four eyes


def test_the_underwriter_sees_referrals_with_grade_accumulation_and_suggestion_and_decides(
    app_client: TestClient, ready: World, headers: Headers
) -> None:
    # Insured B sells to A's buyer too, and holds 30,000 on it.
    joined = app_client.post(
        f"{API}/buyers",
        headers=headers["insured_user_b"],
        json={"identifiers": [{"kind": "siren", "value": SIREN_A}], "legal_name": "Buyer of A"},
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["id"] == ready.buyer_a
    assert ask(app_client, headers["insured_user_b"], ready.policy_b, ready.buyer_a, "30000.00").status_code == 201
    referred = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "180000.00").json()
    assert (referred["state"], referred["status"]) == ("referred", "referred")
    assert referred["granted_amount"] == money("0.00")
    assert referred["suggested_amount"] == money("170000.00")
    assert [r["code"] for r in referred["reasons"]] == ["above_automatic_ceiling"]

    assert_problem(app_client.get(f"{API}/referrals", headers=headers["insured_user"]), 403, "auth.forbidden")
    queue = app_client.get(f"{API}/referrals", headers=headers["underwriter"])
    assert queue.status_code == 200, queue.text
    [item] = [i for i in queue.json()["items"] if i["request"]["id"] == referred["id"]]
    assert item["request"]["id"] == referred["id"]
    assert item["request"]["suggested_amount"] == money("170000.00")
    assert (item["buyer"]["id"], item["buyer"]["risk_grade"]) == (ready.buyer_a, 3)
    assert Decimal(item["accumulation_on_buyer"]) == Decimal("30000")
    assert Decimal(item["capacity_amount"]) == Decimal("200000")
    assert item["group_capacity_amount"] is None

    decision_path = f"{API}/limit-requests/{referred['id']}/decision"
    by_insured = app_client.post(
        decision_path, headers=headers["insured_user"], json={"status": "approved", "reason": "please"}
    )
    assert_problem(by_insured, 403, "auth.forbidden")
    decided = app_client.post(
        decision_path,
        headers=headers["underwriter"],
        json={"status": "partially_approved", "amount": money("170000.00"), "reason": "capacity left"},
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["state"], body["status"], body["granted_amount"]) == (
        "decided",
        "partially_approved",
        money("170000.00"),
    )
    assert [r["code"] for r in body["reasons"]] == ["underwriter_decision"]
    again = app_client.post(decision_path, headers=headers["underwriter"], json={"status": "refused", "reason": "x"})
    assert_problem(again, 422, "credit_limit.already_decided")
    remaining = app_client.get(f"{API}/referrals", headers=headers["underwriter"]).json()["items"]
    assert referred["id"] not in [i["request"]["id"] for i in remaining]
    seen = app_client.get(f"{API}/limit-requests/{referred['id']}", headers=headers["insured_user"]).json()
    assert (seen["state"], seen["granted_amount"]) == ("decided", money("170000.00"))


def test_decisions_above_the_four_eyes_threshold_need_a_second_underwriter(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    limits = f"{API}/policies/{world.policy_a}/limits"

    def in_force() -> dict[str, str] | None:
        rows = app_client.get(limits, headers=headers["insured_user"]).json()
        return {r["buyer_id"]: r["amount_in_force"] for r in rows}.get(world.buyer_a)

    created = app_client.post(
        f"{API}/organisations/{world.insurer_id}/users",
        headers=headers["admin"],
        json={
            "email": "second.underwriter@example.fr",
            "full_name": "Second Underwriter",
            "role": "underwriter",
            "password": "another correct horse battery",
        },
    )
    assert created.status_code == 201, created.text
    second = login(app_client, "second.underwriter@example.fr", "another correct horse battery")
    first = headers["underwriter"]
    for who in (first, second):
        assert app_client.get(f"{API}/referrals", headers=who).status_code == 200

    container.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    capacity = app_client.post(
        f"{API}/buyers/{world.buyer_a}/capacity",
        headers=first,
        json={"amount": money("2000000.00"), "reason": "group guarantee"},
    )
    assert capacity.status_code == 204, capacity.text
    request = ask(app_client, headers["insured_user"], world.policy_a, world.buyer_a, "600000.00").json()
    assert request["state"] == "referred"
    path = f"{API}/limit-requests/{request['id']}/decision"
    approve = {"status": "approved", "reason": "strong balance sheet"}

    pending = app_client.post(path, headers=first, json=approve)
    assert pending.status_code == 200, pending.text
    assert pending.json()["state"] == "awaiting_second_approval"
    assert "four_eyes_pending" in [r["code"] for r in pending.json()["reasons"]]
    held = in_force()  # nothing changes until the second approval

    assert_problem(app_client.post(path, headers=first, json=approve), 403, "credit_limit.four_eyes")
    other_amount = {**approve, "amount": money("550000.00")}
    assert_problem(app_client.post(path, headers=second, json=other_amount), 422, "credit_limit.four_eyes_mismatch")
    confirmed = app_client.post(path, headers=second, json=approve)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["state"], confirmed.json()["granted_amount"]) == ("decided", money("600000.00"))
    assert held != money("600000.00")
    assert in_force() == money("600000.00")
    history = app_client.get(f"{limits}/{world.buyer_a}", headers=headers["insured_user"]).json()
    assert history[-1]["decided_by"] == f"user:{created.json()['id']}"


# ------------------------------------------------------------------ revisions and limits in force


def test_revisions_reduce_and_cancel_and_the_insured_is_alerted(
    app_client: TestClient, ready: World, headers: Headers
) -> None:
    uw, insured = headers["underwriter"], headers["insured_user"]
    assert ask(app_client, insured, ready.policy_a, ready.buyer_a, "50000.00").status_code == 201
    path = f"{API}/policies/{ready.policy_a}/limits/{ready.buyer_a}/revisions"
    alerts_before = app_client.get(f"{API}/alerts", headers=insured).json()["items"]
    assert not [a for a in alerts_before if a["kind"] == "limit_revised"]

    by_insured = app_client.post(path, headers=insured, json={"amount": money("20000.00"), "reason": "x"})
    assert_problem(by_insured, 403, "auth.forbidden")
    upwards = app_client.post(path, headers=uw, json={"amount": money("60000.00"), "reason": "x"})
    assert_problem(upwards, 422, "credit_limit.not_a_reduction")

    reduced = app_client.post(path, headers=uw, json={"amount": money("20000.00"), "reason": "late payments"})
    assert reduced.status_code == 201, reduced.text
    body = reduced.json()
    assert (body["status"], body["granted_amount"]) == ("reduced", money("20000.00"))
    assert body["request_type"] == "reduction"
    assert body["reasons"][0]["code"] == "reduced_by_insurer"
    assert body["reasons"][1] == {"code": "note", "label_fr": "late payments", "label_en": "late payments"}

    alerts = app_client.get(f"{API}/alerts", headers=insured).json()["items"]
    revised = [a for a in alerts if a["kind"] == "limit_revised"]
    assert len(revised) == 1
    assert revised[0]["buyer_id"] == ready.buyer_a
    alerts_b = app_client.get(f"{API}/alerts", headers=headers["insured_user_b"]).json()["items"]
    assert not [a for a in alerts_b if a["kind"] == "limit_revised"]

    cancelled = app_client.post(path, headers=uw, json={"reason": "buyer stopped trading with the insured"})
    assert cancelled.status_code == 201, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["granted_amount"]) == ("cancelled", money("0.00"))
    nothing_left = app_client.post(path, headers=uw, json={"reason": "again"})
    assert_problem(nothing_left, 422, "credit_limit.none_in_force")

    history = app_client.get(f"{API}/policies/{ready.policy_a}/limits/{ready.buyer_a}", headers=insured)
    assert history.status_code == 200, history.text
    decisions = history.json()
    assert [d["sequence"] for d in decisions] == list(range(1, len(decisions) + 1))
    assert decisions[-3]["sequence"] == body["sequence"] - 1
    assert [(d["status"], d["granted_amount"]["amount"]) for d in decisions[-3:]] == [
        ("approved", "50000.00"),
        ("reduced", "20000.00"),
        ("cancelled", "0.00"),
    ]


def test_the_policys_limits_list_amounts_in_force_with_history(
    app_client: TestClient, ready: World, headers: Headers, container: Container
) -> None:
    insured = headers["insured_user"]
    decisions_before = count(container, "limit_decisions")
    add_b = app_client.post(
        f"{API}/buyers",
        headers=insured,
        json={"identifiers": [{"kind": "siren", "value": "542051180"}], "legal_name": "Buyer of B"},
    )
    assert add_b.status_code == 200, add_b.text  # world.buyer_b, now in A's book too
    assert ask(app_client, insured, ready.policy_a, ready.buyer_a, "40000.00").status_code == 201
    increase = ask(app_client, insured, ready.policy_a, ready.buyer_a, "60000.00", request_type="increase")
    assert increase.json()["granted_amount"] == money("60000.00")
    reduced = ask(app_client, insured, ready.policy_a, ready.buyer_b, "25000.00")
    assert reduced.status_code == 201
    own_reduction = ask(app_client, insured, ready.policy_a, ready.buyer_b, "10000.00", request_type="reduction")
    assert own_reduction.status_code == 201, own_reduction.text
    assert [r["code"] for r in own_reduction.json()["reasons"]] == ["reduced_at_insured_request"]

    listed = app_client.get(f"{API}/policies/{ready.policy_a}/limits", headers=insured)
    assert listed.status_code == 200, listed.text
    rows = {row["buyer_id"]: row for row in listed.json()}
    assert rows[ready.buyer_a]["amount_in_force"] == money("60000.00")
    assert [d["granted_amount"]["amount"] for d in rows[ready.buyer_a]["history"][-2:]] == ["40000.00", "60000.00"]
    assert rows[ready.buyer_b]["amount_in_force"] == money("10000.00")
    assert [d["status"] for d in rows[ready.buyer_b]["history"]] == ["approved", "reduced"]
    for row in rows.values():
        for decision in row["history"]:
            assert_labelled(decision["reasons"])
            assert decision["effective_date"] == "2026-03-15"
    assert count(container, "limit_decisions") == decisions_before + 4


# ------------------------------------------------------------------ prospect queries


def prospect(client: TestClient, who: dict[str, str], policy_id: str, buyer_id: str, amount: str) -> Response:
    response: Response = client.post(
        f"{API}/policies/{policy_id}/prospect-queries",
        headers=who,
        json={"buyer_id": buyer_id, "amount": money(amount)},
    )
    return response


def test_a_prospect_query_creates_nothing(
    app_client: TestClient, ready: World, headers: Headers, container: Container
) -> None:
    limits = f"{API}/policies/{ready.policy_a}/limits"
    before = (count(container, "limit_requests"), count(container, "limit_decisions"))
    listed_before = app_client.get(limits, headers=headers["insured_user"]).json()
    response = prospect(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "80000.00")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["binding"] is False
    assert (body["status"], body["granted_amount"]) == ("approved", money("80000.00"))
    assert [r["code"] for r in body["reasons"]] == ["approved_in_full", "indication_only"]
    assert_labelled(body["reasons"])
    above = prospect(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "300000.00").json()
    assert (above["status"], above["granted_amount"], above["binding"]) == ("referred", money("200000.00"), False)
    assert (count(container, "limit_requests"), count(container, "limit_decisions")) == before
    assert app_client.get(limits, headers=headers["insured_user"]).json() == listed_before


def test_prospect_queries_are_rate_limited_per_insured(app_client: TestClient, ready: World, headers: Headers) -> None:
    allowance = credit_limits.DEFAULT_SETTINGS.prospect_queries_per_hour
    statuses = [
        prospect(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "10000.00").status_code
        for _ in range(allowance)
    ]
    assert statuses == [200] * allowance
    refused = prospect(app_client, headers["broker_user"], ready.policy_a, ready.buyer_a, "10000.00")
    body = assert_problem(refused, 429, "credit_limit.prospect_rate_limited")
    assert body["context"] == {"retry_after_seconds": "3600"}
    assert refused.headers["Retry-After"] == "3600"
    # B has its own allowance.
    assert prospect(app_client, headers["insured_user_b"], ready.policy_b, ready.buyer_b, "10000.00").status_code == 200


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        (50000, 422, "request.invalid"),  # a JSON number: amounts travel as strings
        ({"amount": "1e5", "currency": "EUR"}, 422, "request.invalid"),
        ({"amount": "50000.00"}, 422, "request.invalid"),
        ({"amount": "0.00", "currency": "EUR"}, 422, "credit_limit.invalid_amount"),
        ({"amount": "-100.00", "currency": "EUR"}, 422, "credit_limit.invalid_amount"),
        ({"amount": "100.001", "currency": "EUR"}, 422, "credit_limit.invalid_amount"),
        ({"amount": "50000.00", "currency": "USD"}, 422, "credit_limit.currency_mismatch"),
        ({"amount": "50000.00", "currency": "XYZ"}, 422, "money.unknown_currency"),
    ],
)
def test_bad_amounts_are_refused_with_stable_codes(
    app_client: TestClient, ready: World, headers: Headers, container: Container, amount: Any, status: int, code: str
) -> None:
    before = (count(container, "limit_requests"), count(container, "limit_decisions"))
    body = {"buyer_id": ready.buyer_a, "amount": amount}
    response = app_client.post(
        f"{API}/policies/{ready.policy_a}/limit-requests", headers=headers["insured_user"], json=body
    )
    assert_problem(response, status, code)
    assert (count(container, "limit_requests"), count(container, "limit_decisions")) == before


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"request_type": "bigger"}, "request.invalid"),
        ({"request_type": "preliminary_assessment"}, "credit_limit.use_prospect_query"),
        ({"temporary_until": "2026-03-15"}, "credit_limit.invalid_end_date"),
        ({"temporary_until": "someday"}, "request.invalid"),
        ({"colour": "blue"}, "request.invalid"),
    ],
)
def test_bad_requests_are_refused_with_stable_codes(
    app_client: TestClient, ready: World, headers: Headers, extra: dict[str, str], code: str
) -> None:
    response = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "10000.00", **extra)
    assert_problem(response, 422, code)


def test_bad_decisions_are_refused_with_stable_codes(app_client: TestClient, ready: World, headers: Headers) -> None:
    uw = headers["underwriter"]
    queued = app_client.get(f"{API}/referrals", headers=uw).json()["total"]
    request = ask(app_client, headers["insured_user"], ready.policy_a, ready.buyer_a, "180000.00").json()
    path = f"{API}/limit-requests/{request['id']}/decision"
    cases = [
        ({"status": "approved"}, "request.invalid"),  # a reason is required
        ({"status": "approved", "reason": ""}, "request.invalid"),
        ({"status": "approved", "reason": "   "}, "credit_limit.reason_required"),
        ({"status": "conditional", "reason": "x"}, "credit_limit.invalid_response"),
        ({"status": "approved", "amount": money("180000.01"), "reason": "x"}, "credit_limit.above_request"),
        ({"status": "approved", "amount": money("0.00"), "reason": "x"}, "credit_limit.invalid_amount"),
        ({"status": "approved", "amount": 1000, "reason": "x"}, "request.invalid"),
    ]
    for body, code in cases:
        assert_problem(app_client.post(path, headers=uw, json=body), 422, code)
    unknown = app_client.post(
        f"{API}/limit-requests/nope/decision", headers=uw, json={"status": "refused", "reason": "x"}
    )
    assert_problem(unknown, 404, "limit_request.not_found")
    assert app_client.get(f"{API}/referrals", headers=uw).json()["total"] == queued + 1
