"""Buyer risk over HTTP: statements, CSV imports, grades with reasons, legal events and alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_world import World, login
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from tradecover.api.app import create_app
from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.periods import FixedClock
from tradecover.ingest.bodacc import parse_bodacc
from tradecover.services import buyers, grading, monitoring
from tradecover.services.authorization import system_actor

API = "/api/v1"
PROBLEM = "application/problem+json"
SIREN_A = "552100554"  # world.buyer_a
SIREN_B = "542051180"  # world.buyer_b
NOT_A_BUYER = "732829320"  # a valid SIREN (Insured A's own), in no book
HEADER = "siren,fiscal_year_end,total_assets,equity,turnover,ebit,net_income\n"

Headers = dict[str, dict[str, str]]


def assert_problem(response: Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def statement(fiscal_year_end: str = "2025-12-31", **amounts: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "fiscal_year_end": fiscal_year_end,
        "currency": "EUR",
        "total_assets": "1250000.50",
        "equity": "400000",
        "turnover": "2000000",
        "ebit": "150000",
        "net_income": "90000",
        "working_capital": "-25000.10",
    }
    body.update(amounts)
    return body


def post_statement(client: TestClient, who: dict[str, str], buyer_id: str, body: dict[str, Any]) -> Response:
    response: Response = client.post(f"{API}/buyers/{buyer_id}/financials", headers=who, json=body)
    return response


def upload(
    client: TestClient, who: dict[str, str], name: str, content: str | bytes, *, dry_run: bool = False
) -> Response:
    data = content.encode() if isinstance(content, str) else content
    params = {"dry_run": "true"} if dry_run else None
    response: Response = client.post(
        f"{API}/financials/imports", headers=who, params=params, files={"file": (name, data, "text/csv")}
    )
    return response


# ------------------------------------------------------------------ statements


def test_an_underwriter_records_a_statement_then_corrects_it(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    uw = headers["underwriter"]
    created = post_statement(app_client, uw, world.buyer_a, statement())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["buyer_id"] == world.buyer_a
    assert (body["fiscal_year_end"], body["version"], body["currency"]) == ("2025-12-31", 1, "EUR")
    assert body["amounts"]["total_assets"] == {"amount": "1250000.50", "currency": "EUR"}
    assert body["amounts"]["equity"] == {"amount": "400000.00", "currency": "EUR"}
    assert body["amounts"]["working_capital"] == {"amount": "-25000.10", "currency": "EUR"}
    assert body["amounts"]["retained_earnings"] is None  # unknown, never zero
    assert all(isinstance(m["amount"], str) for m in body["amounts"].values() if m is not None)
    assert body["source"] == "api"
    assert body["recorded_by"]

    # The same figures (spelt differently) again: nothing new.
    again = post_statement(app_client, uw, world.buyer_a, statement(equity="400000.00"))
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1
    assert count(container, "financial_statements") == 1

    # An earlier year, then a correction of the latest one.
    older = post_statement(app_client, uw, world.buyer_a, statement("2024-12-31", total_assets="900000"))
    assert older.status_code == 201, older.text
    corrected = post_statement(app_client, uw, world.buyer_a, statement(equity="350000"))
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["version"] == 2
    assert corrected.json()["amounts"]["equity"]["amount"] == "350000.00"
    assert count(container, "financial_statements") == 3  # versions are kept

    listed = app_client.get(f"{API}/buyers/{world.buyer_a}/financials", headers=uw)
    assert listed.status_code == 200, listed.text
    latest = [(s["fiscal_year_end"], s["version"], s["amounts"]["equity"]["amount"]) for s in listed.json()]
    assert latest == [("2025-12-31", 2, "350000.00"), ("2024-12-31", 1, "400000.00")]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"total_assets": 1250000.5}, 422, "request.invalid", "total_assets"),
        ({"equity": 400000}, 422, "request.invalid", "equity"),
        ({"total_assets": "1e6"}, 422, "request.invalid", "total_assets"),
        ({"surprise": "1"}, 422, "request.invalid", "surprise"),
        ({"total_assets": "-5"}, 422, "financials.negative", "total_assets"),
        ({"total_assets": "0"}, 422, "financials.total_assets", "total_assets"),
        ({"turnover": "-1"}, 422, "financials.negative", "turnover"),
        ({"fiscal_year_end": "2026-12-31"}, 422, "financials.future_year_end", "fiscal_year_end"),
        ({"currency": "EUX"}, 422, "money.unknown_currency", None),
    ],
    ids=[
        "float-total",
        "int-equity",
        "exponent",
        "unknown-field",
        "negative-total",
        "zero-total",
        "negative-turnover",
        "future-year",
        "unknown-currency",
    ],
)
def test_a_bad_statement_is_refused_and_nothing_is_written(
    app_client: TestClient,
    world: World,
    headers: Headers,
    container: Container,
    change: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    audit_before = count(container, "audit_events")
    response = post_statement(app_client, headers["underwriter"], world.buyer_a, statement(**change))
    assert_problem(response, status, code, field=field)
    assert count(container, "financial_statements") == 0
    assert count(container, "audit_events") == audit_before


def test_an_insured_reads_its_buyers_financials_but_does_not_record_them(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    assert post_statement(app_client, headers["underwriter"], world.buyer_a, statement()).status_code == 201
    assert post_statement(app_client, headers["underwriter"], world.buyer_b, statement()).status_code == 201
    insured = headers["insured_user"]
    mine = app_client.get(f"{API}/buyers/{world.buyer_a}/financials", headers=insured)
    assert mine.status_code == 200, mine.text
    assert [s["buyer_id"] for s in mine.json()] == [world.buyer_a]

    refused = post_statement(app_client, insured, world.buyer_a, statement(equity="1"))
    assert_problem(refused, 403, "auth.forbidden")
    assert_problem(app_client.get(f"{API}/buyers/{world.buyer_b}/financials", headers=insured), 404, "buyer.not_found")
    assert_problem(post_statement(app_client, insured, world.buyer_b, statement(equity="1")), 404, "buyer.not_found")
    assert_problem(
        app_client.get(f"{API}/buyers/{world.buyer_b}/financials", headers=headers["factor_user"]),
        404,
        "buyer.not_found",
    )
    assert count(container, "financial_statements") == 2


# ---------------------------------------------------------------- CSV imports


def test_a_good_csv_applies_and_reports_each_line(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    content = HEADER + (
        f"{SIREN_A},2025-12-31,1250000.50,400000,2000000,150000,90000\n"
        f'"{SIREN_B[:3]} {SIREN_B[3:6]} {SIREN_B[6:]}",2025-12-31,800000,,1500000,-20000,-30000\n'
    )
    response = upload(app_client, headers["underwriter"], "statements.csv", content)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["file"], body["applied"], body["created"], body["unchanged"], body["refused"]) == (
        "statements.csv",
        True,
        2,
        0,
        0,
    )
    assert [(line["line"], line["identifier"], line["outcome"]) for line in body["lines"]] == [
        (2, SIREN_A, "created"),
        (3, SIREN_B, "created"),
    ]
    assert count(container, "financial_statements") == 2
    listed = app_client.get(f"{API}/buyers/{world.buyer_b}/financials", headers=headers["underwriter"])
    [stored] = listed.json()
    assert stored["amounts"]["equity"] is None
    assert stored["amounts"]["ebit"] == {"amount": "-20000.00", "currency": "EUR"}
    assert stored["source"] == "statements.csv, line 3"

    again = upload(app_client, headers["underwriter"], "statements.csv", content).json()
    assert (again["applied"], again["created"], again["unchanged"]) == (True, 0, 2)
    assert count(container, "financial_statements") == 2


def test_a_csv_with_a_bad_line_writes_nothing(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    content = HEADER + (
        f"{SIREN_A},2025-12-31,1250000,400000,2000000,150000,90000\n"
        f"{NOT_A_BUYER},2025-12-31,500000,100000,900000,50000,30000\n"
        f"{SIREN_B},2025-12-31,800000,100000,900000,50000,30000\n"
    )
    audit_before = count(container, "audit_events")
    response = upload(app_client, headers["underwriter"], "../../etc/q1.csv", content)
    body = assert_problem(response, 422, "financials.import_refused", field="siren")
    assert "q1.csv" in body["detail"]
    assert "line 3" in body["detail"]
    assert "etc" not in body["detail"]  # only the file's name is kept
    assert body["context"] == {"file": "q1.csv", "line": "3", "refused": "1"}  # context values are text
    assert count(container, "financial_statements") == 0
    assert count(container, "audit_events") == audit_before

    # Parse errors too: every problem reported, nothing written.
    typed = HEADER + f"{SIREN_A},2025-13-31,abc,1,1,1,1\n"
    body = assert_problem(
        upload(app_client, headers["underwriter"], "typed.csv", typed), 422, "financials.import_refused"
    )
    assert body["context"]["line"] == "2"
    assert int(body["context"]["refused"]) >= 2
    assert count(container, "financial_statements") == 0


def test_a_dry_run_reports_without_writing(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    good = HEADER + f"{SIREN_A},2025-12-31,1250000,400000,2000000,150000,90000\n"
    response = upload(app_client, headers["underwriter"], "good.csv", good, dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["applied"], body["created"], body["refused"]) == (False, 1, 0)
    bad = good + f"{NOT_A_BUYER},2025-12-31,1,1,1,1,1\n"
    report = upload(app_client, headers["underwriter"], "bad.csv", bad, dry_run=True)
    assert report.status_code == 200, report.text
    assert (report.json()["applied"], report.json()["refused"]) == (False, 1)
    [refused] = [line for line in report.json()["lines"] if line["outcome"] == "refused"]
    assert (refused["line"], refused["field"]) == (3, "siren")
    assert count(container, "financial_statements") == 0


def test_an_insured_cannot_import(app_client: TestClient, world: World, headers: Headers, container: Container) -> None:
    good = HEADER + f"{SIREN_A},2025-12-31,1250000,400000,2000000,150000,90000\n"
    assert_problem(upload(app_client, headers["insured_user"], "good.csv", good), 403, "auth.forbidden")
    assert count(container, "financial_statements") == 0


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
    uw = login(small_upload_client, world.emails["underwriter"])
    good = HEADER + f"{SIREN_A},2025-12-31,1250000,400000,2000000,150000,90000\n"
    assert upload(small_upload_client, uw, "small.csv", good).status_code == 200
    padded = good + "\n" * 4000  # blank lines: a valid file, only too large
    assert_problem(upload(small_upload_client, uw, "big.csv", padded), 413, "request.too_large")
    assert count(container, "financial_statements") == 1


# -------------------------------------------------------------------- grades


def test_grades_with_reasons_and_history(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    uw = headers["underwriter"]
    before = app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["insured_user"]).json()
    base = len(before["history"])  # the world may have graded its buyers already
    for buyer_id in (world.buyer_a, world.buyer_b):
        assert post_statement(app_client, uw, buyer_id, statement()).status_code == 201
    insurer = system_actor(world.insurer_id)
    first = grading.regrade(container.uow, container.clock, insurer)
    assert first.graded == 2

    after_first = app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["insured_user"])
    assert len(after_first.json()["history"]) == base + 1

    worse = statement(equity="-600000", ebit="-300000", net_income="-400000", working_capital="-500000")
    assert post_statement(app_client, uw, world.buyer_a, worse).json()["version"] == 2
    second = grading.regrade(container.uow, container.clock, insurer)
    assert second.graded == 1

    response = app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["insured_user"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["buyer_id"] == world.buyer_a
    current = body["current"]
    assert 1 <= current["grade"] <= 10
    assert 0 < float(current["probability_of_default"]) < 1
    assert current["model_version"] == first.model_version
    assert current["reasons"]
    for reason in current["reasons"]:
        assert set(reason) == {"factor", "log_odds", "effect"}
        assert reason["effect"] == ("raises risk" if reason["log_odds"] > 0 else "lowers risk")
        assert reason["factor"] in current["factors"]
    magnitudes = [abs(r["log_odds"]) for r in current["reasons"]]
    assert magnitudes == sorted(magnitudes, reverse=True)

    history = body["history"]
    assert len(history) == base + 2
    assert history[0] == current  # newest first
    assert history[1]["previous_grade"] == (before["current"]["grade"] if base else None)
    assert current["previous_grade"] == history[1]["grade"]
    assert current["grade"] > history[1]["grade"]  # the worse figures raise the risk

    staff = app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["risk_manager"])
    assert staff.json() == body
    assert_problem(
        app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["insured_user_b"]),
        404,
        "buyer.not_found",
    )
    buyer = app_client.get(f"{API}/buyers/{world.buyer_a}", headers=headers["insured_user"]).json()
    assert buyer["risk_grade"] == current["grade"]
    assert buyer["probability_of_default"] is not None


def test_an_ungraded_buyer_has_no_current_grade(app_client: TestClient, world: World, headers: Headers) -> None:
    added = app_client.post(
        f"{API}/buyers",
        json={"identifiers": [{"kind": "siren", "value": "443061841"}], "legal_name": "Ungraded SA", "country": "FR"},
        headers=headers["insured_user"],
    )
    assert added.status_code in (200, 201), added.text
    buyer_id = added.json()["id"]
    body = app_client.get(f"{API}/buyers/{buyer_id}/grades", headers=headers["insured_user"]).json()
    assert body == {"buyer_id": buyer_id, "current": None, "history": []}


# -------------------------------------------------------- legal events, alerts


def _liquidation_file(tmp_path: Path) -> Path:
    judgment = {
        "type": "initial",
        "famille": "Jugement d'ouverture",
        "nature": "Jugement d'ouverture de liquidation judiciaire",
        "date": "2026-03-05",
        "complementJugement": "Jugement prononçant la liquidation judiciaire.",
    }
    record = {
        "id": "A202600501",
        "publicationavis": "A",
        "dateparution": "2026-03-10",
        "typeavis_lib": "Avis initial",
        "familleavis": "collective",
        "tribunal": "TRIBUNAL DE COMMERCE DE LYON",
        "commercant": "BUYER OF A",
        "registre": [SIREN_A, f"{SIREN_A[:3]} {SIREN_A[3:6]} {SIREN_A[6:]}"],
        "jugement": json.dumps(judgment),
    }
    path = tmp_path / "annonces.json"
    path.write_text(json.dumps({"total_count": 1, "results": [record]}), encoding="utf-8")
    return path


def test_a_liquidation_shows_on_the_buyer_its_events_and_the_alerts(
    app_client: TestClient, world: World, headers: Headers, container: Container, tmp_path: Path
) -> None:
    insurer = system_actor(world.insurer_id)
    with container.uow() as uow:  # B trades with A's buyer too: two clocks, one per insured
        shared, created = buyers.add_buyer(
            uow,
            container.clock,
            insurer,
            identifiers=[("siren", SIREN_A)],
            legal_name="Buyer of A",
            country="FR",
            organisation_id=world.insured_b,
        )
    assert (shared.id, created) == (world.buyer_a, False)
    parsed = parse_bodacc(_liquidation_file(tmp_path))
    with container.uow() as uow:
        summary = monitoring.ingest_bodacc(uow, container.clock, insurer, parsed.announcements, skipped=parsed.skipped)
    assert (summary.legal_events, summary.insolvencies, summary.clocks_started) == (1, 1, 2)

    def events(who: str) -> list[dict[str, Any]]:
        response = app_client.get(f"{API}/buyers/{world.buyer_a}/legal-events", headers=headers[who])
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()
        return listed

    [event] = events("insured_user")
    assert event["kind"] == "liquidation"
    assert event["resulting_status"] == "liquidation"
    assert (event["judgment_date"], event["publication_date"]) == ("2026-03-05", "2026-03-10")
    assert event["reference"] == "A202600501"
    assert "liquidation" in event["nature"].lower()
    assert event["insolvency_deadlines"] == [{"organisation_id": world.insured_a, "deadline": "2026-04-09"}]
    [seen_by_b] = events("insured_user_b")
    assert [d["organisation_id"] for d in seen_by_b["insolvency_deadlines"]] == [world.insured_b]
    [seen_by_staff] = events("claims_handler")
    assert {d["organisation_id"] for d in seen_by_staff["insolvency_deadlines"]} == {world.insured_a, world.insured_b}
    assert_problem(
        app_client.get(f"{API}/buyers/{world.buyer_a}/legal-events", headers=headers["factor_user"]),
        404,
        "buyer.not_found",
    )

    buyer = app_client.get(f"{API}/buyers/{world.buyer_a}", headers=headers["insured_user"]).json()
    assert (buyer["legal_status"], buyer["risk_grade"]) == ("liquidation", 10)
    grades = app_client.get(f"{API}/buyers/{world.buyer_a}/grades", headers=headers["insured_user"]).json()
    assert grades["current"]["grade"] == 10
    assert grades["current"]["reasons"] == [{"factor": "legal", "log_odds": 1.0, "effect": "raises risk"}]

    def alerts(who: str) -> list[dict[str, Any]]:
        response = app_client.get(f"{API}/alerts", headers=headers[who])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        items: list[dict[str, Any]] = body["items"]
        return items

    mine = alerts("insured_user")
    assert {a["organisation_id"] for a in mine} == {world.insured_a}
    [insolvency] = [a for a in mine if a["kind"] == "insolvency_published"]
    assert insolvency["buyer_id"] == world.buyer_a
    assert insolvency["due_date"] == "2026-04-09"
    assert "09/04/2026" in insolvency["message"]
    theirs = alerts("insured_user_b")
    assert {a["organisation_id"] for a in theirs} == {world.insured_b}
    assert insolvency["id"] not in {a["id"] for a in theirs}
    assert world.alert_b in {a["id"] for a in theirs}
    everything = {a["id"]: a for a in alerts("risk_manager")}
    assert insolvency["id"] in everything
    assert any(
        a["organisation_id"] == world.insurer_id and a["kind"] == "insolvency_published" for a in everything.values()
    )

    # The same file again: nothing new, anywhere.
    with container.uow() as uow:
        again = monitoring.ingest_bodacc(uow, container.clock, insurer, parsed.announcements, skipped=parsed.skipped)
    assert (again.legal_events, again.already_recorded, again.alerts) == (0, 1, 0)
    assert len(events("insured_user")) == 1
    assert len(alerts("insured_user")) == len(mine)


def test_a_csv_missing_a_column_is_not_blamed_on_line_0(
    app_client: TestClient, world: World, headers: Headers, container: Container
) -> None:
    content = f"siren,fiscal_year_end,equity\n{SIREN_A},2025-12-31,400000\n"
    body = assert_problem(
        upload(app_client, headers["underwriter"], "headless.csv", content),
        422,
        "financials.import_refused",
        field="total_assets",
    )
    assert count(container, "financial_statements") == 0
    assert "line 0" not in body["detail"], body["detail"]
    assert body["context"].get("line") != "0", body
