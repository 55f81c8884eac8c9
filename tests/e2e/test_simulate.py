"""``tradecover simulate``: the shipped examples and the file errors, through Typer's runner.

The simulator builds its own in-memory database, so these tests need no database fixture.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tradecover.cli import simulate as cli_simulate
from tradecover.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# For each example: (kind, status, granted amount or None) per event in the order they run, and the final limits.
EXPECTED: dict[str, tuple[list[tuple[str, str, str | None]], dict[str, Any]]] = {
    "exposure_after_reduction.yaml": (
        [
            ("request_limit", "approved", "50000.00"),
            ("invoice", "done", None),
            ("order_check", "covered", None),
            ("reduce_limit", "done", "20000.00"),
            ("invoice", "done", None),
            ("order_check", "not_covered", None),
            ("dispute", "done", None),
            ("resolve_dispute", "done", None),
            ("credit_note", "done", None),
            ("payment", "done", None),
        ],
        {"B1": ("20000.00", "reduced")},
    ),
    "limit_approved_then_reduced.yaml": (
        [
            ("request_limit", "approved", "50000.00"),
            ("reduce_limit", "done", "20000.00"),
            ("prospect_query", "approved", "40000.00"),
        ],
        {"B1": ("20000.00", "reduced")},
    ),
    "capacity_shared_by_two_insureds.yaml": (
        [
            ("request_limit", "approved", "70000.00"),
            ("request_limit", "partially_approved", "30000.00"),
            ("request_limit", "approved", "40000.00"),
            ("prospect_query", "approved", "60000.00"),
        ],
        {"P1": {"B1": ("40000.00", "reduced")}, "P2": {"B1": ("30000.00", "partially_approved")}},
    ),
    "referral_four_eyes.yaml": (
        [
            ("request_limit", "referred", "0.00"),
            ("decide_limit", "approved", "600000.00"),
            ("request_limit", "referred", "0.00"),
            ("decide_limit", "partially_approved", "150000.00"),
        ],
        {"B1": ("600000.00", "approved"), "B2": ("150000.00", "partially_approved")},
    ),
    "insolvency_cancels_limits.yaml": (
        [
            ("request_limit", "approved", "80000.00"),
            ("insolvency", "done", None),
            ("request_limit", "refused", "0.00"),
        ],
        {"B1": ("0.00", "refused")},
    ),
}


EXPOSURES: dict[str, Any] = {
    "exposure_after_reduction.yaml": {
        "B1": {
            "outstanding_amount": "34833.33",
            "covered_amount": "25833.33",
            "uncovered_amount": "9000.00",
            "limit_in_force_amount": "20000.00",
        }
    }
}


def test_order_checks_answer_with_the_headroom() -> None:
    events = simulate_json(EXAMPLES / "exposure_after_reduction.yaml")["events"]
    checks = [e["outcome"] for e in events if e["kind"] == "order_check"]
    assert checks[0] == {
        "status": "covered",
        "covered_amount": "15000.00",
        "headroom_amount": "20000.00",
        "reasons": ["within_limit"],
    }
    assert checks[1]["status"] == "not_covered"
    assert checks[1]["headroom_amount"] == "0.00"


def test_a_conflicting_invoice_resend_is_refused_and_the_replay_goes_on(tmp_path: Path) -> None:
    invoice = (
        "  - {{date: 2026-02-01, invoice: {{buyer: B1, number: F-001, issue_date: 2026-02-01,\n"
        "       delivery_date: 2026-02-01, due_date: 2026-03-31, amount_excl_vat: '{net}', vat_amount: '0'}}}}\n"
    )
    path = write(
        tmp_path,
        HEADER
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        + invoice.format(net="1000.00")
        + invoice.format(net="1000.00")
        + invoice.format(net="2000.00")
        + "  - {date: 2026-02-02, payment: {buyer: B1, amount: '400.00'}}\n",
    )
    data = simulate_json(path)
    statuses = [(e["kind"], e["outcome"]["status"], e["outcome"].get("code")) for e in data["events"]]
    assert statuses == [
        ("request_limit", "approved", None),
        ("invoice", "done", None),
        ("invoice", "duplicate", None),
        ("invoice", "error", "ledger.conflicting_resend"),
        ("payment", "done", None),
    ]
    assert data["final"]["exposure"]["B1"]["outstanding_amount"] == "600.00"


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wide consoles, so that tables are not truncated nor messages wrapped, whatever the terminal.
    for console in (cli_simulate.console, cli_simulate.errors):
        monkeypatch.setattr(console, "_width", 200)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def output(result: Result) -> str:
    return " ".join(ANSI.sub("", result.output).split())


def simulate_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(str(path), "--json").stdout)
    return data


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = """\
currency: EUR
policy:
  policyholder: {name: "Atelier Dupont SAS", registration_number: "552100554"}
  start_date: 2026-01-01
