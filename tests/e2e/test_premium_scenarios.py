"""``tradecover simulate``: a policy's first year with turnover declarations, a claim and the year end.

``examples/premium_first_year.yaml`` computes every figure by hand in its comment (DOMAIN.md §9); the
tests below hold the simulator to those figures, through the same CLI entry point as ``test_simulate.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_world import World, login
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tradecover.cli.main import app
from tradecover.domain.periods import FixedClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def simulate(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["simulate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_first_year_replays_with_the_hand_computed_figures() -> None:
    data = simulate(EXAMPLES / "premium_first_year.yaml")
    events = {(e["index"], e["kind"]): e["outcome"] for e in data["events"]}
    assert all(o["status"] in ("approved", "done", "accepted", "complete", "settled") for o in events.values())

    q1 = events[(3, "declare_turnover")]
    # 1,200,000 × 0.0030 + 300,000 × 0.0050 = 3,600.00 + 1,500.00
    assert (q1["version"], q1["premium_amount"], q1["earned_amount"]) == (1, "5100.00", "5100.00")
    assert (q1["period_start"], q1["period_end"], q1["due_date"], q1["late"]) == (
        "2026-01-01",
        "2026-03-31",
        "2026-04-30",
        False,
    )
    q2 = events[(6, "declare_turnover")]
    assert (q2["premium_amount"], q2["earned_amount"]) == ("4000.00", "9100.00")
    corrected = events[(7, "declare_turnover")]
    # The correction is version 2 of the same quarter: 1,050,000 × 0.0030 + 200,000 × 0.0050 = 4,150.00,
    # replacing 4,000.00 in the earned premium: 5,100.00 + 4,150.00.
    assert (corrected["version"], corrected["premium_amount"], corrected["earned_amount"]) == (
        2,
        "4150.00",
        "9250.00",
    )
    assert events[(8, "declare_turnover")]["earned_amount"] == "12450.00"

    settled = events[(10, "settle_claim")]
    # 22,000.00 unpaid incl. VAT × 20,000 / 24,000 = 18,333.33 excl. VAT; × 0.90 = 16,499.997 → 16,500.00.
    assert (settled["loss_amount"], settled["indemnity_amount"]) == ("18333.33", "16500.00")

    q4 = events[(11, "declare_turnover")]
    # Declared on 10 January for the quarter ending 31 December: due 30 January, not late.
    assert (q4["earned_amount"], q4["late"]) == ("17000.00", False)

    closed = events[(12, "close_year")]
    expected = {
        "year_start": "2026-01-01",
        "year_end": "2026-12-31",
        "closed": True,
        "minimum_amount": "8000.00",
        "earned_amount": "17000.00",  # 5,100 + 4,150 + 3,200 + 4,550
        "premium_amount": "17000.00",  # max(8,000.00, 17,000.00)
        "paid_amount": "8000.00",  # 4 instalments of 2,000.00
        "adjustment_amount": "9000.00",  # 17,000.00 − 8,000.00
        "fees_amount": "500.00",  # 2 × 150.00 + 2 × 100.00
        "indemnities_amount": "16500.00",
        "bonus_amount": "0.00",  # 16,500 / 17,000 = 0.9706 ≥ 0.50
        "max_liability_amount": "340000.00",  # 20 × 17,000.00
        "loss_ratio": "0.9706",
        "declared_periods": 4,
        "expected_periods": 4,
    }
    assert {k: closed[k] for k in expected} == expected
    # The year end invoices the adjustment and the fees; no bonus is credited.
    assert [(d["kind"], d["item"], d["amount"]) for d in closed["documents"]] == [
        ("invoice", "adjustment", "9000.00"),
        ("invoice", "fees", "500.00"),
    ]

    premium = data["final"]["premium"]
    assert {k: premium[k] for k in expected} == expected
    # The policy renewed tacitly on 1 January 2027 and its first instalment is called.
    assert [(y["year_start"], y["closed"], y["paid_amount"]) for y in premium["years"]] == [
        ("2026-01-01", True, "8000.00"),
        ("2027-01-01", False, "2000.00"),
    ]


HEADER = """\
currency: EUR
policy:
  policyholder: {name: "Atelier Dupont SAS", registration_number: "552100554", country: FR}
  start_date: 2026-01-01
  terms:
    minimum_premium: "5000"
    premium_instalments: 2
    premium_rates: {domestic_rate: "0.0025", export_rate: "0.0040"}
    max_liability_multiple: "30"
