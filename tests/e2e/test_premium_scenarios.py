"""``tradecover simulate``: a policy's first year with turnover declarations, a claim and the year end.

``examples/premium_first_year.yaml`` computes every figure by hand in its comment (DOMAIN.md §9); the
tests below hold the simulator to those figures, through the same CLI entry point as ``test_simulate.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tradecover.cli.main import app

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