buyers:
  B1: {name: "Client SA", registration_number: "443061841", grade: 4, capacity: "1000000"}
events:
"""


def test_every_example_is_checked() -> None:
    # The claim examples (claim_*.yaml) are checked in test_claim_scenarios.py, the premium ones
    # (premium_*.yaml) in test_premium_scenarios.py.
    others = [p.name for p in EXAMPLES.glob("*.yaml") if not p.name.startswith(("claim_", "premium_"))]
    assert sorted(others) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_replays_with_the_documented_outcomes(name: str) -> None:
    path = EXAMPLES / name
    assert path.read_text(encoding="utf-8").startswith("#"), "each example opens with a comment saying what it shows"
    data = simulate_json(path)
    events, limits = EXPECTED[name]
    got = [(e["kind"], e["outcome"]["status"], e["outcome"].get("granted_amount")) for e in data["events"]]
    assert got == events
    final = data["final"]

    def shape(value: Any) -> Any:
        if "amount_in_force" in value:
            return (value["amount_in_force"], value["status"])
        return {k: shape(v) for k, v in value.items()}

    assert shape(final["limits"]) == limits
    assert final["exposure"] == EXPOSURES.get(name, {"P1": {}, "P2": {}} if "P1" in limits else {})
    assert final["claims"] == []
    # No turnover declared: each policy's premium is its minimum premium (0 by default), nothing earned.
    premiums = final["premium"] if "P1" in limits else {"policy": final["premium"]}
    for figures in premiums.values():
        assert figures["earned_amount"] == "0.00"
        assert figures["adjustment_amount"] == figures["minimum_amount"] == "0.00"


def test_limit_reduction_takes_effect_after_the_notice() -> None:
    data = simulate_json(EXAMPLES / "limit_approved_then_reduced.yaml")
    reduce = data["events"][1]["outcome"]
    assert reduce["effective_date"] == "2026-03-31"  # 30 days' notice from 1 March
    assert "indication_only" in data["events"][2]["outcome"]["reasons"]


def test_capacity_outcomes_name_their_reasons_and_policies() -> None:
    data = simulate_json(EXAMPLES / "capacity_shared_by_two_insureds.yaml")
    assert [e["policy"] for e in data["events"]] == ["P1", "P2", "P1", "P2"]
    assert data["events"][1]["outcome"]["reasons"] == ["capacity_reached"]
    assert data["events"][2]["outcome"]["reasons"] == ["reduced_at_insured_request"]


def test_four_eyes_decision_needs_two_underwriters() -> None:
    data = simulate_json(EXAMPLES / "referral_four_eyes.yaml")
    referred, large, _, small = (e["outcome"] for e in data["events"])
    assert referred["reasons"] == ["above_automatic_ceiling"]
    assert referred["suggested_amount"] == "600000.00"
    assert large["approvals"] == 2
    assert "four_eyes_second_approval" in large["reasons"]
    assert small["approvals"] == 1
    assert "four_eyes_second_approval" not in small["reasons"]


def test_insolvency_cancels_the_limit_and_refuses_new_requests() -> None:
    data = simulate_json(EXAMPLES / "insolvency_cancels_limits.yaml")
    insolvency, refused = data["events"][1]["outcome"], data["events"][2]["outcome"]
    assert insolvency == {"status": "done", "legal_status": "receivership", "limits_cancelled": 1}
    assert refused["reasons"] == ["insolvency_procedure"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_readable_table_mentions_every_event(name: str) -> None:
    path = EXAMPLES / name
    data = simulate_json(path)
    text = output(run(str(path)))
    for event in data["events"]:
        assert event["date"] in text
        assert event["kind"] in text
        assert event["outcome"]["status"] in text
    assert "Limits as of" in text


def test_two_runs_give_the_same_document() -> None:
    path = EXAMPLES / "referral_four_eyes.yaml"
    first = run(str(path), "--json").stdout
    assert run(str(path), "--json").stdout == first


def test_bad_yaml_names_the_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "  - date: 2026-01-10\n    request_limit:\n      buyer: B1\n     amount: '50000'\n",
    )
    text = output(run(str(path), code=1))
    assert "simulation.invalid_yaml" in text
    assert f"{path}, line 11, field events[0]" in text


def test_unknown_event_kind_names_the_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        + "  - {date: 2026-01-11, wire_transfer: {buyer: B1, amount: '10'}}\n",
    )
    text = output(run(str(path), code=1))
    assert f"{path}, line 9, field events[1].wire_transfer: unknown event kind 'wire_transfer'" in text
    assert "simulation.unknown_event_kind" in text


def test_unknown_buyer_names_the_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "  - date: 2026-01-10\n    request_limit:\n      buyer: B9\n      amount: '1'\n")
    text = output(run(str(path), code=1))
    assert f"{path}, line 10, field events[0].request_limit.buyer: unknown buyer 'B9' (known: B1)" in text


@pytest.mark.parametrize("amount", ["'12,500.00'", "'abc'", "'50000 EUR'", ".nan", "[1]"])
def test_bad_amount_names_the_line_and_field(tmp_path: Path, amount: str) -> None:
    path = write(
        tmp_path,
        HEADER
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        + "  - date: 2026-01-12\n    prospect_query:\n      buyer: B1\n"
        + f"      amount: {amount}\n",
    )
    text = output(run(str(path), code=1))
    assert f"{path}, line 12, field events[1].prospect_query.amount:" in text
    assert "is not a decimal amount" in text
    assert "simulation.invalid_amount" in text


def test_bad_date_names_the_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "  - {date: 2026-02-30, request_limit: {buyer: B1, amount: '50000'}}\n")
    text = output(run(str(path), code=1))
    assert f"{path}, line 8, field events[0].date: 2026-02-30 is not a valid date" in text


@pytest.mark.parametrize(
    ("snippet", "field"),
    [
        ("  - {date: 2026-01-10, request_limit: {buyer: B1}}\n", "events[0].request_limit.amount"),
        (
            "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '1', colour: red}}\n",
            "events[0].request_limit.colour",
        ),
        ("  - {date: 2026-01-10, decide_limit: {buyer: B1, status: maybe}}\n", "events[0].decide_limit.status"),
        ("  - {date: 2026-01-10, policy: P7, request_limit: {buyer: B1, amount: '1'}}\n", "events[0].policy"),
        ("  - {request_limit: {buyer: B1, amount: '1'}}\n", "events[0].date"),
        ("  - {date: 2026-01-10, claim: {buyer: B1, documents: [selfie]}}\n", "events[0].claim.documents[0]"),
    ],
)
def test_malformed_events_are_refused_whole(tmp_path: Path, snippet: str, field: str) -> None:
    text = output(run(str(write(tmp_path, HEADER + snippet)), code=1))
    assert f"line 8, field {field}:" in text


def test_aliases_and_duplicate_keys_are_refused(tmp_path: Path) -> None:
    aliased = write(
        tmp_path,
        HEADER + "  - &first {date: 2026-01-10, request_limit: {buyer: B1, amount: '1'}}\n  - *first\n",
        "aliased.yaml",
    )
    assert "aliases (*name) are not supported" in output(run(str(aliased), code=1))
    duplicated = write(
        tmp_path, HEADER + "  - {date: 2026-01-10, date: 2026-01-11, request_limit: {buyer: B1, amount: '1'}}\n"
    )
    assert "duplicate key 'date'" in output(run(str(duplicated), code=1))


def test_missing_and_oversized_files_exit_1(tmp_path: Path) -> None:
    assert "cannot be read" in output(run(str(tmp_path / "nowhere.yaml"), code=1))
    big = write(tmp_path, HEADER + "#" * 1_000_001 + "\n", "big.yaml")
    assert "simulation.too_large" in output(run(str(big), code=1))


def test_a_refused_event_is_an_outcome_and_the_replay_goes_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '-5000'}}\n"
        + "  - {date: 2026-01-11, reduce_limit: {buyer: B1, amount: '1000'}}\n"
        + "  - {date: 2026-01-12, decide_limit: {buyer: B1, status: approved}}\n"
        + "  - {date: 2026-01-13, request_limit: {buyer: B1, amount: '50000'}}\n",
    )
    events = simulate_json(path)["events"]
    negative, nothing_to_reduce, nothing_referred, approved = (e["outcome"] for e in events)
    assert negative["status"] == "refused"
    assert negative["code"] == "credit_limit.invalid_amount"
    assert negative["message"]
    assert nothing_to_reduce == {
        "status": "refused",
        "code": "credit_limit.none_in_force",
        "message": nothing_to_reduce["message"],
    }
    assert nothing_referred["code"] == "simulation.no_referred_request"
    assert approved["status"] == "approved"
    assert approved["granted_amount"] == "50000.00"


def test_premium_kinds_replay_in_date_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "  - {date: 2026-02-01, declare_turnover: {period_start: 2026-01-01, period_end: 2026-01-31,\n"
        + "                                        domestic: '100000', export: '0'}}\n"
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n"
        + "  - {date: 2026-12-31, close_year: }\n",
    )
    events = simulate_json(path)["events"]
    assert [(e["index"], e["kind"]) for e in events] == [
        (1, "request_limit"),
        (0, "declare_turnover"),
        (2, "close_year"),
    ]
    assert events[0]["outcome"]["status"] == "approved"
    # 100,000.00 × 0.0025 (the default domestic rate) = 250.00, declared for January of a quarterly policy.
    assert events[1]["outcome"]["premium_amount"] == "250.00"
    assert events[2]["outcome"]["status"] == "done"
    assert events[2]["outcome"]["earned_amount"] == "250.00"


def test_buyers_without_a_grade_are_graded_from_their_financials(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
policy:
  policyholder: {name: "Atelier Dupont SAS", registration_number: "552100554"}
  start_date: 2026-01-01
buyers:
  B1:
    name: "Client SA"
    registration_number: "443061841"
    sector: "46.90Z"
    financials: {fiscal_year_end: 2025-06-30, total_assets: "40000000", equity: "15000000",
                 turnover: "60000000", ebit: "4000000", net_income: "2500000",
                 working_capital: "6000000", retained_earnings: "9000000", current_assets: "20000000",
                 current_liabilities: "12000000", total_liabilities: "25000000"}
  B2: {name: "Sans Bilan SARL", registration_number: "732829320"}
events:
  - {date: 2026-01-10, request_limit: {buyer: B1, amount: "50000"}}
  - {date: 2026-01-10, request_limit: {buyer: B2, amount: "50000"}}
""",
    )
    graded, without_financials = (e["outcome"] for e in simulate_json(path)["events"])
    assert graded["status"] == "approved", graded
    assert graded["granted_amount"] == "50000.00"
    assert without_financials["status"] == "referred"
    assert without_financials["reasons"] == ["no_financials"]


def test_a_financial_year_after_the_start_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER.replace(
            'grade: 4, capacity: "1000000"}',
            'financials: {fiscal_year_end: 2026-12-31, total_assets: "1000"}}',
        )
        + "  - {date: 2026-01-10, request_limit: {buyer: B1, amount: '50000'}}\n",
    )
    text = output(run(str(path), code=1))
    assert "line 6, field buyers.B1.financials.fiscal_year_end" in text