buyers:
  B1: {name: "Client SA", registration_number: "443061841", grade: 4, capacity: "1000000"}
events:
"""


def write(tmp_path: Path, events: str) -> Path:
    path = tmp_path / "premium.yaml"
    path.write_text(HEADER + events, encoding="utf-8")
    return path


def test_a_year_without_claims_earns_the_no_claims_bonus(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - {date: 2026-07-05, declare_turnover: {period_start: 2026-01-01, period_end: 2026-06-30,\n"
        "       domestic: '600000', export: '100000'}}\n"
        "  - {date: 2027-01-05, declare_turnover: {period_start: 2026-07-01, period_end: 2027-01-01,\n"
        "       domestic: '400000', export: '0'}}\n"
        "  - {date: 2027-01-06, close_year: }\n",
    )
    data = simulate(path)
    first, second, closed = (e["outcome"] for e in data["events"])
    # Two six-month periods on a quarterly policy are not its calendar, but they overlap nothing: accepted.
    # 600,000 × 0.0025 + 100,000 × 0.0040 = 1,500.00 + 400.00; then 400,000 × 0.0025 = 1,000.00.
    assert (first["premium_amount"], second["premium_amount"]) == ("1900.00", "1000.00")
    # 2027-01-01 is the first day of a declaration period: read as the end of [2026-07-01, 2027-01-01).
    assert second["period_end"] == "2026-12-31"
    assert closed["status"] == "done"
    assert closed["earned_amount"] == "2900.00"
    # Earned below the minimum: the premium is the minimum 5,000.00, called in 2 × 2,500.00: no adjustment.
    assert (closed["premium_amount"], closed["paid_amount"], closed["adjustment_amount"]) == (
        "5000.00",
        "5000.00",
        "0.00",
    )
    # No indemnity: 0 / 5,000 < 0.50, so 0.20 × (5,000.00 − 0) = 1,000.00 is credited.
    assert closed["bonus_amount"] == "1000.00"
    assert closed["max_liability_amount"] == "150000.00"  # 30 × 5,000.00
    assert [(d["kind"], d["item"], d["amount"]) for d in closed["documents"]] == [
        ("credit_note", "no_claims_bonus", "1000.00"),
    ]


def test_bad_declarations_are_refused_and_the_replay_goes_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - {date: 2026-04-05, declare_turnover: {period_start: 2026-01-01, period_end: 2026-03-31,\n"
        "       domestic: '-100', export: '0'}}\n"
        "  - {date: 2026-04-06, declare_turnover: {period_start: 2026-01-01, period_end: 2026-03-31,\n"
        "       domestic: '100000', export: '0'}}\n"
        "  - {date: 2026-04-07, declare_turnover: {period_start: 2026-02-01, period_end: 2026-04-30,\n"
        "       domestic: '100000', export: '0'}}\n"
        "  - {date: 2026-04-08, declare_turnover: {period_start: 2026-12-01, period_end: 2027-02-28,\n"
        "       domestic: '100000', export: '0'}}\n"
        "  - {date: 2026-06-30, close_year: }\n",
    )
    outcomes = [e["outcome"] for e in simulate(path)["events"]]
    assert [(o["status"], o.get("code")) for o in outcomes] == [
        ("refused", "turnover.negative"),
        ("done", None),
        ("refused", "turnover.overlapping_period"),
        ("refused", "turnover.future_period"),
        ("refused", "premium.year_not_ended"),
    ]
    assert outcomes[1]["earned_amount"] == "250.00"  # the refused ones wrote nothing


def test_an_indemnity_after_the_year_end_takes_the_bonus_back(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        "  - {date: 2026-09-15, invoice: {buyer: B1, number: F-1, issue_date: 2026-09-15, delivery_date: 2026-09-15,\n"
        "       due_date: 2026-11-15, amount_excl_vat: '10000.00', vat_amount: '2000.00'}}\n"
        "  - {date: 2026-11-25, insolvency: {buyer: B1, procedure: liquidation_judiciaire,\n"
        "       judgment_date: 2026-11-20, publication_date: 2026-11-25}}\n"
        "  - {date: 2026-11-30, notify_overdue: {buyer: B1}}\n"
        "  - {date: 2027-01-04, declare_turnover: {period_start: 2026-01-01, period_end: 2026-12-31,\n"
        "       domestic: '1000000', export: '0'}}\n"
        "  - {date: 2027-01-05, close_year: }\n"
        "  - {date: 2027-01-15, claim: {buyer: B1, documents: [unpaid_invoices, proof_of_delivery,\n"
        "       collection_attempts, administrator_claim_filing]}}\n"
        "  - {date: 2027-01-20, settle_claim: {buyer: B1}}\n",
    )
    data = simulate(path)
    outcomes = {e["kind"]: e["outcome"] for e in data["events"]}
    closed = outcomes["close_year"]
    # 1,000,000 × 0.0025 = 2,500.00 earned, below the minimum 5,000.00 (called in full); no indemnity yet:
    # 0.20 × 5,000.00 = 1,000.00 credited.
    assert (closed["premium_amount"], closed["adjustment_amount"], closed["bonus_amount"]) == (
        "5000.00",
        "0.00",
        "1000.00",
    )
    # The loss dates from the judgment, 20 November 2026: the indemnity belongs to the closed year.
    assert outcomes["settle_claim"]["indemnity_amount"] == "9000.00"  # 10,000.00 × 0.90
    premium = data["final"]["premium"]
    # The year is re-closed: 9,000 / 5,000 = 1.8 ≥ 0.50, no bonus any more (the 1,000.00 is invoiced back).
    assert (premium["closed"], premium["indemnities_amount"], premium["bonus_amount"], premium["loss_ratio"]) == (
        True,
        "9000.00",
        "0.00",
        "1.8000",
    )


# ----------------------------------------------------------------- regressions found by replaying scenarios


def test_a_declaration_of_one_day_does_not_make_its_quarter_declared(tmp_path: Path) -> None:
    # 1 April to 1 April is one day, [04-01, 04-02): accepted, but the second quarter is still missing.
    path = write(
        tmp_path,
        "  - {date: 2026-04-10, declare_turnover: {period_start: 2026-01-01, period_end: 2026-03-31,\n"
        "       domestic: '100000', export: '0'}}\n"
        "  - {date: 2026-04-12, declare_turnover: {period_start: 2026-04-01, period_end: 2026-04-01,\n"
        "       domestic: '0', export: '0'}}\n",
    )
    premium = simulate(path)["final"]["premium"]
    assert (premium["declared_periods"], premium["expected_periods"]) == (1, 4)


def test_a_settlement_in_an_open_year_reports_no_reclosing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        "  - {date: 2026-09-01, invoice: {buyer: B1, number: L-1, issue_date: 2026-09-01, delivery_date: 2026-09-01,\n"
        "       due_date: 2026-10-15, amount_excl_vat: '3000.00', vat_amount: '600.00'}}\n"
        "  - {date: 2026-11-01, notify_overdue: {buyer: B1}}\n"
        "  - {date: 2027-01-05, close_year: }\n"
        "  - {date: 2027-04-01, claim: {buyer: B1, documents: [unpaid_invoices, proof_of_delivery,\n"
        "       collection_attempts]}}\n"
        "  - {date: 2027-04-02, settle_claim: {buyer: B1}}\n",
    )
    outcomes = {e["kind"]: e["outcome"] for e in simulate(path)["events"]}
    settled = outcomes["settle_claim"]
    # Loss on 2027-03-31 (notified 2026-11-01 + 150 days): the 2027 year, still open: nothing re-closed.
    assert settled["date_of_loss"] == "2027-03-31"
    assert "year_end" not in settled
    # Nothing declared in 2026: premium = minimum 5,000.00, bonus 0.20 × 5,000.00 = 1,000.00 at the close.
    assert outcomes["close_year"]["bonus_amount"] == "1000.00"


def test_a_settlement_on_a_closed_year_shows_the_new_closing_and_its_document(tmp_path: Path) -> None:
    path = tmp_path / "reclose.yaml"
    path.write_text(
        HEADER.replace('max_liability_multiple: "30"', 'max_liability_multiple: "30"\n    waiting_period_days: 30')
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        "  - {date: 2026-09-01, invoice: {buyer: B1, number: L-1, issue_date: 2026-09-01, delivery_date: 2026-09-01,\n"
        "       due_date: 2026-10-15, amount_excl_vat: '3000.00', vat_amount: '600.00'}}\n"
        "  - {date: 2026-11-01, notify_overdue: {buyer: B1}}\n"
        "  - {date: 2027-01-05, close_year: }\n"
        "  - {date: 2027-01-20, claim: {buyer: B1, documents: [unpaid_invoices, proof_of_delivery,\n"
        "       collection_attempts]}}\n"
        "  - {date: 2027-01-21, settle_claim: {buyer: B1}}\n",
        encoding="utf-8",
    )
    outcomes = {e["kind"]: e["outcome"] for e in simulate(path)["events"]}
    settled = outcomes["settle_claim"]
    # Loss on 2026-12-01 (2026-11-01 + 30 days), settled after the close: 3,000.00 × 0.90 = 2,700.00.
    assert (settled["date_of_loss"], settled["indemnity_amount"]) == ("2026-12-01", "2700.00")
    # Re-closed: 2,700 / 5,000 = 0.54 ≥ 0.50, so the 1,000.00 bonus credited at the close is invoiced back.
    assert (settled["year_end"]["version"], settled["year_end"]["bonus_amount"]) == (2, "0.00")
    assert settled["year_end"]["loss_ratio"] == "0.5400"
    assert [(d["kind"], d["item"], d["amount"]) for d in settled["documents"]] == [
        ("invoice", "no_claims_bonus", "1000.00"),
    ]


def test_a_partial_declaration_neither_silences_nor_closes_the_late_alert_of_its_quarter(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], clock: FixedClock
) -> None:
    api = "/api/v1"
    admin, insured = headers["admin"], headers["insured_user"]
    issued = app_client.post(
        f"{api}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-01-01", "terms": {}},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    policy = issued.json()["id"]

    def late_alerts() -> list[tuple[str, str]]:
        listed = app_client.get(f"{api}/alerts", params={"policy_id": policy}, headers=admin).json()["items"]
        return [(a["due_date"], a["state"]) for a in listed if a["kind"] == "turnover_declaration_late"]

    def declare(start: str, end: str) -> None:
        body = {"period_start": start, "period_end": end, "domestic": "1000.00", "export": "0"}
        answer = app_client.post(f"{api}/policies/{policy}/turnover-declarations", json=body, headers=insured)
        assert answer.status_code == 201, answer.text

    declare("2026-01-01", "2026-01-31")  # one month of the first quarter (the clock stands in March)
    clock.set(datetime(2026, 5, 1, 10, tzinfo=UTC))  # the quarter was due on 2026-04-30
    admin, insured = login(app_client, world.emails["admin"]), login(app_client, world.emails["insured_user"])
    run = app_client.post(f"{api}/premium/run", params={"as_of": "2026-05-01"}, headers=admin)
    assert run.status_code == 200, run.text
    assert late_alerts() == [("2026-04-30", "new")]  # February and March are still missing
    declare("2026-02-01", "2026-02-28")
    assert late_alerts() == [("2026-04-30", "new")]
    declare("2026-03-01", "2026-04-01")  # half-open: [03-01, 04-01) completes the quarter
    assert late_alerts() == [("2026-04-30", "closed")]


def test_the_readable_premium_table_keeps_each_amount_whole_in_80_columns() -> None:
    result = CliRunner().invoke(app, ["simulate", str(EXAMPLES / "premium_first_year.yaml")], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    table = result.stdout[result.stdout.index("Premium (EUR)") :]
    assert max(len(line) for line in table.splitlines()) <= 80
    for figure in ("17000.00", "8000.00", "9000.00", "16500.00", "0.9706", "340000.00", "4/4"):
        assert figure in table, figure


def test_the_termination_date_reads_as_the_end_of_the_last_period_owed(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    api = "/api/v1"
    url = f"{api}/policies/{world.policy_a}"
    terminated = app_client.post(
        f"{url}/termination", json={"effective_date": "2026-03-16", "reason": "unpaid"}, headers=headers["underwriter"]
    )
    assert terminated.status_code == 201, terminated.text

    def declare(end: str) -> Any:
        body = {"period_start": "2026-01-01", "period_end": end, "domestic": "100000.00", "export": "0"}
        return app_client.post(f"{url}/turnover-declarations", json=body, headers=headers["insured_user"])

    # The insured declares up to the termination date, written as the first day without cover: the run-off
    # part of the quarter, [2026-01-01, 2026-03-16), as if written up to its last day 2026-03-15.
    half_open = declare("2026-03-16")
    assert half_open.status_code == 201, half_open.text
    assert (half_open.json()["declaration"]["period_end"], half_open.json()["declaration"]["version"]) == (
        "2026-03-15",
        1,
    )
    inclusive = declare("2026-03-15")
    assert inclusive.status_code == 201, inclusive.text
    # The same period again: a correction.
    assert (inclusive.json()["declaration"]["period_end"], inclusive.json()["declaration"]["version"]) == (
        "2026-03-15",
        2,
    )
    assert declare("2026-03-31").json()["code"] == "turnover.policy_terminated"


def test_a_credit_note_is_no_premium_received(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]], clock: FixedClock
) -> None:
    api = "/api/v1"
    terms = {"minimum_premium": {"amount": "8000.00", "currency": "EUR"}}
    issued = app_client.post(
        f"{api}/policies",
        json={"policyholder_id": world.insured_a, "start_date": "2026-01-01", "terms": terms},
        headers=headers["admin"],
    )
    assert issued.status_code == 201, issued.text
    url = f"{api}/policies/{issued.json()['id']}"
    clock.set(datetime(2027, 1, 10, 10, tzinfo=UTC))
    admin, insured = login(app_client, world.emails["admin"]), login(app_client, world.emails["insured_user"])
    assert app_client.post(f"{api}/premium/run", params={"as_of": "2027-01-10"}, headers=admin).status_code == 200
    closed = app_client.post(f"{url}/premium/years/2026-01-01/close", json={"reason": "year end"}, headers=admin)
    assert closed.status_code == 201, closed.text
    # Nothing declared: premium = minimum 8,000.00, all called; no indemnity: 0.20 × 8,000.00 credited.
    assert [(d["kind"], d["amount"]["amount"]) for d in closed.json()["documents"]] == [("credit_note", "1600.00")]

    def paid() -> str:
        years = app_client.get(f"{url}/premium/years", headers=insured).json()
        return str(years[0]["paid"]["amount"])

    assert paid() == "0.00"  # the bonus credit note settles nothing in cash
    payment = {"amount": {"amount": "3000.00", "currency": "EUR"}, "received_on": "2027-01-10", "reference": "VIR-1"}
    assert app_client.post(f"{url}/premium/payments", json=payment, headers=admin).status_code == 201
    assert paid() == "3000.00"  # the oldest instalments first
