"""Renewal and termination over HTTP (DOMAIN.md §3): notice, tacit renewal, termination, run-off.

The world's policies start on 1 January 2026 with 90 days' notice (deadline 3 October 2026); the clock
stands at 15 March 2026, when A's buyer holds a 50,000 EUR limit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from api_world import World, login
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from typer.testing import CliRunner

from tradecover.bootstrap import Container, build
from tradecover.cli.main import app
from tradecover.config import Settings
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.services import accounts, policies
from tradecover.services.authorization import system_actor

API = "/api/v1"
THIS_YEAR = datetime.now(UTC).year
PROBLEM = "application/problem+json"
Headers = dict[str, dict[str, str]]


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert body["detail"]
    return body


def move_to(container: Container, client: TestClient, world: World, day: date) -> Headers:
    """Move the clock (access tokens expire) and log in again."""
    container.clock.set(datetime.combine(day, time(9, 0), tzinfo=UTC))  # type: ignore[attr-defined]
    return {name: login(client, email) for name, email in world.emails.items()}


def renew_due(container: Container, world: World, as_of: date) -> list[str]:
    """The premium batch's call on ``as_of`` (the clock moves there: a batch never runs ahead)."""
    if as_of > container.clock.today():
        container.clock.set(datetime.combine(as_of, time(9, 0), tzinfo=UTC))  # type: ignore[attr-defined]
    with container.uow() as uow:
        renewed = policies.renew_due_policies(uow, container.clock, system_actor(world.insurer_id), as_of=as_of)
    return [r.policy_id for r in renewed]


