"""Quotes over HTTP: apply, revise, issue; tenancy, expiry and bad input (DOMAIN.md §2 step 0, §3).

Through the real application (``TestClient``) on each backend, in api_world's world (15 March 2026):
insured A with a broker holding an "act" mandate, insured B, the insurer's staff. The application is
api_world's :func:`quote_application`, priced by hand in tests/unit/domain/test_quotes.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_world import World, login, quote_application
from fastapi.testclient import TestClient
from sqlalchemy import text

from tradecover.bootstrap import Container
from tradecover.domain.periods import FixedClock

API = "/api/v1"
PROBLEM = "application/problem+json"
QUOTE_TABLES = ("quotes", "quote_buyers", "quote_loss_years", "quote_versions", "policies")


def counts(container: Container) -> dict[str, int]:
    with container.engine.connect() as connection:
        return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in QUOTE_TABLES}


def problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body


def apply(client: TestClient, who: dict[str, str], holder: str, **changes: Any) -> Any:
    body = quote_application(holder) | changes
    return client.post(f"{API}/quotes", json=body, headers=who)


def test_insured_applies_underwriter_revises_and_issues_the_policy(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    created = apply(app_client, headers["insured_user"], world.insured_a)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert (quote["status"], quote["version"], quote["valid_until"]) == ("proposed", 1, "2026-04-14")
    assert quote["expected_premium"] == {"amount": "10200.00", "currency": "EUR"}
    assert quote["premium_rates"] == {"domestic_rate": "0.005100", "export_rate": "0.008160"}
    [v1] = quote["versions"]
    figures = {line["code"]: (line["figure"], line["unit"]) for line in v1["lines"]}
    assert figures["book.expected_loss"] == ("4080.00", "EUR")
    assert figures["experience.factor"] == ("1.25", "factor")
    assert v1["terms"]["minimum_premium"] == {"amount": "7650.00", "currency": "EUR"}
    assert quote["application"]["section"] == "C"

    # The insured may not adjust its own quote; an underwriter does, with a reason.
    changes = {"changes": {"premium_rates": {"export_rate": "0.0075"}, "indemnity_rate": "0.80"}, "reason": "offer"}
    url = f"{API}/quotes/{quote['id']}"
    problem(app_client.post(url + "/versions", json=changes, headers=headers["insured_user"]), 403, "auth.forbidden")
    revised = app_client.post(url + "/versions", json=changes, headers=headers["underwriter"])
    assert revised.status_code == 201, revised.text
    assert [v["version"] for v in revised.json()["versions"]] == [1, 2]
    assert revised.json()["expected_premium"] == {"amount": "9870.00", "currency": "EUR"}

    # Version 1 was superseded: issuing it is refused; the latest is issued.
    stale = app_client.post(
        url + "/issue", json={"start_date": "2026-04-01", "version": 1}, headers=headers["underwriter"]
    )
    problem(stale, 409, "quote.stale_version", "version")
    issued = app_client.post(
        url + "/issue", json={"start_date": "2026-04-01", "version": 2}, headers=headers["underwriter"]
    )
    assert issued.status_code == 201, issued.text
    policy = issued.json()["policy"]
    assert issued.json()["quote"]["status"] == "issued"
    assert issued.json()["quote"]["issued_policy_id"] == policy["id"]
    assert policy["policyholder_id"] == world.insured_a
    assert policy["current_period"] == {"start_date": "2026-04-01", "end_date": "2027-04-01"}
    # The insured reads its new policy with the revised terms.
    [terms] = app_client.get(f"{API}/policies/{policy['id']}/terms", headers=headers["insured_user"]).json()
    assert terms["terms"] == revised.json()["versions"][-1]["terms"]
    assert terms["terms"]["premium_rates"] == {"domestic_rate": "0.005100", "export_rate": "0.0075"}
    assert terms["terms"]["indemnity_rate"] == "0.80"
    assert terms["terms"]["covered_countries"] == ["FR", "DE"]
    again = app_client.post(url + "/issue", json={"start_date": "2026-04-01"}, headers=headers["underwriter"])
    problem(again, 409, "quote.already_issued")
    shown = app_client.get(url, headers=headers["broker_user"]).json()
    assert (shown["status"], len(shown["versions"])) == ("issued", 2)


def test_another_insured_gets_404_and_the_mandated_broker_applies(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    by_broker = apply(app_client, headers["broker_user"], world.insured_a)
    assert by_broker.status_code == 201, by_broker.text
    quote_id = by_broker.json()["id"]
    of_b = apply(app_client, headers["insured_user_b"], world.insured_b)
    assert of_b.status_code == 201, of_b.text
    other = app_client.get(f"{API}/quotes/{quote_id}", headers=headers["insured_user_b"])
    missing = app_client.get(f"{API}/quotes/00000000-0000-0000-0000-000000000000", headers=headers["insured_user_b"])
    problem(other, 404, "quote.not_found")
    assert (other.status_code, other.json()["code"]) == (missing.status_code, missing.json()["code"])
    problem(apply(app_client, headers["insured_user_b"], world.insured_a), 404, "organisation.not_found")
    problem(apply(app_client, headers["factor_user"], world.insured_a), 403, "auth.forbidden")
    listed = app_client.get(f"{API}/quotes", headers=headers["insured_user"]).json()
    assert [q["id"] for q in listed["items"]] == [quote_id]
    everything = app_client.get(f"{API}/quotes", headers=headers["underwriter"], params={"limit": 1}).json()
    assert (len(everything["items"]), everything["total"]) == (1, 2)


def test_bad_input_is_a_problem_with_code_and_field_and_nothing_is_written(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = counts(container)
    negative = apply(
        app_client,
        headers["insured_user"],
        world.insured_a,
        turnover={
            "domestic": {"amount": "-1000.00", "currency": "EUR"},
            "export": {"amount": "5.00", "currency": "EUR"},
        },
    )
    problem(negative, 422, "quote.negative_turnover", "turnover.domestic")
    grade = apply(
        app_client,
        headers["insured_user"],
        world.insured_a,
        buyers=[{"name": "X", "country": "FR", "outstanding": {"amount": "1.00", "currency": "EUR"}, "risk_grade": 12}],
    )
    problem(grade, 422, "quote.invalid_grade", "buyers[0].risk_grade")
    assert counts(container) == before

    quote_id = apply(app_client, headers["insured_user"], world.insured_a).json()["id"]
    before = counts(container)
    out_of_range = app_client.post(
        f"{API}/quotes/{quote_id}/versions",
        json={"changes": {"premium_rates": {"domestic_rate": "0.5"}}, "reason": "typo"},
        headers=headers["underwriter"],
    )
    problem(out_of_range, 422, "terms.out_of_range", "premium_rates.domestic_rate")
    no_reason = app_client.post(
        f"{API}/quotes/{quote_id}/versions",
        json={"changes": {"indemnity_rate": "0.80"}, "reason": " "},
        headers=headers["underwriter"],
    )
    problem(no_reason, 422, "quote.reason_required", "reason")
    assert counts(container) == before


def test_an_expired_quote_is_refused(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    quote_id = apply(app_client, headers["insured_user"], world.insured_a).json()["id"]
    clock: FixedClock = container.clock  # type: ignore[assignment]
    clock.set(datetime(2026, 4, 15, 9, 0, tzinfo=UTC))  # valid up to and including 14 April
    underwriter = login(app_client, world.emails["underwriter"])  # tokens live 15 minutes
    assert app_client.get(f"{API}/quotes/{quote_id}", headers=underwriter).json()["status"] == "expired"
    before = counts(container)
    refused = app_client.post(f"{API}/quotes/{quote_id}/issue", json={"start_date": "2026-05-01"}, headers=underwriter)
    problem(refused, 422, "quote.expired")
    assert counts(container) == before


def test_a_nonexistent_naf_code_a_repeated_buyer_and_a_control_character_are_refused(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    before = counts(container)
    insured = headers["insured_user"]
    # The shape of a NAF code is not enough: 99.99Q is in no INSEE list; "４６" is not ASCII digits.
    problem(apply(app_client, insured, world.insured_a, sector="99.99Q"), 422, "quote.invalid_sector", "sector")
    problem(apply(app_client, insured, world.insured_a, sector="４６"), 422, "quote.invalid_sector", "sector")
    buyers: list[dict[str, Any]] = quote_application()["buyers"]  # type: ignore[assignment]
    first, rest = buyers[0], buyers[1:]
    again = dict(first, name="Usinage Lyonnais (bis)", identifier="552 100 554")
    problem(
        apply(app_client, insured, world.insured_a, buyers=[first, *rest, again]),
        422,
        "quote.duplicate_buyer",
        "buyers[3].identifier",
    )
    # PostgreSQL stores no NUL in text: a clear 422, not a 500 (refused with the body, field named Pydantic's way);
    # any other control character by the domain.
    problem(
        apply(app_client, insured, world.insured_a, buyers=[dict(first, name="Usinage\x00Lyonnais")]),
        422,
        "request.invalid",
    )
    problem(
        apply(app_client, insured, world.insured_a, buyers=[dict(first, name="Usinage\x1bLyonnais")]),
        422,
        "quote.control_character",
        "buyers[0].name",
    )
    # A French number's check digit is checked.
    problem(
        apply(app_client, insured, world.insured_a, buyers=[dict(first, identifier="552 100 555"), *rest]),
        422,
        "identifier.invalid_siren",
        "buyers[0].identifier",
    )
    assert counts(container) == before
    assert apply(app_client, insured, world.insured_a, sector="4562").status_code == 422
    assert apply(app_client, insured, world.insured_a, sector="46.69").status_code == 201


def test_the_underwriter_sets_the_premium_instalments_over_http(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    quote_id = apply(app_client, headers["insured_user"], world.insured_a).json()["id"]
    url = f"{API}/quotes/{quote_id}/versions"
    before = counts(container)
    three = app_client.post(
        url, json={"changes": {"premium_instalments": 3}, "reason": "quarterly?"}, headers=headers["underwriter"]
    )
    problem(three, 422, "terms.out_of_range", "premium_instalments")
    assert counts(container) == before
    monthly = app_client.post(
        url,
        json={"changes": {"premium_instalments": 12, "declaration_frequency": "monthly"}, "reason": "monthly"},
        headers=headers["underwriter"],
    )
    assert monthly.status_code == 201, monthly.text
    terms = monthly.json()["versions"][-1]["terms"]
    assert (terms["premium_instalments"], terms["declaration_frequency"]) == (12, "monthly")


def test_a_referred_quote_is_issued_once_revised_and_within_its_start_window(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], container: Container
) -> None:
    buyers: list[dict[str, Any]] = quote_application()["buyers"]  # type: ignore[assignment]
    failing = {"name": "Failing BV", "country": "NL", "outstanding": {"amount": "250000.00", "currency": "EUR"},
               "risk_grade": 10}  # fmt: skip
    created = apply(app_client, headers["insured_user"], world.insured_a, buyers=[*buyers, failing])
    assert created.status_code == 201, created.text
    quote = created.json()
    # Priced as the main book (the insolvent buyer loads nothing), flagged for the underwriter.
    assert quote["expected_premium"] == {"amount": "10200.00", "currency": "EUR"}
    assert quote["referral_reasons"] == ["buyers_not_coverable"]
    [v1] = quote["versions"]
    assert v1["referral_reasons"] == ["buyers_not_coverable"]
    assert v1["terms"]["covered_countries"] == ["FR", "DE"]
    lines = {line["code"]: line for line in v1["lines"]}
    assert lines["book.not_coverable.buyers[3]"]["figure"] == "250000.00"
    assert "not coverable (grade ≥ 9)" in lines["book.not_coverable.buyers[3]"]["label"]
    assert [b["coverable"] for b in quote["application"]["buyers"]] == [True, True, True, False]
    listed = app_client.get(f"{API}/quotes", headers=headers["underwriter"]).json()["items"]
    assert [q["referral_reasons"] for q in listed if q["id"] == quote["id"]] == [["buyers_not_coverable"]]

    url = f"{API}/quotes/{quote['id']}"
    before = counts(container)
    unresolved = app_client.post(url + "/issue", json={"start_date": "2026-04-01"}, headers=headers["underwriter"])
    problem(unresolved, 422, "quote.referral_unresolved")
    assert unresolved.json()["context"]["referral_reasons"] == "buyers_not_coverable"
    assert counts(container) == before
    revised = app_client.post(
        url + "/versions", json={"changes": {"indemnity_rate": "0.80"}, "reason": "reviewed"},
        headers=headers["underwriter"],
    )  # fmt: skip
    assert revised.status_code == 201, revised.text
    before = counts(container)
    # Version 2 of 15 March 2026: − 90 days = 15 December 2025 is the earliest start; + 365 days = 15 March 2027
    # the last.
    for start in ("2025-12-14", "2027-03-16"):
        late = app_client.post(url + "/issue", json={"start_date": start}, headers=headers["underwriter"])
        problem(late, 422, "quote.start_date_out_of_range", "start_date")
    assert counts(container) == before
    issued = app_client.post(url + "/issue", json={"start_date": "2027-03-15"}, headers=headers["underwriter"])
    assert issued.status_code == 201, issued.text
    assert issued.json()["quote"]["referral_reasons"] == ["buyers_not_coverable"]