def test_notice_in_time_ends_the_policy_at_the_period_end(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    url = f"{API}/policies/{world.policy_a}"
    given = app_client.post(
        f"{url}/termination-notice", json={"reason": "moving insurer"}, headers=headers["broker_user"]
    )

    assert given.status_code == 201, given.text
    body = given.json()
    assert (body["status"], body["termination_date"], body["termination_kind"]) == ("in_force", "2027-01-01", "notice")
    notice = body["termination_notice"]
    assert notice | {"message": ""} == {
        "given_by": "insured",
        "given_on": "2026-03-15",
        "reason": "moving insurer",
        "deadline": "2026-10-03",
        "in_time": True,
        "outcome": "ends_at_period_end",
        "effective_date": "2027-01-01",
        "message": "",
    }
    assert_problem(
        app_client.post(f"{url}/termination-notice", json={"reason": "again"}, headers=headers["insured_user"]),
        422,
        "policy.already_terminated",
    )

    assert renew_due(container, world, date(2027, 1, 1)) == [world.policy_b]

    headers = move_to(container, app_client, world, date(2027, 1, 1))
    read = app_client.get(url, headers=headers["insured_user"]).json()
    assert (read["status"], len(read["periods"])) == ("terminated", 1)
    assert_problem(
        app_client.post(f"{url}/renewals", json={"reason": "manual"}, headers=headers["underwriter"]),
        422,
        "policy.terminated",
    )


def test_late_notice_renews_the_policy_once_more(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    headers = move_to(container, app_client, world, date(2026, 10, 4))  # the day after the deadline

    given = app_client.post(
        f"{API}/policies/{world.policy_a}/termination-notice",
        json={"reason": "moving insurer"},
        headers=headers["insured_user"],
    )

    assert given.status_code == 201, given.text
    notice = given.json()["termination_notice"]
    assert (notice["in_time"], notice["outcome"], notice["effective_date"]) == (
        False,
        "renewed_once_more",
        "2028-01-01",
    )
    assert "renewed once more" in notice["message"]
    assert sorted(renew_due(container, world, date(2028, 6, 1))) == sorted(
        [world.policy_a, world.policy_b, world.policy_b]
    )


def test_termination_refuses_new_limits_and_keeps_run_off_cover(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    url = f"{API}/policies/{world.policy_a}"

    def invoice(number: str, delivered: str) -> None:
        recorded = app_client.post(
            f"{url}/invoices",
            json={
                "buyer_id": world.buyer_a,
                "number": number,
                "issue_date": delivered,
                "due_date": "2026-05-10",
                "amount_excl_vat": {"amount": "1000.00", "currency": "EUR"},
                "vat_amount": {"amount": "200.00", "currency": "EUR"},
            },
            headers=headers["insured_user"],
        )
        assert recorded.status_code == 201, recorded.text

    invoice("F-BEFORE", "2026-03-10")
    assert_problem(
        app_client.post(
            f"{url}/termination", json={"effective_date": "2026-03-16", "reason": "x"}, headers=headers["insured_user"]
        ),
        403,
        "auth.forbidden",
    )
    # Never backwards: the deliveries made while the policy was in force keep their cover.
    assert_problem(
        app_client.post(
            f"{url}/termination", json={"effective_date": "2026-03-11", "reason": "x"}, headers=headers["underwriter"]
        ),
        422,
        "policy.termination_retroactive",
    )

    terminated = app_client.post(
        f"{url}/termination",
        json={"effective_date": "2026-03-16", "reason": "premium unpaid after formal notice"},
        headers=headers["underwriter"],
    )

    assert terminated.status_code == 201, terminated.text
    assert (terminated.json()["status"], terminated.json()["termination_kind"]) == ("in_force", "insurer_decision")
    headers = move_to(container, app_client, world, date(2026, 3, 20))
    invoice("F-AFTER", "2026-03-17")
    assert app_client.get(url, headers=headers["insured_user"]).json()["status"] == "terminated"
    with container.engine.connect() as connection:
        requests_before = connection.execute(text("SELECT count(*) FROM limit_requests")).scalar_one()
    refused = assert_problem(
        app_client.post(
            f"{url}/limit-requests",
            json={"buyer_id": world.buyer_a, "amount": {"amount": "60000", "currency": "EUR"}},
            headers=headers["insured_user"],
        ),
        422,
        "policy.terminated",
    )
    assert refused["context"] == {"termination_date": "2026-03-16"}
    with container.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM limit_requests")).scalar_one() == requests_before
    exposure = app_client.get(f"{url}/exposure?lines=true", headers=headers["insured_user"]).json()
    (buyer,) = exposure["buyers"]
    reasons = {line["number"]: (line["eligible"], line["reason"]) for line in buyer["lines"]}
    assert reasons == {"F-BEFORE": (True, None), "F-AFTER": (False, "delivered_after_termination")}
    assert buyer["covered"] == {"amount": "1000.00", "currency": "EUR"}
    assert_problem(
        app_client.post(
            f"{url}/termination", json={"effective_date": "2026-03-18", "reason": "again"}, headers=headers["admin"]
        ),
        422,
        "policy.already_terminated",
    )


def test_the_command_line_renews_and_terminates(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    seeded = build(Settings())
    try:
        with seeded.uow() as uow:
            admin = system_actor(accounts.ensure_insurer(uow, seeded.clock).id)
            holder = accounts.create_organisation(
                uow, seeded.clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Dupont SAS", country="FR"
            )
            issued, _ = policies.issue_policy(
                uow, seeded.clock, admin, policyholder_id=holder.id, start_date=date(THIS_YEAR - 2, 1, 1)
            )
    finally:
        seeded.dispose()

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, ["policies", *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    today = datetime.now(UTC).date().isoformat()  # the command line runs on the real clock (UTC)
    renewed = json.loads(run("renew-due", "--as-of", today, "--json"))
    assert [(r["number"], r["start"], r["end"]) for r in renewed] == [
        (issued.number, f"{THIS_YEAR - 1}-01-01", f"{THIS_YEAR}-01-01"),
        (issued.number, f"{THIS_YEAR}-01-01", f"{THIS_YEAR + 1}-01-01"),
    ]
    assert json.loads(run("renew-due", "--as-of", today, "--json")) == []
    end = f"{THIS_YEAR + 1}-01-01"
    terminated = json.loads(
        run("terminate", issued.number, "--effective-date", end, "--reason", "unpaid premium", "--json")
    )
    assert (terminated["termination_date"], terminated["termination_kind"]) == (end, "insurer_decision")
    assert "policy.already_terminated" in run("notice", issued.number, "--reason", "leaving", code=1)
    assert "premium" not in run("renew-due", "--help")


def test_the_command_line_notice_defaults_to_the_party_of_whoever_gives_it(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """An insured's notice from the command line needs no ``--by insured``; staff's defaults to the insurer."""
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    seeded = build(Settings())
    start = date(datetime.now(UTC).year, 1, 1)  # the command line runs on the real clock: a running period
    try:
        with seeded.uow() as uow:
            admin = system_actor(accounts.ensure_insurer(uow, seeded.clock).id)
            holder = accounts.create_organisation(
                uow, seeded.clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Martin SAS", country="FR"
            )
            accounts.create_user(
                uow, seeded.clock, admin, organisation_id=holder.id, email="credit@martin.example",
                full_name="Credit Manager", role=Role.INSURED_USER, password="a long enough password",
            )  # fmt: skip
            own, _ = policies.issue_policy(uow, seeded.clock, admin, policyholder_id=holder.id, start_date=start)
            staff, _ = policies.issue_policy(uow, seeded.clock, admin, policyholder_id=holder.id, start_date=start)
    finally:
        seeded.dispose()

    def notice(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(app, ["policies", "notice", *args, "--reason", "leaving", "--json"])
        assert result.exit_code == 0, (result.output, result.exception)
        parsed: dict[str, Any] = json.loads(result.output)
        return parsed

    assert notice(own.number, "--as", "credit@martin.example")["notice"]["given_by"] == "insured"
    assert notice(staff.number)["notice"]["given_by"] == "insurer"


def test_a_nul_character_is_refused_before_it_reaches_the_database(
    app_client: TestClient, container: Container, world: World, headers: Headers
) -> None:
    # PostgreSQL text cannot hold NUL: every request field refuses it (422), nothing is written.
    refused = app_client.post(
        f"{API}/policies/{world.policy_a}/termination-notice",
        json={"reason": "moving\u0000insurer"},
        headers=headers["insured_user"],
    )
    body = assert_problem(refused, 422, "request.invalid")
    assert body["field"] == "reason"
    read = app_client.get(f"{API}/policies/{world.policy_a}", headers=headers["insured_user"]).json()
    assert read["termination_notice"] is None
